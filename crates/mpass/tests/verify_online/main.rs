//! Online verification by police (SPEC §8, issue 6): `POST /api/v1/verify` catches
//! forged, altered, expired, not-yet-valid, revoked, wrong-key and compromised-key passes
//! (and so do the CLI and the independent Python verifier), shows only the minimal holder data, looks
//! up short codes, checks the checkpoint against the route, flags impossible travel,
//! accepts offline scans idempotently, enforces roles and survives hostile input.

#[path = "../common/mod.rs"]
mod common;

mod checkpoints;
mod passes;
mod roles;

use mpass_client::{Client, Verdict, VerifyBody};
use reqwest::Method;

fn qr(text: &str) -> VerifyBody {
    VerifyBody {
        qr_text: Some(text.to_string()),
        ..VerifyBody::default()
    }
}

async fn verify(police: &Client, body: &VerifyBody) -> Verdict {
    police.verify(body).await.expect("a verdict")
}

async fn raw_verify(who: &Client, body: &str) -> mpass_client::RawResponse {
    who.raw(
        Method::POST,
        "/api/v1/verify",
        Some("application/json"),
        body.as_bytes().to_vec(),
    )
    .await
    .expect("raw request")
}
