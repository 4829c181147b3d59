//! Staff in the browser: a reviewer's question, the analyst's dashboard, the admin's pages.

use std::time::Duration;

use fantoccini::{Client as Browser, Locator};
use serde_json::json;

use crate::common::{self, THANA_A, THANA_B, TestServer, tomorrow_at};
use crate::{choose, click, fill, shot, text_of, wait_for_text};

/// Makes the browser's session the user of `tokens` (the web session cookie carries the
/// same tokens the API issues: `access~refresh`).
async fn act_as(b: &Browser, base: &str, tokens: &mpass_client::Tokens) {
    b.goto(&format!("{base}/")).await.expect("home");
    b.delete_all_cookies().await.expect("clear cookies");
    b.execute(
        "document.cookie = 'mp_auth=' + arguments[0] + '; path=/; samesite=lax';",
        vec![json!(format!("{}~{}", tokens.access_token, tokens.refresh_token))],
    )
    .await
    .expect("set the session cookie");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reviewer_asks_the_citizen_answers_in_the_browser_and_the_reviewer_approves() {
    let Some(mut driver) = common::browser::start_browser(900).await else {
        return;
    };
    let server = TestServer::start().await;
    let base = server.client.base().trim_end_matches('/').to_string();
    let b = driver.browser.take().expect("a browser session");

    // A citizen's application that the policy sends to review.
    let (citizen, citizen_tokens) = server.citizen(&common::phone(30)).await;
    let mut body = common::default_application();
    body.reason = "other".into();
    body.reason_note = Some("Bringing medicine to my father".into());
    let submitted = citizen.submit(&body, None).await.expect("202");
    let app = citizen
        .wait_decided(&submitted.id, common::DECIDE_TIMEOUT)
        .await
        .expect("decided");
    assert_eq!(app.status, "in_review");

    // A reviewer of that district.
    let district = mpass_domain::geo::areas()
        .district_of(THANA_A)
        .expect("district")
        .code
        .clone();
    let (_, tokens) = server.citizen(&common::phone(31)).await;
    mpass::admin::run(
        server.settings.clone(),
        mpass::admin::AdminCommand::Grant {
            phone: common::phone(31),
            role: "reviewer".into(),
            districts: vec![district],
            count: 1,
        },
    )
    .await
    .expect("grant");
    let reviewer_tokens = server.client.refresh(&tokens.refresh_token).await.expect("refresh");

    // The queue, with the rule that sent the application there; "next" claims it.
    act_as(&b, &base, &reviewer_tokens).await;
    b.goto(&format!("{base}/review")).await.expect("queue");
    assert_eq!(text_of(&b, "h1").await, "Review queue");
    let row = text_of(&b, "table.queue tbody").await;
    assert!(row.contains("reason_needs_review"), "{row}");
    let focused = b
        .execute("return document.activeElement.textContent", vec![])
        .await
        .expect("focus");
    assert_eq!(focused, "Claim the next application", "the next action has the focus");
    shot(&b, "13-review-queue").await;
    click(&b, "form[action='/review/next'] button").await;
    wait_for_text(&b, "h1", "Review an application", Duration::from_secs(10)).await;
    let page = text_of(&b, "main").await;
    assert!(page.contains("Bringing medicine to my father"), "{page}");
    assert!(page.contains(&common::profile_for(&common::phone(30)).name), "{page}");

    // Ask for information.
    fill(&b, "f-note", "Which pharmacy, and your father's address?").await;
    shot(&b, "14-review-item").await;
    click(&b, "button[value=request_info]").await;
    wait_for_text(&b, "main .notice", "question was sent", Duration::from_secs(10)).await;
    assert!(text_of(&b, "main").await.contains("The queue is empty"));

    // The citizen reads the question in the web app and answers it.
    act_as(&b, &base, &citizen_tokens).await;
    b.goto(&format!("{base}/applications")).await.expect("applications");
    let card = text_of(&b, "main .cards").await;
    assert!(card.contains("More information requested"), "{card}");
    assert!(card.contains("Which pharmacy, and your father's address?"), "{card}");
    b.find(Locator::Css("form.reply textarea"))
        .await
        .expect("the answer box")
        .send_keys("Lazz Pharma, Kalabagan. Father lives at House 5, Road 2.")
        .await
        .expect("type");
    shot(&b, "15-citizen-answers").await;
    click(&b, "form.reply button").await;
    wait_for_text(&b, "main .notice", "answer was sent", Duration::from_secs(10)).await;

    // Back in the queue: the reviewer reads the thread and approves.
    act_as(&b, &base, &reviewer_tokens).await;
    b.goto(&format!("{base}/review")).await.expect("queue");
    click(&b, "form[action='/review/next'] button").await;
    wait_for_text(&b, "h1", "Review an application", Duration::from_secs(10)).await;
    let thread = text_of(&b, "section.thread").await;
    assert!(
        thread.contains("Which pharmacy") && thread.contains("Lazz Pharma"),
        "{thread}"
    );
    choose(&b, "f-reason_code", "information_provided").await;
    fill(&b, "f-note", "Pharmacy and address confirmed.").await;
    click(&b, "button[value=approve]").await;
    wait_for_text(&b, "main .notice", "Decision recorded", Duration::from_secs(10)).await;

    // The worker signs the pass; the citizen's application is approved.
    let approved = common::eventually("the reviewed pass", common::DECIDE_TIMEOUT, || async {
        let app = citizen.application(&submitted.id).await.ok()?;
        (app.status == "approved").then_some(app)
    })
    .await;
    assert!(approved.pass_id.is_some());
    act_as(&b, &base, &citizen_tokens).await;
    b.goto(&format!("{base}/applications")).await.expect("applications");
    wait_for_text(&b, "main .cards", "Open the pass", Duration::from_secs(10)).await;

    // A citizen who is not a reviewer is refused the queue.
    b.goto(&format!("{base}/review")).await.expect("queue");
    assert_eq!(text_of(&b, "h1").await, "Not allowed");
    assert!(
        text_of(&b, "main")
            .await
            .contains("Ask an administrator for the reviewer role.")
    );
    let _ = b.close().await;
    server.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_analyst_reads_the_dashboard_in_the_browser_in_english_and_bangla() {
    let Some(mut driver) = common::browser::start_browser(900).await else {
        return;
    };
    let server = TestServer::start().await;
    let base = server.client.base().trim_end_matches('/').to_string();
    let b = driver.browser.take().expect("a browser session");

    // Three approved applications from one district, one of them a trip under way.
    let (citizen, citizen_tokens) = server.citizen(&common::phone(40)).await;
    let pass = common::police::pass_valid_now(&citizen).await;
    for hour in [9, 11] {
        let app = citizen
            .submit(&common::application(THANA_A, THANA_B, tomorrow_at(hour, 0)), None)
            .await
            .expect("202");
        citizen
            .wait_decided(&app.id, common::DECIDE_TIMEOUT)
            .await
            .expect("decided");
    }

    // Police check the pass twice at a checkpoint at Zero Point, and a text that is no pass.
    let admin = common::police::staff(&server, 42, "admin").await;
    let police = common::police::staff(&server, 43, "police").await;
    let gate = admin
        .create_checkpoint(&mpass_client::CheckpointBody {
            name: "Zero Point gate".into(),
            lat: 23.7286,
            lon: 90.4106,
            area: None,
        })
        .await
        .expect("checkpoint");
    for text in [pass.qr_text.as_str(), pass.qr_text.as_str(), "MP1:NOT-A-PASS"] {
        police
            .verify(&mpass_client::VerifyBody {
                qr_text: Some(text.into()),
                checkpoint_id: Some(gate.id.clone()),
                ..mpass_client::VerifyBody::default()
            })
            .await
            .expect("verdict");
    }

    // A citizen is refused the page.
    act_as(&b, &base, &citizen_tokens).await;
    b.goto(&format!("{base}/dashboard")).await.expect("dashboard");
    assert_eq!(text_of(&b, "h1").await, "Not allowed");
    assert!(
        text_of(&b, "main")
            .await
            .contains("Ask an administrator for the analyst role.")
    );

    let (_, tokens) = server.citizen(&common::phone(41)).await;
    mpass::admin::run(
        server.settings.clone(),
        mpass::admin::AdminCommand::Grant {
            phone: common::phone(41),
            role: "analyst".into(),
            districts: vec![],
            count: 1,
        },
    )
    .await
    .expect("grant");
    let analyst = server.client.refresh(&tokens.refresh_token).await.expect("refresh");
    act_as(&b, &base, &analyst).await;
    b.goto(&format!("{base}/dashboard")).await.expect("dashboard");
    assert_eq!(text_of(&b, "h1").await, "Dashboard");
    let tiles = text_of(&b, "#headline").await;
    assert!(tiles.contains("Applications\n3"), "{tiles}");
    assert!(tiles.contains("Approved\n3"), "{tiles}");
    let paths = b.find_all(Locator::Css("svg.map path")).await.expect("map");
    assert_eq!(paths.len(), 64, "every district drawn");
    let district = &THANA_A[..4];
    let shaded = b
        .find(Locator::Css(&format!("svg.map path[data-district='{district}']")))
        .await
        .expect("the district on the map")
        .attr("fill")
        .await
        .expect("fill");
    assert_eq!(
        shaded.as_deref(),
        Some("#08519c"),
        "the only district with applications is darkest"
    );
    let refresh = b
        .find(Locator::Css("meta[http-equiv='refresh']"))
        .await
        .expect("auto-refresh")
        .attr("content")
        .await
        .expect("content");
    assert_eq!(refresh.as_deref(), Some("60"));

    // The scans: headline counts by result and the checkpoint in the bar chart.
    let scans = text_of(&b, "#scan-tiles").await;
    assert!(scans.contains("Scans\n3"), "{scans}");
    assert!(scans.contains("Green (valid)\n2"), "{scans}");
    assert!(scans.contains("Red (not valid)\n1"), "{scans}");
    let bars = b
        .find_all(Locator::Css("svg#checkpoint-bars rect"))
        .await
        .expect("bars");
    assert_eq!(bars.len(), 2, "one bar, green and red parts");
    assert!(text_of(&b, "svg#checkpoint-bars").await.contains("Zero Point gate"));

    // Scans near a point: a person types a position and a radius.
    fill(&b, "near-lat", "23.7300").await;
    fill(&b, "near-lon", "90.4100").await;
    fill(&b, "near-radius", "2").await;
    click(&b, "#near-form button[type=submit]").await;
    let near = wait_for_text(&b, "#near", "Zero Point gate", Duration::from_secs(10)).await;
    assert!(near.contains("Dhaka"), "{near}");
    let summary = text_of(&b, "#near-summary").await;
    assert!(
        summary.starts_with("1 checkpoint with scans within 2 km of 23.7300, 90.4100: 3 scans, 1 red"),
        "{summary}"
    );
    shot(&b, "dashboard-en").await;
    // Far away from it: nothing near; a bad radius is explained, not a broken page.
    fill(&b, "near-lat", "22.3350").await;
    fill(&b, "near-lon", "91.8325").await;
    click(&b, "#near-form button[type=submit]").await;
    wait_for_text(&b, "#near-summary", "0 checkpoints", Duration::from_secs(10)).await;
    fill(&b, "near-radius", "500").await;
    click(&b, "#near-form button[type=submit]").await;
    let error = wait_for_text(&b, "#near-error", "at most 100", Duration::from_secs(10)).await;
    assert!(error.contains("radius"), "{error}");
    assert_eq!(text_of(&b, "h1").await, "Dashboard");

    b.goto(&format!("{base}/lang/bn?next=/dashboard"))
        .await
        .expect("Bangla");
    assert_eq!(text_of(&b, "h1").await, "ড্যাশবোর্ড");
    assert!(text_of(&b, "#headline").await.contains("অনুমোদিত"));
    assert!(text_of(&b, "#scans h2").await.contains("চেকপোস্টে পাস যাচাই"));
    assert!(text_of(&b, "#scan-tiles").await.contains("সবুজ (বৈধ)\n2"));
    shot(&b, "dashboard-bn").await;
    server.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_grants_a_role_changes_the_curfew_and_searches_in_the_browser() {
    let Some(mut driver) = common::browser::start_browser(900).await else {
        return;
    };
    let server = TestServer::start().await;
    let base = server.client.base().trim_end_matches('/').to_string();
    let b = driver.browser.take().expect("a browser session");
    let (citizen, _) = server.citizen(&common::phone(50)).await;
    let submitted = citizen.submit(&common::default_application(), None).await.expect("202");
    let (_, tokens) = server.citizen(&common::phone(51)).await;
    mpass::admin::run(
        server.settings.clone(),
        mpass::admin::AdminCommand::Grant {
            phone: common::phone(51),
            role: "admin".into(),
            districts: vec![],
            count: 1,
        },
    )
    .await
    .expect("grant");
    let admin_tokens = server.client.refresh(&tokens.refresh_token).await.expect("refresh");

    // A citizen gets 403 on the admin pages.
    let (_, citizen_tokens) = server.client.login_dev(&common::phone(52)).await.expect("login");
    act_as(&b, &base, &citizen_tokens).await;
    b.goto(&format!("{base}/admin")).await.expect("admin page");
    assert_eq!(text_of(&b, "h1").await, "Not allowed");
    assert!(
        text_of(&b, "main")
            .await
            .contains("Ask an administrator for the admin role.")
    );

    // Grant a reviewer role for a district, by keyboard focus order: phone is focused.
    act_as(&b, &base, &admin_tokens).await;
    b.goto(&format!("{base}/admin")).await.expect("admin page");
    assert_eq!(text_of(&b, "h1").await, "Administration: roles");
    let focused = b
        .execute("return document.activeElement.id", vec![])
        .await
        .expect("focus");
    assert_eq!(focused, "f-phone");
    let district = mpass_domain::geo::areas()
        .district_of(THANA_A)
        .expect("district")
        .code
        .clone();
    fill(&b, "f-phone", &common::phone(53)).await;
    b.find(Locator::Css("#f-role option[value=reviewer]"))
        .await
        .expect("option")
        .click()
        .await
        .expect("choose");
    fill(&b, "f-districts", &district).await;
    click(&b, "button[value=grant]").await;
    wait_for_text(&b, "main .notice", "role was granted", Duration::from_secs(10)).await;
    let table = text_of(&b, "table.grants").await;
    assert!(table.contains("Reviewer") && table.contains(&district), "{table}");
    shot(&b, "30-admin-roles").await;
    // Revoke it again.
    fill(&b, "f-phone", &common::phone(53)).await;
    b.find(Locator::Css("#f-role option[value=reviewer]"))
        .await
        .expect("option")
        .click()
        .await
        .expect("choose");
    click(&b, "button[value=revoke]").await;
    wait_for_text(&b, "main .notice", "role was revoked", Duration::from_secs(10)).await;
    assert!(!text_of(&b, "table.grants").await.contains("Reviewer"));

    // The policy: an impossible curfew is refused with the key; a good one is put in force.
    b.goto(&format!("{base}/admin/policy")).await.expect("policy page");
    let facts = text_of(&b, "dl.facts").await;
    assert!(facts.contains("22:00") && facts.contains("05:00"), "{facts}");
    fill(&b, "f-curfew_start", "25:00").await;
    b.execute(
        "document.getElementById('f-curfew_start').removeAttribute('pattern')",
        vec![],
    )
    .await
    .expect("let the server check it");
    click(&b, "form[action='/admin/policy'] button").await;
    let refused = wait_for_text(&b, "main .notice", "rules.curfew.start", Duration::from_secs(10)).await;
    assert!(refused.contains("not changed"), "{refused}");
    fill(&b, "f-curfew_start", "21:00").await;
    fill(&b, "f-areas", &district).await;
    click(&b, "form[action='/admin/policy'] button").await;
    wait_for_text(&b, "main .notice", "new policy is in force", Duration::from_secs(10)).await;
    let facts = text_of(&b, "dl.facts").await;
    assert!(facts.contains("21:00"), "{facts}");
    shot(&b, "31-admin-policy").await;

    // Search by phone: the application is listed, and the search is in the audit log.
    b.goto(&format!("{base}/admin/search")).await.expect("search page");
    fill(&b, "f-value", &common::phone(50)).await;
    click(&b, "form[action='/admin/search'] button").await;
    let found = wait_for_text(&b, "table.results", &submitted.id, Duration::from_secs(10)).await;
    assert!(found.contains(&submitted.id), "{found}");
    shot(&b, "32-admin-search").await;
    let admin = server.as_user(&admin_tokens.access_token);
    let log = admin
        .raw(reqwest::Method::GET, "/api/v1/audit?limit=500", None, vec![])
        .await
        .expect("audit")
        .json()
        .expect("json");
    let actions: Vec<&str> = log["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|e| e["action"].as_str().unwrap_or_default())
        .collect();
    for want in ["role.granted", "role.revoked", "policy.changed", "admin.search"] {
        assert!(actions.contains(&want), "{want} in {actions:?}");
    }
    server.finish().await;
}
