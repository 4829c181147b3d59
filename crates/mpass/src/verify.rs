//! `mpass verify QR_TEXT --trust-list FILE_OR_URL`: offline verification from the command line.

use std::process::ExitCode;

use anyhow::Context;
use mpass_domain::pass::{TrustList, VerdictColour, VerifyOptions, verify_pass};

#[derive(clap::Args)]
pub struct VerifyArgs {
    /// The pass text (`MP1:...`), or `-` to read it from standard input.
    qr_text: String,
    /// The trust list (JWK Set): a file path or an http(s) URL.
    #[arg(long)]
    trust_list: String,
    /// A revocation list (`GET /api/v1/revocations` answer): a file path or URL.
    #[arg(long)]
    revocations: Option<String>,
    /// Print the result as JSON.
    #[arg(long)]
    json: bool,
}

async fn fetch(source: &str) -> anyhow::Result<String> {
    if source.starts_with("http://") || source.starts_with("https://") {
        mpass_client::Client::new(source)
            .fetch_document(source)
            .await
            .with_context(|| format!("fetching {source}"))
    } else {
        std::fs::read_to_string(source).with_context(|| format!("reading {source}"))
    }
}

pub async fn run(args: VerifyArgs) -> anyhow::Result<ExitCode> {
    let qr_text = if args.qr_text == "-" {
        let mut s = String::new();
        std::io::Read::read_to_string(&mut std::io::Read::take(std::io::stdin(), 8192), &mut s)?;
        s.trim().to_string()
    } else {
        args.qr_text.clone()
    };
    let trust =
        TrustList::from_jwks_json(&fetch(&args.trust_list).await?).map_err(|e| anyhow::anyhow!("trust list: {e}"))?;
    let mut revoked: Vec<[u8; 16]> = Vec::new();
    let mut opts = VerifyOptions::default();
    if let Some(src) = &args.revocations {
        let doc: serde_json::Value = serde_json::from_str(&fetch(src).await?).context("revocation list is not JSON")?;
        for r in doc["revoked"].as_array().into_iter().flatten() {
            if let Some(id) = r["pass_id"].as_str().and_then(uuid_bytes) {
                revoked.push(id);
            }
        }
        // The list's age is how long ago the server generated it (a saved file may be old).
        let now = time::OffsetDateTime::now_utc();
        let age = doc["generated_at"]
            .as_str()
            .and_then(|t| time::OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339).ok())
            .map_or(0, |t| (now - t).whole_seconds().max(0));
        opts.revocation_list_age_secs = Some(age);
    }
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let v = verify_pass(&qr_text, &trust, &|id| revoked.contains(id), now, &opts);
    if args.json {
        println!("{}", serde_json::to_string_pretty(&v)?);
    } else {
        let colour = match v.result {
            VerdictColour::Green => "GREEN",
            VerdictColour::Amber => "AMBER",
            VerdictColour::Red => "RED",
        };
        println!("{colour}");
        match opts.revocation_list_age_secs {
            Some(age) => println!("  {}", revocation_line(revoked.len(), age)),
            None => println!("  revocation list: none given (--revocations), revocation not checked"),
        }
        for r in &v.reasons {
            println!("  {}: {}", r.as_str(), r.message_en());
        }
        if let Some(c) = &v.claims {
            println!(
                "  holder: {} (document …{}, born {})",
                c.holder_name, c.document_last4, c.birth_year
            );
            println!(
                "  route: {} → {}  reason: {}  companions: {}",
                c.from_area, c.to_area, c.reason, c.companions
            );
            if let Some(reg) = &c.vehicle_registration {
                println!("  vehicle: {reg}");
            }
        }
    }
    Ok(if v.result == VerdictColour::Green {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn uuid_bytes(s: &str) -> Option<[u8; 16]> {
    let hex: String = s.chars().filter(|c| *c != '-').collect();
    if hex.len() != 32 {
        return None;
    }
    let mut out = [0u8; 16];
    for (i, b) in out.iter_mut().enumerate() {
        *b = u8::from_str_radix(hex.get(i * 2..i * 2 + 2)?, 16).ok()?;
    }
    Some(out)
}

/// The text output's line about the revocation list: how many passes it names, how old.
fn revocation_line(entries: usize, age_secs: i64) -> String {
    let noun = if entries == 1 { "entry" } else { "entries" };
    format!("revocation list: {entries} {noun}, {} min old", age_secs / 60)
}

#[cfg(test)]
mod tests {
    use super::revocation_line;

    #[test]
    fn the_revocation_line_counts_entries_in_words() {
        assert_eq!(revocation_line(0, 59), "revocation list: 0 entries, 0 min old");
        assert_eq!(revocation_line(1, 120), "revocation list: 1 entry, 2 min old");
        assert_eq!(revocation_line(2, 3600), "revocation list: 2 entries, 60 min old");
    }
}
