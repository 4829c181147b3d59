//! The web app without a browser (and so without JavaScript): plain form posts through the
//! whole flow, CSRF refusals, cookie flags, security headers, cached assets, page sizes and
//! Bangla error messages. Runs everywhere; the browser test covers what needs Chromium.

mod common;

use std::time::Duration;

use common::visitor::{Visitor, log_in, with_profile};
use common::{THANA_A, THANA_B, TestServer, tomorrow_at};

#[tokio::test]
async fn pages_carry_security_headers_and_cached_assets() {
    let server = TestServer::start().await;
    let mut v = Visitor::new(server.client.base());
    let home = v.get("/").await;
    assert_eq!(home.status, 200);
    let csp = home.headers["content-security-policy"].to_str().expect("csp");
    assert!(
        csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"),
        "{csp}"
    );
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    assert_eq!(home.headers["x-content-type-options"], "nosniff");
    assert!(home.body.starts_with("<!doctype html><html lang=\"en\">"));
    assert!(
        home.body.len() < 12_000,
        "home page is small: {} bytes",
        home.body.len()
    );
    assert!(
        !home.body.contains("<script>") && !home.body.contains("style=\""),
        "no inline script or style"
    );
    let sid = v
        .set_cookie_lines
        .iter()
        .find(|l| l.starts_with("mp_sid="))
        .expect("sid cookie");
    assert!(sid.contains("HttpOnly") && sid.contains("SameSite=Lax"), "{sid}");
    assert!(!sid.contains("Secure"), "plain http on localhost: {sid}");
    for ext in [".css", ".js"] {
        let url = home
            .body
            .split('"')
            .find(|u| u.starts_with("/assets/app.") && u.ends_with(ext))
            .expect("a hashed asset URL")
            .to_string();
        let asset = v.get(&url).await;
        assert_eq!(asset.status, 200, "{url}");
        assert_eq!(asset.headers["cache-control"], "public, max-age=31536000, immutable");
        assert!(asset.body.len() < 12_000, "{url} is small: {} bytes", asset.body.len());
    }
    assert_eq!(v.get("/assets/evil.svg").await.status, 404);
    // Every page names its icon, so browsers do not ask for /favicon.ico (a 404 each time).
    let icon = home
        .body
        .split('"')
        .find(|u| u.starts_with("/assets/icon.") && u.ends_with(".svg"))
        .expect("an icon link")
        .to_string();
    assert!(
        home.body.contains(&format!("<link rel=\"icon\" href=\"{icon}\"")),
        "{}",
        home.body
    );
    let asset = v.get(&icon).await;
    assert_eq!(asset.status, 200);
    assert_eq!(asset.headers["content-type"], "image/svg+xml");
    assert_eq!(asset.headers["cache-control"], "public, max-age=31536000, immutable");
    assert!(asset.body.starts_with("<svg"), "{}", asset.body);
    server.finish().await;
}

#[tokio::test]
async fn forms_refuse_a_missing_or_foreign_csrf_token() {
    let server = TestServer::start().await;
    let mut a = Visitor::new(server.client.base());
    let mut b = Visitor::new(server.client.base());
    let token_a = a.get("/login").await.hidden("csrf");
    b.get("/login").await;
    assert_eq!(b.post("/login", &[("phone", "01712000001")]).await.status, 403);
    let foreign = b.post("/login", &[("csrf", &token_a), ("phone", "01712000001")]).await;
    assert_eq!(foreign.status, 403, "a token is tied to its own session");
    assert!(server.client.dev_code("01712000001").await.expect("outbox").is_none());
    server.finish().await;
}

