//! A fake Twilio Messages API: a real HTTP server on 127.0.0.1:0 that checks each request
//! the way Twilio does (path with the account SID, HTTP Basic authentication, form
//! encoding, the `To`, `From` and `Body` fields) and answers as told: 201 with a
//! Twilio-shaped message, an error status with Twilio's `{code, message}` document, or
//! nothing until the caller's timeout has passed.

#![allow(dead_code)] // Each test binary uses a different subset.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use base64::Engine;
use mpass::config::{Secret, Settings};

pub const SID: &str = "AC0123456789abcdef0123456789abcdef";
pub const TOKEN: &str = "f1e2d3c4b5a6978812345678abcdef01";
pub const FROM: &str = "+15005550006";

/// How the fake answers one request.
#[derive(Debug, Clone, Copy)]
pub enum Answer {
    /// 201 Created with the message resource.
    Accept,
    /// This status with this JSON body; `{to}` in it becomes the request's `To`.
    Status(u16, &'static str),
    /// Waits this long, then answers 201 (the client has given up by then).
    Stall(Duration),
}

/// Twilio's answer to an invalid `To` (error 21211).
pub const INVALID_NUMBER: &str = r#"{"code": 21211, "message": "The 'To' number {to} is not a valid phone number.", "more_info": "https://www.twilio.com/docs/errors/21211", "status": 400}"#;
/// Twilio's answer when too many requests arrive (error 20429).
pub const TOO_MANY: &str = r#"{"code": 20429, "message": "Too Many Requests", "more_info": "https://www.twilio.com/docs/errors/20429", "status": 429}"#;
/// A 503 from a load balancer in front of the API.
pub const UNAVAILABLE: &str = r#"{"code": 20503, "message": "Service Unavailable", "status": 503}"#;

/// One request the fake received, and what it answered.
#[derive(Debug, Clone)]
pub struct Received {
    pub to: String,
    pub from: String,
    pub body: String,
    pub status: u16,
    /// Answered only after a stall (the client had timed out).
    pub stalled: bool,
    pub at: Instant,
}

impl Received {
    /// A delivery the client saw succeed.
    pub fn delivered(&self) -> bool {
        self.status == 201 && !self.stalled
    }

