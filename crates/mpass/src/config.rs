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
    /// `dev` (outbox shown at /dev/outbox) or `twilio` (a Twilio-compatible Messages API).
    pub sms_provider: String,
    /// Base URL of the Twilio-compatible API (`twilio` provider).
    pub twilio_base_url: String,
    /// Account SID: the user name of HTTP Basic authentication and part of the URL.
    pub twilio_account_sid: Option<String>,
    /// Auth token: the password of HTTP Basic authentication.
    pub twilio_auth_token: Option<Secret>,
    /// Sender number or alphanumeric id (`From`); or else a messaging service below.
    pub twilio_from: Option<String>,
    /// Messaging service that picks the sender (`MessagingServiceSid`), instead of `twilio_from`.
    pub twilio_messaging_service_sid: Option<String>,
    /// Milliseconds one request to the SMS provider may take before it counts as failed
    /// (and is retried).
    pub sms_timeout_ms: u64,
    /// Deliveries of a job before one that keeps failing is parked in the dead letters.
    pub job_max_attempts: u32,
    /// Milliseconds before the first retry of a failed job; doubled for each further one,
    /// up to five minutes.
    pub job_backoff_base_ms: u64,
    /// `iss` of passes and tokens.
    pub issuer: String,
    /// A policy file to use instead of the built-in default.
    pub policy_file: Option<PathBuf>,
    /// Login codes one client address (an IPv6 client's /64) may ask for in any 60 seconds
    /// (estimated from the clock's minutes), counted by the store across API nodes (429
    /// beyond).
    pub otp_per_ip_per_minute: u32,
    /// New applications one citizen may submit in any hour (counted by the store; 429 beyond).
    pub submissions_per_citizen_per_hour: u32,
    pub trust_forwarded_for: bool,
    /// Jobs run at once by this process's worker.
    pub worker_concurrency: u32,
    /// `json` or `pretty`.
    pub log_format: String,
    /// Seconds to let in-flight requests and jobs finish on shutdown.
    pub shutdown_grace_secs: u64,
    /// Milliseconds a client has to send a request's line and headers (from connecting, or
    /// from the previous answer on a keep-alive connection); also how long a connection may
    /// stay idle. A client slower than that is disconnected (slowloris; mpass-http
    /// `listener.rs`).
    pub header_read_timeout_ms: u64,
    /// Connections open at once; at the limit new ones wait in the listen backlog. Unset:
    /// the process's file-descriptor limit (raised to its hard limit at start) less 256 for
    /// the store, the log, the photos and outgoing connections (`limits::connections`).
    pub max_connections: Option<usize>,
    /// Connections open at once from one address (an IPv6 client's /64); past it a new one
    /// is answered 503 `too_many_connections`. 0: no limit. Unset: an eighth of
    /// `max_connections`, or no limit when `trust_forwarded_for` says a proxy is in front.
    pub max_connections_per_ip: Option<usize>,
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
    /// Keep each async runtime worker on a CPU of its own, when there is one worker per CPU
    /// the process may use (`runtime.rs`; docs/BENCHMARKS-HISTORY.md, fourteenth round).
    pub pin_workers: bool,
    /// Thana geocode given to legacy registrations and applications whose legacy thana
    /// number has no known mapping (docs/LEGACY_V1.md). Unset: the first thana of Dhaka district.
    pub legacy_area: Option<String>,
    /// Failed legacy logins (phone and date of birth) one phone may have in a day (UTC),
    /// counted by the store across API nodes (429 beyond, until the next day).
    pub legacy_failed_logins_per_phone_per_day: u32,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            listen: "127.0.0.1:8080".into(),
            data_dir: PathBuf::from("./data"),
            profile: Profile::Development,
            sms_provider: "dev".into(),
            twilio_base_url: "https://api.twilio.com".into(),
            twilio_account_sid: None,
            twilio_auth_token: None,
            twilio_from: None,
            twilio_messaging_service_sid: None,
            sms_timeout_ms: 10_000,
            job_max_attempts: 5,
            job_backoff_base_ms: 1000,
            issuer: "mpass".into(),
            policy_file: None,
            otp_per_ip_per_minute: 60,
            submissions_per_citizen_per_hour: 12,
            trust_forwarded_for: false,
            worker_concurrency: 64,
            log_format: "json".into(),
            shutdown_grace_secs: 20,
            header_read_timeout_ms: 20_000,
            max_connections: None,
            max_connections_per_ip: None,
            database_url: None,
            database_replica_url: None,
            database_pool_size: 16,
            queue_url: None,
            queue_prefix: "mpass".into(),
            object_store_url: None,
            compat_v1: false,
            public_url: None,
            legacy_area: None,
            legacy_failed_logins_per_phone_per_day: mpass_domain::legacy::FAILED_LOGINS_PER_PHONE_PER_DAY,
            pin_workers: true,
        }
    }
}

/// A secret setting: never printed (`Debug` shows `<redacted>`).
#[derive(Clone, Deserialize, PartialEq, Eq)]
#[serde(transparent)]
pub struct Secret(pub String);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<redacted>")
    }
}

/// Keys whose environment value is always text, even when it looks like a number
/// (`MPASS_TWILIO_FROM=+15005550006`, a token of digits).
const TEXT_KEYS: [&str; 5] = [
    "twilio_base_url",
    "twilio_account_sid",
    "twilio_auth_token",
    "twilio_from",
    "twilio_messaging_service_sid",
];

