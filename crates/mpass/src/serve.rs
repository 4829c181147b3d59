//! `mpass serve`: the composition root of the embedded default. Opens the store, keys and
//! policy, starts the worker and the HTTP server, and shuts both down gracefully.

use std::net::SocketAddr;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use anyhow::Context;
use mpass_domain::policy::Policy;
use mpass_domain::ports::{ObjectStore, Queue, SharedPolicy, Store};
use mpass_domain::token::TokenKeys;
use mpass_http::{AppState, HttpSettings, metrics::Metrics};
use mpass_queue::EmbeddedQueue;
use mpass_store::{LocalObjectStore, SqliteStore};
use mpass_worker::{DevOutboxSms, Runner, WorkerContext};
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::config::Settings;
use crate::keys::Keyring;

/// A running server: its address, and how to stop it.
pub struct Running {
    pub addr: SocketAddr,
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<anyhow::Result<()>>,
}

impl Running {
    /// Asks for a graceful shutdown and waits for it.
    pub async fn shutdown(self) -> anyhow::Result<()> {
        let _ = self.stop.send(true);
        self.task.await?
    }

    /// Waits until the server stops by itself (a signal).
    pub async fn wait(self) -> anyhow::Result<()> {
        let _keep_switch = self.stop;
        self.task.await?
    }
}

fn load_policy(settings: &Settings) -> anyhow::Result<Policy> {
    match &settings.policy_file {
        Some(path) => {
            let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
            Policy::from_toml(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
        }
        None => Ok(Policy::default_policy()),
    }
}

/// Starts everything on `listener`; returns once it accepts connections.
pub async fn start(settings: Settings, listener: TcpListener) -> anyhow::Result<Running> {
    std::fs::create_dir_all(&settings.data_dir).with_context(|| format!("creating {}", settings.data_dir.display()))?;
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(&settings.database_path()).context("opening the database")?);
    let objects: Arc<dyn ObjectStore> = Arc::new(LocalObjectStore::open(settings.data_dir.join("objects"))?);
    let keys = Keyring::load_or_create(&settings)?;
    let policy: SharedPolicy = Arc::new(RwLock::new(Arc::new(load_policy(&settings)?)));
    let queue: Arc<dyn Queue> = Arc::new(EmbeddedQueue::new(store.clone()));
    let (token_key, older) = keys.token_keys()?;
    let tokens = Arc::new(TokenKeys::new(
        token_key,
        older,
        &settings.issuer,
        &format!("{}-api", settings.issuer),
    ));
    let trust_list: serde_json::Value = serde_json::from_str(&keys.trust_list()?.to_jwks_json())?;
    let metrics = Arc::new(Metrics::default());

    let ctx = Arc::new(WorkerContext {
        store: store.clone(),
        policy: policy.clone(),
        pass_key: Arc::new(keys.pass_signing_key()?),
        sms: Arc::new(DevOutboxSms(store.clone())),
        issuer: settings.issuer.clone(),
    });
    let runner = Runner::new(ctx, queue.clone(), settings.worker_concurrency, metrics.jobs.clone());
    let http = HttpSettings {
        dev_outbox: settings.sms_provider == "dev",
        otp_per_ip_per_minute: settings.otp_per_ip_per_minute,
        trust_forwarded_for: settings.trust_forwarded_for,
        otp_key: keys.otp_secret()?,
    };
    let state = AppState::new(store, queue, objects, policy, tokens, trust_list, http, metrics);
    let app = mpass_http::router(state);
    let addr = listener.local_addr()?;
    let grace = Duration::from_secs(settings.shutdown_grace_secs);

    // One switch stops everything: flipped by SIGINT/SIGTERM or by `Running::shutdown`.
    let (stop, stopped) = watch::channel(false);
    let on_signal = stop.clone();
    tokio::spawn(async move {
        signal().await;
        let _ = on_signal.send(true);
    });
    let mut worker_stop = stopped.clone();
    let mut http_stop = stopped;
    let task = tokio::spawn(async move {
        let worker = tokio::spawn(runner.run(async move {
            let _ = worker_stop.wait_for(|s| *s).await;
        }));
        let drain = async move {
            let _ = http_stop.wait_for(|s| *s).await;
            tracing::info!("server.draining");
        };
        // Graceful: stop accepting, let in-flight requests finish.
        let served = mpass_http::serve(listener, app, drain).await;
        // The worker saw the same switch and finishes the jobs it holds.
        if tokio::time::timeout(grace, worker).await.is_err() {
            tracing::warn!("worker.shutdown_timeout");
        }
        tracing::info!("server.stopped");
        served.map_err(anyhow::Error::from)
    });
    tracing::info!(listen = %addr, "server.started");
    Ok(Running { addr, stop, task })
}

async fn signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(t) => t,
            Err(_) => return std::future::pending().await,
        };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}

/// `mpass serve`.
pub async fn serve(settings: Settings) -> anyhow::Result<()> {
    let listener = TcpListener::bind(&settings.listen)
        .await
        .with_context(|| format!("listening on {}", settings.listen))?;
    let running = start(settings, listener).await?;
    eprintln!(
        "Movement Pass is running at http://{}  (dev SMS outbox: http://{}/dev/outbox)",
        running.addr, running.addr
    );
    running.wait().await
}
