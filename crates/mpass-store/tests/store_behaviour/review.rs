//! The review queue (SPEC §6): per district, oldest first; a lease that only one reviewer
//! holds at a time; decisions only by the holder; approvals whose pass a worker attaches.

use std::sync::Arc;

use mpass_domain::application::{Application, Status};
use mpass_domain::audit::action;
use mpass_domain::ids::{ApplicationId, UserId};
use mpass_domain::policy::{Decision, Outcome, RuleHit};
use mpass_domain::ports::*;

use super::fixtures::*;

/// A thana of the compiled-in area list (the shared fixtures use made-up codes).
const THANA: &str = "10040009";

fn district() -> String {
    mpass_domain::geo::areas()
        .district_of(THANA)
        .expect("fixture thana has a district")
        .code
        .clone()
}

/// Submits an application and lets the policy send it to review.
async fn in_review(store: &Arc<dyn Store>, user: UserId, at: i64) -> Application {
    let mut new = new_app(user, t(at), t(3600), None);
    new.details.from.area = THANA.into();
    let SubmitOutcome::Created(app) = store.submit_application(new).await.unwrap() else {
        panic!("created");
    };
    let record = DecisionRecord {
        application_id: app.id,
        decision: Decision {
            outcome: Outcome::Review,
            reasons: vec![RuleHit {
                code: "reason_other".into(),
                outcome: Outcome::Review,
                message_en: "Reason other".into(),
                message_bn: "অন্যান্য".into(),
            }],
            policy_version: "test-1".into(),
        },
        status: Status::InReview,
        pass: None,
        decided_at: t(at + 1),
        jobs: vec![],
    };
    assert!(store.record_decision(record).await.unwrap());
    store.application(app.id).await.unwrap().unwrap()
}

fn review(app: ApplicationId, reviewer: UserId, outcome: Outcome, pass: Option<PassRecord>, at: i64) -> ReviewDecision {
    ReviewDecision {
        application_id: app,
        reviewer,
        outcome,
        reason_code: "checked_documents".into(),
        note: "Spoke to the applicant.".into(),
        pass,
        jobs: vec![NewJob {
            kind: "test_job".into(),
            payload: app.to_string(),
        }],
        decided_at: t(at),
    }
}

async fn claim(store: &Arc<dyn Store>, app: ApplicationId, reviewer: UserId, at: i64) -> ClaimOutcome {
    store
        .review_claim(app, reviewer, t(at), REVIEW_LEASE_SECS)
        .await
        .unwrap()
}

