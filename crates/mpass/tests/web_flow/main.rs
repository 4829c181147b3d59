//! The citizen web app end to end in headless Chromium: log in with the dev-outbox code,
//! fill the profile with a photo, apply (with a validation error first), see the approval,
//! open the pass (its QR is the API's `qr_text`), print it on one page, download the PDF
//! and switch to Bangla. Screenshots of the key pages go to `target/screenshots/`.
//!
//! Skips with a notice when `chromium` or `chromedriver` is missing, unless
//! `MPASS_REQUIRE_BROWSER=1` (CI), where a missing browser fails the test.

#[path = "../common/mod.rs"]
mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use base64::Engine;
use common::{THANA_A, THANA_B, TempDir, TestServer, noisy_png, tomorrow_at};
use fantoccini::{Client as Browser, Locator};
use serde_json::json;

fn screenshots_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/screenshots");
    std::fs::create_dir_all(&dir).expect("create target/screenshots");
    dir
}

async fn shot(b: &Browser, name: &str) {
    // Full-page height, so the screenshot shows the whole page.
    let height = b
        .execute("return document.documentElement.scrollHeight", vec![])
        .await
        .ok()
        .and_then(|v| v.as_u64())
        .unwrap_or(900)
        .clamp(600, 4000);
    let _ = b.set_window_size(420, height as u32 + 120).await;
    let png = b.screenshot().await.expect("screenshot");
    std::fs::write(screenshots_dir().join(format!("{name}.png")), png).expect("save screenshot");
    let _ = b.set_window_size(420, 900).await;
}

async fn text_of(b: &Browser, css: &str) -> String {
    b.find(Locator::Css(css)).await.expect(css).text().await.expect("text")
}

async fn set_value(b: &Browser, id: &str, value: &str) {
    b.execute(
        "document.getElementById(arguments[0]).value = arguments[1];",
        vec![json!(id), json!(value)],
    )
    .await
    .expect("set a value");
}

async fn fill(b: &Browser, id: &str, value: &str) {
    let el = b.find(Locator::Id(id)).await.expect(id);
    el.clear().await.expect("clear");
    el.send_keys(value).await.expect("type");
}

async fn choose(b: &Browser, id: &str, value: &str) {
    b.find(Locator::Id(id))
        .await
        .expect(id)
        .select_by_value(value)
        .await
        .expect("select");
}

async fn click(b: &Browser, css: &str) {
    b.find(Locator::Css(css))
        .await
        .expect(css)
        .click()
        .await
        .expect("click");
}

/// Picks a place the way a person does: the district first, then a thana of it.
async fn choose_place(b: &Browser, id: &str, thana: &str) {
    let district = &thana[..4];
    choose(b, &format!("{id}-district"), district).await;
    // The script narrowed the thana list to this district.
    let shown = b
        .execute(
            "return document.getElementById(arguments[0]).options.length",
            vec![json!(id)],
        )
        .await
        .expect("count options")
        .as_u64()
        .unwrap_or(0);
    assert!(
        (2..60).contains(&shown),
        "thana list filtered to one district, got {shown} options"
    );
    choose(b, id, thana).await;
}

