//! The accept loop: HTTP/1.1 connections served by hyper with a deadline for each request's
//! headers, and a graceful stop.
//!
//! `axum::serve` gives its connections no timer, so hyper's header read timeout never runs:
//! a client that opens a connection and sends nothing, or trickles its headers a byte at a
//! time (slowloris), holds a task, a buffer and a file descriptor for as long as it likes,
//! and a few thousand such clients take a node out of service on the day it is needed most.
//! Here every connection has one: the headers of each request must arrive within
//! [`ServeOptions::header_read_timeout`], counted from the moment the connection is ready for
//! them (a new connection, or one that has just answered), so an idle keep-alive connection
//! is closed after that long too, and a header block may not grow past
//! [`MAX_HEADER_BYTES`] (431 beyond).
//!
//! A body that trickles (headers sent, then a byte now and then) is bounded as well: once a
//! body is found not to have arrived with its headers, it has
//! [`ServeOptions::header_read_timeout`] plus a second for every [`MIN_BODY_RATE`] bytes it
//! declares to arrive whole ([`SlowBody`]); past that, reading it fails and the route
//! answers 408 `request_timeout`. A body sent with its headers, as almost every one is,
//! never starts a timer.
//!
//! A connection closed while its client is still sending is read from a little longer
//! ([`linger`]), so that an answer sent before the body was read (413) is not lost.
//!
//! Connections are counted ([`limits`]): at [`ServeOptions::max_connections`] the loop stops
//! accepting until one closes (new clients wait in the listen backlog), so that a flood of
//! connections cannot use up the file descriptors the store and the photos need; past
//! [`ServeOptions::max_connections_per_ip`] from one address, a connection is answered 503
//! `too_many_connections` and closed (or closed unanswered, while as many refusals to that
//! address are being answered), so that one address cannot take every place.

mod limits;
mod linger;

pub use limits::ConnectionStats;

use std::pin::{Pin, pin};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::ConnectInfo;
use http_body::{Body as _, Frame, SizeHint};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tower::ServiceExt;

/// Largest request line and header block, in bytes. Browsers send 1–2 KiB, a page's
/// cookies included; nginx refuses beyond 32 KiB by default. Without it hyper takes up to
/// its read buffer's limit, about 400 KiB a connection: a few thousand connections would
/// hold a gigabyte.
pub const MAX_HEADER_BYTES: usize = 64 * 1024;

/// Slowest a request body may arrive, in bytes a second, counted over the whole body (a
/// 2 MiB photo over a 32 kbit/s link takes about nine minutes). Slower, it is cut off.
pub const MIN_BODY_RATE: u64 = 4096;

/// How the accept loop treats its connections.
#[derive(Debug, Clone, Copy)]
pub struct ServeOptions {
    /// Time a client has to send a request's line and headers, from when the connection is
    /// ready for them; also how long a keep-alive connection may stay idle.
    pub header_read_timeout: Duration,
    /// Connections open at once; at the limit no more are accepted until one closes.
    pub max_connections: usize,
    /// Connections open at once from one address (an IPv6 client's /64); 0 for no limit
    /// (behind a proxy, every connection comes from the proxy).
    pub max_connections_per_ip: usize,
}

