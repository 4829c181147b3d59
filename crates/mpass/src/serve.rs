//! The composition root: picks the backends the configuration names (SQLite or PostgreSQL,
//! in-process queue or NATS JetStream), opens keys and policy, starts the worker and/or the
//! HTTP server, and shuts both down gracefully.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use mpass_domain::pass::PassKeySource;
use mpass_domain::ports::{ObjectStore, Queue, Sms, Store};
use mpass_domain::token::TokenKeys;
use mpass_http::{AppState, HttpSettings, Services, metrics::Metrics};
use mpass_queue::EmbeddedQueue;
use mpass_queue::nats::{NatsOptions, NatsQueue};
use mpass_store::{LocalObjectStore, PostgresStore, S3ObjectStore, SqliteStore};
use mpass_worker::{DevOutboxSms, Runner, TwilioSms, WorkerContext};
use tokio::net::{TcpListener, TcpSocket};
use tokio::sync::watch;

use crate::config::Settings;
use crate::keys::{Keyring, ReloadingPassKeys};

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

/// What a process runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NodeKind {
    /// `mpass serve`: HTTP and worker in one process.
    All,
    /// `mpass api`: HTTP only; stateless.
    Api,
    /// `mpass worker`: jobs only; stateless.
    Worker,
}

/// Opens the store the configuration names: PostgreSQL when `database_url` is set,
/// otherwise the embedded SQLite in the data directory.
pub async fn open_store(settings: &Settings) -> anyhow::Result<Arc<dyn Store>> {
    Ok(match &settings.database_url {
        Some(url) => Arc::new(
            PostgresStore::connect(
                url,
                settings.database_pool_size,
                settings.database_replica_url.as_deref(),
            )
            .await
            .context("connecting to PostgreSQL")?,
        ),
        None => Arc::new(open_sqlite(settings)?),
    })
}

/// The embedded database under `data_dir`, created if missing.
fn open_sqlite(settings: &Settings) -> anyhow::Result<SqliteStore> {
    std::fs::create_dir_all(&settings.data_dir).with_context(|| format!("creating {}", settings.data_dir.display()))?;
    SqliteStore::open(&settings.database_path()).context("opening the database")
}

/// The store for requests and the store for the worker of one node. On SQLite both share
/// the database and its writer, but the worker reads on connections of its own
/// (`WORKER_READERS`), so requests queueing for a read connection never delay decisions.
async fn open_stores(settings: &Settings) -> anyhow::Result<(Arc<dyn Store>, Arc<dyn Store>)> {
    if settings.database_url.is_some() {
        let store = open_store(settings).await?;
        return Ok((store.clone(), store));
    }
    let store = open_sqlite(settings)?;
    let worker = store.with_own_readers(WORKER_READERS);
    Ok((Arc::new(store), Arc::new(worker)))
}

/// Read connections of the worker's own on SQLite.
const WORKER_READERS: usize = 4;

/// Opens the photo store the configuration names: an S3-compatible bucket when
/// `object_store_url` is set, otherwise `data_dir/objects`. Nothing is contacted here, so
/// an unreachable bucket shows as failed photo requests, not as an unready node.
fn open_objects(settings: &Settings) -> anyhow::Result<Arc<dyn ObjectStore>> {
    Ok(match &settings.object_store_url {
        Some(url) => Arc::new(S3ObjectStore::from_url(url).context("opening the S3 object store")?),
        None => Arc::new(LocalObjectStore::open(settings.data_dir.join("objects"))?),
    })
}

/// The SMS provider the configuration names: `twilio` (a Twilio-compatible Messages API)
/// or `dev` (the outbox shown at /dev/outbox).
fn open_sms(settings: &Settings, store: Arc<dyn Store>) -> anyhow::Result<Arc<dyn Sms>> {
    Ok(match settings.sms_provider.as_str() {
        "twilio" => Arc::new(TwilioSms::new(settings.twilio()?).map_err(|e| anyhow::anyhow!(e))?),
        _ => Arc::new(DevOutboxSms(store)),
    })
}

