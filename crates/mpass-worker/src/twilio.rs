//! The `twilio` SMS provider: Twilio's Messages API, or any service that speaks it (the
//! base URL is configurable, so a regional edge, a gateway or a test server can stand in).
//!
//! One request per message: `POST {base}/2010-04-01/Accounts/{sid}/Messages.json` with HTTP
//! Basic authentication (account SID and auth token) and a form body of `To` (E.164),
//! `From` (or `MessagingServiceSid`) and `Body`. The answer decides what the worker does:
//! 2xx is sent; 429, 5xx, a timeout or a connection failure are transient (retried with
//! back-off); any other answer is permanent (the job goes to the dead letters at once),
//! with Twilio's error `code` and `message` in the error text.

use std::time::Duration;

use async_trait::async_trait;
use mpass_domain::phone::Phone;
use mpass_domain::ports::{Sms, SmsError};
use serde::Deserialize;

/// Most bytes of an answer read (Twilio's answers are about 1 KiB).
const MAX_ANSWER: usize = 16 * 1024;

/// Who the message is from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TwilioSender {
    /// A phone number or alphanumeric sender id (`From`).
    From(String),
    /// A messaging service that picks the sender (`MessagingServiceSid`).
    MessagingService(String),
}

/// Settings of the provider.
#[derive(Clone)]
pub struct TwilioConfig {
    /// `https://api.twilio.com` in production.
    pub base_url: String,
    pub account_sid: String,
    pub auth_token: String,
    pub sender: TwilioSender,
    /// How long one request may take, connection included.
    pub timeout: Duration,
}

impl std::fmt::Debug for TwilioConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TwilioConfig")
            .field("base_url", &self.base_url)
            .field("account_sid", &self.account_sid)
            .field("auth_token", &"<redacted>")
            .field("sender", &self.sender)
            .field("timeout", &self.timeout)
            .finish()
    }
}

/// Sends SMS through a Twilio-compatible Messages API.
pub struct TwilioSms {
    client: reqwest::Client,
    url: String,
    account_sid: String,
    auth_token: String,
    sender: TwilioSender,
}

/// Twilio's error document (`{"code": 21211, "message": "...", "more_info": ..., "status": 400}`).
#[derive(Deserialize)]
struct TwilioError {
    code: Option<i64>,
    message: Option<String>,
}

impl TwilioSms {
    /// A provider for `config`; fails on an unusable base URL or account SID.
    pub fn new(config: TwilioConfig) -> Result<TwilioSms, String> {
        let base = config.base_url.trim_end_matches('/');
        if !(base.starts_with("https://") || base.starts_with("http://")) {
            return Err(format!("twilio_base_url must be an http(s) URL, got {base:?}"));
        }
        let sid = &config.account_sid;
        if sid.is_empty() || !sid.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err("twilio_account_sid must be letters and digits (AC...)".into());
        }
        if config.auth_token.is_empty() {
            return Err("twilio_auth_token is empty".into());
        }
        let client = reqwest::Client::builder()
            .timeout(config.timeout)
            .connect_timeout(config.timeout)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| format!("cannot build the HTTP client: {e}"))?;
        Ok(TwilioSms {
            client,
            url: format!("{base}/2010-04-01/Accounts/{sid}/Messages.json"),
            account_sid: config.account_sid,
            auth_token: config.auth_token,
            sender: config.sender,
        })
    }

    /// The Messages endpoint this provider posts to.
    pub fn endpoint(&self) -> &str {
        &self.url
    }
}

#[async_trait]
impl Sms for TwilioSms {
    async fn send(&self, to: &Phone, body: &str) -> Result<(), SmsError> {
        let (sender_field, sender) = match &self.sender {
            TwilioSender::From(from) => ("From", from.as_str()),
            TwilioSender::MessagingService(sid) => ("MessagingServiceSid", sid.as_str()),
        };
        let form = [("To", to.as_str()), (sender_field, sender), ("Body", body)];
        let res = self
            .client
            .post(&self.url)
            .basic_auth(&self.account_sid, Some(&self.auth_token))
            .header(reqwest::header::ACCEPT, "application/json")
            .form(&form)
            .send()
            .await
            .map_err(request_failed)?;
        let status = res.status();
        if status.is_success() {
            return Ok(());
        }
        let answer = read_capped(res).await;
        let detail = describe(status.as_u16(), &answer, to);
        if status.as_u16() == 429 || status.is_server_error() {
            Err(SmsError::Transient(detail))
        } else {
            Err(SmsError::Permanent(detail))
        }
    }
}

/// A request that got no answer: worth retrying unless it could never have been sent.
fn request_failed(e: reqwest::Error) -> SmsError {
    if e.is_builder() {
        return SmsError::Permanent(format!("twilio: cannot build the request: {e}"));
    }
    let what = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "connection failed"
    } else {
        "request failed"
    };
    // The error's own text names the URL, which carries only the account SID (no secret).
    SmsError::Transient(format!("twilio: {what}: {e}"))
}

async fn read_capped(mut res: reqwest::Response) -> Vec<u8> {
    let mut out = Vec::new();
    while let Ok(Some(chunk)) = res.chunk().await {
        out.extend_from_slice(&chunk);
        if out.len() >= MAX_ANSWER {
            out.truncate(MAX_ANSWER);
            break;
        }
    }
    out
}

/// `twilio: HTTP 400, code 21211: The 'To' number <to> is not a valid phone number.` The
/// recipient's number is masked: error texts reach logs and the dead-letter table.
fn describe(status: u16, answer: &[u8], to: &Phone) -> String {
    let mut text = format!("twilio: HTTP {status}");
    if let Ok(err) = serde_json::from_slice::<TwilioError>(answer) {
        if let Some(code) = err.code {
            text.push_str(&format!(", code {code}"));
        }
        if let Some(message) = err.message {
            let message: String = message.chars().filter(|c| !c.is_control()).take(300).collect();
            let masked = message.replace(to.as_str(), "<to>").replace(to.national(), "<to>");
            text.push_str(&format!(": {masked}"));
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_text_carries_code_and_message_without_the_number() {
        let to = Phone::parse("01712345678").unwrap();
        let answer = br#"{"code":21211,"message":"The 'To' number +8801712345678 is not a valid phone number.","more_info":"https://www.twilio.com/docs/errors/21211","status":400}"#;
        assert_eq!(
            describe(400, answer, &to),
            "twilio: HTTP 400, code 21211: The 'To' number <to> is not a valid phone number."
        );
        assert_eq!(describe(502, b"<html>bad gateway</html>", &to), "twilio: HTTP 502");
    }

    #[test]
    fn refuses_unusable_settings() {
        let ok = TwilioConfig {
            base_url: "https://api.twilio.com/".into(),
            account_sid: "AC0123456789abcdef".into(),
            auth_token: "secret".into(),
            sender: TwilioSender::From("+15005550006".into()),
            timeout: Duration::from_secs(10),
        };
        let sms = TwilioSms::new(ok.clone()).unwrap();
        assert_eq!(
            sms.endpoint(),
            "https://api.twilio.com/2010-04-01/Accounts/AC0123456789abcdef/Messages.json"
        );
        assert!(!format!("{ok:?}").contains("secret"), "the token is never printed");
        for bad in [
            TwilioConfig {
                base_url: "ftp://x".into(),
                ..ok.clone()
            },
            TwilioConfig {
                account_sid: "AC/../x".into(),
                ..ok.clone()
            },
            TwilioConfig {
                auth_token: String::new(),
                ..ok.clone()
            },
        ] {
            assert!(TwilioSms::new(bad).is_err());
        }
    }
}
