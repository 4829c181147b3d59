//! Slow and silent clients (slowloris): a connection that sends nothing, or trickles its
//! headers, is closed after `header_read_timeout_ms`, while the server keeps answering
//! everyone else; a header block past the cap is refused with 431, and a body that stalls
//! with 408. Too many connections: past `max_connections` new ones wait, past
//! `max_connections_per_ip` they are answered 503 `too_many_connections`, and past as many
//! refusals at once closed unanswered.

mod common;

use std::time::{Duration, Instant};

use common::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// What the server sends on `c` until it closes it, and how long that took (10 s at most).
async fn until_closed(c: &mut TcpStream) -> (String, Duration) {
    let started = Instant::now();
    let mut out = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(10), c.read_to_end(&mut out)).await;
    (String::from_utf8_lossy(&out).into_owned(), started.elapsed())
}

/// Sends `request` (headers and the start of a body) and nothing more: what the server
/// answers before it closes, and how long that took.
async fn stalled(addr: &str, request: &[u8]) -> (String, Duration) {
    let mut c = TcpStream::connect(addr).await.expect("connect");
    c.write_all(request).await.expect("write");
    until_closed(&mut c).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_and_silent_connections_are_closed_and_others_are_served() {
    let srv = TestServer::start_with(|s| s.header_read_timeout_ms = 1000).await;
    let addr = srv.client.base().trim_start_matches("http://").to_string();

    // 200 connections that send nothing, and one that sends a header line every 200 ms
    // (never the blank line that ends them) for 8 s.
    let mut silent = Vec::new();
    for _ in 0..200 {
        silent.push(TcpStream::connect(&addr).await.expect("connect"));
    }
    let mut slow = TcpStream::connect(&addr).await.expect("connect");
    slow.write_all(b"POST /api/v1/auth/otp HTTP/1.1\r\nhost: x\r\n")
        .await
        .expect("write");
    let trickle = tokio::spawn(async move {
        let started = Instant::now();
        for i in 0..40 {
            tokio::time::sleep(Duration::from_millis(200)).await;
            if slow.write_all(format!("x-{i}: a\r\n").as_bytes()).await.is_err() {
                break;
            }
        }
        until_closed(&mut slow).await;
        started.elapsed()
    });

    // Meanwhile everyone else is answered.
    srv.client.healthz().await.expect("healthz while others stall");
    let (citizen, _) = srv.citizen(&phone(300)).await;
    citizen.me().await.expect("me");

    for c in &mut silent {
        let (sent, waited) = until_closed(c).await;
        assert_eq!(sent, "", "nothing is sent to a connection that asked nothing");
        assert!(
            waited < Duration::from_secs(5),
            "a silent connection was held {waited:?}"
        );
    }
    let held = trickle.await.expect("trickle");
    assert!(
        held < Duration::from_secs(5),
        "a trickling connection was held {held:?}"
    );

    // A header block past the cap: 431, and the connection closed.
    let mut big = TcpStream::connect(&addr).await.expect("connect");
    let request = format!(
        "GET /healthz HTTP/1.1\r\nhost: x\r\nx-big: {}\r\n\r\n",
        "a".repeat(mpass_http::MAX_HEADER_BYTES)
    );
    let _ = big.write_all(request.as_bytes()).await;
    let (answer, _) = until_closed(&mut big).await;
    assert!(answer.starts_with("HTTP/1.1 431"), "{answer}");

    // A body that stalls after its first bytes: 408 problem+json once its time is up
    // (the header timeout, plus nothing for 30 bytes at 4 KiB a second).
    let (answer, waited) = stalled(
        &addr,
        b"POST /api/v1/auth/otp HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 30\r\n\r\n{\"phone\"",
    )
    .await;
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("application/problem+json"), "{answer}");
    assert!(answer.contains("\"code\":\"request_timeout\""), "{answer}");
    assert!(waited < Duration::from_secs(5), "a stalled body was held {waited:?}");

    // The same on a page's form: a page in the browser's language, not plain text.
    let (answer, _) = stalled(
        &addr,
        b"POST /login HTTP/1.1\r\nhost: x\r\naccept-language: bn\r\ncontent-type: application/x-www-form-urlencoded\r\ncontent-length: 30\r\n\r\ncsrf=",
    )
    .await;
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("text/html"), "{answer}");
    assert!(answer.contains("ফর্মটি পুরোপুরি পৌঁছায়নি"), "{answer}");

    srv.client.healthz().await.expect("healthz after");
}

/// A connection that has been answered once and is kept open.
async fn kept_open(addr: &str) -> TcpStream {
    let mut c = TcpStream::connect(addr).await.expect("connect");
    c.write_all(b"GET /healthz HTTP/1.1\r\nhost: x\r\n\r\n")
        .await
        .expect("write");
    let mut buf = vec![0; 4096];
    let n = c.read(&mut buf).await.expect("read");
    assert!(
        buf[..n].starts_with(b"HTTP/1.1 200"),
        "{}",
        String::from_utf8_lossy(&buf[..n])
    );
    c
}

