//! Passes, the trust list and revocations, online checks, scan uploads and checkpoints
//! (SPEC §7–§8).

use reqwest::Method;

use crate::*;

impl Client {
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
}
