//! Statistics counters (SPEC §9): after a mixed workload of every status change, the
//! maintained counters equal a direct count of the applications table and a rebuild.

use std::sync::Arc;

use mpass_domain::application::{Application, Status};
use mpass_domain::audit::Actor;
use mpass_domain::ids::{ApplicationId, MessageId, UserId};
use mpass_domain::policy::Outcome;
use mpass_domain::ports::*;
use mpass_domain::stats::{CountQuery, CountRow, Dim, LatencyQuery, hour_of};

use super::fixtures::*;

/// Thanas of the compiled-in area list: two in Barguna (1004), one in Dhaka (3026).
const THANAS: [&str; 3] = ["10040009", "10040019", "30260002"];
const REASONS: [&str; 3] = ["medical", "groceries", "other"];

async fn submit_at(store: &Arc<dyn Store>, user: UserId, i: usize) -> Application {
    // Three submission hours, three thanas, three reasons, mixed.
    let mut new = new_app(user, t(3600 * (i as i64 % 3) + i as i64), t(86_400), None);
    new.details.from.area = THANAS[i % THANAS.len()].into();
    new.details.reason = REASONS[(i / 2) % REASONS.len()].into();
    match store.submit_application(new).await.unwrap() {
        SubmitOutcome::Created(a) => a,
        other => panic!("created, got {other:?}"),
    }
}

async fn decide(store: &Arc<dyn Store>, app: &Application, status: Status, after_ms: i64) {
    let outcome = match status {
        Status::Approved => Outcome::Approve,
        Status::Rejected => Outcome::Reject,
        _ => Outcome::Review,
    };
    let record = DecisionRecord {
        application_id: app.id,
        decision: decision(outcome),
        status,
        pass: (status == Status::Approved).then(|| pass_for(app)),
        decided_at: app.submitted_at + time::Duration::milliseconds(after_ms),
        jobs: vec![],
    };
    assert!(store.record_decision(record).await.unwrap());
}

fn review(app: ApplicationId, reviewer: UserId, outcome: Outcome, pass: Option<PassRecord>) -> ReviewDecision {
    ReviewDecision {
        application_id: app,
        reviewer,
        outcome,
        reason_code: "checked".into(),
        note: "ok".into(),
        pass,
        jobs: vec![],
        decided_at: t(19_100),
    }
}

/// Every question the API asks, grouped every useful way.
fn questions() -> Vec<CountQuery> {
    let groups: Vec<Vec<Dim>> = vec![
        vec![],
        vec![Dim::Status],
        vec![Dim::Hour, Dim::Status],
        vec![Dim::Division],
        vec![Dim::District, Dim::Status],
        vec![Dim::Thana, Dim::Reason, Dim::Status],
        vec![Dim::Hour, Dim::Thana, Dim::Reason, Dim::Status],
    ];
    let mut qs = Vec::new();
    for g in groups {
        qs.push(CountQuery {
            group: g.clone(),
            ..CountQuery::default()
        });
        qs.push(CountQuery {
            group: g.clone(),
            area: Some("1004".into()),
            reason: Some("medical".into()),
            from_hour: Some(hour_of(t(3600))),
            to_hour: Some(hour_of(t(3 * 3600))),
            ..CountQuery::default()
        });
        qs.push(CountQuery {
            group: g.clone(),
            area: Some("10040019".into()),
            status: Some(Status::Approved),
            ..CountQuery::default()
        });
    }
    qs
}

async fn assert_agree(store: &Arc<dyn Store>, when: &str) -> Vec<Vec<CountRow>> {
    let mut answers = Vec::new();
    for q in questions() {
        let kept = store.stats_counts(&q).await.unwrap();
        let direct = store.stats_counts_direct(&q).await.unwrap();
        // Counters left at zero by transitions are rows the direct count does not have.
        let nonzero = |rows: Vec<CountRow>| -> Vec<CountRow> {
            rows.into_iter().filter(|r| r.n != 0 || q.group.is_empty()).collect()
        };
        let kept = nonzero(kept);
        assert_eq!(
            kept,
            nonzero(direct),
            "{when}: counters and direct count differ for {q:?}"
        );
        answers.push(kept);
    }
    for area in [None, Some("1004".to_string()), Some("10".to_string())] {
        let q = LatencyQuery {
            area,
            ..LatencyQuery::default()
        };
        assert_eq!(
            store.stats_latency(&q).await.unwrap(),
            store.stats_latency_direct(&q).await.unwrap(),
            "{when}: latency histogram differs for {q:?}"
        );
    }
    answers
}

