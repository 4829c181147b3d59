//! `S3ObjectStore` against a real S3-compatible server: moto's, started per test on a free
//! port with signature checking on (`INITIAL_NO_AUTH_ACTION_COUNT`), so every request
//! below is verified by botocore's SigV4 implementation, not by ours.
//!
//! The https tests give moto a certificate for `127.0.0.1` and `localhost` issued by a
//! throwaway CA made per test (with Python's `cryptography`, which moto itself needs), so
//! TLS is really spoken and really verified: with `ca_file=` naming that CA, and refused
//! without it.
//!
//! Skipped with a notice when moto is not installed (`pip install 'moto[server]'`), unless
//! `MPASS_REQUIRE_S3=1` (as in `.ci/run`), which turns the skip into a failure.

use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use mpass_domain::ports::{ObjectStore, StoreError};
use mpass_store::S3ObjectStore;

/// A moto server, killed (and its certificates deleted) when dropped.
struct Moto {
    child: Child,
    port: u16,
    /// Set when moto speaks https: the directory holding `ca.pem` and the server's key pair.
    tls: Option<PathBuf>,
}

impl Moto {
    fn scheme(&self) -> &'static str {
        if self.tls.is_some() { "https" } else { "http" }
    }

    /// The throwaway CA that issued moto's certificate (https only).
    fn ca_file(&self) -> PathBuf {
        self.tls.as_ref().expect("an https moto").join("ca.pem")
    }

    /// An HTTP client for the setup calls, trusting the throwaway CA when there is one.
    fn client(&self) -> reqwest::Client {
        let mut builder = reqwest::Client::builder();
        if self.tls.is_some() {
            let pem = std::fs::read(self.ca_file()).expect("read ca.pem");
            builder = builder.add_root_certificate(reqwest::Certificate::from_pem(&pem).expect("a PEM CA"));
        }
        builder.build().expect("an HTTP client")
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if let Some(dir) = &self.tls {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

/// Writes `ca.pem` (a throwaway CA) and `cert.pem`/`key.pem` (a server certificate it
/// issued for `127.0.0.1` and `localhost`) into `dir`.
const MAKE_CERTIFICATES: &str = r#"
import datetime, ipaddress, os, sys
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

out = sys.argv[1]
now = datetime.datetime.now(datetime.timezone.utc)
def name(cn):
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])
def pem(path, data):
    with open(os.path.join(out, path), "wb") as f:
        f.write(data)

ca_key = ec.generate_private_key(ec.SECP256R1())
ca = (x509.CertificateBuilder()
      .subject_name(name("mpass test CA")).issuer_name(name("mpass test CA"))
      .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
      .not_valid_before(now - datetime.timedelta(minutes=5))
      .not_valid_after(now + datetime.timedelta(days=1))
      .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
      .add_extension(x509.KeyUsage(digital_signature=False, content_commitment=False,
                                   key_encipherment=False, data_encipherment=False,
                                   key_agreement=False, key_cert_sign=True, crl_sign=True,
                                   encipher_only=False, decipher_only=False), critical=True)
      .sign(ca_key, hashes.SHA256()))

