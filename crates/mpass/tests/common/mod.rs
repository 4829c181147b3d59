//! Shared helpers of the integration tests: a real server on port 0 with a fresh data
//! directory per test, logged-in citizens, valid request bodies and a real PNG photo.
//!
//! Every test talks to the server only through `mpass_client::Client` over the socket,
//! exactly as any other client would.

#![allow(dead_code)] // Each test binary uses a different subset of these helpers.

pub mod browser;
pub mod police;
pub mod visitor;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use mpass::config::Settings;
use mpass::serve::Running;
use mpass_client::{ApplicationBody, Client, PlaceBody, ProfileBody, RawResponse, Tokens};
use time::{OffsetDateTime, UtcOffset};
use tokio::net::TcpListener;

/// How long a test waits for the worker to decide an application.
pub const DECIDE_TIMEOUT: Duration = Duration::from_secs(15);

/// A data directory removed when dropped, so a failing test leaves nothing behind either.
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new(label: &str) -> TempDir {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let nanos = OffsetDateTime::now_utc().unix_timestamp_nanos();
        let dir = std::env::temp_dir().join(format!(
            "mpass-test-{label}-{}-{}-{nanos}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir).expect("create the test data dir");
        TempDir(dir)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A server started for one test, with its own data directory.
pub struct TestServer {
    pub settings: Settings,
    running: Option<Running>,
    pub client: Client,
    // Last, so the directory goes after the server.
    pub dir: TempDir,
}

/// Settings of a test server: quiet, quick to stop, on a fresh data directory.
pub fn test_settings(dir: &Path) -> Settings {
    Settings {
        listen: "127.0.0.1:0".into(),
        data_dir: dir.to_path_buf(),
        worker_concurrency: 16,
        shutdown_grace_secs: 10,
        // Tests of paging, statistics and queues submit dozens for one citizen; the limit's
        // own tests (hostile/submissions.rs, web_forms.rs) set it low.
        submissions_per_citizen_per_hour: 1000,
        ..Settings::default()
    }
}

impl TestServer {
    /// A server with the default settings on a fresh data directory.
    pub async fn start() -> TestServer {
        TestServer::start_with(|_| {}).await
    }

    /// A server whose settings `adjust` changes first.
    pub async fn start_with(adjust: impl FnOnce(&mut Settings)) -> TestServer {
        let dir = TempDir::new("srv");
        let mut settings = test_settings(dir.path());
        adjust(&mut settings);
        let running = launch(&settings).await;
        let client = Client::new(&format!("http://{}", running.addr));
        TestServer {
            settings,
            running: Some(running),
            client,
            dir,
        }
    }

    /// Stops the server gracefully (in-flight requests and jobs finish).
    pub async fn stop(&mut self) {
        if let Some(running) = self.running.take() {
            tokio::time::timeout(Duration::from_secs(30), running.shutdown())
                .await
                .expect("shutdown finishes in time")
                .expect("shutdown succeeds");
        }
    }

    /// Stops the server and starts a new one on the same data directory (a new port).
    pub async fn restart(&mut self) {
        self.stop().await;
        let running = launch(&self.settings).await;
        self.client = Client::new(&format!("http://{}", running.addr));
        self.running = Some(running);
    }

    /// A client of this server acting with `access_token`.
    pub fn as_user(&self, access_token: &str) -> Client {
        self.client.with_token(access_token)
    }

    /// Logs in `phone` through the dev outbox and saves a valid profile.
    pub async fn citizen(&self, phone: &str) -> (Client, Tokens) {
        let (c, tokens) = self
            .client
            .login_dev(phone)
            .await
            .expect("login through the dev outbox");
        c.put_profile(&profile_for(phone)).await.expect("profile saved");
        (c, tokens)
    }

    /// `stop`s the server; the data directory goes when `self` is dropped.
    pub async fn finish(mut self) {
        self.stop().await;
    }
}

async fn launch(settings: &Settings) -> Running {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind port 0");
    mpass::serve::start(settings.clone(), listener)
        .await
        .expect("the server starts")
}

/// A port nobody listens on now, for a server started as its own process.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port()
}

/// A process the test started (`mpass serve` and the like), killed when dropped, so a
/// failing assertion leaves none behind.
pub struct Process(pub std::process::Child);

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The `n`th test phone number, national form (`0171XXXXXXX`).
pub fn phone(n: u32) -> String {
    format!("0171{:07}", n % 10_000_000)
}

/// A valid adult profile whose document number is unique to `phone`, so the policy's
/// "document on another phone" rule never fires between test users.
pub fn profile_for(phone: &str) -> ProfileBody {
    let digits: String = phone.chars().filter(char::is_ascii_digit).collect();
    ProfileBody {
        name: "Rahima Akter".into(),
        date_of_birth: "1990-04-12".into(),
        gender: "F".into(),
        id_type: "NID".into(),
        id_number: format!("{:0>13}", &digits[digits.len().saturating_sub(13)..]),
        home_area: THANA_A.into(),
    }
}

/// Two thana geocodes known to exist (checked against `GET /api/v1/areas` in the walk-through).
pub const THANA_A: &str = "30260014";
pub const THANA_B: &str = "30262000";

/// Two thana codes, picked from the server's own area list.
pub async fn two_thanas(client: &Client) -> (String, String) {
    let areas = client.areas().await.expect("areas");
    let thanas: Vec<_> = areas.iter().filter(|a| a.kind == "thana").collect();
    assert!(
        thanas.len() > 400,
        "Bangladesh has about 500 thanas, got {}",
        thanas.len()
    );
    (thanas[0].code.clone(), thanas[thanas.len() - 1].code.clone())
}

/// Dhaka time.
pub fn dhaka() -> UtcOffset {
    UtcOffset::from_hms(6, 0, 0).expect("valid offset")
}

/// Tomorrow at `hour:minute` Dhaka time: daytime, so curfew never matters, and well
/// inside the policy's start window.
pub fn tomorrow_at(hour: u8, minute: u8) -> OffsetDateTime {
    let now = OffsetDateTime::now_utc().to_offset(dhaka());
    let day = now.date().next_day().expect("a tomorrow");
    day.with_hms(hour, minute, 0)
        .expect("valid time")
        .assume_offset(dhaka())
}

/// RFC 3339 text with the +06:00 offset.
pub fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339)
        .expect("formats")
}

