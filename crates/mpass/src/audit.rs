//! `mpass audit verify`: replays the audit chain (SPEC §10) from the store, in pages, and
//! reports OK or the first entry that does not verify.

use std::process::ExitCode;
use std::sync::Arc;

use clap::Subcommand;
use mpass_domain::audit::{ChainError, ChainVerifier};
use mpass_domain::ports::{Store, StoreResult};

use crate::config::Settings;

/// Entries read per page.
const PAGE: u32 = 1000;

#[derive(Subcommand)]
pub enum AuditCommand {
    /// Check every entry's hash and link; exit 0 if the chain is intact, 1 if not.
    Verify,
}

pub async fn run(settings: Settings, cmd: AuditCommand) -> anyhow::Result<ExitCode> {
    let store: Arc<dyn Store> = crate::serve::open_store(&settings).await?;
    match cmd {
        AuditCommand::Verify => match verify(store.as_ref()).await? {
            Ok((count, last_hash)) => {
                println!("OK: {count} entries, last hash {last_hash}");
                Ok(ExitCode::SUCCESS)
            }
            Err((e, verified)) => {
                println!("FAILED: {e}");
                println!("{verified} entries verified before it");
                Ok(ExitCode::FAILURE)
            }
        },
    }
}

/// `(entries, last hash)` when the chain is intact, else the first break and how many
/// entries verified before it.
pub type Verdict = Result<(i64, String), (ChainError, i64)>;

/// Replays the whole chain: `(entries, last hash)` when intact, else the first break and
/// how many entries verified before it.
pub async fn verify(store: &dyn Store) -> StoreResult<Verdict> {
    let mut chain = ChainVerifier::new();
    let mut after = 0;
    loop {
        let page = store.audit_list(after, PAGE).await?;
        for entry in &page {
            if let Err(e) = chain.push(entry) {
                return Ok(Err((e, chain.count())));
            }
        }
        match page.last() {
            Some(last) if page.len() as u32 == PAGE => after = last.seq,
            _ => break,
        }
    }
    Ok(Ok((chain.count(), chain.last_hash().to_string())))
}