pub(crate) async fn review_queue_claim_and_decide(store: Arc<dyn Store>) {
    let u = user(&store, 1).await;
    let r1 = user(&store, 2).await.id;
    let r2 = user(&store, 3).await.id;
    let a = in_review(&store, u.id, 10).await;
    let b = in_review(&store, u.id, 20).await;
    let c = in_review(&store, u.id, 30).await;
    let approved = submit(&store, u.id, t(40), t(3600)).await;
    approve(&store, &approved).await;
    drain_jobs(&store, t(50)).await;

    // Per district, oldest first, only what is in review.
    let d = district();
    let ids = |apps: Vec<Application>| apps.iter().map(|a| a.id).collect::<Vec<_>>();
    assert_eq!(
        ids(store.review_queue(std::slice::from_ref(&d), 10).await.unwrap()),
        [a.id, b.id, c.id]
    );
    assert_eq!(
        ids(store.review_queue(std::slice::from_ref(&d), 2).await.unwrap()),
        [a.id, b.id]
    );
    assert!(store.review_queue(&["10".to_string()], 10).await.unwrap().is_empty());
    assert!(store.review_queue(&[], 10).await.unwrap().is_empty());
    let queued = store.review_queue(std::slice::from_ref(&d), 1).await.unwrap();
    assert_eq!(queued[0].decision.as_ref().unwrap().reasons[0].code, "reason_other");

    // One holder at a time; the holder may renew; anything not in review is not found.
    assert!(matches!(claim(&store, a.id, r1, 100).await, ClaimOutcome::Claimed(x) if x.id == a.id));
    assert!(matches!(claim(&store, a.id, r2, 200).await, ClaimOutcome::Taken));
    assert!(matches!(claim(&store, a.id, r1, 300).await, ClaimOutcome::Claimed(_)));
    assert!(matches!(
        claim(&store, approved.id, r1, 300).await,
        ClaimOutcome::NotFound
    ));
    assert!(matches!(
        claim(&store, ApplicationId::new(), r1, 300).await,
        ClaimOutcome::NotFound
    ));

    // Only the holder decides; a rejection is final and stored with its reason.
    let not_holder = store
        .review_decide(review(a.id, r2, Outcome::Reject, None, 310))
        .await
        .unwrap();
    assert!(matches!(not_holder, DecideOutcome::NotHolder));
    let DecideOutcome::Decided(rejected) = store
        .review_decide(review(a.id, r1, Outcome::Reject, None, 320))
        .await
        .unwrap()
    else {
        panic!("the holder decides");
    };
    assert_eq!(rejected.status, Status::Rejected);
    let dec = rejected.decision.clone().unwrap();
    assert_eq!(dec.outcome, Outcome::Reject);
    assert_eq!(dec.reasons.len(), 1);
    assert_eq!(dec.reasons[0].code, "checked_documents");
    assert_eq!(dec.reasons[0].message_en, "Spoke to the applicant.");
    assert_eq!(store.application(a.id).await.unwrap().unwrap(), rejected);
    let again = store
        .review_decide(review(a.id, r1, Outcome::Approve, None, 330))
        .await
        .unwrap();
    assert!(matches!(again, DecideOutcome::NotFound));
    assert!(matches!(claim(&store, a.id, r2, 340).await, ClaimOutcome::NotFound));
    assert_eq!(
        ids(store.review_queue(std::slice::from_ref(&d), 10).await.unwrap()),
        [b.id, c.id]
    );

    // A lease runs out: another reviewer may take it, and the first may no longer decide.
    assert!(matches!(claim(&store, b.id, r1, 400).await, ClaimOutcome::Claimed(_)));
    assert!(matches!(
        claim(&store, b.id, r2, 400 + REVIEW_LEASE_SECS - 1).await,
        ClaimOutcome::Taken
    ));
    let expired = store
        .review_decide(review(b.id, r1, Outcome::Reject, None, 400 + REVIEW_LEASE_SECS))
        .await
        .unwrap();
    assert!(matches!(expired, DecideOutcome::NotHolder));
    assert!(matches!(
        claim(&store, b.id, r2, 400 + REVIEW_LEASE_SECS).await,
        ClaimOutcome::Claimed(_)
    ));

    // An approval without a pass waits for it: still in review, out of the queue, unclaimable.
    let DecideOutcome::Decided(pending) = store
        .review_decide(review(b.id, r2, Outcome::Approve, None, 1100))
        .await
        .unwrap()
    else {
        panic!("the new holder decides");
    };
    assert_eq!(pending.status, Status::InReview);
    assert_eq!(pending.pass_id, None);
    assert_eq!(
        ids(store.review_queue(std::slice::from_ref(&d), 10).await.unwrap()),
        [c.id]
    );
    assert!(matches!(claim(&store, b.id, r1, 5000).await, ClaimOutcome::Taken));
    let twice = store
        .review_decide(review(b.id, r2, Outcome::Reject, None, 1110))
        .await
        .unwrap();
    assert!(matches!(twice, DecideOutcome::NotHolder));
    let pass = pass_for(&b);
    let issued = ReviewedPass {
        pass: pass.clone(),
        jobs: vec![NewJob::sms(&u.phone, "approved")],
        issued_at: t(1200),
    };
    assert!(store.review_issue_pass(issued.clone()).await.unwrap());
    assert!(
        !store.review_issue_pass(issued).await.unwrap(),
        "attaching twice changes nothing"
    );
    let b2 = store.application(b.id).await.unwrap().unwrap();
    assert_eq!(b2.status, Status::Approved);
    assert_eq!(b2.pass_id, Some(pass.id));
    assert_eq!(b2.decision.unwrap().outcome, Outcome::Approve);
    assert_eq!(store.pass(pass.id).await.unwrap(), Some(pass));

    // An approval with a pass at hand is approved at once.
    assert!(matches!(claim(&store, c.id, r1, 1300).await, ClaimOutcome::Claimed(_)));
    let cpass = pass_for(&c);
    let DecideOutcome::Decided(c2) = store
        .review_decide(review(c.id, r1, Outcome::Approve, Some(cpass.clone()), 1310))
        .await
        .unwrap()
    else {
        panic!("approved");
    };
    assert_eq!(c2.status, Status::Approved);
    assert_eq!(c2.pass_id, Some(cpass.id));
    assert!(
        store
            .review_queue(std::slice::from_ref(&d), 10)
            .await
            .unwrap()
            .is_empty()
    );

    // Jobs were enqueued with each decision; every decision and claim is audited.
    let kinds: Vec<String> = drain_jobs(&store, t(2000)).await.into_iter().map(|j| j.kind).collect();
    assert_eq!(kinds.iter().filter(|k| *k == "test_job").count(), 3, "{kinds:?}");
    assert_eq!(kinds.iter().filter(|k| *k == JOB_SEND_SMS).count(), 1, "{kinds:?}");
    let log = store.audit_list(0, 1000).await.unwrap();
    let reviewed: Vec<_> = log
        .iter()
        .filter(|e| e.action == action::APPLICATION_REVIEWED)
        .collect();
    assert_eq!(reviewed.len(), 3);
    assert_eq!(reviewed[0].actor, r1.to_string());
    assert_eq!(reviewed[0].subject, format!("application:{}", a.id));
    assert_eq!(reviewed[1].actor, r2.to_string());
    assert_eq!(reviewed[1].data["pass_pending"], true);
    assert_eq!(log.iter().filter(|e| e.action == action::REVIEW_CLAIMED).count(), 5);
}