/// Opens the queue the configuration names: NATS JetStream when `queue_url` is set,
/// otherwise the in-process queue over the store's job table.
///
/// On NATS the outbox relay runs in API nodes (and `serve`), not in workers: a relay that
/// dies leaves the rows it had leased to the sweeper, which waits out the lease, so the
/// processes most likely to be killed in a burst should not hold such leases.
async fn open_queue(settings: &Settings, store: Arc<dyn Store>, kind: NodeKind) -> anyhow::Result<Arc<dyn Queue>> {
    Ok(match &settings.queue_url {
        Some(url) => {
            let defaults = NatsOptions::default();
            // JetStream must not give up before the worker does (it parks a job itself after
            // `job_max_attempts`); it needs one more delivery than it has redelivery steps.
            let max_deliver =
                i64::from(settings.job_max_attempts).max(i64::try_from(defaults.redelivery.len()).unwrap_or(0) + 1);
            let opts = NatsOptions {
                relay: kind != NodeKind::Worker,
                max_deliver,
                ..defaults
            };
            Arc::new(
                NatsQueue::connect_with(url, &settings.queue_prefix, store, opts)
                    .await
                    .context("connecting to NATS")?,
            )
        }
        None => Arc::new(EmbeddedQueue::new(store)),
    })
}

/// Starts everything (`mpass serve`) on `listener`; returns once it accepts connections.
pub async fn start(settings: Settings, listener: TcpListener) -> anyhow::Result<Running> {
    start_node(settings, NodeKind::All, Some(listener)).await
}