pub(crate) async fn stats_counters_match_direct_counts_and_rebuild(store: Arc<dyn Store>) {
    let citizen = user(&store, 1).await.id;
    let reviewer = user(&store, 2).await.id;
    let mut apps = Vec::new();
    for i in 0..30 {
        apps.push(submit_at(&store, citizen, i).await);
    }
    // 0..8 approved (fast and slow decisions), 8..12 rejected, 12..24 to review, rest stay submitted.
    for (i, a) in apps.iter().enumerate() {
        let status = match i {
            0..8 => Status::Approved,
            8..12 => Status::Rejected,
            12..24 => Status::InReview,
            _ => continue,
        };
        decide(&store, a, status, [40, 900, 70_000, 4_000_000][i % 4]).await;
    }
    // Reviews: reject 12, approve 13 with a pass, approve 14 pending then issue its pass,
    // ask about 15 and 16 (16 answers, back in review), 17 pending forever.
    for (i, outcome, with_pass) in [
        (12, Outcome::Reject, false),
        (13, Outcome::Approve, true),
        (14, Outcome::Approve, false),
        (17, Outcome::Approve, false),
    ] {
        let a = &apps[i];
        assert!(matches!(
            store.review_claim(a.id, reviewer, t(19_000), 600).await.unwrap(),
            ClaimOutcome::Claimed(_)
        ));
        let pass = with_pass.then(|| pass_for(a));
        assert!(matches!(
            store
                .review_decide(review(a.id, reviewer, outcome, pass))
                .await
                .unwrap(),
            DecideOutcome::Decided(_)
        ));
    }
    assert!(
        store
            .review_issue_pass(ReviewedPass {
                pass: pass_for(&apps[14]),
                jobs: vec![],
                issued_at: t(19_200),
            })
            .await
            .unwrap()
    );
    for i in [15, 16] {
        let a = &apps[i];
        assert!(matches!(
            store.review_claim(a.id, reviewer, t(19_000), 600).await.unwrap(),
            ClaimOutcome::Claimed(_)
        ));
        let ask = InfoRequest {
            application_id: a.id,
            reviewer,
            message: MessageId::new(),
            question: "Which hospital?".into(),
            jobs: vec![],
            at: t(19_001),
        };
        assert!(matches!(
            store.review_request_info(ask).await.unwrap(),
            DecideOutcome::Decided(_)
        ));
    }
    assert!(matches!(
        store
            .info_reply(apps[16].id, citizen, MessageId::new(), "Dhaka Medical", t(19_002))
            .await
            .unwrap(),
        ReplyOutcome::Replied(_)
    ));
    // Cancel an approved one (keeps its pass), a submitted one, one in review; revoke one.
    for i in [0, 25, 18] {
        let (_, done) = store
            .cancel_application(apps[i].id, citizen, t(21_000))
            .await
            .unwrap()
            .unwrap();
        assert!(done);
    }
    let pass1 = store.application(apps[1].id).await.unwrap().unwrap().pass_id.unwrap();
    assert!(matches!(
        store
            .revoke_pass(pass1, "misuse", Actor::user(reviewer), vec![], t(21_001))
            .await
            .unwrap(),
        RevokeOutcome::Revoked(_)
    ));
    // A refused transition changes no counter: a second decision of the same application.
    decide_again_refused(&store, &apps[2]).await;

    let before = assert_agree(&store, "maintained").await;
    let totals = store.status_counts().await.unwrap();

    // Pending counter changes (PostgreSQL) folded into the counters: no answer changes,
    // and nothing is left to fold. (The embedded store has nothing pending.)
    store.stats_fold().await.unwrap();
    assert_eq!(assert_agree(&store, "folded").await, before, "a fold changes no answer");
    assert_eq!(store.status_counts().await.unwrap(), totals);
    assert_eq!(store.stats_fold().await.unwrap(), 0, "nothing left to fold");

    // Known totals, counted by hand from the workload above.
    let by_status = store
        .stats_counts(&CountQuery {
            group: vec![Dim::Status],
            ..CountQuery::default()
        })
        .await
        .unwrap();
    let n = |s: Status| by_status.iter().find(|r| r.status == Some(s)).map_or(0, |r| r.n);
    assert_eq!(n(Status::Approved), 6 + 2, "2..8 by the policy, 13 and 14 by reviewers");
    assert_eq!(n(Status::Rejected), 4 + 1);
    assert_eq!(n(Status::InReview), 12 - 6 + 1, "19..24, 17 (pending), 16 (answered)");
    assert_eq!(n(Status::InfoRequested), 1);
    assert_eq!(n(Status::Cancelled), 3);
    assert_eq!(n(Status::Revoked), 1);
    assert_eq!(n(Status::Submitted), 30 - 24 - 1);
    let passes: i64 = by_status.iter().map(|r| r.with_pass).sum();
    assert_eq!(
        passes,
        8 + 2,
        "every pass issued: approved, revoked, the cancelled approval"
    );
    let latency = store.stats_latency(&LatencyQuery::default()).await.unwrap();
    assert_eq!(latency.total(), 24, "one first decision each");

    let report = store.stats_rebuild().await.unwrap();
    assert_eq!(report.applications, 30);
    let after = assert_agree(&store, "rebuilt").await;
    assert_eq!(before, after, "a rebuild changes no answer");

    // And the counters keep moving correctly after a rebuild.
    let late = submit_at(&store, citizen, 30).await;
    decide(&store, &late, Status::Approved, 10).await;
    let late_answers = assert_agree(&store, "after rebuild").await;
    store.stats_fold().await.unwrap();
    assert_eq!(assert_agree(&store, "folded after rebuild").await, late_answers);
}

