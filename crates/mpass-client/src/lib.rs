//! Typed HTTP client for the Movement Pass API (SPEC §14), used by the CLI, the load
//! generator and the tests, so that all three speak to the server exactly as any
//! other client would.

mod citizen;
mod lean;
pub mod legacy;
mod operations;
mod police;
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