pub(crate) async fn concurrent_review_claims_one_wins(store: Arc<dyn Store>) {
    let u = user(&store, 1).await;
    let app = in_review(&store, u.id, 10).await;
    let mut reviewers = Vec::new();
    for n in 0..8 {
        reviewers.push(user(&store, 100 + n).await.id);
    }
    let tasks: Vec<_> = reviewers
        .into_iter()
        .map(|r| {
            let store = store.clone();
            tokio::spawn(async move { store.review_claim(app.id, r, t(100), REVIEW_LEASE_SECS).await.unwrap() })
        })
        .collect();
    let (mut claimed, mut taken) = (0, 0);
    for task in tasks {
        match task.await.unwrap() {
            ClaimOutcome::Claimed(_) => claimed += 1,
            ClaimOutcome::Taken => taken += 1,
            ClaimOutcome::NotFound => panic!("the application is in review"),
        }
    }
    assert_eq!((claimed, taken), (1, 7));
}

fn info_request(app: ApplicationId, reviewer: UserId, question: &str, at: i64) -> InfoRequest {
    InfoRequest {
        application_id: app,
        reviewer,
        message: mpass_domain::ids::MessageId::new(),
        question: question.into(),
        jobs: vec![NewJob {
            kind: "test_job".into(),
            payload: app.to_string(),
        }],
        at: t(at),
    }
}

