//! Object storage on any S3-compatible service (AWS S3, MinIO, Ceph RGW, moto), spoken
//! directly over the S3 REST API with AWS Signature Version 4.
//!
//! Why no AWS SDK: photos need two calls (PUT Object, GET Object), and the SDK would add
//! hundreds of crates and its own HTTP and TLS stacks. The signer is small, pure and tested
//! against the examples AWS publishes, and the store is tested against a real S3 server.
//!
//! Addressing is path-style (`scheme://host:port/bucket/key`), which every S3-compatible
//! server understands. Configuration is one URL:
//!
//! ```text
//! s3://ACCESS_KEY:SECRET_KEY@host:port/bucket?region=us-east-1&scheme=https&ca_file=/etc/mpass/ca.pem
//! ```
//!
//! - Credentials may be left out of the URL (`s3://host:port/bucket`); they are then read
//!   from `AWS_ACCESS_KEY_ID` and `AWS_SECRET_ACCESS_KEY`. Characters outside
//!   `A-Z a-z 0-9 - . _ ~` in them (a `/` or `+` in a secret) must be percent-encoded.
//! - `region` defaults to `us-east-1`; it is part of every signature.
//! - `scheme` is `https` (the default) or `http`. Over https (rustls) the server's
//!   certificate must chain to a root of the operating system's trust store (as
//!   `rustls-native-certs` finds it: `/etc/ssl/certs` and the like, or `SSL_CERT_FILE`) and
//!   name the host. There is no way to skip that check. `http` is for a store on a trusted
//!   network (a local MinIO) only: keys and photos then travel in the clear.
//! - `ca_file` (https only) names a PEM file of one or more CA certificates that are
//!   trusted as well, for a self-hosted MinIO or Ceph under its own CA. It is read when the
//!   store is opened; a missing or unparsable file is an error then, not at the first request.

use std::fmt;
use std::time::Duration;

use async_trait::async_trait;
use hmac::{Hmac, Mac};
use mpass_domain::ports::{ObjectStore, StoreError, StoreResult};
use reqwest::{Method, StatusCode, Url};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;
use time::macros::format_description;

const DEFAULT_REGION: &str = "us-east-1";
/// How much of an error response is read for its `<Code>`.
const ERROR_BODY_LIMIT: usize = 8 * 1024;

/// An access key pair. The secret never appears in `Debug`, errors or logs.
#[derive(Clone)]
pub(crate) struct Credentials {
    pub(crate) access_key: String,
    pub(crate) secret_key: String,
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("access_key", &self.access_key)
            .field("secret_key", &"[redacted]")
            .finish()
    }
}

/// Blobs as objects in one bucket of an S3-compatible store, addressed path-style.
#[derive(Debug, Clone)]
pub struct S3ObjectStore {
    /// `scheme://host[:port]`, no path.
    endpoint: Url,
    /// The `Host` header as signed: `host` or `host:port` (default ports left out).
    host: String,
    bucket: String,
    region: String,
    credentials: Credentials,
    http: reqwest::Client,
}