async fn decide_again_refused(store: &Arc<dyn Store>, app: &Application) {
    let record = DecisionRecord {
        application_id: app.id,
        decision: decision(Outcome::Reject),
        status: Status::Rejected,
        pass: None,
        decided_at: t(30_000),
        jobs: vec![],
    };
    assert!(!store.record_decision(record).await.unwrap());
}

/// The bulk path stores applications as given; a rebuild then counts them.
pub(crate) async fn stats_bulk_insert_then_rebuild(store: Arc<dyn Store>) {
    let citizen = user(&store, 1).await.id;
    let mut batch = Vec::new();
    for i in 0..50u32 {
        let mut app = new_app(UserId::new(), t(i64::from(i) * 600), t(86_400), None).submitted();
        app.details.from.area = THANAS[i as usize % 3].into();
        let approved = i % 2 == 0;
        if approved {
            app.status = Status::Approved;
            app.decision = Some(decision(Outcome::Approve));
        }
        let pass = approved.then(|| pass_for(&app));
        app.pass_id = pass.as_ref().map(|p| p.id);
        batch.push(mpass_domain::stats::BulkApplication {
            phone: phone(100 + i),
            decided_at: approved.then(|| app.submitted_at + time::Duration::seconds(2)),
            review_district: None,
            pass,
            app,
        });
    }
    store.bulk_insert_applications(batch).await.unwrap();
    let total = CountQuery::default();
    assert_eq!(
        store.stats_counts(&total).await.unwrap()[0].n,
        0,
        "the bulk path counts nothing"
    );
    let report = store.stats_rebuild().await.unwrap();
    assert_eq!(report.applications, 50);
    let row = &store.stats_counts(&total).await.unwrap()[0];
    assert_eq!((row.n, row.with_pass), (50, 25));
    assert_eq!(store.stats_latency(&LatencyQuery::default()).await.unwrap().total(), 25);
    assert_agree(&store, "bulk").await;
    // Bulk users can log in like any other.
    assert!(store.user_by_phone(&phone(100)).await.unwrap().is_some());
    let _ = citizen;
}