/// A server with these connection limits, its address, and two connections kept open.
async fn two_kept_open(max: usize, per_ip: usize) -> (TestServer, String, TcpStream, TcpStream) {
    let srv = TestServer::start_with(|s| {
        s.max_connections = Some(max);
        s.max_connections_per_ip = Some(per_ip);
    })
    .await;
    let addr = srv.client.base().trim_start_matches("http://").to_string();
    let first = kept_open(&addr).await;
    let second = kept_open(&addr).await;
    (srv, addr, first, second)
}

/// `request` on new connections until one is answered 200 (the server gives a closed
/// connection's place back a moment after the client sees it closed), for at most 5 s.
async fn served(addr: &str, request: &[u8]) -> String {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let answer = asked(addr, request).await;
        if answer.starts_with("HTTP/1.1 200") {
            return answer;
        }
        assert!(Instant::now() < deadline, "still refused: {answer}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// `request` on a new connection: the answer, once the server closes it.
async fn asked(addr: &str, request: &[u8]) -> String {
    let mut c = TcpStream::connect(addr).await.expect("connect");
    c.write_all(request).await.expect("write");
    until_closed(&mut c).await.0
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_address_may_hold_only_so_many_connections() {
    let (_srv, addr, first, _second) = two_kept_open(10, 2).await;

    // A third from the same address: 503 problem+json, told when to come back, closed.
    let answer = asked(
        &addr,
        b"POST /api/v1/auth/otp HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 2\r\n\r\n{}",
    )
    .await;
    assert!(answer.starts_with("HTTP/1.1 503"), "{answer}");
    assert!(answer.contains("application/problem+json"), "{answer}");
    assert!(answer.contains("\"code\":\"too_many_connections\""), "{answer}");
    assert!(answer.to_ascii_lowercase().contains("retry-after: 1"), "{answer}");
    // A browser gets a page, in both languages.
    let answer = asked(
        &addr,
        b"GET /login HTTP/1.1\r\nhost: x\r\naccept: text/html,*/*\r\n\r\n",
    )
    .await;
    assert!(answer.starts_with("HTTP/1.1 503"), "{answer}");
    assert!(answer.contains("text/html"), "{answer}");
    assert!(answer.contains("সেবাটি এখন খুব ব্যস্ত"), "{answer}");

    // One closed, the next is served.
    drop(first);
    served(&addr, b"GET /healthz HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n").await;
    // The operators see it: the refusals (the two above, and any while a connection closed),
    // the limit, and the connections open.
    let metrics = served(&addr, b"GET /metrics HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n").await;
    let value = |name: &str| metric(&metrics, name);
    assert!(value("mpass_http_connections_refused_total") >= 2);
    assert_eq!(value("mpass_http_connections_max"), 10);
    let open = value("mpass_http_connections_open");
    assert!(
        (2..=4).contains(&open),
        "{open} open: the one kept and this one, and refused ones closing"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn past_its_refusals_an_address_is_closed_at_once_and_holds_no_place() {
    let (_srv, addr, first, _second) = two_kept_open(6, 2).await;
    // Two more that send nothing: refusals waiting for their request, a place each.
    let _silent = [
        TcpStream::connect(&addr).await.expect("connect"),
        TcpStream::connect(&addr).await.expect("connect"),
    ];
    // Every further connection from the address is closed at once, unanswered, and gives
    // its place back: 20 of them, with only 2 of the 6 places left, all closed promptly.
    for n in 0..20 {
        let mut c = TcpStream::connect(&addr).await.expect("connect");
        let (answer, waited) = until_closed(&mut c).await;
        assert_eq!(answer, "", "connection {n} answered");
        assert!(waited < Duration::from_secs(2), "connection {n} held {waited:?}");
    }
    drop(first);
    let metrics = served(&addr, b"GET /metrics HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n").await;
    let dropped = metric(&metrics, "mpass_http_connections_dropped_total");
    assert!(dropped >= 20, "{dropped} dropped");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn at_the_connection_limit_a_new_client_waits_for_a_place() {
    let (_srv, addr, first, _second) = two_kept_open(2, 0).await;

    // The third is not accepted (it waits in the listen backlog), so not answered...
    let mut third = TcpStream::connect(&addr)
        .await
        .expect("the kernel completes the handshake");
    third
        .write_all(b"GET /healthz HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n")
        .await
        .expect("write");
    let mut buf = vec![0; 1024];
    let early = tokio::time::timeout(Duration::from_millis(500), third.read(&mut buf)).await;
    assert!(early.is_err(), "answered past the limit: {early:?}");
    // ...until a place is free; then it is served, request and all.
    drop(first);
    let (answer, waited) = until_closed(&mut third).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(waited < Duration::from_secs(5), "waited {waited:?}");
    // Closed on our side too, so that the server stops lingering on it and frees its place.
    drop(third);
    let metrics = served(&addr, b"GET /metrics HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n").await;
    assert!(
        !metrics.contains("\nmpass_http_connections_full_total 0\n"),
        "{metrics}"
    );
    assert!(metrics.contains("\nmpass_http_connections_full_total "), "{metrics}");
}