impl S3ObjectStore {
    /// Opens the store a `s3://` URL names (see the module documentation for its form).
    /// Nothing is contacted yet; the first `put` or `get` is.
    pub fn from_url(url: &str) -> StoreResult<S3ObjectStore> {
        // Errors quote the URL's host and bucket only, never the URL (it may hold the secret).
        let bad = |why: &str| StoreError::Backend(format!("invalid object store URL: {why}"));
        let parsed = Url::parse(url).map_err(|e| bad(&e.to_string()))?;
        if parsed.scheme() != "s3" {
            return Err(bad("the scheme must be s3://"));
        }
        let host = parsed
            .host_str()
            .filter(|h| !h.is_empty())
            .ok_or_else(|| bad("no host"))?;
        let bucket = parsed.path().trim_start_matches('/').trim_end_matches('/');
        if !valid_bucket(bucket) {
            return Err(bad(&format!(
                "{bucket:?} is not a bucket name (3-63 of a-z 0-9 . -, as the path: s3://host/bucket)"
            )));
        }
        let mut region = DEFAULT_REGION.to_string();
        let mut scheme = "https".to_string();
        let mut ca_file = None;
        for (k, v) in parsed.query_pairs() {
            match &*k {
                "region" if !v.is_empty() => region = v.into_owned(),
                "scheme" if v == "http" || v == "https" => scheme = v.into_owned(),
                "ca_file" if !v.is_empty() => ca_file = Some(v.into_owned()),
                other => return Err(bad(&format!("unknown or empty query parameter {other:?}"))),
            }
        }
        let ca_certificates = match ca_file {
            Some(_) if scheme != "https" => return Err(bad("ca_file is only for scheme=https")),
            Some(path) => read_ca_file(&path)?,
            None => Vec::new(),
        };
        let credentials = match (parsed.username(), parsed.password()) {
            ("", None) => Credentials {
                access_key: std::env::var("AWS_ACCESS_KEY_ID")
                    .map_err(|_| bad("no credentials in the URL and AWS_ACCESS_KEY_ID is unset"))?,
                secret_key: std::env::var("AWS_SECRET_ACCESS_KEY")
                    .map_err(|_| bad("no credentials in the URL and AWS_SECRET_ACCESS_KEY is unset"))?,
            },
            (user, Some(pass)) if !user.is_empty() && !pass.is_empty() => Credentials {
                access_key: percent_decode(user).ok_or_else(|| bad("the access key is not valid percent-encoding"))?,
                secret_key: percent_decode(pass).ok_or_else(|| bad("the secret key is not valid percent-encoding"))?,
            },
            _ => return Err(bad("give both ACCESS_KEY:SECRET_KEY@ or neither")),
        };
        let host_header = match parsed.port() {
            Some(port) => format!("{host}:{port}"),
            None => host.to_string(),
        };
        let endpoint = Url::parse(&format!("{scheme}://{host_header}")).map_err(|e| bad(&e.to_string()))?;
        let mut builder = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(5))
            .timeout(Duration::from_secs(30))
            .https_only(scheme == "https");
        for certificate in ca_certificates {
            builder = builder.add_root_certificate(certificate);
        }
        let http = builder
            .build()
            .map_err(|e| StoreError::Backend(format!("building the S3 HTTP client: {e}")))?;
        Ok(S3ObjectStore {
            endpoint,
            host: host_header,
            bucket: bucket.to_string(),
            region,
            credentials,
            http,
        })
    }

    /// The bucket objects go to.
    pub fn bucket(&self) -> &str {
        &self.bucket
    }

    /// Creates the bucket (PUT Bucket in the configured region); a bucket this account
    /// already owns is fine. An operator convenience for a fresh MinIO or test server:
    /// the node itself never creates buckets.
    pub async fn create_bucket(&self) -> StoreResult<()> {
        let body = if self.region == DEFAULT_REGION {
            Vec::new()
        } else {
            format!(
                "<CreateBucketConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">\
                 <LocationConstraint>{}</LocationConstraint></CreateBucketConfiguration>",
                self.region
            )
            .into_bytes()
        };
        let path = format!("/{}", self.bucket);
        let response = self.send(Method::PUT, &path, body).await?;
        let status = response.status();
        if status.is_success() {
            return Ok(());
        }
        let code = error_code(response).await;
        if code == "BucketAlreadyOwnedByYou" {
            return Ok(());
        }
        Err(failure("PUT Bucket", &self.bucket, status, &code))
    }

    /// `/bucket/key` with each key segment URI-encoded, as sent and as signed.
    fn object_path(&self, key: &str) -> StoreResult<String> {
        // Empty, `.` and `..` segments would be rewritten by URL normalisation and so
        // signed differently from what is sent; photo keys never have them.
        let safe =
            !key.is_empty() && key.len() <= 1024 && key.split('/').all(|s| !s.is_empty() && s != "." && s != "..");
        if !safe {
            return Err(StoreError::Backend(format!("refused object key {key:?}")));
        }
        let mut path = format!("/{}", self.bucket);
        for segment in key.split('/') {
            path.push('/');
            path.push_str(&uri_encode(segment));
        }
        Ok(path)
    }

    /// Sends one signed request with `body` to `path` (already encoded).
    async fn send(&self, method: Method, path: &str, body: Vec<u8>) -> StoreResult<reqwest::Response> {
        let payload_hash = hex(&Sha256::digest(&body));
        let amz_date = amz_date(OffsetDateTime::now_utc());
        let authorization = authorization(
            &self.credentials,
            &self.region,
            &Canonical {
                method: method.as_str(),
                uri: path,
                host: &self.host,
                payload_hash: &payload_hash,
                amz_date: &amz_date,
                extra_headers: &[],
            },
        );
        let mut url = self.endpoint.clone();
        url.set_path(path);
        self.http
            .request(method.clone(), url)
            .header(reqwest::header::HOST, &self.host)
            .header("x-amz-content-sha256", &payload_hash)
            .header("x-amz-date", &amz_date)
            .header(reqwest::header::AUTHORIZATION, authorization)
            .body(body)
            .send()
            .await
            .map_err(|e| {
                let mut why = describe(e);
                if why.contains("invalid peer certificate") {
                    why.push_str(" (a server under a private CA needs ca_file= in the object store URL)");
                }
                StoreError::Unavailable(format!("S3 {method} on {}: {why}", self.host))
            })
    }
}

