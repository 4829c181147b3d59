//! How many connections are open, in all and from each address.
//!
//! Every connection holds a file descriptor, and the process has a fixed number of them:
//! the embedded store's files, the log, the photos being written and the connections to
//! PostgreSQL, NATS and the SMS provider need theirs too. The accept loop takes a place
//! before it accepts, so at the limit new clients wait in the kernel's listen backlog (as
//! with nginx's `worker_connections`) instead of the process failing to open a file. A
//! place is given back when the socket is closed, after any lingering ([`super::linger`]).
//!
//! One address may hold only so many of those places: past that, its new connection is
//! answered 503 `too_many_connections` with `Retry-After` and closed. The limit is generous
//! (a mobile carrier's NAT puts many citizens behind one address) and off behind a proxy.
//! Answering a refusal takes a place too, for up to a few seconds (the request is read
//! first, and the close lingers): an address may have as many refusals being answered as
//! it may hold connections, and past that its new connections are closed at once,
//! unanswered. So one address holds at most twice its limit, however fast it connects. A
//! flood of new connections from many addresses is the firewall's to stop.

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::http::{HeaderValue, header};
use axum::response::IntoResponse;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpStream;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::MAX_HEADER_BYTES;
use super::linger::Lingering;
use crate::error::ApiError;
use crate::legacy::error::LegacyError;

/// Longest a refused connection waits for its request before it is closed unanswered.
const REFUSED_HEADER_TIMEOUT: Duration = Duration::from_secs(5);

/// At most one warning in this long for each kind of limit reached, so that a flood does
/// not become a flood of log lines.
const WARN_EVERY: Duration = Duration::from_secs(10);

type Counts = Arc<Mutex<HashMap<IpAddr, usize>>>;

/// What `/metrics` shows of the connections (`mpass_http_connections_*`).
#[derive(Debug, Default)]
pub struct ConnectionStats {
    /// Connections open now, refused ones included.
    pub open: AtomicU64,
    /// The limit in force (`max_connections`).
    pub max: AtomicU64,
    /// Connections answered 503 `too_many_connections`.
    pub refused: AtomicU64,
    /// Connections closed at once, unanswered: their address held as many as it may and
    /// had as many refusals being answered.
    pub dropped: AtomicU64,
    /// Times the accept loop found every place taken and waited.
    pub full: AtomicU64,
}

/// The accept loop's count of open connections.
pub struct Limits {
    places: Arc<Semaphore>,
    per_ip: usize,
    by_ip: Counts,
    /// Refusals being answered, by address.
    refusing: Counts,
    stats: Arc<ConnectionStats>,
    warned_full: Mutex<Option<Instant>>,
    warned_ip: Mutex<Option<Instant>>,
}

/// One connection's place; given back when dropped.
pub struct Place {
    _permit: OwnedSemaphorePermit,
    /// The address counted for it, when addresses are counted.
    ip: Option<(IpAddr, Counts)>,
    stats: Arc<ConnectionStats>,
}

impl Drop for Place {
    fn drop(&mut self) {
        self.stats.open.fetch_sub(1, Ordering::Relaxed);
        if let Some((ip, counts)) = &self.ip {
            let mut counts = counts.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(n) = counts.get_mut(ip) {
                *n -= 1;
                if *n == 0 {
                    counts.remove(ip);
                }
            }
        }
    }
}

impl Limits {
    /// `max` connections in all (at least 1), `per_ip` from one address (0: no limit),
    /// counted in `stats`.
    pub fn new(max: usize, per_ip: usize, stats: Arc<ConnectionStats>) -> Limits {
        let max = max.max(1);
        stats.max.store(max as u64, Ordering::Relaxed);
        Limits {
            places: Arc::new(Semaphore::new(max)),
            per_ip,
            by_ip: Counts::default(),
            refusing: Counts::default(),
            stats,
            warned_full: Mutex::new(None),
            warned_ip: Mutex::new(None),
        }
    }

    /// A place for the next connection, once one is free.
    pub async fn place(&self) -> OwnedSemaphorePermit {
        if let Ok(permit) = self.places.clone().try_acquire_owned() {
            return permit;
        }
        self.stats.full.fetch_add(1, Ordering::Relaxed);
        if due(&self.warned_full) {
            tracing::warn!("server.connection_limit: every place is taken; new connections wait");
        }
        self.places
            .clone()
            .acquire_owned()
            .await
            .expect("the semaphore is never closed")
    }

    /// What to do with the connection from `ip`, which `permit` has a place for.
    pub fn admit(&self, permit: OwnedSemaphorePermit, ip: IpAddr) -> Admission {
        self.stats.open.fetch_add(1, Ordering::Relaxed);
        let place = |ip| Place {
            _permit: permit,
            ip,
            stats: self.stats.clone(),
        };
        if self.per_ip == 0 {
            return Admission::Serve(place(None));
        }
        let ip = crate::ratelimit::counted(ip);
        if take(&self.by_ip, ip, self.per_ip) {
            return Admission::Serve(place(Some((ip, self.by_ip.clone()))));
        }
        if due(&self.warned_ip) {
            tracing::warn!(%ip, limit = self.per_ip, "server.connections_per_ip_limit");
        }
        if take(&self.refusing, ip, self.per_ip) {
            self.stats.refused.fetch_add(1, Ordering::Relaxed);
            return Admission::Refuse(place(Some((ip, self.refusing.clone()))));
        }
        self.stats.dropped.fetch_add(1, Ordering::Relaxed);
        // The place goes back now, with the socket.
        drop(place(None));
        Admission::Close
    }
}