async fn wait_for_text(b: &Browser, css: &str, want: &str, timeout: Duration) -> String {
    let deadline = Instant::now() + timeout;
    loop {
        if let Ok(el) = b.find(Locator::Css(css)).await
            && let Ok(t) = el.text().await
            && t.contains(want)
        {
            return t;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {want:?} in {css}");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// The `d` attribute of the QR path in an SVG document or fragment.
fn qr_path(svg: &str) -> String {
    let at = svg.find(" d=\"").expect("a path") + 4;
    svg[at..].split('"').next().unwrap_or("").to_string()
}

/// Page objects in a PDF: `/Type /Page` (or `/Type/Page`) not followed by `s`.
fn pdf_pages(pdf: &[u8]) -> usize {
    let text = String::from_utf8_lossy(pdf).replace("/Type /Page", "/Type/Page");
    text.match_indices("/Type/Page")
        .filter(|(i, m)| text.as_bytes().get(i + m.len()) != Some(&b's'))
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn citizen_gets_a_pass_in_the_browser_and_reads_it_in_bangla() {
    let Some(mut driver) = common::browser::start_browser(900).await else {
        return;
    };
    let server = TestServer::start().await;
    let base = server.client.base().trim_end_matches('/').to_string();
    let b = driver.browser.take().expect("a browser session");
    let phone = "01712345678";

    // Home: what the pass is for and the rules in force.
    b.goto(&format!("{base}/")).await.expect("home");
    assert_eq!(text_of(&b, "h1").await, "Movement pass");
    let body = text_of(&b, "main").await;
    assert!(body.contains("Current rules") && body.contains("hours"), "{body}");
    shot(&b, "01-home").await;

    // Login, step one: the phone number.
    click(&b, "main a.button").await;
    fill(&b, "f-phone", phone).await;
    shot(&b, "02-login").await;
    click(&b, "main button[type=submit]").await;
    wait_for_text(&b, "h1", "Enter your code", Duration::from_secs(10)).await;

    // Step two: the code from the dev outbox; a wrong one first.
    fill(&b, "f-code", "000000").await;
    click(&b, "main form button[type=submit]").await;
    let err = wait_for_text(&b, "#f-code-err", "wrong", Duration::from_secs(10)).await;
    assert!(err.contains("expired"), "{err}");
    let code = common::eventually("the SMS code", Duration::from_secs(15), || async {
        server.client.dev_code(phone).await.ok().flatten()
    })
    .await;
    fill(&b, "f-code", &code).await;
    click(&b, "main form button[type=submit]").await;
    wait_for_text(&b, "h1", "Your profile", Duration::from_secs(10)).await;

    // Profile.
    fill(&b, "f-name", "Rahima Akter").await;
    set_value(&b, "f-date_of_birth", "1990-04-12").await;
    choose(&b, "f-gender", "F").await;
    choose(&b, "f-id_type", "NID").await;
    fill(&b, "f-id_number", "1990123456789").await;
    choose_place(&b, "f-home_area", THANA_A).await;
    click(&b, "form[action='/profile'] button[type=submit]").await;
    wait_for_text(&b, "main .notice", "profile is saved", Duration::from_secs(10)).await;

    // Photo: a phone camera's, over the 2 MiB limit; the page makes it smaller before
    // sending it (without that the server would refuse it).
    let photo_dir = TempDir::new("photo");
    let photo = photo_dir.path().join("me.png");
    let camera = noisy_png(1300, 1000);
    assert!(camera.len() > mpass_domain::photo::MAX_PHOTO_BYTES, "{}", camera.len());
    std::fs::write(&photo, camera).expect("write the photo");
    b.find(Locator::Id("f-photo"))
        .await
        .expect("file input")
        .send_keys(&photo.display().to_string())
        .await
        .expect("choose the file");
    let chosen = "var f = document.getElementById('f-photo').files[0]; \
                  var b = document.querySelector(\"form[action='/profile/photo'] button\"); \
                  return f && !b.disabled && f.type === 'image/jpeg' ? f.size : 0";
    let shrunk = common::eventually("the photo made smaller", Duration::from_secs(10), || async {
        let size = b
            .execute(chosen, vec![])
            .await
            .expect("file size")
            .as_u64()
            .unwrap_or(0);
        (size > 0).then_some(size)
    })
    .await;
    assert!(shrunk <= mpass_domain::photo::MAX_PHOTO_BYTES as u64, "{shrunk}");
    click(&b, "form[action='/profile/photo'] button[type=submit]").await;
    wait_for_text(&b, "main .notice", "photo is saved", Duration::from_secs(10)).await;
    shot(&b, "03-profile").await;

    // Apply: a missing address is shown next to its field.
    click(&b, "main a[href='/apply']").await;
    wait_for_text(&b, "h1", "Apply", Duration::from_secs(10)).await;
    choose(&b, "f-reason", "medical").await;
    choose_place(&b, "f-from-area", THANA_A).await;
    choose_place(&b, "f-to-area", THANA_B).await;
    fill(&b, "f-to-address", "City Hospital").await;
    let start = tomorrow_at(10, 0);
    set_value(&b, "f-start_date", &start.date().to_string()).await;
    set_value(&b, "f-start_time", "10:00").await;
    click(&b, "form[action='/apply'] button[type=submit]").await;
    let err = wait_for_text(&b, "#f-from-address-err", "required", Duration::from_secs(10)).await;
    assert!(!err.is_empty());
    let invalid = b
        .find(Locator::Id("f-from-address"))
        .await
        .expect("address input")
        .attr("aria-describedby")
        .await
        .expect("attr");
    assert_eq!(invalid.as_deref(), Some("f-from-address-err"));
    shot(&b, "04-apply-errors").await;

    // The vehicle and companion sections appear when asked for.
    fill(&b, "f-from-address", "House 12, Road 4").await;
    let vehicle_shown = || async {
        b.find(Locator::Id("f-vehicle-kind"))
            .await
            .expect("kind")
            .is_displayed()
            .await
            .expect("displayed")
    };
    assert!(!vehicle_shown().await, "vehicle section hidden until asked for");
    click(&b, "#f-has_vehicle").await;
    assert!(vehicle_shown().await, "vehicle section shown");
    choose(&b, "f-vehicle-kind", "car").await;
    fill(&b, "f-vehicle-registration", "DHAKA-GA-1234").await;
    click(&b, "[data-add-companion]").await;
    fill(&b, "f-companions-0--name", "Karim").await;
    fill(&b, "f-companions-0--relation", "Son").await;
    fill(&b, "f-companions-0--age", "9").await;
    shot(&b, "05-apply").await;
    click(&b, "form[action='/apply'] button[type=submit]").await;

    // My applications: refreshes itself until the decision is there.
    wait_for_text(&b, "h1", "My applications", Duration::from_secs(10)).await;
    wait_for_text(&b, ".cards", "Approved", Duration::from_secs(30)).await;
    shot(&b, "06-applications").await;

    // The pass.
    click(&b, ".cards a.button").await;
    wait_for_text(&b, "h1", "Movement pass", Duration::from_secs(10)).await;
    let details = text_of(&b, ".pass").await;
    for want in [
        "Rahima Akter",
        "House 12, Road 4",
        "City Hospital",
        "DHAKA-GA-1234",
        "Karim",
        "Medical",
    ] {
        assert!(details.contains(want), "{want} on the pass: {details}");
    }
    shot(&b, "07-pass").await;

    // Its QR code is exactly the API's qr_text.
    let url = b.current_url().await.expect("url");
    let pass_id = url.path().rsplit('/').next().expect("pass id").to_string();
    let auth = b.get_named_cookie("mp_auth").await.expect("session cookie");
    assert_eq!(auth.http_only(), Some(true), "session cookie is HttpOnly");
    let access = auth.value().split('~').next().expect("access token");
    let api_pass = server
        .client
        .with_token(access)
        .pass(&pass_id)
        .await
        .expect("pass by API");
    let svg_el = b.find(Locator::Css(".qr svg path")).await.expect("QR path");
    let page_path = svg_el.attr("d").await.expect("d").unwrap_or_default();
    let expected = mpass_domain::pass::qr_svg(&api_pass.qr_text).expect("render");
    assert_eq!(page_path, qr_path(&expected), "page QR encodes the API's qr_text");
    assert_eq!(text_of(&b, "#short-code").await, api_pass.short_code);
    // And, where a QR decoder is installed, the screenshot scans to it.
    if let Some(zbar) = common::browser::find_binary(&["zbarimg"]) {
        let out = Command::new(zbar)
            .args(["-q", "--raw"])
            .arg(screenshots_dir().join("07-pass.png"))
            .output()
            .expect("zbarimg runs");
        assert_eq!(
            String::from_utf8_lossy(&out.stdout).trim(),
            api_pass.qr_text,
            "scanned QR"
        );
    }

    // Printing fits one page.
    let session = b.session_id().await.expect("session").expect("an id");
    let print: serde_json::Value = reqwest::Client::new()
        .post(format!("http://127.0.0.1:{}/session/{session}/print", driver.port))
        .json(&json!({ "page": { "width": 21.0, "height": 29.7 }, "background": true }))
        .send()
        .await
        .expect("print")
        .json()
        .await
        .expect("print json");
    let pdf = base64::engine::general_purpose::STANDARD
        .decode(print["value"].as_str().expect("a PDF"))
        .expect("base64");
    std::fs::write(screenshots_dir().join("07-pass-print.pdf"), &pdf).expect("save print");
    assert_eq!(pdf_pages(&pdf), 1, "the printed pass fits one A4 page");

    // The PDF download.
    let sid = b.get_named_cookie("mp_sid").await.expect("sid cookie");
    let res = reqwest::Client::new()
        .get(format!("{base}/passes/{pass_id}/pass.pdf"))
        .header("cookie", format!("mp_auth={}; mp_sid={}", auth.value(), sid.value()))
        .send()
        .await
        .expect("pdf");
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-type"], "application/pdf");
    let pdf = res.bytes().await.expect("pdf bytes");
    assert!(pdf.starts_with(b"%PDF-1.4") && pdf.ends_with(b"%%EOF\n"));
    std::fs::write(screenshots_dir().join("08-pass-download.pdf"), &pdf).expect("save pdf");

    // Bangla: the switch is remembered, digits and dates are Bangla.
    click(&b, "a.lang").await;
    wait_for_text(&b, "h1", "মুভমেন্ট পাস", Duration::from_secs(10)).await;
    let lang = b
        .execute("return document.documentElement.lang", vec![])
        .await
        .expect("lang");
    assert_eq!(lang, json!("bn"));
    let details = text_of(&b, ".pass").await;
    assert!(details.contains("১০:০০"), "Bangla digits in the times: {details}");
    assert!(details.contains("চিকিৎসা"), "Bangla reason label: {details}");
    shot(&b, "09-pass-bn").await;
    b.goto(&format!("{base}/applications")).await.expect("applications");
    wait_for_text(&b, "h1", "আমার আবেদন", Duration::from_secs(10)).await;
    assert!(text_of(&b, ".cards").await.contains("অনুমোদিত"));
    shot(&b, "10-applications-bn").await;
    b.goto(&format!("{base}/apply")).await.expect("apply");
    shot(&b, "11-apply-bn").await;
    b.goto(&format!("{base}/")).await.expect("home");
    shot(&b, "12-home-bn").await;

    let _ = b.close().await;
    server.finish().await;
}

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
    assert_ne!(text_of(&b, "h1").await, "Review queue");
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
    assert_ne!(text_of(&b, "h1").await, "Dashboard");

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
    assert_ne!(text_of(&b, "h1").await, "Administration: roles");

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
