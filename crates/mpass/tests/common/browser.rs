//! Headless Chromium for the browser tests: chromedriver plus one session with a fresh
//! profile. Skips with a printed notice when either is missing, unless
//! `MPASS_REQUIRE_BROWSER=1` (CI), where a missing browser fails the test.

use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client as Browser, ClientBuilder};
use serde_json::json;

use super::TempDir;

/// chromedriver plus one Chromium session with a fresh profile; both end when dropped.
pub struct Driver {
    pub browser: Option<Browser>,
    /// chromedriver's port, for WebDriver commands fantoccini lacks (print to PDF).
    pub port: u16,
    process: Child,
    _profile: TempDir,
}

impl Drop for Driver {
    fn drop(&mut self) {
        // chromedriver runs in a process group of its own, which the Chromium it starts
        // joins: end the whole group, so that no browser outlives a test that did not close
        // its session (killing chromedriver alone left Chromium running).
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", self.process.id())])
            .stderr(Stdio::null())
            .status();
        let _ = self.process.kill();
        let _ = self.process.wait();
    }
}

/// The first of `names` on the PATH.
pub fn find_binary(names: &[&str]) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    names.iter().find_map(|name| {
        std::env::split_paths(&path)
            .map(|dir| dir.join(name))
            .find(|p| p.is_file())
    })
}

/// The browser with a 420 px wide window of `height` px, or `None` (after a printed
/// notice) when it is not installed here.
pub async fn start_browser(height: u32) -> Option<Driver> {
    let (Some(chromium), Some(driver)) = (
        find_binary(&["chromium", "chromium-browser"]),
        find_binary(&["chromedriver"]),
    ) else {
        let msg = "chromium and chromedriver are needed (apt-get install chromium chromium-driver)";
        assert!(
            std::env::var("MPASS_REQUIRE_BROWSER").as_deref() != Ok("1"),
            "MPASS_REQUIRE_BROWSER=1 but {msg}"
        );
        eprintln!("SKIPPED browser test: {msg}");
        return None;
    };
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let process = Command::new(driver)
        .arg(format!("--port={port}"))
        .process_group(0)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("chromedriver starts");
    let profile = TempDir::new("chromium");
    let caps = json!({
        "goog:chromeOptions": {
            "binary": chromium,
            "args": [
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--no-first-run", "--disable-background-networking", "--disable-component-update",
                "--disable-sync", format!("--window-size=420,{height}"), "--lang=en-US",
                format!("--user-data-dir={}", profile.path().display()),
            ]
        }
    });
    let caps = caps.as_object().cloned().expect("an object");
    let mut d = Driver {
        browser: None,
        port,
        process,
        _profile: profile,
    };
    let url = format!("http://127.0.0.1:{port}");
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let mut builder = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new());
        match builder.capabilities(caps.clone()).connect(&url).await {
            Ok(b) => {
                d.browser = Some(b);
                return Some(d);
            }
            Err(e) if Instant::now() > deadline => panic!("chromedriver did not start: {e}"),
            Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
}