/// Serves `app` on `listener` until `shutdown` completes, then stops accepting, lets every
/// connection finish the request it is answering, and returns once all are closed. The
/// connections are counted in `stats`.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    options: ServeOptions,
    stats: std::sync::Arc<ConnectionStats>,
) -> std::io::Result<()> {
    // Connections watch `stop` (closed on shutdown) and hold `open` until they end.
    let (stop_tx, stop_rx) = watch::channel(());
    let (open_tx, open_rx) = watch::channel(());
    let limits = limits::Limits::new(options.max_connections, options.max_connections_per_ip, stats);
    let mut shutdown = pin!(shutdown);
    loop {
        // A place first, so that at the limit the next client waits in the listen backlog.
        let place = tokio::select! {
            place = limits.place() => place,
            () = &mut shutdown => break,
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    accept_failed(e).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        // The last part of an answer too large for one write (a pass's PDF, an export) goes
        // out at once, not held back by Nagle's algorithm for the client's delayed ACK.
        let _ = stream.set_nodelay(true);
        let place = match limits.admit(place, peer.ip()) {
            limits::Admission::Serve(place) => place,
            limits::Admission::Refuse(place) => {
                tokio::spawn(limits::refuse(stream, options.header_read_timeout, place));
                continue;
            }
            limits::Admission::Close => continue,
        };
        let app = app.clone();
        let mut stop = stop_rx.clone();
        let open = open_rx.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |req: hyper::Request<Incoming>| {
                let (mut parts, body) = req.into_parts();
                parts.extensions.insert(ConnectInfo(peer));
                let body = SlowBody::new(body, options.header_read_timeout);
                app.clone().oneshot(hyper::Request::from_parts(parts, body))
            });
            let mut conn = pin!(
                http1::Builder::new()
                    .timer(TokioTimer::new())
                    .header_read_timeout(options.header_read_timeout)
                    .max_header_size(MAX_HEADER_BYTES)
                    .serve_connection(TokioIo::new(linger::Lingering::new(stream, place)), service)
            );
            // A connection that ends in error (a client gone, headers too slow or too
            // large) has already been answered or has no one left to answer.
            tokio::select! {
                _ = conn.as_mut() => {}
                _ = stop.changed() => {
                    conn.as_mut().graceful_shutdown();
                    let _ = conn.await;
                }
            }
            drop(open);
        });
    }
    drop(listener);
    drop(stop_tx);
    drop(open_rx);
    open_tx.closed().await;
    Ok(())
}

/// The error a body that arrived too slowly ends with (see the module documentation);
/// `extract` answers it with 408 `request_timeout`.
#[derive(Debug)]
pub struct BodyTooSlow;

impl std::fmt::Display for BodyTooSlow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the request body did not arrive in time")
    }
}

impl std::error::Error for BodyTooSlow {}

/// A request body with a deadline, set the first time it is found not to have arrived.
pub struct SlowBody {
    inner: Incoming,
    /// Time allowed from that moment: the header timeout plus the declared length at
    /// [`MIN_BODY_RATE`] (the route's largest body, when none is declared, is bounded by the
    /// route's limit, so an undeclared length counts as 2 MiB).
    allowed: Duration,
    deadline: Option<Pin<Box<tokio::time::Sleep>>>,
}

impl SlowBody {
    fn new(inner: Incoming, base: Duration) -> SlowBody {
        let declared = inner.size_hint().upper().unwrap_or(2 << 20);
        SlowBody {
            inner,
            allowed: base + Duration::from_secs(declared / MIN_BODY_RATE),
            deadline: None,
        }
    }
}

impl http_body::Body for SlowBody {
    type Data = Bytes;
    type Error = axum::BoxError;

    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let this = self.get_mut();
        if let Poll::Ready(frame) = Pin::new(&mut this.inner).poll_frame(cx) {
            return Poll::Ready(frame.map(|f| f.map_err(Into::into)));
        }
        let allowed = this.allowed;
        let deadline = this
            .deadline
            .get_or_insert_with(|| Box::pin(tokio::time::sleep(allowed)));
        match deadline.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(Some(Err(BodyTooSlow.into()))),
            Poll::Pending => Poll::Pending,
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// An `accept` that failed: a connection reset before it was accepted is the client's
/// business; anything else (out of file descriptors, say) is logged, and the loop waits a
/// moment rather than spin.
async fn accept_failed(e: std::io::Error) {
    use std::io::ErrorKind::{ConnectionAborted, ConnectionRefused, ConnectionReset};
    if matches!(e.kind(), ConnectionRefused | ConnectionAborted | ConnectionReset) {
        return;
    }
    tracing::error!(error = %e, "server.accept_failed");
    tokio::time::sleep(Duration::from_secs(1)).await;
}

#[cfg(test)]
mod tests {
    use std::net::SocketAddr;
    use std::time::Instant;

    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpStream;

    use super::*;

    /// A server of one route on a free port, with `timeout` for headers.
    async fn server(timeout: Duration) -> (SocketAddr, watch::Sender<bool>, tokio::task::JoinHandle<()>) {
        server_of(timeout, 64).await
    }

