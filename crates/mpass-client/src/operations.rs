//! Operators' calls: dead jobs, statistics, health and metrics (SPEC §9, §11, §13).

use reqwest::Method;

use crate::*;

impl Client {
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
