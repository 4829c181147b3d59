//! The citizen in the browser: log in, profile, apply, the pass and its QR, print, PDF, Bangla.

use std::process::Command;
use std::time::Duration;

use base64::Engine;
use fantoccini::Locator;
use serde_json::json;

use crate::common::{self, THANA_A, THANA_B, TempDir, TestServer, noisy_png, tomorrow_at};
use crate::{choose, choose_place, click, fill, screenshots_dir, set_value, shot, text_of, wait_for_text};

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