    /// The same, keeping at most `max_connections` open.
    async fn server_of(
        timeout: Duration,
        max_connections: usize,
    ) -> (SocketAddr, watch::Sender<bool>, tokio::task::JoinHandle<()>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let app = Router::new()
            .route(
                "/peer",
                axum::routing::get(|ConnectInfo(peer): ConnectInfo<SocketAddr>| async move { peer.to_string() }),
            )
            .route(
                "/small",
                axum::routing::post(|_: Bytes| async { "read" }).layer(axum::extract::DefaultBodyLimit::max(1024)),
            )
            .route(
                "/echo",
                axum::routing::post(|body: axum::body::Body| async move {
                    match axum::body::to_bytes(body, 1 << 20).await {
                        Ok(bytes) => format!("read {}", bytes.len()),
                        Err(e) => format!("failed, too slow: {}", crate::extract::too_slow(&e)),
                    }
                }),
            );
        let (tx, mut rx) = watch::channel(false);
        let options = ServeOptions {
            header_read_timeout: timeout,
            max_connections,
            max_connections_per_ip: 0,
        };
        let task = tokio::spawn(async move {
            let stop = async move {
                let _ = rx.wait_for(|s| *s).await;
            };
            serve(listener, app, stop, options, Default::default()).await.unwrap();
        });
        (addr, tx, task)
    }

    /// Everything the server sends until it closes the connection, and how long that took.
    async fn until_closed(c: &mut TcpStream) -> (String, Duration) {
        let started = Instant::now();
        let mut out = Vec::new();
        let _ = tokio::time::timeout(Duration::from_secs(10), c.read_to_end(&mut out)).await;
        (String::from_utf8_lossy(&out).into_owned(), started.elapsed())
    }

    #[tokio::test]
    async fn requests_are_answered_with_the_peer_known_and_keep_alive_works() {
        let (addr, _stop, _task) = server(Duration::from_secs(5)).await;
        let mut c = TcpStream::connect(addr).await.unwrap();
        let me = c.local_addr().unwrap().to_string();
        for _ in 0..2 {
            c.write_all(b"GET /peer HTTP/1.1\r\nhost: x\r\n\r\n").await.unwrap();
            let mut buf = vec![0; 1024];
            let n = c.read(&mut buf).await.unwrap();
            let answer = String::from_utf8_lossy(&buf[..n]);
            assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
            assert!(answer.ends_with(&me), "{answer}");
        }
    }

    #[tokio::test]
    async fn a_connection_that_trickles_its_headers_or_sends_nothing_is_closed() {
        let (addr, _stop, _task) = server(Duration::from_millis(300)).await;
        // Nothing at all.
        let mut silent = TcpStream::connect(addr).await.unwrap();
        // Part of a request, then a header line every 100 ms: never a whole header block.
        let mut slow = TcpStream::connect(addr).await.unwrap();
        slow.write_all(b"GET /peer HTTP/1.1\r\n").await.unwrap();
        let trickle = tokio::spawn(async move {
            let started = Instant::now();
            for i in 0..20 {
                tokio::time::sleep(Duration::from_millis(100)).await;
                if slow.write_all(format!("x-{i}: a\r\n").as_bytes()).await.is_err() {
                    break;
                }
            }
            until_closed(&mut slow).await;
            started.elapsed()
        });
        let (_, waited) = until_closed(&mut silent).await;
        assert!(
            waited < Duration::from_secs(3),
            "a silent connection was held {waited:?}"
        );
        let held = trickle.await.unwrap();
        assert!(
            held < Duration::from_millis(1900),
            "a trickling connection was held {held:?}"
        );
        // An idle keep-alive connection is closed too, after answering.
        let mut idle = TcpStream::connect(addr).await.unwrap();
        idle.write_all(b"GET /peer HTTP/1.1\r\nhost: x\r\n\r\n").await.unwrap();
        let (answer, waited) = until_closed(&mut idle).await;
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
        assert!(
            waited < Duration::from_secs(3),
            "an idle connection was held {waited:?}"
        );
    }

    #[tokio::test]
    async fn a_body_is_read_when_it_arrives_in_time_and_cut_off_when_it_stalls() {
        let (addr, _stop, _task) = server(Duration::from_millis(400)).await;
        let head = b"POST /echo HTTP/1.1\r\nhost: x\r\nconnection: close\r\ncontent-length: 10\r\n\r\n";
        // In two parts 100 ms apart: read.
        let mut c = TcpStream::connect(addr).await.unwrap();
        c.write_all(head).await.unwrap();
        c.write_all(b"01234").await.unwrap();
        tokio::time::sleep(Duration::from_millis(100)).await;
        c.write_all(b"56789").await.unwrap();
        let (answer, _) = until_closed(&mut c).await;
        assert!(answer.ends_with("read 10"), "{answer}");
        // Five bytes, then nothing: cut off after its 400 ms.
        let mut c = TcpStream::connect(addr).await.unwrap();
        c.write_all(head).await.unwrap();
        c.write_all(b"01234").await.unwrap();
        let (answer, waited) = until_closed(&mut c).await;
        assert!(answer.ends_with("failed, too slow: true"), "{answer}");
        assert!(waited < Duration::from_secs(3), "a stalled body was held {waited:?}");
    }