/// Starts a node of `kind`; API nodes serve on `listener`.
pub async fn start_node(settings: Settings, kind: NodeKind, listener: Option<TcpListener>) -> anyhow::Result<Running> {
    std::fs::create_dir_all(&settings.data_dir).with_context(|| format!("creating {}", settings.data_dir.display()))?;
    let (store, worker_store) = open_stores(&settings).await?;
    let objects = open_objects(&settings)?;
    let keys = Keyring::load_or_create(&settings)?;
    let pass_keys: Arc<dyn PassKeySource> = Arc::new(ReloadingPassKeys::open(&settings)?);
    let (policy, policy_seq) = crate::policy::start(&settings, &store).await?;
    let (policy_store, policy_watched) = (store.clone(), policy.clone());
    let settle_store = store.clone();
    let queue = open_queue(&settings, worker_store.clone(), kind).await?;
    let metrics = Arc::new(Metrics::default());
    let connections = metrics.connections.clone();
    let grace = Duration::from_secs(settings.shutdown_grace_secs);
    let (max_connections, max_connections_per_ip) =
        crate::limits::connections(&settings, crate::limits::raise_fd_limit());
    let serve_options = mpass_http::ServeOptions {
        header_read_timeout: Duration::from_millis(settings.header_read_timeout_ms),
        max_connections,
        max_connections_per_ip,
    };

    let runner = if kind != NodeKind::Api {
        let ctx = Arc::new(WorkerContext {
            store: worker_store.clone(),
            policy: policy.clone(),
            pass_key: pass_keys.clone(),
            sms: open_sms(&settings, worker_store.clone())?,
            issuer: settings.issuer.clone(),
        });
        Some(Runner::with_retry(
            ctx,
            queue.clone(),
            settings.worker_concurrency,
            metrics.jobs.clone(),
            settings.retry_policy(),
        ))
    } else {
        None
    };
    let http = match (kind, listener) {
        (NodeKind::Worker, _) => None,
        (_, None) => anyhow::bail!("an API node needs a listener"),
        (_, Some(listener)) => {
            let (token_key, older) = keys.token_keys()?;
            let tokens = Arc::new(TokenKeys::new(
                token_key,
                older,
                &settings.issuer,
                &format!("{}-api", settings.issuer),
            ));
            let http = HttpSettings {
                dev_outbox: settings.sms_provider == "dev",
                otp_per_ip_per_minute: settings.otp_per_ip_per_minute,
                submissions_per_citizen_per_hour: settings.submissions_per_citizen_per_hour,
                trust_forwarded_for: settings.trust_forwarded_for,
                otp_key: keys.otp_secret()?,
                secure_cookies: settings.profile == crate::config::Profile::Production,
                compat_v1: settings.compat_v1,
                public_url: settings.public_url.clone(),
                legacy_area: settings
                    .legacy_area
                    .clone()
                    .unwrap_or_else(mpass_domain::legacy::default_area),
                legacy_failed_logins_per_phone_per_day: settings.legacy_failed_logins_per_phone_per_day,
            };
            let services = Services {
                store,
                queue,
                objects,
                policy,
                tokens,
                pass_keys,
                metrics,
            };
            Some((listener, mpass_http::router(AppState::new(services, http))))
        }
    };
    let addr = match &http {
        Some((l, _)) => l.local_addr()?,
        None => SocketAddr::from(([0, 0, 0, 0], 0)),
    };

    // One switch stops everything: flipped by SIGINT/SIGTERM or by `Running::shutdown`.
    let (stop, stopped) = watch::channel(false);
    let on_signal = stop.clone();
    tokio::spawn(async move {
        signal().await;
        let _ = on_signal.send(true);
    });
    let mut worker_stop = stopped.clone();
    let mut http_stop = stopped.clone();
    settle(settle_store, stopped.clone());
    crate::policy::watch(&settings, policy_store, policy_watched, policy_seq, stopped.clone());
    let mut idle_stop = stopped;
    let task = tokio::spawn(async move {
        let worker = runner.map(|r| {
            tokio::spawn(r.run(async move {
                let _ = worker_stop.wait_for(|s| *s).await;
            }))
        });
        let served = match http {
            Some((listener, app)) => {
                let drain = async move {
                    let _ = http_stop.wait_for(|s| *s).await;
                    tracing::info!("server.draining");
                };
                // Graceful: stop accepting, let in-flight requests finish.
                mpass_http::serve(listener, app, drain, serve_options, connections).await
            }
            None => {
                let _ = idle_stop.wait_for(|s| *s).await;
                Ok(())
            }
        };
        // The worker saw the same switch and finishes the jobs it holds.
        if let Some(worker) = worker
            && tokio::time::timeout(grace, worker).await.is_err()
        {
            tracing::warn!("worker.shutdown_timeout");
        }
        tracing::info!("server.stopped");
        served.map_err(anyhow::Error::from)
    });
    tracing::info!(listen = %addr, kind = ?kind, max_connections, max_connections_per_ip, "server.started");
    Ok(Running { addr, stop, task })
}

/// How often each node settles what its store lets wait: queued audit entries, pending
/// counter changes, dead rows in queue-like tables.
const SETTLE_EVERY: Duration = Duration::from_millis(250);

