//! Configuration: defaults, then `mpass.toml`, then `MPASS_*` environment variables, then
//! command-line flags. Every key is documented in `mpass.example.toml`.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use serde::Deserialize;

use crate::{BackendArgs, DataArgs};

/// Whether this is a development or a production deployment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Profile {
    Development,
    Production,
}

/// The whole configuration of a node.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Settings {
    pub listen: String,
    pub data_dir: PathBuf,
    pub profile: Profile,
    /// `dev` (outbox shown at /dev/outbox) is the only provider in this build.
    pub sms_provider: String,
    /// `iss` of passes and tokens.
    pub issuer: String,
    /// A policy file to use instead of the built-in default.
    pub policy_file: Option<PathBuf>,
    pub otp_per_ip_per_minute: u32,
    pub trust_forwarded_for: bool,
    /// Jobs run at once by this process's worker.
    pub worker_concurrency: u32,
    /// `json` or `pretty`.
    pub log_format: String,
    /// Seconds to let in-flight requests and jobs finish on shutdown.
    pub shutdown_grace_secs: u64,
    /// PostgreSQL instead of the embedded SQLite (`postgres://...`).
    pub database_url: Option<String>,
    /// A read replica for read-only queries (PostgreSQL only).
    pub database_replica_url: Option<String>,
    /// Connections per database pool (PostgreSQL only).
    pub database_pool_size: usize,
    /// NATS JetStream instead of the in-process queue (`nats://...`).
    pub queue_url: Option<String>,
    /// Prefix of the JetStream stream and subject names.
    pub queue_prefix: String,
    /// An S3-compatible object store instead of `data_dir/objects`:
    /// `s3://ACCESS_KEY:SECRET_KEY@host:port/bucket?region=us-east-1&scheme=http`.
    pub object_store_url: Option<String>,
    /// Also serve the legacy `/v1` API of the earlier Movement Pass (SPEC §12).
    pub compat_v1: bool,
    /// The public base URL (`https://mpass.example`): legacy pre-signed upload URLs and the
    /// photo URLs they become start with it. Unset: taken from each request's `Host`.
    pub public_url: Option<String>,
    /// Thana geocode given to legacy registrations and applications, whose legacy numbers
    /// have no known mapping (docs/LEGACY_V1.md). Unset: the first thana of Dhaka district.
    pub legacy_area: Option<String>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            listen: "127.0.0.1:8080".into(),
            data_dir: PathBuf::from("./data"),
            profile: Profile::Development,
            sms_provider: "dev".into(),
            issuer: "mpass".into(),
            policy_file: None,
            otp_per_ip_per_minute: 60,
            trust_forwarded_for: false,
            worker_concurrency: 64,
            log_format: "json".into(),
            shutdown_grace_secs: 20,
            database_url: None,
            database_replica_url: None,
            database_pool_size: 16,
            queue_url: None,
            queue_prefix: "mpass".into(),
            object_store_url: None,
            compat_v1: false,
            public_url: None,
            legacy_area: None,
        }
    }
}

const KEYS: [&str; 20] = [
    "listen",
    "data_dir",
    "profile",
    "sms_provider",
    "issuer",
    "policy_file",
    "otp_per_ip_per_minute",
    "trust_forwarded_for",
    "worker_concurrency",
    "log_format",
    "shutdown_grace_secs",
    "database_url",
    "database_replica_url",
    "database_pool_size",
    "queue_url",
    "queue_prefix",
    "object_store_url",
    "compat_v1",
    "public_url",
    "legacy_area",
];

/// An environment value as TOML: numbers and booleans typed, everything else a string.
fn env_value(raw: &str) -> toml::Value {
    if let Ok(i) = raw.parse::<i64>() {
        return toml::Value::Integer(i);
    }
    match raw {
        "true" => toml::Value::Boolean(true),
        "false" => toml::Value::Boolean(false),
        _ => toml::Value::String(raw.to_string()),
    }
}

impl Settings {
    /// Loads the layered configuration.
    pub fn load(args: &DataArgs, listen: Option<String>) -> anyhow::Result<Settings> {
        Settings::load_with(args, listen, &BackendArgs::default())
    }

