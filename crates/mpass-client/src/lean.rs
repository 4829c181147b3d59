//! A lean HTTP/1.1 transport for the load generator: a pool of kept-alive plain-TCP
//! connections, each request written and its answer read by the task that sends it.
//!
//! Why: the load generator shares its machine with the server it measures, so every
//! microsecond it spends on a request is taken from the server, more of the ceiling's
//! (`/healthz`, a few µs of server work) than of a check's. Through reqwest a `/healthz`
//! request cost the generator 26 µs of CPU against wrk's 10, and its ratios read above
//! wrk's on the same server. Here a request is one buffer written and one read: no
//! connection task and channel between the caller and the socket, no URL parsed, no
//! header map built. It speaks only what the API needs of HTTP/1.1 (answers framed by
//! `Content-Length` or chunked), over `http://` only; everything else stays on reqwest.

use std::io::{Error, ErrorKind, Write as _};
use std::net::SocketAddr;
use std::sync::Mutex;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// The largest answer head read (status line and headers).
const MAX_HEAD: usize = 16 * 1024;
/// The largest answer body read: the bench reads verdicts and applications, not exports.
const MAX_BODY: usize = 8 * 1024 * 1024;
/// Headers parsed per answer.
const MAX_HEADERS: usize = 32;

/// One request: the method and path, and what goes with them.
pub(crate) struct Request<'a> {
    pub method: &'a str,
    pub path: &'a str,
    /// The `Authorization` header's value, if any.
    pub authorization: Option<&'a str>,
    /// Further headers (name, value).
    pub headers: &'a [(&'a str, &'a str)],
    /// A JSON body, if any.
    pub json: Option<&'a [u8]>,
}

impl<'a> Request<'a> {
    /// `method path`, with `authorization` if any, no other header and no body.
    pub fn new(method: &'a str, path: &'a str, authorization: Option<&'a str>) -> Request<'a> {
        Request {
            method,
            path,
            authorization,
            headers: &[],
            json: None,
        }
    }
}

/// An answer: its status and its whole body.
#[derive(Debug)]
pub(crate) struct Response {
    pub status: u16,
    pub body: Vec<u8>,
}

/// Kept-alive connections to one `http://host:port` origin.
#[derive(Debug)]
pub(crate) struct Pool {
    /// `host[:port]`, as sent in `Host`.
    authority: String,
    /// `host:port`, as looked up (port 80 when the origin names none).
    lookup: String,
    addr: tokio::sync::OnceCell<SocketAddr>,
    idle: Mutex<Vec<Conn>>,
    max_idle: usize,
    timeout: Duration,
}

#[derive(Debug)]
struct Conn {
    stream: TcpStream,
    /// What has been read and not yet consumed (the start of the next answer is never
    /// here: a client sends its next request after reading the whole answer).
    buf: Vec<u8>,
    /// The request being written.
    out: Vec<u8>,
}

impl Pool {
    /// A pool for `base` if it is a plain `http://host[:port]` origin with no path.
    pub(crate) fn for_origin(base: &str, max_idle: usize, timeout: Duration) -> Option<Pool> {
        let authority = base.strip_prefix("http://")?.trim_end_matches('/');
        if authority.is_empty() || authority.contains(['/', '?', '#', '@']) {
            return None;
        }
        let has_port = authority
            .rsplit_once(':')
            .is_some_and(|(_, port)| !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit()));
        Some(Pool {
            lookup: if has_port {
                authority.to_string()
            } else {
                format!("{authority}:80")
            },
            authority: authority.to_string(),
            addr: tokio::sync::OnceCell::new(),
            idle: Mutex::new(Vec::new()),
            max_idle,
            timeout,
        })
    }

    /// Sends `req` and reads the whole answer, within the pool's timeout.
    pub(crate) async fn send(&self, req: &Request<'_>) -> Result<Response, Error> {
        // What reqwest would refuse to send: a path or header value that would end the
        // line it stands in (or the request) early.
        let unsafe_text = |t: &str| t.bytes().any(|b| (b < b' ' && b != b'\t') || b == 0x7f);
        if req.path.contains(' ')
            || unsafe_text(req.path)
            || req.authorization.is_some_and(unsafe_text)
            || req
                .headers
                .iter()
                .any(|(n, v)| unsafe_text(n) || n.contains(':') || unsafe_text(v))
        {
            return Err(Error::new(
                ErrorKind::InvalidInput,
                "a path or header value that HTTP cannot carry",
            ));
        }
        match tokio::time::timeout(self.timeout, self.send_inner(req)).await {
            Ok(answer) => answer,
            Err(_) => Err(Error::new(ErrorKind::TimedOut, "no answer within the timeout")),
        }
    }

