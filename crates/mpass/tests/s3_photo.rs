//! A node configured with `object_store_url` keeps photos in the S3 bucket: a photo
//! uploaded through the API lands there and is served back from there. The bucket is on a
//! real S3-compatible server (moto), started on a free port for this test.
//!
//! Skipped with a notice when moto is not installed, unless `MPASS_REQUIRE_S3=1`.

mod common;

use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use mpass_domain::ports::ObjectStore;
use mpass_store::S3ObjectStore;
use reqwest::Method;

/// A moto server, killed when dropped.
struct Moto {
    child: Child,
    port: u16,
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts moto (signatures unchecked), or returns `None` after a notice when it is missing.
fn start_moto() -> Option<Moto> {
    let installed = Command::new("python3")
        .args(["-c", "import moto.server"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !installed {
        if std::env::var("MPASS_REQUIRE_S3").as_deref() == Ok("1") {
            panic!("MPASS_REQUIRE_S3=1 but moto is not installed: pip install 'moto[server]'");
        }
        eprintln!(
            "skipping: moto is not installed (pip install 'moto[server]'); set MPASS_REQUIRE_S3=1 to fail instead"
        );
        return None;
    }
    let port = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let child = Command::new("python3")
        .args(["-m", "moto.server", "-H", "127.0.0.1", "-p", &port.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start moto");
    let moto = Moto { child, port };
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let deadline = Instant::now() + Duration::from_secs(30);
    while TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_err() {
        assert!(Instant::now() < deadline, "moto did not start listening on {addr}");
        std::thread::sleep(Duration::from_millis(100));
    }
    Some(moto)
}

/// The object keys in `bucket` (ListObjectsV2).
async fn bucket_keys(moto: &Moto, bucket: &str) -> Vec<String> {
    let xml = reqwest::Client::new()
        .get(format!("http://127.0.0.1:{}/{bucket}?list-type=2", moto.port))
        .header(
            "authorization",
            "AWS4-HMAC-SHA256 Credential=test/20240101/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=0",
        )
        .send()
        .await
        .expect("list the bucket")
        .text()
        .await
        .expect("a listing");
    xml.split("<Key>")
        .skip(1)
        .filter_map(|rest| rest.split_once("</Key>").map(|(k, _)| k.to_string()))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_uploaded_photo_lands_in_the_bucket_and_is_served_from_it() {
    let Some(moto) = start_moto() else { return };
    let url = format!("s3://test:test@127.0.0.1:{}/mpass-photos?scheme=http", moto.port);
    let bucket = S3ObjectStore::from_url(&url).expect("a valid URL");
    bucket.create_bucket().await.expect("create the bucket");
    let srv = TestServer::start_with(|s| s.object_store_url = Some(url.clone())).await;

    let (me, _) = srv.citizen(&phone(7_300_001)).await;
    let id = me.me().await.expect("GET /me").id;
    me.put_photo(png_photo(96, 80), "image/png")
        .await
        .expect("photo accepted");
    let served = me
        .raw(Method::GET, "/api/v1/me/photo", None, Vec::new())
        .await
        .expect("photo back");
    assert_eq!(served.status, 200);
    assert!(served.body.starts_with(b"\x89PNG\r\n\x1a\n"), "a PNG is served");

    let keys = bucket_keys(&moto, "mpass-photos").await;
    assert_eq!(keys.len(), 1, "one object in the bucket: {keys:?}");
    assert!(keys[0].starts_with(&format!("photos/{id}/")), "{keys:?}");
    let stored = bucket.get(&keys[0]).await.expect("get").expect("the object exists");
    assert_eq!(stored, served.body, "the photo served is the object in the bucket");
    assert!(
        !srv.dir.path().join("objects").exists(),
        "nothing is written to the local object directory"
    );

    let ready = srv
        .client
        .raw(Method::GET, "/readyz", None, Vec::new())
        .await
        .expect("readyz");
    assert_eq!(ready.status, 200, "the bucket answers, so the node is ready");
    assert_eq!(ready.json().expect("json")["checks"]["object_store"], "ok");
    srv.finish().await;
}