#[async_trait]
impl ObjectStore for S3ObjectStore {
    async fn put(&self, key: &str, bytes: Vec<u8>) -> StoreResult<()> {
        let path = self.object_path(key)?;
        let response = self.send(Method::PUT, &path, bytes).await?;
        let status = response.status();
        if status.is_success() {
            return Ok(());
        }
        Err(failure("PUT Object", key, status, &error_code(response).await))
    }

    /// HEAD Bucket: the endpoint answers, the credentials sign, and the bucket exists.
    async fn ping(&self) -> StoreResult<()> {
        let path = format!("/{}", self.bucket);
        let response = self.send(Method::HEAD, &path, Vec::new()).await?;
        let status = response.status();
        if status.is_success() {
            return Ok(());
        }
        Err(failure(
            "HEAD Bucket",
            &self.bucket,
            status,
            &error_code(response).await,
        ))
    }

    async fn get(&self, key: &str) -> StoreResult<Option<Vec<u8>>> {
        let path = self.object_path(key)?;
        let response = self.send(Method::GET, &path, Vec::new()).await?;
        let status = response.status();
        if status.is_success() {
            let bytes = response
                .bytes()
                .await
                .map_err(|e| StoreError::Unavailable(format!("S3 GET Object {key:?}: {}", describe(e))))?;
            return Ok(Some(bytes.to_vec()));
        }
        let code = error_code(response).await;
        // A missing bucket is a configuration error, not a missing photo.
        if status == StatusCode::NOT_FOUND && (code == "NoSuchKey" || code.is_empty()) {
            return Ok(None);
        }
        Err(failure("GET Object", key, status, &code))
    }
}

/// The CA certificates of a PEM file, for `ca_file`.
fn read_ca_file(path: &str) -> StoreResult<Vec<reqwest::Certificate>> {
    let bad = |why: String| StoreError::Backend(format!("invalid object store URL: ca_file {path:?}: {why}"));
    let pem = std::fs::read(path).map_err(|e| bad(e.to_string()))?;
    let certificates = reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| bad(e.to_string()))?;
    if certificates.is_empty() {
        return Err(bad("no PEM certificate in it".to_string()));
    }
    Ok(certificates)
}

/// A request error with its causes (`error sending request: ...: invalid peer certificate:
/// UnknownIssuer`), without the URL. reqwest's own message alone names no cause.
fn describe(e: reqwest::Error) -> String {
    let e = e.without_url();
    let mut text = e.to_string();
    let mut source = std::error::Error::source(&e);
    while let Some(cause) = source {
        let part = cause.to_string();
        // Wrappers (io::Error around a rustls error) often repeat their cause's message.
        if !text.ends_with(&part) {
            text.push_str(": ");
            text.push_str(&part);
        }
        source = cause.source();
    }
    text
}

/// Server-side and throttling failures may pass; everything else is a backend error.
fn failure(action: &str, what: &str, status: StatusCode, code: &str) -> StoreError {
    let code = if code.is_empty() { "no error code" } else { code };
    let message = format!("S3 {action} {what:?}: HTTP {} ({code})", status.as_u16());
    if status.is_server_error() || status == StatusCode::TOO_MANY_REQUESTS || code == "SlowDown" {
        StoreError::Unavailable(message)
    } else {
        StoreError::Backend(message)
    }
}