    async fn send_inner(&self, req: &Request<'_>) -> Result<Response, Error> {
        let reused = self.idle.lock().expect("idle connections lock").pop();
        let (mut conn, was_idle) = match reused {
            Some(conn) => (conn, true),
            None => (self.connect().await?, false),
        };
        let answer = match conn.exchange(&self.authority, req).await {
            // A kept-alive connection the server closed while it sat idle: the request
            // never reached it (nothing came back, not even a status line), so it is sent
            // once more on a new connection.
            Err(Exchange::Closed) if was_idle => {
                conn = self.connect().await?;
                conn.exchange(&self.authority, req).await
            }
            other => other,
        };
        match answer {
            Ok((response, keep_alive)) => {
                if keep_alive {
                    let mut idle = self.idle.lock().expect("idle connections lock");
                    if idle.len() < self.max_idle {
                        idle.push(conn);
                    }
                }
                Ok(response)
            }
            Err(Exchange::Closed) => Err(Error::new(
                ErrorKind::UnexpectedEof,
                "the server closed the connection before answering",
            )),
            Err(Exchange::Io(e)) => Err(e),
        }
    }

    async fn connect(&self) -> Result<Conn, Error> {
        let addr = *self
            .addr
            .get_or_try_init(|| async {
                tokio::net::lookup_host(self.lookup.as_str())
                    .await?
                    .next()
                    .ok_or_else(|| Error::new(ErrorKind::NotFound, "the host has no address"))
            })
            .await?;
        let stream = TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        Ok(Conn {
            stream,
            buf: Vec::with_capacity(4096),
            out: Vec::with_capacity(1024),
        })
    }
}

/// How an exchange failed: the connection closed before any answer, or anything else.
enum Exchange {
    Closed,
    Io(Error),
}

impl From<Error> for Exchange {
    fn from(e: Error) -> Exchange {
        Exchange::Io(e)
    }
}

fn invalid(what: &str) -> Exchange {
    Exchange::Io(Error::new(ErrorKind::InvalidData, what.to_string()))
}

impl Conn {
    /// Writes `req`, reads its answer; with whether the connection can be kept.
    async fn exchange(&mut self, authority: &str, req: &Request<'_>) -> Result<(Response, bool), Exchange> {
        self.write_request(authority, req);
        if let Err(e) = self.stream.write_all(&self.out).await {
            return Err(match e.kind() {
                ErrorKind::BrokenPipe | ErrorKind::ConnectionReset => Exchange::Closed,
                _ => Exchange::Io(e),
            });
        }
        self.buf.clear();
        // The head: read until it parses.
        let (status, head_len, framing, keep_alive) = loop {
            match self.read_more().await {
                Ok(0) if self.buf.is_empty() => return Err(Exchange::Closed),
                Ok(0) => return Err(invalid("the answer ended in its head")),
                Ok(_) => {}
                Err(e) if self.buf.is_empty() && e.kind() == ErrorKind::ConnectionReset => {
                    return Err(Exchange::Closed);
                }
                Err(e) => return Err(e.into()),
            }
            let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
            let mut parsed = httparse::Response::new(&mut headers);
            match parsed.parse(&self.buf) {
                Ok(httparse::Status::Complete(len)) => {
                    let status = parsed.code.ok_or_else(|| invalid("no status"))?;
                    let (framing, keep_alive) = framing(status, parsed.headers)?;
                    break (status, len, framing, keep_alive);
                }
                Ok(httparse::Status::Partial) if self.buf.len() < MAX_HEAD => continue,
                Ok(httparse::Status::Partial) => return Err(invalid("the answer's head is too long")),
                Err(_) => return Err(invalid("the answer's head does not parse")),
            }
        };
        self.buf.drain(..head_len);
        let body = match framing {
            Framing::Length(len) => {
                if len > MAX_BODY {
                    return Err(invalid("the answer's body is too long"));
                }
                while self.buf.len() < len {
                    if self.read_more().await? == 0 {
                        return Err(invalid("the answer ended in its body"));
                    }
                }
                if self.buf.len() > len {
                    return Err(invalid("more came than the answer's length"));
                }
                std::mem::take(&mut self.buf)
            }
            Framing::Chunked => self.read_chunked().await?,
        };
        Ok((Response { status, body }, keep_alive))
    }