/// Checks that `pdftotext` (poppler-utils) finds each of `needles` in `pdf`; skips with a
/// notice when `pdftotext` is not installed.
fn pdf_text_contains(pdf: &[u8], needles: &[&str]) {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let child = Command::new("pdftotext")
        .args(["-q", "-", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn();
    let Ok(mut child) = child else {
        eprintln!("pdftotext not found (poppler-utils): not checking the PDF's text");
        return;
    };
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(pdf)
        .expect("write the PDF to pdftotext");
    let out = child.wait_with_output().expect("pdftotext");
    assert!(out.status.success(), "pdftotext failed");
    let text = String::from_utf8_lossy(&out.stdout);
    for needle in needles {
        assert!(text.contains(needle), "{needle} not in the PDF text:\n{text}");
    }
}

#[tokio::test]
async fn the_whole_flow_works_without_javascript() {
    let server = TestServer::start().await;
    let mut v = Visitor::new(server.client.base());
    let phone = "01712000002";
    let sid_before = {
        v.get("/").await;
        v.cookies["mp_sid"].clone()
    };
    let logged_in = log_in(&server, &mut v, phone).await;
    assert_eq!(logged_in.status, 303, "{}", logged_in.body);
    assert_eq!(logged_in.location(), "/profile");
    assert_ne!(v.cookies["mp_sid"], sid_before, "the session id changes at login");
    let auth = v
        .set_cookie_lines
        .iter()
        .rev()
        .find(|l| l.starts_with("mp_auth="))
        .expect("auth cookie");
    assert!(auth.contains("HttpOnly") && auth.contains("SameSite=Lax"), "{auth}");

    // Profile: a bad document number is reported in Bangla when Bangla is chosen.
    v.get("/lang/bn?next=/profile").await;
    let csrf = v.get("/profile").await.hidden("csrf");
    let mut profile = vec![
        ("csrf", csrf.as_str()),
        ("name", "রহিমা আক্তার"),
        ("date_of_birth", "1990-04-12"),
        ("gender", "F"),
        ("id_type", "NID"),
        ("id_number", "123"),
        ("home_area", THANA_A),
    ];
    let bad = v.post("/profile", &profile).await;
    assert_eq!(bad.status, 422);
    assert!(bad.body.contains("<html lang=\"bn\">"));
    assert!(bad.body.contains("id=\"f-id_number-err\""), "error next to the field");
    assert!(
        bad.body
            .contains("aria-describedby=\"f-id_number-hint f-id_number-err\" aria-invalid=\"true\"")
    );
    assert!(bad.body.contains("নথির নম্বর"), "the Bangla message");
    profile[5] = ("id_number", "1990123456780");
    let saved = v.post("/profile", &profile).await;
    assert_eq!((saved.status, saved.location()), (303, "/profile"));

    // Apply with the grouped thana select alone (no district filter without JS).
    let form = v.get("/apply").await;
    assert!(form.body.contains("<optgroup"), "thanas grouped by district");
    let csrf = form.hidden("csrf");
    let idem = form.hidden("idem");
    let date = tomorrow_at(11, 0).date().to_string();
    let fields = [
        ("csrf", csrf.as_str()),
        ("idem", idem.as_str()),
        ("reason", "groceries"),
        ("from.area", THANA_A),
        ("from.address", "বাড়ি ১২, রোড ৪"),
        ("to.area", THANA_B),
        ("to.address", "Kawran Bazar"),
        ("start_date", date.as_str()),
        ("start_time", "11:00"),
        ("duration_hours", "3"),
        ("trip", "round_trip"),
        ("idem_sent", "1"),
    ];
    let sent = v.post("/apply", &fields).await;
    assert_eq!((sent.status, sent.location()), (303, "/applications"), "{}", sent.body);
    // Sending the same form twice files one application.
    let again = v.post("/apply", &fields).await;
    assert_eq!(again.status, 303);
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    let list = loop {
        let p = v.get("/applications").await;
        if p.body.contains("অনুমোদিত") {
            break p;
        }
        assert!(p.body.contains("http-equiv=\"refresh\""), "refreshes while pending");
        assert!(std::time::Instant::now() < deadline, "no approval in time: {}", p.body);
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(list.body.matches("class=\"card\"").count(), 1, "one application");
    assert!(list.body.contains("১১:০০"), "Bangla digits in times");

    // The pass as a PDF, in Bangla: the name and the labels are real text in it.
    let at = list.body.find("href=\"/passes/").expect("a pass link") + "href=\"".len();
    let pass_path = list.body[at..].split('"').next().expect("pass path").to_string();
    let res = v
        .http
        .get(format!("{}{pass_path}/pass.pdf", v.base))
        .header("cookie", v.cookie_header())
        .send()
        .await
        .expect("pdf");
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-type"], "application/pdf");
    let pdf = res.bytes().await.expect("pdf bytes");
    assert!(pdf.starts_with(b"%PDF-1.4") && pdf.ends_with(b"%%EOF\n"));
    assert!(
        String::from_utf8_lossy(&pdf).contains("/Subtype /Type0"),
        "the Bangla font is embedded"
    );
    if let Some(path) = std::env::var_os("MPASS_SAVE_PDF") {
        std::fs::write(path, &pdf).expect("save the PDF");
    }
    pdf_text_contains(&pdf, &["রহিমা আক্তার", "অবস্থা", "বাড়ি ১২, রোড ৪", "বৈধতা শেষ"]);
    assert!(
        !list.body.contains("http-equiv=\"refresh\""),
        "no more refreshing once decided"
    );

    // Logout ends the session.
    let csrf = list.hidden("csrf");
    let out = v.post("/logout", &[("csrf", &csrf)]).await;
    assert_eq!((out.status, out.location()), (303, "/"));
    assert!(!v.cookies.contains_key("mp_auth"));
    assert_eq!(v.get("/applications").await.location(), "/login");
    server.finish().await;
}

/// A body the server will not read whole gets a page in the citizen's language, not axum's
/// plain text: a phone camera's photo over the limit (sent without the page's script, which
/// would have made it smaller) is refused next to the photo field, in English and Bangla,
/// and another form's body over its limit gets a 413 page that speaks of the form, not of a
/// file (those forms have none).
#[tokio::test]
async fn an_oversized_body_is_refused_on_a_page() {
    let server = TestServer::start().await;
    let mut v = Visitor::new(server.client.base());
    let csrf = with_profile(&server, &mut v, "01712000009").await;

    for (lang, text) in [("en", "The file is too large"), ("bn", "ফাইলটি খুব বড়")] {
        v.get(&format!("/lang/{lang}?next=/profile")).await;
        let mut body = format!(
            "--XyZ\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n{csrf}\r\n--XyZ\r\n\
             Content-Disposition: form-data; name=\"photo\"; filename=\"camera.jpg\"\r\n\
             Content-Type: image/jpeg\r\n\r\n"
        )
        .into_bytes();
        body.resize(body.len() + 5 * 1024 * 1024, 0xAB);
        body.extend_from_slice(b"\r\n--XyZ--\r\n");
        let rb = v
            .http
            .post(format!("{}/profile/photo", v.base))
            .header("content-type", "multipart/form-data; boundary=XyZ")
            .body(body);
        let page = v.send(rb).await;
        assert_eq!(page.status, 422, "{}", page.body);
        assert!(page.headers["content-type"].to_str().unwrap().starts_with("text/html"));
        assert!(page.body.contains(&format!("<html lang=\"{lang}\">")), "{}", page.body);
        assert!(page.body.contains(text), "{}", page.body);
        assert!(page.body.contains("action=\"/profile/photo\""), "the photo form again");
    }
    assert!(
        v.get("/profile").await.body.contains("এখনো কোনো ছবি নেই"),
        "nothing stored"
    );

    let too_long = "x".repeat(mpass_http::MAX_JSON_BODY);
    let page = v.post("/apply", &[("csrf", &csrf), ("to-address", &too_long)]).await;
    assert_eq!(page.status, 413, "{}", page.body);
    assert!(page.body.contains("<html lang=\"bn\">"), "{}", page.body);
    assert!(page.body.contains("ফর্মটি পাঠানোর জন্য খুব বড়"), "{}", page.body);
    assert!(!page.body.contains("ফাইলটি"), "no file on this form: {}", page.body);

    // The login form, 3 MB of it, in English.
    v.get("/lang/en?next=/login").await;
    let huge = "1".repeat(3 * 1024 * 1024);
    let page = v.post("/login", &[("csrf", &csrf), ("phone", &huge)]).await;
    assert_eq!(page.status, 413, "{}", page.body);
    assert!(page.body.contains("The form is too large to send."), "{}", page.body);
    assert!(
        !page.body.contains("The file") && !page.body.contains("on our side"),
        "{}",
        page.body
    );
}

#[tokio::test]
async fn past_the_hourly_limit_the_apply_page_says_when_to_come_back() {
    let server = TestServer::start_with(|s| s.submissions_per_citizen_per_hour = 1).await;
    let mut v = Visitor::new(server.client.base());
    let csrf = with_profile(&server, &mut v, "01712000010").await;
    v.get("/lang/bn?next=/apply").await;
    let date = tomorrow_at(11, 0).date().to_string();
    for (i, want) in [(0, 303), (1, 429)] {
        let idem = v.get("/apply").await.hidden("idem");
        let start = format!("1{i}:00");
        let fields = [
            ("csrf", csrf.as_str()),
            ("idem", idem.as_str()),
            ("reason", "groceries"),
            ("from.area", THANA_A),
            ("from.address", "House 12"),
            ("to.area", THANA_B),
            ("to.address", "Kawran Bazar"),
            ("start_date", date.as_str()),
            ("start_time", start.as_str()),
            ("duration_hours", "3"),
            ("trip", "round_trip"),
            ("idem_sent", "1"),
        ];
        let page = v.post("/apply", &fields).await;
        assert_eq!(page.status, want, "{}", page.body);
        if want == 429 {
            // The form again, filled in, with the wait in minutes (an hour at 1 an hour).
            assert!(page.body.contains("৬০ মিনিট পরে"), "{}", page.body);
            assert!(!page.body.contains("ঠিক করুন:"), "nothing to correct, only to wait");
            assert!(page.body.contains("Kawran Bazar"), "the citizen's input kept");
        }
    }
}