/// The `<Code>` of an S3 error document, or empty when there is none.
async fn error_code(response: reqwest::Response) -> String {
    let Ok(body) = response.bytes().await else {
        return String::new();
    };
    let text = String::from_utf8_lossy(&body[..body.len().min(ERROR_BODY_LIMIT)]);
    text.split_once("<Code>")
        .and_then(|(_, rest)| rest.split_once("</Code>"))
        .map(|(code, _)| code.chars().filter(|c| c.is_ascii_alphanumeric()).take(64).collect())
        .unwrap_or_default()
}

/// Bucket names as S3 allows them (the DNS-compatible rules).
fn valid_bucket(name: &str) -> bool {
    (3..=63).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-')
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name.ends_with(|c: char| c.is_ascii_alphanumeric())
}

/// What a SigV4 signature covers. Signed headers are always `host`,
/// `x-amz-content-sha256` and `x-amz-date`, plus `extra_headers` (lowercase names).
#[derive(Debug)]
pub(crate) struct Canonical<'a> {
    pub(crate) method: &'a str,
    /// The URI-encoded path; the query string is always empty.
    pub(crate) uri: &'a str,
    pub(crate) host: &'a str,
    /// Lowercase hex SHA-256 of the payload.
    pub(crate) payload_hash: &'a str,
    /// `YYYYMMDDTHHMMSSZ`.
    pub(crate) amz_date: &'a str,
    pub(crate) extra_headers: &'a [(&'a str, &'a str)],
}

impl Canonical<'_> {
    /// The sorted `(name, value)` pairs that are signed.
    fn headers(&self) -> Vec<(&str, &str)> {
        let mut headers = vec![
            ("host", self.host),
            ("x-amz-content-sha256", self.payload_hash),
            ("x-amz-date", self.amz_date),
        ];
        headers.extend(self.extra_headers.iter().copied());
        headers.sort_by(|a, b| a.0.cmp(b.0));
        headers
    }

    fn signed_headers(&self) -> String {
        let names: Vec<&str> = self.headers().iter().map(|(n, _)| *n).collect();
        names.join(";")
    }

    /// The canonical request of SigV4.
    pub(crate) fn request(&self) -> String {
        let mut out = format!("{}\n{}\n\n", self.method, self.uri);
        for (name, value) in self.headers() {
            out.push_str(name);
            out.push(':');
            out.push_str(value.trim());
            out.push('\n');
        }
        out.push('\n');
        out.push_str(&self.signed_headers());
        out.push('\n');
        out.push_str(self.payload_hash);
        out
    }
}

/// The `Authorization` header value of a request signed with SigV4 for service `s3`.
pub(crate) fn authorization(credentials: &Credentials, region: &str, request: &Canonical<'_>) -> String {
    let date = &request.amz_date[..8.min(request.amz_date.len())];
    let scope = format!("{date}/{region}/s3/aws4_request");
    let string_to_sign = format!(
        "AWS4-HMAC-SHA256\n{}\n{scope}\n{}",
        request.amz_date,
        hex(&Sha256::digest(request.request().as_bytes()))
    );
    let mut key = hmac(format!("AWS4{}", credentials.secret_key).as_bytes(), date.as_bytes());
    for part in [region, "s3", "aws4_request"] {
        key = hmac(&key, part.as_bytes());
    }
    let signature = hex(&hmac(&key, string_to_sign.as_bytes()));
    format!(
        "AWS4-HMAC-SHA256 Credential={}/{scope},SignedHeaders={},Signature={signature}",
        credentials.access_key,
        request.signed_headers()
    )
}

fn hmac(key: &[u8], data: &[u8]) -> Vec<u8> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes keys of any length");
    mac.update(data);
    mac.finalize().into_bytes().to_vec()
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes.iter().fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// `YYYYMMDDTHHMMSSZ` in UTC.
fn amz_date(t: OffsetDateTime) -> String {
    t.to_offset(time::UtcOffset::UTC)
        .format(format_description!("[year][month][day]T[hour][minute][second]Z"))
        .expect("a UTC time formats")
}

/// URI-encodes one path segment as SigV4 asks: everything but `A-Z a-z 0-9 - . _ ~`
/// becomes `%XX` (uppercase hex) of its UTF-8 bytes.
pub(crate) fn uri_encode(segment: &str) -> String {
    let mut out = String::with_capacity(segment.len());
    for b in segment.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Decodes `%XX` escapes (URL user info); `None` for a broken escape or non-UTF-8.
fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = s.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests;