    /// Loads the layered configuration, with backend flags of `mpass api` / `mpass worker`.
    pub fn load_with(args: &DataArgs, listen: Option<String>, backends: &BackendArgs) -> anyhow::Result<Settings> {
        let file = args
            .config
            .clone()
            .or_else(|| std::env::var_os("MPASS_CONFIG").map(PathBuf::from));
        let mut table = match &file {
            Some(path) => read_table(path)?,
            None if Path::new("mpass.toml").exists() => read_table(Path::new("mpass.toml"))?,
            None => toml::Table::new(),
        };
        for key in KEYS {
            if let Ok(v) = std::env::var(format!("MPASS_{}", key.to_ascii_uppercase())) {
                table.insert(key.into(), env_value(&v));
            }
        }
        if let Some(dir) = &args.data_dir {
            table.insert("data_dir".into(), toml::Value::String(dir.display().to_string()));
        }
        for (key, value) in [
            ("database_url", &backends.database_url),
            ("queue_url", &backends.queue_url),
            ("object_store_url", &backends.object_store_url),
        ] {
            if let Some(v) = value {
                table.insert(key.into(), toml::Value::String(v.clone()));
            }
        }
        if let Some(l) = listen {
            table.insert("listen".into(), toml::Value::String(l));
        }
        let settings: Settings = table.try_into().context("invalid configuration")?;
        settings.check()?;
        Ok(settings)
    }

    /// Checks the settings as a whole (again after command-line flags change them).
    pub fn check(&self) -> anyhow::Result<()> {
        if self.sms_provider != "dev" {
            bail!(
                "sms_provider {:?} is not available in this build; use \"dev\"",
                self.sms_provider
            );
        }
        if self.profile == Profile::Production && self.sms_provider == "dev" {
            bail!("the dev SMS provider shows codes to anyone and is refused in the production profile");
        }
        if let Some(url) = &self.object_store_url
            && !url.starts_with("s3://")
        {
            bail!("object_store_url must be an s3:// URL (photos are kept in data_dir/objects when it is unset)");
        }
        if let Some(url) = &self.database_url
            && !(url.starts_with("postgres://") || url.starts_with("postgresql://"))
        {
            bail!("database_url must be a postgres:// URL (SQLite is the default when it is unset)");
        }
        if let Some(url) = &self.queue_url
            && !url.starts_with("nats://")
        {
            bail!("queue_url must be a nats:// URL (the in-process queue is the default when it is unset)");
        }
        if let Some(url) = &self.public_url
            && !(url.starts_with("https://") || url.starts_with("http://"))
        {
            bail!("public_url must be an https:// URL (http:// only in development)");
        }
        if self.compat_v1
            && self.profile == Profile::Production
            && !self.public_url.as_deref().is_some_and(|u| u.starts_with("https://"))
        {
            bail!("compat_v1 in the production profile needs public_url set to an https:// URL (photo URLs)");
        }
        if let Some(area) = &self.legacy_area
            && mpass_domain::geo::areas().thana(area).is_none()
        {
            bail!("legacy_area {area:?} is not a thana geocode (see GET /api/v1/areas)");
        }
        if !matches!(self.log_format.as_str(), "json" | "pretty") {
            bail!("log_format must be json or pretty");
        }
        Ok(())
    }

    /// The SQLite database of the embedded default.
    pub fn database_path(&self) -> PathBuf {
        self.data_dir.join("mpass.db")
    }
}

fn read_table(path: &Path) -> anyhow::Result<toml::Table> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    text.parse::<toml::Table>()
        .with_context(|| format!("parsing {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_then_flags() {
        let dir = std::env::temp_dir().join(format!("mpass-config-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("mpass.toml");
        std::fs::write(&file, "listen = \"0.0.0.0:9000\"\nworker_concurrency = 8\n").unwrap();
        let args = DataArgs {
            config: Some(file.clone()),
            data_dir: Some(dir.join("d")),
        };
        let s = Settings::load(&args, None).unwrap();
        assert_eq!(s.listen, "0.0.0.0:9000");
        assert_eq!(s.worker_concurrency, 8);
        assert_eq!(s.data_dir, dir.join("d"));
        let s = Settings::load(&args, Some("127.0.0.1:1".into())).unwrap();
        assert_eq!(s.listen, "127.0.0.1:1");
        std::fs::write(&file, "lisen = 1\n").unwrap();
        assert!(Settings::load(&args, None).is_err(), "unknown keys are refused");
    }

    #[test]
    fn example_config_parses() {
        let text = include_str!("../../../mpass.example.toml");
        let table: toml::Table = text.parse().unwrap();
        let s: Settings = table.try_into().unwrap();
        s.check().unwrap();
    }
}
