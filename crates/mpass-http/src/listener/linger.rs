//! Lingering close: a connection the server closes while its client is still sending (a
//! body over the route's limit, answered 413 before it was read) is read from and the
//! bytes thrown away for a few seconds more, so that the answer reaches the client.
//!
//! Closing a socket with unread bytes in its receive buffer makes the kernel send a reset
//! rather than an orderly end, and a reset may destroy the answer before the client has
//! read it: a client that uploaded a 5 MiB photo to a 2 MiB limit saw "connection reset"
//! instead of the 413 (or the page) that says why. nginx does the same (`lingering_close`).

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

use super::limits::Place;

/// Longest a closed connection is read from; it ends sooner when the client closes its side.
pub const LINGER: Duration = Duration::from_secs(5);

/// Most bytes read and thrown away after the close.
pub const LINGER_BYTES: usize = 16 << 20;

/// A connection's socket that lingers when it is dropped after an orderly close (see the
/// module documentation).
pub struct Lingering {
    /// `None` only once dropped.
    stream: Option<TcpStream>,
    /// Whether hyper ended the sending side, as it does when it closes a connection after an
    /// answer. A connection dropped on an error (headers too slow, a client gone) closes at
    /// once: no answer is waiting to be read, and a slow client is not held longer.
    shut: bool,
    /// The connection's place among those the server keeps open: given back when the socket
    /// is closed, after lingering too, so that lingering sockets count against the limit.
    place: Option<Place>,
}

impl Lingering {
    pub fn new(stream: TcpStream, place: Place) -> Lingering {
        Lingering {
            stream: Some(stream),
            shut: false,
            place: Some(place),
        }
    }

    fn io(self: Pin<&mut Self>) -> Pin<&mut TcpStream> {
        Pin::new(self.get_mut().stream.as_mut().expect("a live connection's socket"))
    }
}

impl Drop for Lingering {
    fn drop(&mut self) {
        if self.shut
            && let Some(stream) = self.stream.take()
            && let Ok(runtime) = tokio::runtime::Handle::try_current()
        {
            runtime.spawn(linger(stream, self.place.take()));
        }
    }
}

/// Reads what the client still sends until it closes its side, for at most [`LINGER`] and
/// [`LINGER_BYTES`] (the sending side is ended already: the client has seen the whole answer).
async fn linger(stream: TcpStream, _place: Option<Place>) {
    let drain = async {
        let mut buf = vec![0; 64 * 1024];
        let mut left = LINGER_BYTES;
        while left > 0 && stream.readable().await.is_ok() {
            match stream.try_read(&mut buf) {
                Ok(0) => break,
                Ok(n) => left = left.saturating_sub(n),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(_) => break,
            }
        }
    };
    let _ = tokio::time::timeout(LINGER, drain).await;
}

impl AsyncRead for Lingering {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        self.io().poll_read(cx, buf)
    }
}

impl AsyncWrite for Lingering {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        self.io().poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.io().poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.as_ref().is_some_and(|s| s.is_write_vectored())
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.io().poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.shut = true;
        self.io().poll_shutdown(cx)
    }
}