pub(crate) async fn information_request_thread(store: Arc<dyn Store>) {
    let u = user(&store, 1).await;
    let stranger = user(&store, 9).await.id;
    let (r1, r2) = (user(&store, 2).await.id, user(&store, 3).await.id);
    let a = in_review(&store, u.id, 10).await;
    let b = in_review(&store, u.id, 11).await;
    let districts = [district()];

    // Only the lease holder may ask.
    let ask = |r, at| info_request(a.id, r, "Please send the hospital's letter.", at);
    assert!(matches!(
        store.review_request_info(ask(r1, 20)).await.unwrap(),
        DecideOutcome::NotHolder
    ));
    assert!(matches!(claim(&store, a.id, r1, 20).await, ClaimOutcome::Claimed(_)));
    assert!(matches!(
        store.review_request_info(ask(r2, 21)).await.unwrap(),
        DecideOutcome::NotHolder
    ));
    drain_jobs(&store, t(21)).await;
    let DecideOutcome::Decided(asked) = store.review_request_info(ask(r1, 22)).await.unwrap() else {
        panic!("the holder asks");
    };
    assert_eq!(asked.status, Status::InfoRequested);
    let jobs = drain_jobs(&store, t(22)).await;
    assert_eq!(jobs.len(), 1, "the applicant's SMS is enqueued with the question");
    // Out of the queue while the applicant is asked; the other item stays.
    let queue: Vec<ApplicationId> = store
        .review_queue(&districts, 10)
        .await
        .unwrap()
        .iter()
        .map(|x| x.id)
        .collect();
    assert_eq!(queue, vec![b.id]);
    // Asking again, or deciding, is no longer possible: it is not in review.
    assert!(matches!(
        store.review_request_info(ask(r1, 23)).await.unwrap(),
        DecideOutcome::NotFound
    ));

    // Only the owner answers, and only while asked.
    let msg = mpass_domain::ids::MessageId::new;
    assert!(matches!(
        store.info_reply(a.id, stranger, msg(), "x", t(30)).await.unwrap(),
        ReplyOutcome::NotFound
    ));
    assert!(matches!(
        store.info_reply(b.id, u.id, msg(), "x", t(30)).await.unwrap(),
        ReplyOutcome::NotWaiting(_)
    ));
    let ReplyOutcome::Replied(back) = store
        .info_reply(a.id, u.id, msg(), "Letter attached: ref 42.", t(31))
        .await
        .unwrap()
    else {
        panic!("the owner answers");
    };
    assert_eq!(back.status, Status::InReview);
    assert!(matches!(
        store.info_reply(a.id, u.id, msg(), "again", t(32)).await.unwrap(),
        ReplyOutcome::NotWaiting(_)
    ));
    // Back in the queue at its original place (oldest first), claimable by anyone.
    let queue: Vec<ApplicationId> = store
        .review_queue(&districts, 10)
        .await
        .unwrap()
        .iter()
        .map(|x| x.id)
        .collect();
    assert_eq!(queue, vec![a.id, b.id]);
    assert!(matches!(claim(&store, a.id, r2, 33).await, ClaimOutcome::Claimed(_)));

    let thread = store.thread(a.id).await.unwrap();
    let said: Vec<(ThreadAuthor, &str)> = thread.iter().map(|m| (m.author, m.body.as_str())).collect();
    assert_eq!(
        said,
        vec![
            (ThreadAuthor::Reviewer, "Please send the hospital's letter."),
            (ThreadAuthor::Applicant, "Letter attached: ref 42."),
        ]
    );
    assert_eq!((thread[0].author_id, thread[1].author_id), (r1, u.id));
    assert!(store.thread(b.id).await.unwrap().is_empty());

    let actions: Vec<String> = store
        .audit_list(0, 100)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.action)
        .collect();
    assert!(actions.contains(&action::INFO_REQUESTED.to_string()), "{actions:?}");
    assert!(actions.contains(&action::INFO_PROVIDED.to_string()), "{actions:?}");
}

pub(crate) async fn policy_history_newest_wins(store: Arc<dyn Store>) {
    assert_eq!(store.policy_latest(0).await.unwrap(), None);
    let put = |version: &'static str, at| {
        let store = store.clone();
        async move {
            let source = format!("version = \"{version}\"");
            store
                .policy_put(version, &source, mpass_domain::audit::Actor::cli(), t(at))
                .await
                .unwrap()
        }
    };
    let one = put("v1#aa", 1).await.expect("new");
    let two = put("v2#bb", 2).await.expect("new");
    assert_eq!(
        put("v2#bb", 3).await,
        None,
        "the policy in force again: nothing written"
    );
    assert!(two > one);
    let latest = store.policy_latest(0).await.unwrap().unwrap();
    assert_eq!(
        (latest.seq, latest.version.as_str(), latest.source.as_str()),
        (two, "v2#bb", "version = \"v2#bb\"")
    );
    assert_eq!(store.policy_latest(one).await.unwrap().map(|p| p.seq), Some(two));
    assert_eq!(
        store.policy_latest(two).await.unwrap(),
        None,
        "nothing newer than the one in force"
    );
    let changes = store
        .audit_list(0, 100)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.action == action::POLICY_CHANGED)
        .count();
    assert_eq!(changes, 2);
}

pub(crate) async fn applications_submitted_between_pages(store: Arc<dyn Store>) {
    let u = user(&store, 1).await;
    let mut ids = Vec::new();
    for i in 0..5 {
        ids.push(submit(&store, u.id, t(100 + i), t(3600)).await.id);
    }
    submit(&store, u.id, t(10), t(3600)).await; // before the range
    let first = store
        .applications_submitted_between(t(100), t(104), None, 3)
        .await
        .unwrap();
    let rest = store
        .applications_submitted_between(t(100), t(104), first.last().map(|a| a.id), 3)
        .await
        .unwrap();
    let got: Vec<ApplicationId> = first.iter().chain(rest.iter()).map(|a| a.id).collect();
    assert_eq!(got, ids[..4].to_vec(), "[from, to), in id order, paged");
}