    #[tokio::test]
    async fn an_answer_sent_before_the_body_was_read_reaches_the_client() {
        let (addr, _stop, _task) = server(Duration::from_secs(5)).await;
        let mut c = TcpStream::connect(addr).await.unwrap();
        // More than the socket buffers of both ends hold, so that a server that closed
        // without reading on would make these writes fail with a reset.
        let body = vec![b'a'; 12 << 20];
        let head = format!(
            "POST /small HTTP/1.1\r\nhost: x\r\ncontent-length: {}\r\n\r\n",
            body.len()
        );
        c.write_all(head.as_bytes()).await.unwrap();
        c.write_all(&body).await.expect("the server reads on after answering");
        c.shutdown().await.unwrap();
        let (answer, _) = until_closed(&mut c).await;
        assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    }

    #[tokio::test]
    async fn a_lingering_connection_keeps_its_place_until_it_is_closed() {
        let (addr, _stop, _task) = server_of(Duration::from_secs(5), 1).await;
        let mut sender = TcpStream::connect(addr).await.unwrap();
        let body = vec![b'a'; 4 << 20];
        let head = format!(
            "POST /small HTTP/1.1\r\nhost: x\r\ncontent-length: {}\r\n\r\n",
            body.len()
        );
        sender.write_all(head.as_bytes()).await.unwrap();
        sender.write_all(&body).await.unwrap();
        // Answered 413 and closed by the server, which reads on while `sender` stays open.
        let mut buf = vec![0; 1024];
        let n = sender.read(&mut buf).await.unwrap();
        assert!(buf[..n].starts_with(b"HTTP/1.1 413"));
        let mut next = TcpStream::connect(addr).await.unwrap();
        next.write_all(b"GET /peer HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n")
            .await
            .unwrap();
        let early = tokio::time::timeout(Duration::from_millis(500), next.read(&mut buf)).await;
        assert!(early.is_err(), "served while the lingering socket held the only place");
        sender.shutdown().await.unwrap();
        drop(sender);
        let (answer, waited) = until_closed(&mut next).await;
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
        assert!(waited < Duration::from_secs(3), "waited {waited:?}");
    }

    #[tokio::test]
    async fn a_header_block_past_the_cap_is_refused() {
        let (addr, _stop, _task) = server(Duration::from_secs(5)).await;
        let mut c = TcpStream::connect(addr).await.unwrap();
        let big = format!(
            "GET /peer HTTP/1.1\r\nhost: x\r\nx-big: {}\r\n\r\n",
            "a".repeat(MAX_HEADER_BYTES)
        );
        let _ = c.write_all(big.as_bytes()).await;
        let (answer, _) = until_closed(&mut c).await;
        assert!(answer.starts_with("HTTP/1.1 431"), "{answer}");
    }

    #[tokio::test]
    async fn shutdown_lets_an_open_connection_finish_and_returns() {
        let (addr, stop, task) = server(Duration::from_secs(30)).await;
        let mut c = TcpStream::connect(addr).await.unwrap();
        c.write_all(b"GET /peer HTTP/1.1\r\nhost: x\r\n\r\n").await.unwrap();
        let mut buf = vec![0; 1024];
        let n = c.read(&mut buf).await.unwrap();
        assert!(buf[..n].starts_with(b"HTTP/1.1 200"));
        stop.send(true).unwrap();
        // The idle connection is closed at once rather than after its 30 s, and the loop
        // returns.
        tokio::time::timeout(Duration::from_secs(5), task)
            .await
            .expect("serve returns")
            .unwrap();
        let (rest, _) = until_closed(&mut c).await;
        assert_eq!(rest, "");
        assert!(TcpStream::connect(addr).await.is_err(), "no longer accepting");
    }
}
