//! The citizen's calls: the login by SMS code, the profile, areas and applications
//! (SPEC §2–§6).

use std::time::Duration;

use reqwest::Method;

use crate::*;

impl Client {
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

    /// The newest login code sent to `phone` (E.164 or national form) in the dev outbox:
    /// read from that number's own messages, so a burst of other messages (a batch of
    /// decisions' SMS going out beside the code) cannot push it out of sight, and only from
    /// login-code messages, so a pass's short code with six digits in a row in an approval
    /// SMS is never taken for one.
    pub async fn dev_code(&self, phone: &str) -> Result<Option<String>> {
        let outbox = self.dev_outbox_to(phone, 10).await?;
        Ok(outbox.messages.iter().find_map(|m| login_code(&m.body)))
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
}

/// The code of a login-code SMS (`notify::otp`, in English or Bangla), if `body` is one.
fn login_code(body: &str) -> Option<String> {
    let (_, after) = ["login code: ", "লগইন কোড: "]
        .iter()
        .find_map(|marker| body.split_once(marker))?;
    let code: String = after.chars().take_while(char::is_ascii_digit).collect();
    (code.len() == 6).then_some(code)
}

#[cfg(test)]
mod tests {
    use super::login_code;

    #[test]
    fn only_login_code_messages_give_a_code() {
        assert_eq!(
            login_code("Movement Pass login code: 042917. Valid for 5 minutes."),
            Some("042917".into())
        );
        assert_eq!(
            login_code("মুভমেন্ট পাস লগইন কোড: 042917। ৫ মিনিট বৈধ।"),
            Some("042917".into())
        );
        assert_eq!(
            login_code("Movement Pass approved. Pass code 123456XY, valid today."),
            None
        );
    }
}
