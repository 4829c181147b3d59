//! A tiny browser without JavaScript for the tests of the web pages: keeps cookies, never
//! follows redirects, posts forms; and the ways in (a login by SMS code, a saved profile).

use std::collections::BTreeMap;
use std::time::Duration;

use reqwest::header::{HeaderMap, LOCATION, SET_COOKIE};
use reqwest::redirect::Policy;

use super::{THANA_A, TestServer};

/// A tiny browser without JavaScript: keeps cookies, never follows redirects.
pub struct Visitor {
    pub http: reqwest::Client,
    pub base: String,
    pub cookies: BTreeMap<String, String>,
    pub set_cookie_lines: Vec<String>,
}

pub struct Page {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: String,
}

impl Page {
    pub fn location(&self) -> &str {
        self.headers.get(LOCATION).and_then(|v| v.to_str().ok()).unwrap_or("")
    }

    /// The value of the first hidden input called `name`.
    pub fn hidden(&self, name: &str) -> String {
        let needle = format!("name=\"{name}\" value=\"");
        let at = self
            .body
            .find(&needle)
            .unwrap_or_else(|| panic!("no {name} in {}", self.body))
            + needle.len();
        self.body[at..].split('"').next().unwrap_or("").to_string()
    }
}

impl Visitor {
    pub fn new(base: &str) -> Visitor {
        Visitor {
            http: reqwest::Client::builder()
                .redirect(Policy::none())
                .build()
                .expect("client"),
            base: base.trim_end_matches('/').to_string(),
            cookies: BTreeMap::new(),
            set_cookie_lines: Vec::new(),
        }
    }

    pub fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    pub async fn send(&mut self, rb: reqwest::RequestBuilder) -> Page {
        let res = rb.header("cookie", self.cookie_header()).send().await.expect("request");
        for line in res.headers().get_all(SET_COOKIE) {
            let line = line.to_str().expect("ascii cookie").to_string();
            let (pair, _) = line.split_once(';').unwrap_or((&line, ""));
            let (k, v) = pair.split_once('=').expect("name=value");
            if line.contains("Max-Age=0") {
                self.cookies.remove(k);
            } else {
                self.cookies.insert(k.to_string(), v.to_string());
            }
            self.set_cookie_lines.push(line);
        }
        Page {
            status: res.status().as_u16(),
            headers: res.headers().clone(),
            body: res.text().await.expect("body"),
        }
    }

    pub async fn get(&mut self, path: &str) -> Page {
        let rb = self.http.get(format!("{}{path}", self.base));
        self.send(rb).await
    }

    pub async fn post(&mut self, path: &str, fields: &[(&str, &str)]) -> Page {
        let body: Vec<String> = fields
            .iter()
            .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
            .collect();
        let rb = self
            .http
            .post(format!("{}{path}", self.base))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body.join("&"));
        self.send(rb).await
    }
}

pub fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            b' ' => "+".into(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

pub async fn log_in(server: &TestServer, v: &mut Visitor, phone: &str) -> Page {
    let page = v.get("/login").await;
    let csrf = page.hidden("csrf");
    let sent = v.post("/login", &[("csrf", &csrf), ("phone", phone)]).await;
    assert_eq!(sent.status, 303, "{}", sent.body);
    assert_eq!(sent.location(), "/login/code", "no phone number in the URL");
    let code = super::eventually("the SMS code", Duration::from_secs(15), || async {
        server.client.dev_code(phone).await.ok().flatten()
    })
    .await;
    v.get("/login/code").await;
    v.post("/login/code", &[("csrf", &csrf), ("code", &code)]).await
}

/// Logs `phone` in and saves a valid profile; the session's CSRF token.
pub async fn with_profile(server: &TestServer, v: &mut Visitor, phone: &str) -> String {
    log_in(server, v, phone).await;
    let csrf = v.get("/profile").await.hidden("csrf");
    let saved = v
        .post(
            "/profile",
            &[
                ("csrf", &csrf),
                ("name", "Rahima Akter"),
                ("date_of_birth", "1990-04-12"),
                ("gender", "F"),
                ("id_type", "NID"),
                ("id_number", "1990123456780"),
                ("home_area", THANA_A),
            ],
        )
        .await;
    assert_eq!(saved.status, 303, "{}", saved.body);
    csrf
}
