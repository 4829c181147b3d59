//! The web app end to end in headless Chromium. The citizen (`citizen.rs`): log in with the
//! dev-outbox code, fill the profile with a phone camera's photo (made smaller by the page),
//! apply (with a validation error first), see the approval, open the pass (its QR is the
//! API's `qr_text`), print it on one page, download the PDF and switch to Bangla. The staff
//! (`staff.rs`): a reviewer's question and the citizen's answer, the analyst's dashboard in
//! both languages, an admin's roles, curfew and search. Screenshots of the key pages go to
//! `target/screenshots/`.
//!
//! Skips with a notice when `chromium` or `chromedriver` is missing, unless
//! `MPASS_REQUIRE_BROWSER=1` (CI), where a missing browser fails the test.

#[path = "../common/mod.rs"]
mod common;

mod citizen;
mod staff;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

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
