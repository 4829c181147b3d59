//! Tests of the lean transport against a real socket: framing, reuse, errors and timeouts.

use super::*;
use tokio::net::TcpListener;

/// A server that answers each connection's requests with `answers`, in turn, then
/// closes it; it returns the requests it read.
async fn serve(answers: Vec<&'static [u8]>) -> (String, tokio::task::JoinHandle<Vec<String>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let task = tokio::spawn(async move {
        let (mut socket, _) = listener.accept().await.unwrap();
        let mut seen = Vec::new();
        for answer in answers {
            let mut buf = vec![0u8; 4096];
            let n = socket.read(&mut buf).await.unwrap();
            seen.push(String::from_utf8_lossy(&buf[..n]).into_owned());
            socket.write_all(answer).await.unwrap();
        }
        seen
    });
    (base, task)
}

fn get(path: &str) -> Request<'_> {
    Request::new("GET", path, Some("Bearer t"))
}

#[tokio::test]
async fn reads_answers_by_length_by_chunks_and_without_a_body_on_one_connection() {
    let (base, server) = serve(vec![
        b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok",
        b"HTTP/1.1 404 Not Found\r\ntransfer-encoding: chunked\r\n\r\n3\r\nabc\r\n2;x=y\r\nde\r\n0\r\n\r\n",
        b"HTTP/1.1 204 No Content\r\n\r\n",
    ])
    .await;
    let pool = Pool::for_origin(&base, 4, Duration::from_secs(5)).unwrap();
    let first = pool.send(&get("/healthz")).await.unwrap();
    assert_eq!((first.status, first.body.as_slice()), (200, &b"ok"[..]));
    let body = br#"{"a":1}"#;
    let second = pool
        .send(&Request {
            method: "POST",
            path: "/x",
            authorization: None,
            headers: &[("Idempotency-Key", "k1")],
            json: Some(body),
        })
        .await
        .unwrap();
    assert_eq!((second.status, second.body.as_slice()), (404, &b"abcde"[..]));
    let third = pool.send(&get("/empty")).await.unwrap();
    assert_eq!((third.status, third.body.len()), (204, 0));
    let seen = server.await.unwrap();
    assert_eq!(
        seen[0],
        format!(
            "GET /healthz HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer t\r\n\r\n",
            &base[7..]
        )
    );
    assert_eq!(
        seen[1],
        format!(
            "POST /x HTTP/1.1\r\nHost: {}\r\nIdempotency-Key: k1\r\nContent-Type: application/json\r\nContent-Length: 7\r\n\r\n{{\"a\":1}}",
            &base[7..]
        )
    );
}

#[tokio::test]
async fn a_connection_closed_while_idle_is_replaced() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let server = tokio::spawn(async move {
        // The first connection answers once and closes; the second answers again.
        for _ in 0..2 {
            let (mut socket, _) = listener.accept().await.unwrap();
            let mut buf = vec![0u8; 4096];
            let _ = socket.read(&mut buf).await.unwrap();
            socket
                .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n")
                .await
                .unwrap();
        }
    });
    let pool = Pool::for_origin(&base, 4, Duration::from_secs(5)).unwrap();
    assert_eq!(pool.send(&get("/a")).await.unwrap().status, 200);
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(pool.send(&get("/b")).await.unwrap().status, 200);
    server.await.unwrap();
}

#[tokio::test]
async fn a_malformed_or_unframed_answer_is_an_error() {
    let (base, _server) = serve(vec![b"HTTP/1.1 200 OK\r\n\r\nno length"]).await;
    let pool = Pool::for_origin(&base, 4, Duration::from_secs(5)).unwrap();
    let err = pool.send(&get("/")).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidData);
    let (base, _server) = serve(vec![b"garbage\r\n\r\n"]).await;
    let pool = Pool::for_origin(&base, 4, Duration::from_secs(5)).unwrap();
    assert_eq!(pool.send(&get("/")).await.unwrap_err().kind(), ErrorKind::InvalidData);
}

#[tokio::test]
async fn a_request_that_would_break_its_lines_is_refused_before_sending() {
    // Nothing listens here: a refused request never connects.
    let pool = Pool::for_origin("http://127.0.0.1:9", 1, Duration::from_secs(1)).unwrap();
    for req in [
        get("/a b"),
        get("/a\r\nX-Injected: 1"),
        Request {
            authorization: Some("Bearer t\r\nX: y"),
            ..get("/")
        },
        Request {
            headers: &[("Idempotency-Key", "k\n")],
            ..get("/")
        },
    ] {
        assert_eq!(pool.send(&req).await.unwrap_err().kind(), ErrorKind::InvalidInput);
    }
}

#[test]
fn only_plain_http_origins_get_a_pool() {
    let t = Duration::from_secs(1);
    let lookup = |base: &str| Pool::for_origin(base, 1, t).map(|p| (p.authority, p.lookup));
    assert_eq!(
        lookup("http://127.0.0.1:8080"),
        Some(("127.0.0.1:8080".into(), "127.0.0.1:8080".into()))
    );
    assert_eq!(
        lookup("http://localhost:8080/"),
        Some(("localhost:8080".into(), "localhost:8080".into()))
    );
    assert_eq!(
        lookup("http://localhost"),
        Some(("localhost".into(), "localhost:80".into()))
    );
    assert_eq!(
        lookup("http://[::1]:8080"),
        Some(("[::1]:8080".into(), "[::1]:8080".into()))
    );
    assert_eq!(lookup("http://[::1]"), Some(("[::1]".into(), "[::1]:80".into())));
    assert!(Pool::for_origin("https://example.org", 1, t).is_none());
    assert!(Pool::for_origin("http://127.0.0.1:8080/api", 1, t).is_none());
    assert!(Pool::for_origin("http://", 1, t).is_none());
}
