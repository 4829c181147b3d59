//! Signing keys kept in the data directory: the pass-signing keys, the access-token keys
//! and the OTP hashing secret. Generated on first start; `mpass keys` lists and rotates.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD as B64};
use clap::Subcommand;
use ed25519_dalek::SigningKey;
use mpass_domain::pass::{PassSigningKey, TrustList, TrustedKey};
use serde::{Deserialize, Serialize};

use crate::config::Settings;

/// Longest a pass can stay valid after its key stopped signing: start up to 72 h after
/// issue plus 12 h of validity, plus slack.
const RETIRED_KEY_GRACE_SECS: i64 = (72 + 12 + 1) * 3600;

#[derive(Subcommand)]
pub enum KeysCommand {
    /// List the keys and their status.
    List,
    /// Start signing passes with a new key; the old one stays trusted until its passes expire.
    Rotate,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct StoredKey {
    seed: String,
    created_at: i64,
    #[serde(default)]
    retired_at: Option<i64>,
    #[serde(default)]
    compromised: bool,
}

impl StoredKey {
    fn generate(now: i64) -> anyhow::Result<StoredKey> {
        let mut seed = [0u8; 32];
        getrandom(&mut seed)?;
        Ok(StoredKey {
            seed: B64.encode(seed),
            created_at: now,
            retired_at: None,
            compromised: false,
        })
    }

    fn seed(&self) -> anyhow::Result<[u8; 32]> {
        B64.decode(&self.seed)
            .ok()
            .and_then(|b| b.try_into().ok())
            .context("corrupt key seed in key file")
    }
}

fn getrandom(buf: &mut [u8]) -> anyhow::Result<()> {
    getrandom::fill(buf).map_err(|e| anyhow::anyhow!("operating system random source: {e}"))
}

/// The key file's contents.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Keyring {
    otp_secret: String,
    token_keys: Vec<StoredKey>,
    pass_keys: Vec<StoredKey>,
}

fn key_path(settings: &Settings) -> PathBuf {
    settings.data_dir.join("keys.json")
}

impl Keyring {
    /// Loads the key file, creating it with fresh keys on first start.
    pub fn load_or_create(settings: &Settings) -> anyhow::Result<Keyring> {
        let path = key_path(settings);
        if path.exists() {
            let text = std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
            let ring: Keyring = serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))?;
            if ring.pass_keys.iter().all(|k| k.retired_at.is_some()) || ring.token_keys.is_empty() {
                bail!("{} has no active signing key", path.display());
            }
            return Ok(ring);
        }
        let now = now();
        let mut secret = [0u8; 32];
        getrandom(&mut secret)?;
        let ring = Keyring {
            otp_secret: B64.encode(secret),
            token_keys: vec![StoredKey::generate(now)?],
            pass_keys: vec![StoredKey::generate(now)?],
        };
        ring.save(&path)?;
        tracing::info!(path = %path.display(), "keys.created");
        Ok(ring)
    }

    fn save(&self, path: &Path) -> anyhow::Result<()> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let tmp = path.with_extension("tmp");
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&tmp)?;
        f.write_all(serde_json::to_string_pretty(self)?.as_bytes())?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)?;
        Ok(())
    }

    pub fn otp_secret(&self) -> anyhow::Result<Vec<u8>> {
        B64.decode(&self.otp_secret).context("corrupt otp secret")
    }

    /// The key that signs new passes.
    pub fn pass_signing_key(&self) -> anyhow::Result<PassSigningKey> {
        let k = self
            .pass_keys
            .iter()
            .rev()
            .find(|k| k.retired_at.is_none() && !k.compromised)
            .context("no active pass key")?;
        Ok(PassSigningKey::from_bytes(&k.seed()?))
    }

    /// The token signing key and the older public keys still accepted.
    pub fn token_keys(&self) -> anyhow::Result<(SigningKey, Vec<ed25519_dalek::VerifyingKey>)> {
        let (current, older) = self.token_keys.split_last().context("no token key")?;
        let older = older
            .iter()
            .map(|k| k.seed().map(|s| SigningKey::from_bytes(&s).verifying_key()))
            .collect::<anyhow::Result<_>>()?;
        Ok((SigningKey::from_bytes(&current.seed()?), older))
    }

    /// Every pass key a verifier should know, with its validity.
    pub fn trust_list(&self) -> anyhow::Result<TrustList> {
        let mut keys = Vec::new();
        let now = now();
        for k in &self.pass_keys {
            let grace_end = k.retired_at.map(|r| r + RETIRED_KEY_GRACE_SECS);
            if grace_end.is_some_and(|end| end < now) && !k.compromised {
                continue; // every pass it signed has expired
            }
            let public = PassSigningKey::from_bytes(&k.seed()?).verifying_key();
            let mut t = TrustedKey::new(public, k.created_at, grace_end);
            t.compromised = k.compromised;
            keys.push(t);
        }
        Ok(TrustList { keys })
    }
}

fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// `mpass keys ...`.
pub fn run(settings: &Settings, cmd: KeysCommand) -> anyhow::Result<()> {
    let path = key_path(settings);
    let mut ring = Keyring::load_or_create(settings)?;
    match cmd {
        KeysCommand::List => {}
        KeysCommand::Rotate => {
            let now = now();
            for k in ring.pass_keys.iter_mut().filter(|k| k.retired_at.is_none()) {
                k.retired_at = Some(now);
            }
            ring.pass_keys.push(StoredKey::generate(now)?);
            ring.save(&path)?;
            println!("rotated: new passes are signed with the new key after the server restarts");
        }
    }
    for k in &ring.pass_keys {
        let public = PassSigningKey::from_bytes(&k.seed()?).verifying_key();
        let status = if k.compromised {
            "compromised"
        } else if k.retired_at.is_some() {
            "retired"
        } else {
            "active"
        };
        println!(
            "pass  kid={}  created={}  {status}",
            B64.encode(mpass_domain::pass::kid_of(&public)),
            k.created_at
        );
    }
    Ok(())
}
