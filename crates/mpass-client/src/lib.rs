//! Typed HTTP client for the Movement Pass API (SPEC §14), used by the CLI, the load
//! generator and the tests, so that all three speak to the server exactly as any
//! other client would.

mod lean;
pub mod legacy;
mod types;

use std::sync::Arc;
use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde::Serialize;
use serde::de::DeserializeOwned;

pub use types::*;

/// `Bearer {token}` as a header value (marked sensitive), if the token can be one.
fn bearer(token: &str) -> Option<reqwest::header::HeaderValue> {
    let mut value = reqwest::header::HeaderValue::from_str(&format!("Bearer {token}")).ok()?;
    value.set_sensitive(true);
    Some(value)
}

/// `s` percent-encoded for a path segment or a query value: every byte but RFC 3986's
/// unreserved characters, so that an id or a phone number given by a caller is sent as one
/// value (a `/` stays in its segment, a `?` or `&` does not start a query or a parameter,
/// and E.164's `+` is not read as a space).
pub(crate) fn enc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'0'..=b'9' | b'a'..=b'z' | b'A'..=b'Z' | b'-' | b'.' | b'_' | b'~' => out.push(b as char),
            _ => {
                const HEX: &[u8; 16] = b"0123456789ABCDEF";
                out.push('%');
                out.push(HEX[usize::from(b >> 4)] as char);
                out.push(HEX[usize::from(b & 15)] as char);
            }
        }
    }
    out
}