    /// The 6-digit login code in the body.
    pub fn code(&self) -> Option<String> {
        self.body
            .split(|c: char| !c.is_ascii_digit())
            .find(|w| w.len() == 6)
            .map(str::to_string)
    }
}

#[derive(Default)]
struct Inner {
    script: VecDeque<Answer>,
    received: Vec<Received>,
    /// Requests that did not look like Twilio's API call (wrong path, auth, encoding, fields).
    problems: Vec<String>,
}

/// The running fake.
pub struct FakeTwilio {
    pub base_url: String,
    inner: Arc<Mutex<Inner>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for FakeTwilio {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl FakeTwilio {
    pub async fn start() -> FakeTwilio {
        let inner = Arc::new(Mutex::new(Inner::default()));
        let app = Router::new()
            .route("/2010-04-01/Accounts/{sid}/Messages.json", post(messages))
            .fallback(not_found)
            .with_state(inner.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        FakeTwilio {
            base_url: format!("http://{addr}"),
            inner,
            task,
        }
    }

    /// Server settings that send SMS here, with short timeouts and retries for tests.
    pub fn configure(&self, s: &mut Settings) {
        s.sms_provider = "twilio".into();
        s.twilio_base_url = self.base_url.clone();
        s.twilio_account_sid = Some(SID.into());
        s.twilio_auth_token = Some(Secret(TOKEN.into()));
        s.twilio_from = Some(FROM.into());
        s.sms_timeout_ms = 500;
        s.job_max_attempts = 3;
        s.job_backoff_base_ms = 50;
    }

    /// Answers the next requests like this, in order; afterwards, `Accept`.
    pub fn script(&self, answers: impl IntoIterator<Item = Answer>) {
        self.lock().script.extend(answers);
    }

    pub fn received(&self) -> Vec<Received> {
        self.lock().received.clone()
    }

    /// Requests for `to` (E.164).
    pub fn to(&self, to: &str) -> Vec<Received> {
        self.received().into_iter().filter(|r| r.to == to).collect()
    }

    pub fn problems(&self) -> Vec<String> {
        self.lock().problems.clone()
    }

    /// Waits until `n` requests for `to` have been answered; returns them.
    pub async fn wait_for(&self, to: &str, n: usize, timeout: Duration) -> Vec<Received> {
        let deadline = Instant::now() + timeout;
        loop {
            let got = self.to(to);
            if got.len() >= n {
                return got;
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {n} requests to {to}; got {got:?}; problems {:?}",
                self.problems()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }
}

fn json(status: u16, body: String) -> Response {
    (
        StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        [(header::CONTENT_TYPE, "application/json")],
        body,
    )
        .into_response()
}

async fn not_found() -> Response {
    json(
        404,
        r#"{"code": 20404, "message": "The requested resource was not found", "status": 404}"#.into(),
    )
}

async fn messages(
    State(inner): State<Arc<Mutex<Inner>>>,
    Path(sid): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let problem = |what: String| {
        inner.lock().unwrap_or_else(|p| p.into_inner()).problems.push(what);
    };
    if sid != SID {
        problem(format!("unknown account {sid}"));
        return not_found().await;
    }
    let expected = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{SID}:{TOKEN}"))
    );
    let auth = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok());
    if auth != Some(expected.as_str()) {
        problem(format!("authorization {auth:?}"));
        return json(
            401,
            r#"{"code": 20003, "message": "Authenticate", "more_info": "https://www.twilio.com/docs/errors/20003", "status": 401}"#.into(),
        );
    }
    let ct = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !ct.starts_with("application/x-www-form-urlencoded") {
        problem(format!("content type {ct:?}"));
        return json(
            400,
            r#"{"code": 20001, "message": "Unsupported content type", "status": 400}"#.into(),
        );
    }
    let Some(form) = form_decode(&body) else {
        problem("undecodable form".into());
        return json(400, r#"{"code": 20001, "message": "Bad form", "status": 400}"#.into());
    };
    let field = |name: &str| form.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
    let mut names: Vec<&str> = form.iter().map(|(k, _)| k.as_str()).collect();
    names.sort_unstable();
    if names != ["Body", "From", "To"] {
        problem(format!("form fields {names:?}"));
        return json(
            400,
            r#"{"code": 21603, "message": "Fields To, From and Body are required", "status": 400}"#.into(),
        );
    }
    let (to, from, text) = (
        field("To").unwrap_or_default(),
        field("From").unwrap_or_default(),
        field("Body").unwrap_or_default(),
    );
    let e164 = to.len() == 14 && to.starts_with("+8801") && to[1..].bytes().all(|b| b.is_ascii_digit());
    if !e164 || from != FROM || text.is_empty() {
        problem(format!(
            "bad values to={to:?} from={from:?} body empty={}",
            text.is_empty()
        ));
        return json(400, INVALID_NUMBER.replace("{to}", &to));
    }
    let answer = inner
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .script
        .pop_front()
        .unwrap_or(Answer::Accept);
    let record = |status: u16, stalled: bool| {
        inner.lock().unwrap_or_else(|p| p.into_inner()).received.push(Received {
            to: to.clone(),
            from: from.clone(),
            body: text.clone(),
            status,
            stalled,
            at: Instant::now(),
        });
    };
    let created = || {
        json(
            201,
            serde_json::json!({
                "sid": format!("SM{:032x}", rand_id()),
                "account_sid": SID,
                "to": to,
                "from": from,
                "body": text,
                "status": "queued",
                "direction": "outbound-api",
                "api_version": "2010-04-01",
            })
            .to_string(),
        )
    };
    match answer {
        Answer::Accept => {
            record(201, false);
            created()
        }
        Answer::Status(status, body) => {
            record(status, false);
            json(status, body.replace("{to}", &to))
        }
        Answer::Stall(d) => {
            record(201, true);
            tokio::time::sleep(d).await;
            created()
        }
    }
}

fn rand_id() -> u128 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    nanos ^ u128::from(std::process::id())
}

/// `application/x-www-form-urlencoded` pairs: `+` is a space, `%XX` a byte, UTF-8 overall.
fn form_decode(body: &[u8]) -> Option<Vec<(String, String)>> {
    let text = std::str::from_utf8(body).ok()?;
    let decode = |s: &str| -> Option<String> {
        let mut out = Vec::new();
        let b = s.as_bytes();
        let mut i = 0;
        while i < b.len() {
            match b[i] {
                b'+' => out.push(b' '),
                b'%' => {
                    let hex = std::str::from_utf8(b.get(i + 1..i + 3)?).ok()?;
                    out.push(u8::from_str_radix(hex, 16).ok()?);
                    i += 2;
                }
                c => out.push(c),
            }
            i += 1;
        }
        String::from_utf8(out).ok()
    };
    text.split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            Some((decode(k)?, decode(v)?))
        })
        .collect()
}