key = ec.generate_private_key(ec.SECP256R1())
cert = (x509.CertificateBuilder()
        .subject_name(name("localhost")).issuer_name(ca.subject)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.SubjectAlternativeName([
            x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(ca_key, hashes.SHA256()))

pem("ca.pem", ca.public_bytes(serialization.Encoding.PEM))
pem("cert.pem", cert.public_bytes(serialization.Encoding.PEM))
pem("key.pem", key.private_bytes(serialization.Encoding.PEM,
                                 serialization.PrivateFormat.PKCS8,
                                 serialization.NoEncryption()))
"#;

/// A fresh directory with a throwaway CA and a server certificate (see `MAKE_CERTIFICATES`).
fn make_certificates(port: u16) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("mpass-s3-tls-{}-{port}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a temporary directory");
    let status = Command::new("python3")
        .args(["-c", MAKE_CERTIFICATES])
        .arg(&dir)
        .status()
        .expect("run python3");
    assert!(status.success(), "making the test certificates failed: {status}");
    dir
}

/// IAM calls made before signatures are checked: create a user, its key, its policy.
const UNAUTHENTICATED_SETUP_CALLS: u32 = 3;

/// Starts moto over http, or returns `None` (after a notice) when it is not installed.
fn start_moto() -> Option<Moto> {
    start(false)
}

/// Starts moto over https with a certificate from a throwaway CA (`Moto::ca_file`).
fn start_moto_tls() -> Option<Moto> {
    start(true)
}

fn start(tls: bool) -> Option<Moto> {
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
    let tls = tls.then(|| make_certificates(port));
    let mut command = Command::new("python3");
    command.args(["-m", "moto.server", "-H", "127.0.0.1", "-p", &port.to_string()]);
    if let Some(dir) = &tls {
        command.arg("--ssl-cert").arg(dir.join("cert.pem"));
        command.arg("--ssl-key").arg(dir.join("key.pem"));
    }
    let child = command
        .env("INITIAL_NO_AUTH_ACTION_COUNT", UNAUTHENTICATED_SETUP_CALLS.to_string())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start moto");
    let moto = Moto { child, port, tls };
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
    let response = moto
        .client()
        .post(format!("{}://127.0.0.1:{}/", moto.scheme(), moto.port))
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

/// The https URL of a bucket on a TLS moto (`scheme` left to its default), trusting `ca_file`
/// when given. `host` is `127.0.0.1` or `localhost`: the certificate names both.
fn https_url(moto: &Moto, host: &str, access: &str, secret: &str, bucket: &str, ca_file: Option<&Path>) -> String {
    let mut url = format!(
        "s3://{}:{}@{host}:{}/{bucket}?region=us-east-1",
        encode(access),
        encode(secret),
        moto.port
    );
    if let Some(ca) = ca_file {
        url.push_str("&ca_file=");
        url.push_str(&encode(&ca.display().to_string()));
    }
    url
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

#[tokio::test]
async fn https_with_a_private_ca_round_trips() {
    let Some(moto) = start_moto_tls() else {
        return;
    };
    let (access, secret) = s3_user(&moto).await;
    let ca = moto.ca_file();
    let store = S3ObjectStore::from_url(&https_url(&moto, "127.0.0.1", &access, &secret, "photos", Some(&ca)))
        .expect("a valid URL");
    store.create_bucket().await.expect("create the bucket over https");
    let bytes: Vec<u8> = (0..=255u8).cycle().take(300_000).collect();
    let key = "photos/0190a3c2-7f00-7000-8000-000000000001/9f86d081884c7d659a2feaa0.png";
    store.put(key, bytes.clone()).await.expect("put over https");
    assert_eq!(store.get(key).await.expect("get over https"), Some(bytes));
    assert_eq!(store.get("photos/nobody/none.png").await.expect("get"), None);

    // The same server by name, and signatures are still checked over TLS.
    let by_name =
        S3ObjectStore::from_url(&https_url(&moto, "localhost", &access, &secret, "photos", Some(&ca))).unwrap();
    assert!(by_name.get(key).await.expect("get via localhost").is_some());
    let forged = S3ObjectStore::from_url(&https_url(&moto, "127.0.0.1", &access, "x", "photos", Some(&ca))).unwrap();
    let err = forged.get(key).await.expect_err("a bad signature is refused");
    assert!(err.to_string().contains("SignatureDoesNotMatch"), "{err}");
}

#[tokio::test]
async fn https_without_the_ca_is_refused_with_a_tls_error() {
    let Some(moto) = start_moto_tls() else {
        return;
    };
    let (access, secret) = s3_user(&moto).await;
    // The system's roots do not include the throwaway CA.
    let untrusting = S3ObjectStore::from_url(&https_url(&moto, "127.0.0.1", &access, &secret, "photos", None)).unwrap();
    for err in [
        untrusting.get("k").await.expect_err("an unknown issuer is refused"),
        untrusting
            .put("k", b"v".to_vec())
            .await
            .expect_err("an unknown issuer is refused"),
    ] {
        let text = err.to_string();
        assert!(matches!(err, StoreError::Unavailable(_)), "{text}");
        assert!(text.contains("certificate") && text.contains("UnknownIssuer"), "{text}");
        assert!(!text.contains(&secret), "{text}");
    }

    // Plain http to a TLS port is not silently accepted either.
    let plain = S3ObjectStore::from_url(&url(&moto, &access, &secret, "photos")).unwrap();
    plain.get("k").await.expect_err("http to an https server fails");
}