/// Every [`SETTLE_EVERY`] until `stopped`, settles what a store shared by many nodes lets
/// wait: chains queued audit entries (`AuditStore::audit_seal`: on PostgreSQL, whichever node
/// holds the chain's lock seals them) and folds pending counter changes into the counters
/// (`StatsStore::stats_fold`), and lets the store reclaim its queue-like tables' dead rows
/// (`Store::tidy`). The embedded store chains and counts each change as it is made and
/// has nothing to do. What is still waiting at shutdown stays, committed, for the next
/// node's turn.
fn settle(store: Arc<dyn Store>, mut stopped: watch::Receiver<bool>) {
    tokio::spawn(async move {
        loop {
            tokio::select! {
                _ = stopped.wait_for(|s| *s) => return,
                () = tokio::time::sleep(SETTLE_EVERY) => {}
            }
            if let Err(e) = store.audit_seal().await {
                tracing::warn!(error = %e, "audit.seal_failed");
            }
            if let Err(e) = store.stats_fold().await {
                tracing::warn!(error = %e, "stats.fold_failed");
            }
            if let Err(e) = store.tidy().await {
                tracing::warn!(error = %e, "store.tidy_failed");
            }
        }
    });
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

/// Connections the kernel holds for the server until it accepts them (clamped by the
/// kernel's `net.core.somaxconn`, 4096 by default). `TcpListener::bind` asks for 128: a
/// crowd of new connections at once (a launch day's morning, a load generator's burst)
/// overflowed it, and the kernel dropped their SYNs, which the clients sent again only a
/// second later: a check offered at a quarter of the ceiling saw p99.9 1,019 ms
/// (thirtieth round, docs/BENCHMARKS-HISTORY.md).
const LISTEN_BACKLOG: u32 = 4096;

/// Listens on `addr` (the first of its addresses that can be bound) with `LISTEN_BACKLOG`.
pub async fn listen(addr: &str) -> std::io::Result<TcpListener> {
    let mut last = None;
    for a in tokio::net::lookup_host(addr).await? {
        let socket = if a.is_ipv4() {
            TcpSocket::new_v4()?
        } else {
            TcpSocket::new_v6()?
        };
        // As `TcpListener::bind`: a restarted server binds again at once.
        #[cfg(unix)]
        socket.set_reuseaddr(true)?;
        if let Err(e) = socket.bind(a) {
            last = Some(e);
            continue;
        }
        match socket.listen(LISTEN_BACKLOG) {
            Ok(listener) => return Ok(listener),
            Err(e) => last = Some(e),
        }
    }
    Err(last.unwrap_or_else(|| std::io::Error::new(std::io::ErrorKind::InvalidInput, "no address to listen on")))
}

/// `mpass serve`, `mpass api` and `mpass worker`.
pub async fn serve(settings: Settings, kind: NodeKind) -> anyhow::Result<()> {
    let listener = if kind == NodeKind::Worker {
        None
    } else {
        Some(
            listen(&settings.listen)
                .await
                .with_context(|| format!("listening on {}", settings.listen))?,
        )
    };
    let dev_outbox = settings.sms_provider == "dev";
    let running = start_node(settings, kind, listener).await?;
    match kind {
        NodeKind::Worker => eprintln!("Movement Pass worker is running"),
        _ if dev_outbox => eprintln!(
            "Movement Pass is running at http://{}  (dev SMS outbox: http://{}/dev/outbox)",
            running.addr, running.addr
        ),
        _ => eprintln!("Movement Pass is running at http://{}", running.addr),
    }
    running.wait().await
}

#[cfg(test)]
mod tests {
    use super::*;

    /// More connections than `TcpListener::bind`'s backlog of 128 complete while the server
    /// accepts none of them: the kernel holds them. With a backlog of 128 the 130th would
    /// never complete here (nothing frees the queue), so the timeout is only a guard.
    #[tokio::test]
    async fn the_listener_holds_a_crowd_of_new_connections_until_it_accepts_them() {
        let somaxconn: u32 = std::fs::read_to_string("/proc/sys/net/core/somaxconn")
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(4096);
        if somaxconn < 512 {
            eprintln!("skipped: net.core.somaxconn is {somaxconn}, below this test's crowd");
            return;
        }
        let listener = listen("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let mut held = Vec::new();
        for i in 0..300 {
            let stream = tokio::time::timeout(Duration::from_secs(10), tokio::net::TcpStream::connect(addr))
                .await
                .unwrap_or_else(|_| panic!("connection {i} was not held"))
                .unwrap();
            held.push(stream);
        }
        assert_eq!(held.len(), 300);
        drop(listener);
    }

    #[tokio::test]
    async fn listening_on_an_address_in_use_says_so() {
        let first = listen("127.0.0.1:0").await.unwrap();
        let addr = first.local_addr().unwrap().to_string();
        let err = listen(&addr).await.unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::AddrInUse);
    }
}