/// What the accept loop does with a connection.
pub enum Admission {
    /// Serve it.
    Serve(Place),
    /// Answer its first request 503 `too_many_connections` ([`refuse`]).
    Refuse(Place),
    /// Close it at once.
    Close,
}

/// Counts one more for `ip` in `counts` unless it has `max` already; whether it did.
fn take(counts: &Counts, ip: IpAddr, max: usize) -> bool {
    let mut counts = counts.lock().unwrap_or_else(|e| e.into_inner());
    let n = counts.entry(ip).or_insert(0);
    if *n >= max {
        return false;
    }
    *n += 1;
    true
}

/// Whether a warning is due (none in the last [`WARN_EVERY`]); if so, it counts as given.
fn due(last: &Mutex<Option<Instant>>) -> bool {
    let mut last = last.lock().unwrap_or_else(|e| e.into_inner());
    let now = Instant::now();
    if last.is_some_and(|at| now.duration_since(at) < WARN_EVERY) {
        return false;
    }
    *last = Some(now);
    true
}

/// Answers a connection over its address's limit: 503 `too_many_connections` to its first
/// request (a page when it asks for HTML, the legacy shape under `/v1/`), then closes it.
pub async fn refuse(stream: TcpStream, header_read_timeout: Duration, place: Place) {
    let service = hyper::service::service_fn(|req: hyper::Request<Incoming>| async move {
        if req.uri().path().starts_with("/v1/") {
            // The legacy API's clients read its own error shape (SPEC §12).
            return Ok::<_, Infallible>(LegacyError::from(ApiError::TooManyConnections).into_response());
        }
        let mut res = ApiError::TooManyConnections.into_response();
        // A browser gets a page, in both languages: the page's language is in a cookie this
        // connection is not served far enough to read.
        if crate::web::wants_html(req.headers()) {
            *res.body_mut() = axum::body::Body::from(crate::web::bilingual_problem_page(&ApiError::TooManyConnections));
            res.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/html; charset=utf-8"),
            );
        }
        Ok::<_, Infallible>(res)
    });
    let conn = http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(header_read_timeout.min(REFUSED_HEADER_TIMEOUT))
        .max_header_size(MAX_HEADER_BYTES)
        .keep_alive(false)
        .serve_connection(TokioIo::new(Lingering::new(stream, place)), service);
    let _ = conn.await;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn served(a: Admission) -> Place {
        match a {
            Admission::Serve(place) => place,
            Admission::Refuse(_) => panic!("refused"),
            Admission::Close => panic!("closed"),
        }
    }

    fn refused(a: Admission) -> Place {
        match a {
            Admission::Refuse(place) => place,
            Admission::Serve(_) => panic!("served"),
            Admission::Close => panic!("closed"),
        }
    }

    #[tokio::test]
    async fn places_are_given_back_and_counted_per_address() {
        let stats = Arc::new(ConnectionStats::default());
        let limits = Limits::new(5, 2, stats.clone());
        let ip: IpAddr = "192.0.2.1".parse().unwrap();
        let other: IpAddr = "192.0.2.2".parse().unwrap();
        let first = served(limits.admit(limits.place().await, ip));
        let _second = served(limits.admit(limits.place().await, ip));
        // Past its limit the address is refused, the refusal holding a place while it is
        // answered, for as many refusals at once as the limit...
        let refusal = refused(limits.admit(limits.place().await, ip));
        let _refusal = refused(limits.admit(limits.place().await, ip));
        // ...and past those its connections are closed at once, their places given back.
        for _ in 0..100 {
            assert!(matches!(limits.admit(limits.place().await, ip), Admission::Close));
        }
        let _third = served(limits.admit(limits.place().await, other));
        // Every place is taken now (2 served, 2 refusals, 1 other), until one is closed.
        assert!(limits.places.clone().try_acquire_owned().is_err());
        drop(refusal);
        let _again = refused(limits.admit(limits.place().await, ip));
        drop(first);
        let _back = served(limits.admit(limits.place().await, ip));
        assert_eq!(limits.by_ip.lock().unwrap().len(), 2);
        assert_eq!(limits.refusing.lock().unwrap().get(&ip), Some(&2));
        assert_eq!(stats.open.load(Ordering::Relaxed), 5);
        assert_eq!(stats.refused.load(Ordering::Relaxed), 3);
        assert_eq!(stats.dropped.load(Ordering::Relaxed), 100);
        assert_eq!(stats.max.load(Ordering::Relaxed), 5);
    }
}