/// What went wrong with a call.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The server answered with an error (problem+json).
    #[error("{status}: {}", problem.code)]
    Api { status: StatusCode, problem: Problem },
    /// The request did not complete.
    #[error("transport: {0}")]
    Transport(#[from] reqwest::Error),
    /// The request did not complete, on the load generator's lean transport.
    #[error("connection: {0}")]
    Connection(#[from] std::io::Error),
    /// The answer was not what the API promises.
    #[error("unexpected answer: {0}")]
    Unexpected(String),
}

impl ClientError {
    /// The problem `code`, if the server answered with one.
    pub fn code(&self) -> Option<&str> {
        match self {
            ClientError::Api { problem, .. } => Some(&problem.code),
            _ => None,
        }
    }

    /// The HTTP status, if the server answered.
    pub fn status(&self) -> Option<StatusCode> {
        match self {
            ClientError::Api { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// Whether no answer came within the client's timeout.
    pub fn is_timeout(&self) -> bool {
        match self {
            ClientError::Transport(e) => e.is_timeout(),
            ClientError::Connection(e) => e.kind() == std::io::ErrorKind::TimedOut,
            _ => false,
        }
    }

    /// Whether no connection could be made.
    pub fn is_connect(&self) -> bool {
        match self {
            ClientError::Transport(e) => e.is_connect(),
            ClientError::Connection(e) => e.kind() == std::io::ErrorKind::ConnectionRefused,
            _ => false,
        }
    }
}

pub type Result<T> = std::result::Result<T, ClientError>;

/// The problem an error answer carries; an answer that is not one becomes an `unparsed`
/// problem with the answer's text as its detail.
fn problem_of(body: &[u8]) -> Problem {
    serde_json::from_slice::<Problem>(body).unwrap_or_else(|_| Problem {
        code: "unparsed".into(),
        detail: String::from_utf8_lossy(body).into_owned(),
        ..Problem::default()
    })
}

/// How long a call may take, connection and whole answer included.
const TIMEOUT: Duration = Duration::from_secs(30);

/// `base` as a URL if it is only a scheme, host and port (no path, query or fragment).
fn origin(base: &str) -> Option<reqwest::Url> {
    reqwest::Url::parse(base)
        .ok()
        .filter(|u| u.path() == "/" && u.query().is_none() && u.fragment().is_none() && !u.cannot_be_a_base())
}

/// A client of one server, optionally logged in.
#[derive(Debug, Clone)]
pub struct Client {
    base: String,
    /// `base` parsed once, when it names no path of its own: a request's URL is then this
    /// joined with its path, without parsing the host again (the load generator sends tens
    /// of thousands a second, and parsing the whole URL was a tenth of its work).
    origin: Option<reqwest::Url>,
    http: reqwest::Client,
    token: Option<String>,
    /// `Bearer {token}`, made once: the load generator sends tens of thousands of
    /// authenticated requests a second, and formatting the header each time was work of
    /// its own on the machine it shares with the server.
    authorization: Option<reqwest::header::HeaderValue>,
    /// The load generator's transport (`with_pool`), for the calls that go through
    /// `get`, `post`, `healthz` and `submit`: see `lean`.
    lean: Option<Arc<lean::Pool>>,
}

impl Client {
    /// A client of the server at `base` (e.g. `http://127.0.0.1:8080`).
    pub fn new(base: &str) -> Client {
        let http = reqwest::Client::builder()
            .timeout(TIMEOUT)
            .pool_max_idle_per_host(64)
            .build()
            .expect("HTTP client builds");
        Client::at(base, http)
    }

    /// A client of the server at `base` that keeps up to `connections` idle connections
    /// open (the load generator sizes it to its concurrency, so connections are reused).
    /// Against a plain `http://` origin its JSON calls (`get`, `post`, `healthz`,
    /// `submit`) take the lean transport (`lean`), which costs the generator's machine
    /// about what wrk does; the rest take reqwest.
    pub fn with_pool(base: &str, connections: usize) -> Client {
        let http = reqwest::Client::builder()
            .timeout(TIMEOUT)
            .pool_max_idle_per_host(connections)
            .tcp_nodelay(true)
            .build()
            .expect("HTTP client builds");
        Client {
            lean: lean::Pool::for_origin(base, connections, TIMEOUT).map(Arc::new),
            ..Client::at(base, http)
        }
    }

    /// The access token this client acts with, if logged in.
    pub fn access_token(&self) -> Option<&str> {
        self.token.as_deref()
    }

    /// The same client acting with `access_token`.
    pub fn with_token(&self, access_token: &str) -> Client {
        Client {
            token: Some(access_token.to_string()),
            authorization: bearer(access_token),
            ..self.clone()
        }
    }

    /// The same client, logged in as the same user, talking to another node at `base`.
    pub fn on(&self, base: &str) -> Client {
        Client {
            token: self.token.clone(),
            authorization: self.authorization.clone(),
            ..Client::at(base, self.http.clone())
        }
    }

    /// A client of `base` over `http`, not logged in.
    fn at(base: &str, http: reqwest::Client) -> Client {
        Client {
            base: base.trim_end_matches('/').to_string(),
            origin: origin(base),
            http,
            token: None,
            authorization: None,
            lean: None,
        }
    }

    pub fn base(&self) -> &str {
        &self.base
    }

    fn request(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        let joined = match &self.origin {
            Some(origin) if path.starts_with('/') => origin.join(path).ok(),
            _ => None,
        };
        let rb = match joined {
            Some(url) => self.http.request(method, url),
            None => self.http.request(method, format!("{}{path}", self.base)),
        };
        match (&self.authorization, &self.token) {
            (Some(value), _) => rb.header(reqwest::header::AUTHORIZATION, value.clone()),
            // A token that cannot be a header value: reqwest's own handling, as before (the
            // request fails with a builder error).
            (None, Some(t)) => rb.bearer_auth(t),
            (None, None) => rb,
        }
    }

    async fn send<T: DeserializeOwned>(&self, rb: reqwest::RequestBuilder) -> Result<T> {
        let res = rb.send().await?;
        let status = res.status();
        if status.is_success() {
            return res.json::<T>().await.map_err(ClientError::Transport);
        }
        let bytes = res.bytes().await?;
        Err(ClientError::Api {
            status,
            problem: problem_of(&bytes),
        })
    }

    async fn send_empty(&self, rb: reqwest::RequestBuilder) -> Result<()> {
        let res = rb.send().await?;
        let status = res.status();
        if status.is_success() {
            return Ok(());
        }
        let problem = res.json::<Problem>().await.unwrap_or_default();
        Err(ClientError::Api { status, problem })
    }

    /// The lean transport and this client's `Authorization` value, if calls take it (a
    /// token that cannot be a header value takes reqwest, which refuses it).
    fn lean(&self) -> Option<(&lean::Pool, Option<&str>)> {
        let pool = self.lean.as_deref()?;
        match (&self.authorization, &self.token) {
            (Some(value), _) => Some((pool, Some(value.to_str().ok()?))),
            (None, Some(_)) => None,
            (None, None) => Some((pool, None)),
        }
    }

    /// A call on the lean transport: the answer's body if it is a success, else the
    /// problem it carries.
    async fn lean_call(pool: &lean::Pool, req: &lean::Request<'_>) -> Result<Vec<u8>> {
        let answer = pool.send(req).await?;
        let status = StatusCode::from_u16(answer.status)
            .map_err(|_| ClientError::Unexpected(format!("status {}", answer.status)))?;
        if status.is_success() {
            return Ok(answer.body);
        }
        Err(ClientError::Api {
            status,
            problem: problem_of(&answer.body),
        })
    }

    /// A JSON call on the lean transport, its answer parsed.
    async fn lean_json<T: DeserializeOwned>(pool: &lean::Pool, req: &lean::Request<'_>) -> Result<T> {
        let body = Client::lean_call(pool, req).await?;
        serde_json::from_slice(&body).map_err(|e| ClientError::Unexpected(format!("{}: {e}", req.path)))
    }

    /// A POST's JSON body, made as reqwest makes it.
    fn json_body<B: Serialize>(body: &B) -> Result<Vec<u8>> {
        serde_json::to_vec(body).map_err(|e| ClientError::Unexpected(format!("body: {e}")))
    }

    async fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T> {
        if let Some((pool, authorization)) = self.lean() {
            return Client::lean_json(pool, &lean::Request::new("GET", path, authorization)).await;
        }
        self.send(self.request(Method::GET, path)).await
    }

    async fn post<B: Serialize, T: DeserializeOwned>(&self, path: &str, body: &B) -> Result<T> {
        if let Some((pool, authorization)) = self.lean() {
            let json = Client::json_body(body)?;
            let req = lean::Request {
                json: Some(&json),
                ..lean::Request::new("POST", path, authorization)
            };
            return Client::lean_json(pool, &req).await;
        }
        self.send(self.request(Method::POST, path).json(body)).await
    }

    /// Any request, answered raw: for tests of hostile input and error shapes.
    pub async fn raw(
        &self,
        method: Method,
        path: &str,
        content_type: Option<&str>,
        body: Vec<u8>,
    ) -> Result<RawResponse> {
        let mut rb = self.request(method, path).body(body);
        if let Some(ct) = content_type {
            rb = rb.header(reqwest::header::CONTENT_TYPE, ct);
        }
        let res = rb.send().await?;
        let status = res.status();
        let headers = res.headers().clone();
        let body = res.bytes().await?.to_vec();
        Ok(RawResponse { status, headers, body })
    }

    // --- identity

    pub async fn request_otp(&self, phone: &str) -> Result<OtpSent> {
        self.post("/api/v1/auth/otp", &serde_json::json!({ "phone": phone }))
            .await
    }

    /// Asks for a code sent in `language` (`en` or `bn`).
    pub async fn request_otp_in(&self, phone: &str, language: &str) -> Result<OtpSent> {
        self.post(
            "/api/v1/auth/otp",
            &serde_json::json!({ "phone": phone, "language": language }),
        )
        .await
    }

    pub async fn token(&self, phone: &str, code: &str) -> Result<Tokens> {
        self.post(
            "/api/v1/auth/token",
            &serde_json::json!({ "phone": phone, "code": code }),
        )
        .await
    }

    pub async fn refresh(&self, refresh_token: &str) -> Result<Tokens> {
        self.post(
            "/api/v1/auth/refresh",
            &serde_json::json!({ "refresh_token": refresh_token }),
        )
        .await
    }

    pub async fn logout(&self, refresh_token: Option<&str>) -> Result<()> {
        let rb = self.request(Method::POST, "/api/v1/auth/logout");
        let rb = match refresh_token {
            Some(t) => rb.json(&serde_json::json!({ "refresh_token": t })),
            None => rb,
        };
        self.send_empty(rb).await
    }

    pub async fn dev_outbox(&self) -> Result<Outbox> {
        self.get("/api/v1/dev/outbox").await
    }

    /// The newest `limit` (at most 500) messages of the dev outbox.
    pub async fn dev_outbox_newest(&self, limit: u32) -> Result<Outbox> {
        self.get(&format!("/api/v1/dev/outbox?limit={limit}")).await
    }

    /// The newest `limit` (at most 500) messages of the dev outbox sent to `phone` (any form
    /// a login accepts).
    pub async fn dev_outbox_to(&self, phone: &str, limit: u32) -> Result<Outbox> {
        // Percent-encoded: E.164's `+` would read as a space in a query.
        self.get(&format!("/api/v1/dev/outbox?phone={}&limit={limit}", enc(phone)))
            .await
    }

    /// The newest code sent to `phone` (E.164 or national form) in the dev outbox: read
    /// from that number's own messages, so a burst of other messages (a batch of
    /// decisions' SMS going out beside the code) cannot push it out of sight.
    pub async fn dev_code(&self, phone: &str) -> Result<Option<String>> {
        let outbox = self.dev_outbox_to(phone, 10).await?;
        Ok(outbox.messages.iter().find_map(|m| {
            m.body
                .split(|c: char| !c.is_ascii_digit())
                .find(|w| w.len() == 6)
                .map(str::to_string)
        }))
    }

    /// Logs in with the dev outbox: asks for a code, waits for the worker to "send" it,
    /// and exchanges it for tokens. Returns a client acting as that user.
    pub async fn login_dev(&self, phone: &str) -> Result<(Client, Tokens)> {
        self.request_otp(phone).await?;
        for _ in 0..200 {
            if let Some(code) = self.dev_code(phone).await? {
                let tokens = self.token(phone, &code).await?;
                return Ok((self.with_token(&tokens.access_token), tokens));
            }
            tokio_sleep(Duration::from_millis(25)).await;
        }
        Err(ClientError::Unexpected(format!(
            "no code for {phone} in the dev outbox"
        )))
    }

    pub async fn me(&self) -> Result<Me> {
        self.get("/api/v1/me").await
    }

    pub async fn put_profile(&self, profile: &ProfileBody) -> Result<serde_json::Value> {
        self.send(self.request(Method::PUT, "/api/v1/me/profile").json(profile))
            .await
    }

    /// Chooses the language of the caller's SMS (`en` or `bn`).
    pub async fn set_language(&self, language: &str) -> Result<serde_json::Value> {
        self.send(
            self.request(Method::PUT, "/api/v1/me/language")
                .json(&serde_json::json!({ "language": language })),
        )
        .await
    }

    pub async fn put_photo(&self, bytes: Vec<u8>, content_type: &str) -> Result<serde_json::Value> {
        self.send(
            self.request(Method::PUT, "/api/v1/me/photo")
                .header(reqwest::header::CONTENT_TYPE, content_type)
                .body(bytes),
        )
        .await
    }

    pub async fn areas(&self) -> Result<Vec<Area>> {
        self.get("/api/v1/areas").await
    }

    // --- applications

    pub async fn submit(&self, app: &ApplicationBody, idempotency_key: Option<&str>) -> Result<Application> {
        if let Some((pool, authorization)) = self.lean() {
            let json = Client::json_body(app)?;
            let key = idempotency_key.map(|k| ("Idempotency-Key", k));
            let req = lean::Request {
                headers: key.as_slice(),
                json: Some(&json),
                ..lean::Request::new("POST", "/api/v1/applications", authorization)
            };
            return Client::lean_json(pool, &req).await;
        }
        let mut rb = self.request(Method::POST, "/api/v1/applications").json(app);
        if let Some(k) = idempotency_key {
            rb = rb.header("Idempotency-Key", k);
        }
        self.send(rb).await
    }

    pub async fn applications(&self, cursor: Option<&str>, limit: Option<u32>) -> Result<Page<Application>> {
        let mut path = String::from("/api/v1/applications?");
        if let Some(c) = cursor {
            path.push_str(&format!("cursor={}&", enc(c)));
        }
        if let Some(l) = limit {
            path.push_str(&format!("limit={l}"));
        }
        self.get(&path).await
    }

    pub async fn application(&self, id: &str) -> Result<Application> {
        self.get(&format!("/api/v1/applications/{}", enc(id))).await
    }

    pub async fn cancel(&self, id: &str) -> Result<Application> {
        self.send(self.request(Method::POST, &format!("/api/v1/applications/{}/cancel", enc(id))))
            .await
    }

    /// Polls until the application leaves `submitted`, or `timeout` passes.
    pub async fn wait_decided(&self, id: &str, timeout: Duration) -> Result<Application> {
        let deadline = std::time::Instant::now() + timeout;
        loop {
            let app = self.application(id).await?;
            if app.status != "submitted" || std::time::Instant::now() >= deadline {
                return Ok(app);
            }
            tokio_sleep(Duration::from_millis(20)).await;
        }
    }

    // --- passes and verification

    pub async fn pass(&self, id: &str) -> Result<Pass> {
        self.get(&format!("/api/v1/passes/{}", enc(id))).await
    }

    pub async fn pass_qr(&self, id: &str, format: &str) -> Result<Vec<u8>> {
        let res = self
            .request(Method::GET, &format!("/api/v1/passes/{}/qr.{}", enc(id), enc(format)))
            .send()
            .await?;
        let status = res.status();
        if !status.is_success() {
            return Err(ClientError::Api {
                status,
                problem: res.json().await.unwrap_or_default(),
            });
        }
        Ok(res.bytes().await?.to_vec())
    }

    pub async fn trust_list(&self) -> Result<serde_json::Value> {
        self.get("/api/v1/trust-list").await
    }

    pub async fn revocations(&self, since: i64) -> Result<Revocations> {
        self.get(&format!("/api/v1/revocations?since={since}")).await
    }

    /// `POST /api/v1/verify` (police): the verdict, logged as a scan.
    pub async fn verify(&self, body: &VerifyBody) -> Result<Verdict> {
        self.post("/api/v1/verify", body).await
    }

    /// `POST /api/v1/verify` (police), keeping only the verdict's colour and scan id: the
    /// whole answer is read and parsed, the holder's data skipped rather than copied (the
    /// load generator, which shares its machine with the server it measures).
    pub async fn verify_result(&self, body: &VerifyBody) -> Result<VerdictResult> {
        self.post("/api/v1/verify", body).await
    }

    /// `POST /api/v1/scans` (police): scans made offline; the per-scan results.
    pub async fn upload_scans(&self, scans: &[OfflineScanBody]) -> Result<serde_json::Value> {
        self.post("/api/v1/scans", &serde_json::json!({ "scans": scans })).await
    }

    /// `GET /api/v1/scans` (police supervisors, admins), newest first.
    pub async fn scans(&self, flagged_only: bool, limit: u32) -> Result<ScanPage> {
        self.get(&format!("/api/v1/scans?flagged={flagged_only}&limit={limit}"))
            .await
    }

    /// `POST /api/v1/checkpoints` (admins).
    pub async fn create_checkpoint(&self, body: &CheckpointBody) -> Result<Checkpoint> {
        self.post("/api/v1/checkpoints", body).await
    }

    /// `GET /api/v1/checkpoints` (police, supervisors, admins).
    pub async fn checkpoints(&self) -> Result<Vec<Checkpoint>> {
        #[derive(serde::Deserialize)]
        struct Items {
            items: Vec<Checkpoint>,
        }
        Ok(self.get::<Items>("/api/v1/checkpoints").await?.items)
    }

    /// `DELETE /api/v1/checkpoints/{id}` (admins).
    pub async fn delete_checkpoint(&self, id: &str) -> Result<()> {
        self.send_empty(self.request(Method::DELETE, &format!("/api/v1/checkpoints/{}", enc(id))))
            .await
    }

    /// A public document by absolute URL (a trust list or revocation list published by any
    /// node or mirror), as text; capped at 16 MiB.
    pub async fn fetch_document(&self, url: &str) -> Result<String> {
        let res = self.http.get(url).send().await?;
        let status = res.status();
        if !status.is_success() {
            return Err(ClientError::Api {
                status,
                problem: res.json().await.unwrap_or_default(),
            });
        }
        if res.content_length().is_some_and(|n| n > 16 << 20) {
            return Err(ClientError::Unexpected(format!("{url} is larger than 16 MiB")));
        }
        Ok(res.text().await?)
    }

    // --- dead letters (admin)

    /// Dead jobs, most recently failed first (of `kind` when given).
    pub async fn dead_jobs(&self, kind: Option<&str>) -> Result<Vec<DeadJob>> {
        let path = match kind {
            Some(k) => format!("/api/v1/admin/dead-jobs?kind={}", enc(k)),
            None => "/api/v1/admin/dead-jobs".to_string(),
        };
        let page: Page<DeadJob> = self.get(&path).await?;
        Ok(page.items)
    }

    /// Puts a dead job back in the queue; answers with the new job's id.
    pub async fn replay_dead_job(&self, id: &str) -> Result<Replayed> {
        self.send(self.request(Method::POST, &format!("/api/v1/admin/dead-jobs/{}/replay", enc(id))))
            .await
    }

    /// `GET /api/v1/stats/summary` (analyst, admin) with filters such as
    /// `[("district", "3026"), ("from", "2025-01-01T00:00:00Z")]`.
    pub async fn stats_summary(&self, filters: &[(&str, &str)]) -> Result<StatsSummary> {
        self.send(self.request(Method::GET, "/api/v1/stats/summary").query(filters))
            .await
    }

    /// Any `GET /api/v1/stats/{name}` (`by-area`, `timeseries`, `latency`, `backlog`, ...)
    /// answer as JSON.
    pub async fn stats(&self, name: &str, params: &[(&str, &str)]) -> Result<serde_json::Value> {
        self.send(
            self.request(Method::GET, &format!("/api/v1/stats/{}", enc(name)))
                .query(params),
        )
        .await
    }

    /// The CSV export of `GET /api/v1/stats/{name}` (`format=csv`).
    pub async fn stats_csv(&self, name: &str, params: &[(&str, &str)]) -> Result<String> {
        let res = self
            .request(Method::GET, &format!("/api/v1/stats/{}", enc(name)))
            .query(params)
            .query(&[("format", "csv")])
            .send()
            .await?;
        let status = res.status();
        if status.is_success() {
            return Ok(res.text().await?);
        }
        let problem = res.json::<Problem>().await.unwrap_or_default();
        Err(ClientError::Api { status, problem })
    }

    pub async fn healthz(&self) -> Result<()> {
        if let Some((pool, authorization)) = self.lean() {
            let req = lean::Request::new("GET", "/healthz", authorization);
            return Client::lean_call(pool, &req).await.map(drop);
        }
        self.send_empty(self.request(Method::GET, "/healthz")).await
    }

    /// `GET /metrics`: the Prometheus text exposition.
    pub async fn metrics(&self) -> Result<String> {
        let res = self.request(Method::GET, "/metrics").send().await?;
        let status = res.status();
        if status.is_success() {
            return Ok(res.text().await?);
        }
        let problem = res.json::<Problem>().await.unwrap_or_default();
        Err(ClientError::Api { status, problem })
    }
}

/// A raw answer.
#[derive(Debug)]
pub struct RawResponse {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub body: Vec<u8>,
}

impl RawResponse {
    /// The body as a problem document, if it is one.
    pub fn problem(&self) -> Option<Problem> {
        serde_json::from_slice(&self.body).ok()
    }

    pub fn json(&self) -> Option<serde_json::Value> {
        serde_json::from_slice(&self.body).ok()
    }
}

async fn tokio_sleep(d: Duration) {
    tokio::time::sleep(d).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url_of(client: &Client, path: &str) -> String {
        client
            .request(Method::GET, path)
            .build()
            .map(|r| r.url().to_string())
            .unwrap_or_default()
    }

    #[test]
    fn request_urls_are_the_base_and_the_path_whether_joined_or_formatted() {
        let plain = Client::new("http://127.0.0.1:8080/");
        assert!(plain.origin.is_some());
        assert_eq!(url_of(&plain, "/api/v1/verify"), "http://127.0.0.1:8080/api/v1/verify");
        assert_eq!(
            url_of(&plain, "/api/v1/scans?flagged=true&cursor=a%20b"),
            "http://127.0.0.1:8080/api/v1/scans?flagged=true&cursor=a%20b"
        );
        // A base with a path of its own (behind a proxy) keeps it.
        let prefixed = Client::new("https://example.org/mpass/");
        assert!(prefixed.origin.is_none());
        assert_eq!(
            url_of(&prefixed, "/api/v1/verify"),
            "https://example.org/mpass/api/v1/verify"
        );
        let moved = plain.on("https://example.org/mpass");
        assert_eq!(url_of(&moved, "/healthz"), "https://example.org/mpass/healthz");
        let back = moved.on("http://10.0.0.2:9000");
        assert_eq!(url_of(&back, "/healthz"), "http://10.0.0.2:9000/healthz");
    }

    #[test]
    fn values_put_in_a_path_or_query_are_percent_encoded_whole() {
        assert_eq!(enc("0189-abc_DEF.~"), "0189-abc_DEF.~");
        assert_eq!(enc("+8801712345678"), "%2B8801712345678");
        assert_eq!(enc("x/cancel?a=1&b#c"), "x%2Fcancel%3Fa%3D1%26b%23c");
        assert_eq!(enc("০১ 7"), "%E0%A7%A6%E0%A7%A7%207");
        assert_eq!(enc(""), "");
    }
}
