//! `S3ObjectStore` against a real S3-compatible server: moto's, started per test on a free
//! port with signature checking on (`INITIAL_NO_AUTH_ACTION_COUNT`), so every request
//! below is verified by botocore's SigV4 implementation, not by ours.
//!
//! Skipped with a notice when moto is not installed (`pip install 'moto[server]'`), unless
//! `MPASS_REQUIRE_S3=1` (as in `.ci/run`), which turns the skip into a failure.

use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use mpass_domain::ports::{ObjectStore, StoreError};
use mpass_store::S3ObjectStore;

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

/// IAM calls made before signatures are checked: create a user, its key, its policy.
const UNAUTHENTICATED_SETUP_CALLS: u32 = 3;

/// Starts moto, or returns `None` (after a notice) when it is not installed.
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
        .env("INITIAL_NO_AUTH_ACTION_COUNT", UNAUTHENTICATED_SETUP_CALLS.to_string())
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

/// Percent-encodes URL user info (moto's secrets hold `/` and `+`).
fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// The text between `<tag>` and `</tag>`.
fn xml_field(xml: &str, tag: &str) -> String {
    let open = format!("<{tag}>");
    let start = xml.find(&open).unwrap_or_else(|| panic!("no <{tag}> in {xml}")) + open.len();
    let end = xml[start..].find(&format!("</{tag}>")).expect("a closing tag") + start;
    xml[start..end].to_string()
}

/// One IAM call in moto's unauthenticated window (the signature is not checked yet).
async fn iam(moto: &Moto, form: &[(&str, &str)]) -> String {
    let response = reqwest::Client::new()
        .post(format!("http://127.0.0.1:{}/", moto.port))
        .header(
            "authorization",
            "AWS4-HMAC-SHA256 Credential=AKIASETUPSETUPSETUP/20240101/us-east-1/iam/aws4_request, \
             SignedHeaders=host, Signature=0",
        )
        .header("content-type", "application/x-www-form-urlencoded")
        .body(
            form.iter()
                .map(|(k, v)| format!("{k}={}", encode(v)))
                .collect::<Vec<_>>()
                .join("&"),
        )
        .send()
        .await
        .expect("IAM call");
    assert!(response.status().is_success(), "IAM {form:?}: {}", response.status());
    response.text().await.expect("IAM body")
}

/// A user allowed `s3:*`, and its (access key, secret key).
async fn s3_user(moto: &Moto) -> (String, String) {
    let v = ("Version", "2010-05-08");
    iam(moto, &[("Action", "CreateUser"), v, ("UserName", "mpass")]).await;
    let key = iam(moto, &[("Action", "CreateAccessKey"), v, ("UserName", "mpass")]).await;
    let policy = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}"#;
    iam(
        moto,
        &[
            ("Action", "PutUserPolicy"),
            v,
            ("UserName", "mpass"),
            ("PolicyName", "photos"),
            ("PolicyDocument", policy),
        ],
    )
    .await;
    (xml_field(&key, "AccessKeyId"), xml_field(&key, "SecretAccessKey"))
}

fn url(moto: &Moto, access: &str, secret: &str, bucket: &str) -> String {
    format!(
        "s3://{}:{}@127.0.0.1:{}/{bucket}?region=us-east-1&scheme=http",
        encode(access),
        encode(secret),
        moto.port
    )
}

/// Moto with an authorised user and an empty bucket `photos`: (moto, store, access, secret).
async fn bucket() -> Option<(Moto, S3ObjectStore, String, String)> {
    let moto = start_moto()?;
    let (access, secret) = s3_user(&moto).await;
    let store = S3ObjectStore::from_url(&url(&moto, &access, &secret, "photos")).expect("a valid URL");
    store.create_bucket().await.expect("create the bucket");
    store.create_bucket().await.expect("creating it again is fine");
    Some((moto, store, access, secret))
}

#[tokio::test]
async fn binary_objects_round_trip_under_nested_keys() {
    let Some((_moto, store, ..)) = bucket().await else {
        return;
    };
    let bytes: Vec<u8> = (0..=255u8).cycle().take(300_000).collect();
    let key = "photos/0190a3c2-7f00-7000-8000-000000000001/9f86d081884c7d659a2feaa0.png";
    store.put(key, bytes.clone()).await.expect("put");
    assert_eq!(store.get(key).await.expect("get"), Some(bytes));

    // Overwrite, and an empty object.
    store.put(key, b"second".to_vec()).await.expect("overwrite");
    assert_eq!(store.get(key).await.unwrap().as_deref(), Some(&b"second"[..]));
    store.put("empty", Vec::new()).await.expect("empty put");
    assert_eq!(store.get("empty").await.unwrap(), Some(Vec::new()));
    // Keys that need URI-encoding (`a b`, `+`, Bangla) are covered by the signer's unit
    // tests against AWS's published example; moto's own verifier rejects them, so they
    // are not round-tripped here.
}

#[tokio::test]
async fn a_missing_key_is_none_but_a_missing_bucket_is_an_error() {
    let Some((moto, store, access, secret)) = bucket().await else {
        return;
    };
    assert_eq!(store.get("photos/nobody/none.png").await.expect("get"), None);

    let elsewhere = S3ObjectStore::from_url(&url(&moto, &access, &secret, "no-such-bucket")).unwrap();
    let err = elsewhere.get("photos/a.png").await.expect_err("no bucket");
    assert!(
        matches!(&err, StoreError::Backend(m) if m.contains("NoSuchBucket")),
        "{err}"
    );
}

#[tokio::test]
async fn a_wrong_secret_is_refused_and_never_shown() {
    let Some((moto, store, access, _)) = bucket().await else {
        return;
    };
    store.put("k", b"v".to_vec()).await.expect("put");
    let wrong_secret = "wrong+secret/WRONGSECRETWRONGSECRET0";
    let forged = S3ObjectStore::from_url(&url(&moto, &access, wrong_secret, "photos")).unwrap();
    assert!(!format!("{forged:?}").contains("WRONGSECRET"), "Debug hides the secret");
    for err in [
        forged.get("k").await.expect_err("a bad signature is refused"),
        forged
            .put("k", b"evil".to_vec())
            .await
            .expect_err("a bad signature is refused"),
    ] {
        let text = err.to_string();
        assert!(matches!(err, StoreError::Backend(_)), "{text}");
        assert!(text.contains("SignatureDoesNotMatch"), "{text}");
        assert!(!text.contains("WRONGSECRET"), "{text}");
    }
    assert_eq!(store.get("k").await.unwrap().as_deref(), Some(&b"v"[..]), "unchanged");

    let stranger = S3ObjectStore::from_url(&url(&moto, "AKIANOBODYNOBODYNOBO", "x", "photos")).unwrap();
    let err = stranger.get("k").await.expect_err("an unknown key is refused");
    assert!(err.to_string().contains("InvalidAccessKeyId"), "{err}");
}

#[tokio::test]
async fn an_unreachable_store_is_unavailable() {
    let port = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|l| l.local_addr())
        .unwrap()
        .port();
    let store = S3ObjectStore::from_url(&format!("s3://a:b@127.0.0.1:{port}/photos?scheme=http")).unwrap();
    let err = store.get("k").await.expect_err("nothing listens");
    assert!(matches!(err, StoreError::Unavailable(_)), "{err}");
}