/// A valid medical, one-way, two-hour application between two thanas.
pub fn application(from: &str, to: &str, start: OffsetDateTime) -> ApplicationBody {
    ApplicationBody {
        reason: "medical".into(),
        reason_note: None,
        from: PlaceBody {
            area: from.into(),
            address: "House 12, Road 4".into(),
        },
        to: PlaceBody {
            area: to.into(),
            address: "City Hospital".into(),
        },
        start: rfc3339(start),
        duration_hours: 2,
        trip: "one_way".into(),
        vehicle: None,
        companions: Vec::new(),
    }
}

/// The default test application: tomorrow 10:00 Dhaka time.
pub fn default_application() -> ApplicationBody {
    application(THANA_A, THANA_B, tomorrow_at(10, 0))
}

/// A real RGB PNG of `width` × `height` pixels with a gradient.
pub fn png_photo(width: u32, height: u32) -> Vec<u8> {
    let mut data = Vec::with_capacity((width * height * 3) as usize);
    for y in 0..height {
        for x in 0..width {
            data.extend_from_slice(&[(x * 255 / width) as u8, (y * 255 / height) as u8, 128]);
        }
    }
    rgb_png(width, height, &data)
}

/// A PNG of noise, which does not compress: `width` × `height` × 3 bytes and a little more,
/// the size of a phone camera's photo.
pub fn noisy_png(width: u32, height: u32) -> Vec<u8> {
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let data: Vec<u8> = (0..width * height * 3)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 56) as u8
        })
        .collect();
    rgb_png(width, height, &data)
}

/// `data` (8-bit RGB, row by row) encoded as a PNG.
fn rgb_png(width: u32, height: u32, data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut out, width, height);
        enc.set_color(png::ColorType::Rgb);
        enc.set_depth(png::BitDepth::Eight);
        let mut w = enc.write_header().expect("png header");
        w.write_image_data(data).expect("png data");
    }
    out
}

/// Polls `check` until it returns `Some`, or panics after `timeout`.
pub async fn eventually<T, F, Fut>(what: &str, timeout: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The value of the unlabelled sample `name` in a `/metrics` text; panics when it is absent.
pub fn metric(text: &str, name: &str) -> u64 {
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' '))
        .and_then(|n| n.parse::<u64>().ok())
        .unwrap_or_else(|| panic!("no {name} in {text}"))
}

