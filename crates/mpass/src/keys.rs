//! Signing keys kept in the data directory: the pass-signing keys, the access-token keys
//! and the OTP hashing secret. Generated on first start; `mpass keys` lists, rotates and
//! marks keys compromised. Running servers pick up pass-key changes without a restart:
//! [`ReloadingPassKeys`] re-reads the file when its modification time changes, looking
//! at most every [`KEY_FILE_CHECK_SECS`] seconds.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant, SystemTime};

use anyhow::{Context, bail};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD as B64};
use clap::Subcommand;
use ed25519_dalek::SigningKey;
use mpass_domain::pass::{PassKeySource, PassSigningKey, TrustList, TrustedKey};
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
    /// Mark a pass key compromised (it leaked): every pass it signed verifies red from now
    /// on, it stays published as `compromised`, and if it was signing, a new key takes over.
    Compromise {
        /// The key id, base64url, as `mpass keys list` prints it.
        kid: String,
    },
}

/// How often, at most, a running server looks at the key file's modification time.
pub const KEY_FILE_CHECK_SECS: u64 = 2;

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

/// The key file of a data directory.
pub fn key_path(settings: &Settings) -> PathBuf {
    settings.data_dir.join("keys.json")
}

impl Keyring {
    /// Reads an existing key file.
    pub fn load(path: &Path) -> anyhow::Result<Keyring> {
        let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        let ring: Keyring = serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))?;
        if ring.pass_keys.iter().all(|k| k.retired_at.is_some() || k.compromised) || ring.token_keys.is_empty() {
            bail!("{} has no active signing key", path.display());
        }
        Ok(ring)
    }

    /// Loads the key file, creating it with fresh keys on first start.
    pub fn load_or_create(settings: &Settings) -> anyhow::Result<Keyring> {
        let path = key_path(settings);
        if path.exists() {
            return Keyring::load(&path);
        }
        let now = now();
        let mut secret = [0u8; 32];
        getrandom(&mut secret)?;
        let ring = Keyring {
            otp_secret: B64.encode(secret),
            token_keys: vec![StoredKey::generate(now)?],
            pass_keys: vec![StoredKey::generate(now)?],
        };
        // Nodes started together on one data directory (an API node and a worker) race to
        // create the file: only the first link succeeds, and every other node loads the
        // keys it wrote, so all of them sign and verify with the same keys.
        if !ring.save_new(&path)? {
            return Keyring::load(&path);
        }
        tracing::info!(path = %path.display(), "keys.created");
        Ok(ring)
    }

    /// Replaces the key file (rotation, compromise) through a file of this process's own.
    fn save(&self, path: &Path) -> anyhow::Result<()> {
        let tmp = self.write_temp(path)?;
        std::fs::rename(&tmp, path)?;
        Ok(())
    }

    /// Creates the key file unless one exists: false if another process created it first.
    fn save_new(&self, path: &Path) -> anyhow::Result<bool> {
        let tmp = self.write_temp(path)?;
        let linked = std::fs::hard_link(&tmp, path);
        std::fs::remove_file(&tmp)?;
        match linked {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    /// Writes the keys, synced, to a temporary file of this process beside `path`.
    fn write_temp(&self, path: &Path) -> anyhow::Result<PathBuf> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        static TEMP_FILES: AtomicU64 = AtomicU64::new(0);
        let n = TEMP_FILES.fetch_add(1, Ordering::Relaxed);
        let tmp = path.with_extension(format!("tmp.{}.{n}", std::process::id()));
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&tmp)?;
        f.write_all(serde_json::to_string_pretty(self)?.as_bytes())?;
        f.sync_all()?;
        Ok(tmp)
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

    /// Marks every pass key with this kid (base64url) compromised; returns whether one of
    /// them was the signing key, in which case a new key now signs.
    pub fn compromise(&mut self, kid: &str, now: i64) -> anyhow::Result<bool> {
        let mut found = false;
        let mut was_active = false;
        for k in &mut self.pass_keys {
            let public = PassSigningKey::from_bytes(&k.seed()?).verifying_key();
            if B64.encode(mpass_domain::pass::kid_of(&public)) != kid {
                continue;
            }
            found = true;
            was_active |= k.retired_at.is_none() && !k.compromised;
            k.compromised = true;
            k.retired_at.get_or_insert(now);
        }
        if !found {
            bail!("no pass key has kid {kid} (see `mpass keys list`)");
        }
        if was_active || self.pass_keys.iter().all(|k| k.retired_at.is_some() || k.compromised) {
            self.pass_keys.push(StoredKey::generate(now)?);
            return Ok(true);
        }
        Ok(false)
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

/// What a node derived from the key file the last time it read it.
struct LoadedPassKeys {
    modified: Option<SystemTime>,
    loaded_at: Instant,
    signing: Arc<PassSigningKey>,
    trust: Arc<TrustList>,
}

impl LoadedPassKeys {
    fn read(path: &Path) -> anyhow::Result<LoadedPassKeys> {
        let modified = std::fs::metadata(path).and_then(|m| m.modified()).ok();
        let ring = Keyring::load(path)?;
        Ok(LoadedPassKeys {
            modified,
            loaded_at: Instant::now(),
            signing: Arc::new(ring.pass_signing_key()?),
            trust: Arc::new(ring.trust_list()?),
        })
    }
}

/// The pass keys of a running node, re-read from `keys.json` when the file changes (and
/// every `TRUST_LIST_REFRESH`, so keys whose grace has ended drop out of the trust
/// list). A file that cannot be read or parsed is logged and the keys in force are kept.
pub struct ReloadingPassKeys {
    path: PathBuf,
    started: Instant,
    /// Milliseconds after `started` when the file is looked at next; the one caller that
    /// moves it forward does the check, every other caller just reads the keys in force.
    next_check_ms: AtomicU64,
    loaded: RwLock<Arc<LoadedPassKeys>>,
}

/// How often the trust list is rebuilt even when the key file did not change.
const TRUST_LIST_REFRESH: Duration = Duration::from_secs(600);

impl ReloadingPassKeys {
    /// Loads the keys of `settings`' data directory (which must exist by now).
    pub fn open(settings: &Settings) -> anyhow::Result<ReloadingPassKeys> {
        let path = key_path(settings);
        let loaded = LoadedPassKeys::read(&path)?;
        Ok(ReloadingPassKeys {
            path,
            started: Instant::now(),
            next_check_ms: AtomicU64::new(KEY_FILE_CHECK_SECS * 1000),
            loaded: RwLock::new(Arc::new(loaded)),
        })
    }

    fn in_force(&self) -> Arc<LoadedPassKeys> {
        self.loaded.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    fn current(&self) -> Arc<LoadedPassKeys> {
        let now_ms = u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX);
        let due = self.next_check_ms.load(Ordering::Relaxed);
        let next = now_ms.saturating_add(KEY_FILE_CHECK_SECS * 1000);
        if now_ms < due
            || self
                .next_check_ms
                .compare_exchange(due, next, Ordering::Relaxed, Ordering::Relaxed)
                .is_err()
        {
            return self.in_force();
        }
        let loaded = self.in_force();
        let modified = std::fs::metadata(&self.path).and_then(|m| m.modified()).ok();
        if modified == loaded.modified && loaded.loaded_at.elapsed() < TRUST_LIST_REFRESH {
            return loaded;
        }
        match LoadedPassKeys::read(&self.path) {
            Ok(fresh) => {
                if fresh.signing.kid() != loaded.signing.kid() || fresh.trust != loaded.trust {
                    tracing::info!(
                        keys.signing_kid = %B64.encode(fresh.signing.kid()),
                        keys.trusted = fresh.trust.keys.len(),
                        "keys.reloaded"
                    );
                }
                let fresh = Arc::new(fresh);
                *self.loaded.write().unwrap_or_else(|p| p.into_inner()) = fresh.clone();
                fresh
            }
            Err(e) => {
                tracing::warn!(error = %format!("{e:#}"), "keys.reload_failed");
                loaded
            }
        }
    }
}

impl PassKeySource for ReloadingPassKeys {
    fn signing_key(&self) -> Arc<PassSigningKey> {
        self.current().signing.clone()
    }

    fn trust_list(&self) -> Arc<TrustList> {
        self.current().trust.clone()
    }
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
            println!("rotated: running servers sign new passes with the new key within a few seconds");
        }
        KeysCommand::Compromise { kid } => {
            let replaced = ring.compromise(&kid, now())?;
            ring.save(&path)?;
            println!("compromised: every pass signed by {kid} now verifies red");
            if replaced {
                println!("it was the signing key: a new key signs new passes from now on");
            }
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Nodes that start together on a new data directory all end up with the same keys:
    /// one creates the file, the others load it (none fails, none keeps keys of its own).
    #[test]
    fn nodes_starting_together_share_one_key_file() {
        let dir = std::env::temp_dir().join(format!("mpass-keys-race-{}-{}", std::process::id(), now()));
        let settings = Settings {
            data_dir: dir.clone(),
            ..Settings::default()
        };
        let start = std::sync::Barrier::new(8);
        let secrets: Vec<String> = std::thread::scope(|s| {
            let racers: Vec<_> = (0..8)
                .map(|_| {
                    s.spawn(|| {
                        start.wait();
                        Keyring::load_or_create(&settings).expect("keys").otp_secret
                    })
                })
                .collect();
            racers.into_iter().map(|r| r.join().expect("no panic")).collect()
        });
        let on_disk = Keyring::load(&key_path(&settings)).expect("one key file").otp_secret;
        assert!(secrets.iter().all(|s| *s == on_disk), "every node has the file's keys");
        let left: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(
            left,
            vec![std::ffi::OsString::from("keys.json")],
            "no temporary files left"
        );
        std::fs::remove_dir_all(dir).unwrap();
    }
}