const KEYS: [&str; 34] = [
    "listen",
    "data_dir",
    "profile",
    "sms_provider",
    "twilio_base_url",
    "twilio_account_sid",
    "twilio_auth_token",
    "twilio_from",
    "twilio_messaging_service_sid",
    "sms_timeout_ms",
    "job_max_attempts",
    "job_backoff_base_ms",
    "issuer",
    "policy_file",
    "otp_per_ip_per_minute",
    "submissions_per_citizen_per_hour",
    "trust_forwarded_for",
    "worker_concurrency",
    "log_format",
    "shutdown_grace_secs",
    "header_read_timeout_ms",
    "max_connections",
    "max_connections_per_ip",
    "database_url",
    "database_replica_url",
    "database_pool_size",
    "queue_url",
    "queue_prefix",
    "object_store_url",
    "compat_v1",
    "public_url",
    "legacy_area",
    "legacy_failed_logins_per_phone_per_day",
    "pin_workers",
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
                let value = if TEXT_KEYS.contains(&key) {
                    toml::Value::String(v)
                } else {
                    env_value(&v)
                };
                table.insert(key.into(), value);
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
        match self.sms_provider.as_str() {
            "dev" => {}
            "twilio" => {
                self.twilio()?;
            }
            other => bail!("sms_provider {other:?} is not known; use \"dev\" or \"twilio\""),
        }
        if self.job_max_attempts == 0 {
            bail!("job_max_attempts must be at least 1");
        }
        if self.sms_timeout_ms == 0 {
            bail!("sms_timeout_ms must be at least 1");
        }
        if self.header_read_timeout_ms < 100 {
            // Shorter would close connections before a request could arrive.
            bail!("header_read_timeout_ms must be at least 100");
        }
        if self.submissions_per_citizen_per_hour == 0 {
            bail!("submissions_per_citizen_per_hour must be at least 1");
        }
        if self.legacy_failed_logins_per_phone_per_day == 0 {
            bail!("legacy_failed_logins_per_phone_per_day must be at least 1");
        }
        if self.max_connections == Some(0) {
            bail!("max_connections must be at least 1");
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

    /// The settings of the `twilio` SMS provider, checked.
    pub fn twilio(&self) -> anyhow::Result<mpass_worker::TwilioConfig> {
        let present = |v: &Option<String>| v.as_deref().is_some_and(|s| !s.trim().is_empty());
        let (Some(sid), Some(token)) = (
            self.twilio_account_sid
                .clone()
                .filter(|_| present(&self.twilio_account_sid)),
            self.twilio_auth_token.clone().filter(|t| !t.0.is_empty()),
        ) else {
            bail!("sms_provider \"twilio\" needs twilio_account_sid and twilio_auth_token");
        };
        let sender = match (present(&self.twilio_from), present(&self.twilio_messaging_service_sid)) {
            (true, false) => mpass_worker::TwilioSender::From(self.twilio_from.clone().unwrap_or_default()),
            (false, true) => mpass_worker::TwilioSender::MessagingService(
                self.twilio_messaging_service_sid.clone().unwrap_or_default(),
            ),
            _ => bail!("sms_provider \"twilio\" needs exactly one of twilio_from and twilio_messaging_service_sid"),
        };
        let config = mpass_worker::TwilioConfig {
            base_url: self.twilio_base_url.clone(),
            account_sid: sid,
            auth_token: token.0,
            sender,
            timeout: std::time::Duration::from_millis(self.sms_timeout_ms),
        };
        // Checks the URL and the SID now, so a bad setting stops the start, not the first SMS.
        mpass_worker::TwilioSms::new(config.clone()).map_err(|e| anyhow::anyhow!(e))?;
        Ok(config)
    }

    /// When failed jobs are retried and given up.
    pub fn retry_policy(&self) -> mpass_worker::RetryPolicy {
        mpass_worker::RetryPolicy {
            max_attempts: self.job_max_attempts.max(1),
            backoff_base: std::time::Duration::from_millis(self.job_backoff_base_ms),
            ..mpass_worker::RetryPolicy::default()
        }
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
    fn twilio_needs_credentials_and_one_sender() {
        let base = Settings {
            sms_provider: "twilio".into(),
            twilio_account_sid: Some("AC123".into()),
            twilio_auth_token: Some(Secret("s3cr3t-value".into())),
            twilio_from: Some("+15005550006".into()),
            ..Settings::default()
        };
        base.check().unwrap();
        assert_eq!(
            base.twilio().unwrap().sender,
            mpass_worker::TwilioSender::From("+15005550006".into())
        );
        assert!(!format!("{base:?}").contains("s3cr3t"), "the token is redacted");
        for bad in [
            Settings {
                twilio_auth_token: None,
                ..base.clone()
            },
            Settings {
                twilio_account_sid: Some(" ".into()),
                ..base.clone()
            },
            Settings {
                twilio_messaging_service_sid: Some("MG1".into()),
                ..base.clone()
            },
            Settings {
                twilio_from: None,
                ..base.clone()
            },
            Settings {
                twilio_base_url: "api.twilio.com".into(),
                ..base.clone()
            },
            Settings {
                sms_provider: "carrier-pigeon".into(),
                ..base.clone()
            },
            Settings {
                header_read_timeout_ms: 0,
                ..base.clone()
            },
            Settings {
                max_connections: Some(0),
                ..base.clone()
            },
        ] {
            assert!(bad.check().is_err(), "{bad:?}");
        }
        let by_service = Settings {
            twilio_from: None,
            twilio_messaging_service_sid: Some("MG1".into()),
            ..base.clone()
        };
        by_service.check().unwrap();
        let prod = Settings {
            profile: Profile::Production,
            ..base
        };
        prod.check().expect("the twilio provider is allowed in production");
    }

    #[test]
    fn example_config_parses() {
        let text = include_str!("../../../mpass.example.toml");
        let table: toml::Table = text.parse().unwrap();
        let s: Settings = table.try_into().unwrap();
        s.check().unwrap();
    }
}