/// Asserts a problem+json answer with `status` and `code`; returns the parsed problem.
#[track_caller]
pub fn assert_problem(res: &RawResponse, status: u16, code: &str) -> mpass_client::Problem {
    assert_eq!(
        res.status.as_u16(),
        status,
        "status; body: {}",
        String::from_utf8_lossy(&res.body)
    );
    let ct = res
        .headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    assert!(
        ct.starts_with("application/problem+json"),
        "content type {ct:?}; body: {}",
        String::from_utf8_lossy(&res.body)
    );
    let problem = res.problem().expect("a problem document");
    assert_eq!(
        problem.code,
        code,
        "problem code; body: {}",
        String::from_utf8_lossy(&res.body)
    );
    assert_eq!(problem.status, status, "problem status field");
    problem
}

/// Asserts a client error with `status` and `code`.
#[track_caller]
pub fn assert_api_error<T: std::fmt::Debug>(res: mpass_client::Result<T>, status: u16, code: &str) {
    match res {
        Err(e) => {
            assert_eq!(e.status().map(|s| s.as_u16()), Some(status), "{e:?}");
            assert_eq!(e.code(), Some(code), "{e:?}");
        }
        Ok(v) => panic!("expected {status} {code}, got success: {v:?}"),
    }
}

/// A PostgreSQL schema and a NATS stream prefix of one test's own (the distributed
/// layout's backends), removed when dropped: a failing test leaves neither behind.
pub struct SharedBackends {
    /// `MPASS_TEST_DATABASE_URL` with every connection's `search_path` set to `schema`.
    pub database_url: String,
    pub nats_url: String,
    pub schema: String,
    /// `MPASS_QUEUE_PREFIX`: the test's streams are named after it.
    pub prefix: String,
    /// A connection to the test database, for the test's own queries.
    pub pg: tokio_postgres::Client,
    base_url: String,
}

impl SharedBackends {
    /// A fresh schema and prefix named after `label`; `None` (after a notice) unless both
    /// `MPASS_TEST_DATABASE_URL` and `MPASS_TEST_NATS_URL` are set.
    pub async fn new(label: &str) -> Option<SharedBackends> {
        let (Ok(base_url), Ok(nats_url)) = (
            std::env::var("MPASS_TEST_DATABASE_URL"),
            std::env::var("MPASS_TEST_NATS_URL"),
        ) else {
            eprintln!("skipped: MPASS_TEST_DATABASE_URL and MPASS_TEST_NATS_URL must both be set");
            return None;
        };
        let tag = uuid::Uuid::now_v7().simple().to_string();
        let (schema, prefix) = (format!("t_{label}_{tag}"), format!("mp{label}{tag}"));
        let (pg, conn) = tokio_postgres::connect(&base_url, tokio_postgres::NoTls)
            .await
            .unwrap_or_else(|e| panic!("MPASS_TEST_DATABASE_URL is set but PostgreSQL is unreachable: {e:?}"));
        tokio::spawn(conn);
        pg.batch_execute(&format!("CREATE SCHEMA {schema}"))
            .await
            .expect("create the test schema");
        let sep = if base_url.contains('?') { '&' } else { '?' };
        Some(SharedBackends {
            database_url: format!("{base_url}{sep}options=-csearch_path%3D{schema}"),
            nats_url,
            schema,
            prefix,
            pg,
            base_url,
        })
    }
}

impl Drop for SharedBackends {
    fn drop(&mut self) {
        let (url, schema, nats, prefix) = (
            self.base_url.clone(),
            self.schema.clone(),
            self.nats_url.clone(),
            self.prefix.to_ascii_uppercase(),
        );
        // Drop may run inside the test's runtime (or while a failed test unwinds): the
        // clean-up runs on a thread with a runtime of its own.
        let dropped = std::thread::spawn(move || -> Result<(), String> {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| e.to_string())?;
            rt.block_on(async move {
                if let Ok(nc) = async_nats::connect(&nats).await {
                    let js = async_nats::jetstream::new(nc);
                    let streams = mpass_domain::ports::JOB_KINDS
                        .iter()
                        .map(|k| format!("{prefix}_JOBS_{k}"));
                    for name in streams.chain([format!("{prefix}_DLQ")]) {
                        let _ = js.delete_stream(&name).await;
                    }
                }
                let (pg, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
                    .await
                    .map_err(|e| e.to_string())?;
                tokio::spawn(conn);
                pg.batch_execute(&format!(
                    "SET lock_timeout = '10s'; DROP SCHEMA IF EXISTS {schema} CASCADE"
                ))
                .await
                .map_err(|e| e.to_string())
            })
        })
        .join();
        if !matches!(dropped, Ok(Ok(()))) {
            eprintln!("could not drop the test schema {}: {dropped:?}", self.schema);
        }
    }
}
