//! A client of the legacy `/v1` API (SPEC §12), speaking it as the old clients do: the
//! answers are the legacy JSON as it comes (`{"errors": [...]}` on failure), with the
//! status, so tests and the load program can check both.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

/// An answer of the legacy API: status and JSON body (`Null` when there is none).
#[derive(Debug, Clone)]
pub struct LegacyResponse {
    pub status: StatusCode,
    pub body: Value,
}

impl LegacyResponse {
    /// The messages of a `{"errors": [...]}` answer.
    pub fn errors(&self) -> Vec<String> {
        self.body["errors"]
            .as_array()
            .map(|a| a.iter().filter_map(|m| m.as_str().map(String::from)).collect())
            .unwrap_or_default()
    }
}

/// A legacy client of the server at `base`, optionally holding a legacy token.
#[derive(Debug, Clone)]
pub struct LegacyClient {
    base: String,
    http: reqwest::Client,
    pub token: Option<String>,
}

impl LegacyClient {
    pub fn new(base: &str) -> LegacyClient {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            .pool_max_idle_per_host(256)
            .build()
            .expect("HTTP client builds");
        LegacyClient {
            base: base.trim_end_matches('/').to_string(),
            http,
            token: None,
        }
    }

    /// The base URL.
    pub fn base(&self) -> &str {
        &self.base
    }

    async fn send(&self, req: reqwest::RequestBuilder) -> reqwest::Result<LegacyResponse> {
        let res = req.send().await?;
        let status = res.status();
        let bytes = res.bytes().await?;
        let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        Ok(LegacyResponse { status, body })
    }

    /// Any call: `path` under the base, JSON `body`, the held token as Bearer if `auth`.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
        auth: bool,
    ) -> reqwest::Result<LegacyResponse> {
        let mut req = self.http.request(method, format!("{}{path}", self.base));
        if let Some(b) = body {
            req = req.json(b);
        }
        if auth && let Some(t) = &self.token {
            req = req.bearer_auth(t);
        }
        self.send(req).await
    }

    /// `POST /v1/identity/photo`.
    pub async fn photo_url(&self, content_type: &str, filename: &str) -> reqwest::Result<LegacyResponse> {
        let body = json!({ "contentType": content_type, "filename": filename });
        self.call(Method::POST, "/v1/identity/photo", Some(&body), false).await
    }

    /// `PUT` of `bytes` to a pre-signed `url` with `content_type`.
    pub async fn upload(&self, url: &str, content_type: &str, bytes: Vec<u8>) -> reqwest::Result<LegacyResponse> {
        let req = self
            .http
            .put(url)
            .header(reqwest::header::CONTENT_TYPE, content_type)
            .body(bytes);
        self.send(req).await
    }

    /// `POST /v1/identity/register`; keeps the token on success.
    pub async fn register(&mut self, body: &Value) -> reqwest::Result<LegacyResponse> {
        let res = self
            .call(Method::POST, "/v1/identity/register", Some(body), false)
            .await?;
        self.keep_token(&res);
        Ok(res)
    }

    /// `POST /v1/identity/login`; keeps the token on success.
    pub async fn login(&mut self, mobile_phone: &str, ddmmyyyy: &str) -> reqwest::Result<LegacyResponse> {
        let body = json!({ "mobilePhone": mobile_phone, "dateOfBirth": ddmmyyyy });
        let res = self
            .call(Method::POST, "/v1/identity/login", Some(&body), false)
            .await?;
        self.keep_token(&res);
        Ok(res)
    }

    fn keep_token(&mut self, res: &LegacyResponse) {
        if res.status.is_success()
            && let Some(t) = res.body["token"].as_str()
        {
            self.token = Some(t.to_string());
        }
    }

    /// `POST /v1/passes` with the held token in the body, as the old clients send it.
    pub async fn apply(&self, body: &Value) -> reqwest::Result<LegacyResponse> {
        let mut body = body.clone();
        body["token"] = json!(self.token);
        self.call(Method::POST, "/v1/passes", Some(&body), false).await
    }

    /// `GET /v1/passes`, from `next_key` when given.
    pub async fn passes(&self, next_key: Option<&Value>) -> reqwest::Result<LegacyResponse> {
        let path = match next_key {
            Some(k) => format!(
                "/v1/passes?id={}&endAt={}",
                crate::enc(k["id"].as_str().unwrap_or("")),
                crate::enc(k["endAt"].as_str().unwrap_or(""))
            ),
            None => "/v1/passes".to_string(),
        };
        self.call(Method::GET, &path, None, true).await
    }

    /// `GET /v1/passes/{id}`.
    pub async fn pass(&self, id: &str) -> reqwest::Result<LegacyResponse> {
        self.call(Method::GET, &format!("/v1/passes/{}", crate::enc(id)), None, true)
            .await
    }
}