    fn write_request(&mut self, authority: &str, req: &Request<'_>) {
        let out = &mut self.out;
        out.clear();
        for part in [req.method, " ", req.path, " HTTP/1.1\r\nHost: ", authority, "\r\n"] {
            out.extend_from_slice(part.as_bytes());
        }
        if let Some(value) = req.authorization {
            for part in ["Authorization: ", value, "\r\n"] {
                out.extend_from_slice(part.as_bytes());
            }
        }
        for (name, value) in req.headers {
            for part in [name, ": ", value, "\r\n"] {
                out.extend_from_slice(part.as_bytes());
            }
        }
        if let Some(body) = req.json {
            // Writing into a `Vec` cannot fail.
            let _ = write!(
                out,
                "Content-Type: application/json\r\nContent-Length: {}\r\n\r\n",
                body.len()
            );
            out.extend_from_slice(body);
        } else {
            out.extend_from_slice(b"\r\n");
        }
    }

    async fn read_more(&mut self) -> std::io::Result<usize> {
        self.buf.reserve(4096);
        self.stream.read_buf(&mut self.buf).await
    }

    /// A chunked body, from what is in `buf` on.
    async fn read_chunked(&mut self) -> Result<Vec<u8>, Exchange> {
        let mut body = Vec::new();
        let mut at = 0;
        loop {
            let line_end = loop {
                if let Some(i) = self.buf[at..].windows(2).position(|w| w == b"\r\n") {
                    break at + i;
                }
                if self.read_more().await? == 0 {
                    return Err(invalid("the answer ended in a chunk's size"));
                }
            };
            let size_text = std::str::from_utf8(&self.buf[at..line_end]).map_err(|_| invalid("chunk size"))?;
            let size_text = size_text.split(';').next().unwrap_or_default().trim();
            let size = usize::from_str_radix(size_text, 16).map_err(|_| invalid("chunk size"))?;
            // Compared without adding to `size`, which the server wrote: a hostile size
            // near `usize::MAX` would overflow the sum.
            if size > MAX_BODY - body.len() {
                return Err(invalid("the answer's body is too long"));
            }
            let data = line_end + 2;
            // The chunk and its CRLF (for the last, empty chunk: the CRLF ending the
            // trailers, which the API does not send).
            while self.buf.len() < data + size + 2 {
                if self.read_more().await? == 0 {
                    return Err(invalid("the answer ended in a chunk"));
                }
            }
            body.extend_from_slice(&self.buf[data..data + size]);
            at = data + size + 2;
            if size == 0 {
                return Ok(body);
            }
        }
    }
}

enum Framing {
    Length(usize),
    Chunked,
}

/// The body's framing and whether the connection is kept, from the answer's status and
/// headers (a 1xx, 204 or 304 answer has no body, whatever its headers say).
fn framing(status: u16, headers: &[httparse::Header<'_>]) -> Result<(Framing, bool), Exchange> {
    let mut framing = None;
    let mut keep_alive = true;
    for h in headers {
        if h.name.eq_ignore_ascii_case("content-length") {
            let len = std::str::from_utf8(h.value)
                .ok()
                .and_then(|v| v.trim().parse().ok())
                .ok_or_else(|| invalid("content-length"))?;
            framing = Some(Framing::Length(len));
        } else if h.name.eq_ignore_ascii_case("transfer-encoding") {
            if !h.value.eq_ignore_ascii_case(b"chunked") {
                return Err(invalid("a transfer encoding other than chunked"));
            }
            framing = Some(Framing::Chunked);
        } else if h.name.eq_ignore_ascii_case("connection") && h.value.eq_ignore_ascii_case(b"close") {
            keep_alive = false;
        }
    }
    if status < 200 || status == 204 || status == 304 {
        return Ok((Framing::Length(0), keep_alive));
    }
    Ok((framing.ok_or_else(|| invalid("an answer with no length"))?, keep_alive))
}

#[cfg(test)]
mod tests;
