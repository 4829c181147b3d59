//! Tests of the S3 object store's request signing and parsing.

use super::*;

const EMPTY_SHA256: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

fn example_credentials() -> Credentials {
    Credentials {
        access_key: "AKIAIOSFODNN7EXAMPLE".into(),
        secret_key: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY".into(),
    }
}

/// AWS's published "Example: GET Object" (Signature Version 4, header authentication).
#[test]
fn signs_the_aws_get_object_example() {
    let request = Canonical {
        method: "GET",
        uri: "/test.txt",
        host: "examplebucket.s3.amazonaws.com",
        payload_hash: EMPTY_SHA256,
        amz_date: "20130524T000000Z",
        extra_headers: &[("range", "bytes=0-9")],
    };
    assert_eq!(
        request.request(),
        "GET\n/test.txt\n\n\
         host:examplebucket.s3.amazonaws.com\n\
         range:bytes=0-9\n\
         x-amz-content-sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\n\
         x-amz-date:20130524T000000Z\n\n\
         host;range;x-amz-content-sha256;x-amz-date\n\
         e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    );
    assert_eq!(
        authorization(&example_credentials(), "us-east-1", &request),
        "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,\
         SignedHeaders=host;range;x-amz-content-sha256;x-amz-date,\
         Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41"
    );
}

/// AWS's published "Example: PUT Object": a payload hash and a key that needs encoding.
#[test]
fn signs_the_aws_put_object_example() {
    let payload_hash = hex(&Sha256::digest(b"Welcome to Amazon S3."));
    assert_eq!(
        payload_hash,
        "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072"
    );
    let uri = format!("/{}", uri_encode("test$file.text"));
    assert_eq!(uri, "/test%24file.text");
    let request = Canonical {
        method: "PUT",
        uri: &uri,
        host: "examplebucket.s3.amazonaws.com",
        payload_hash: &payload_hash,
        amz_date: "20130524T000000Z",
        extra_headers: &[
            ("date", "Fri, 24 May 2013 00:00:00 GMT"),
            ("x-amz-storage-class", "REDUCED_REDUNDANCY"),
        ],
    };
    let auth = authorization(&example_credentials(), "us-east-1", &request);
    assert!(
        auth.ends_with("Signature=98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd"),
        "{auth}"
    );
}

#[test]
fn encodes_key_segments_the_aws_way() {
    assert_eq!(uri_encode("a-b_c.d~e"), "a-b_c.d~e");
    assert_eq!(uri_encode("a b+c*%"), "a%20b%2Bc%2A%25");
    assert_eq!(uri_encode("ছবি"), "%E0%A6%9B%E0%A6%AC%E0%A6%BF");
    let store = S3ObjectStore::from_url("s3://ak:sk@127.0.0.1:9000/photos?scheme=http").unwrap();
    assert_eq!(
        store.object_path("photos/u 1/a.png").unwrap(),
        "/photos/photos/u%201/a.png"
    );
    for bad in ["", "/a", "a//b", "a/../b", "./a", "a/"] {
        assert!(store.object_path(bad).is_err(), "{bad:?} is refused");
    }
}

#[test]
fn formats_the_amz_date() {
    let t = time::macros::datetime!(2013-05-24 06:00:00 +06:00);
    assert_eq!(amz_date(t), "20130524T000000Z");
}

#[test]
fn reads_the_url() {
    let s =
        S3ObjectStore::from_url("s3://AKID:se%2Fcret@minio.local:9000/my-bucket?region=eu-west-1&scheme=http").unwrap();
    assert_eq!(s.host, "minio.local:9000");
    assert_eq!(s.bucket, "my-bucket");
    assert_eq!(s.region, "eu-west-1");
    assert_eq!(s.endpoint.as_str(), "http://minio.local:9000/");
    assert_eq!(s.credentials.access_key, "AKID");
    assert_eq!(s.credentials.secret_key, "se/cret");
    let debug = format!("{s:?}");
    assert!(!debug.contains("se/cret") && !debug.contains("se%2Fcret"), "{debug}");
    assert!(debug.contains("[redacted]"));

    let s = S3ObjectStore::from_url("s3://a:b@localhost/bkt?scheme=http").unwrap();
    assert_eq!((s.host.as_str(), s.region.as_str()), ("localhost", "us-east-1"));

    for bad in [
        "http://a:b@h/bucket",
        "s3://a:b@h/",
        "s3://a:b@h/Bad_Bucket?scheme=http",
        "s3://a:b@h/bucket?scheme=ftp",
        "s3://a:b@h/bucket?colour=red&scheme=http",
        "s3://a@h/bucket?scheme=http",
        "s3://a:b@h/bucket?ca_file=",
        "s3://a:b@h/bucket?scheme=http&ca_file=/etc/ssl/certs/ca-certificates.crt",
    ] {
        let err = S3ObjectStore::from_url(bad).expect_err(bad).to_string();
        assert!(!err.contains(":b@"), "the error does not quote the URL: {err}");
    }
}

#[test]
fn https_is_the_default() {
    let s = S3ObjectStore::from_url("s3://a:b@s3.eu-west-1.amazonaws.com/bkt?region=eu-west-1").unwrap();
    assert_eq!(s.endpoint.as_str(), "https://s3.eu-west-1.amazonaws.com/");
    assert_eq!(s.host, "s3.eu-west-1.amazonaws.com");
    let s = S3ObjectStore::from_url("s3://a:b@minio.local:9443/bkt?scheme=https").unwrap();
    assert_eq!(s.endpoint.as_str(), "https://minio.local:9443/");
    assert_eq!(s.host, "minio.local:9443");
}

#[test]
fn a_ca_file_must_hold_pem_certificates() {
    let dir = std::env::temp_dir().join(format!("mpass-s3-ca-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let missing = dir.join("missing.pem");
    let garbage = dir.join("garbage.pem");
    std::fs::write(&garbage, "not a certificate\n").unwrap();
    for (path, why) in [(&missing, "missing.pem"), (&garbage, "no PEM certificate")] {
        let url = format!("s3://a:secret@h/bucket?ca_file={}", path.display());
        let err = S3ObjectStore::from_url(&url).expect_err("refused").to_string();
        assert!(err.contains("ca_file") && err.contains(why), "{err}");
        assert!(!err.contains("secret"), "{err}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn reads_error_codes_and_classifies_them() {
    let e = failure("GET Object", "k", StatusCode::FORBIDDEN, "SignatureDoesNotMatch");
    assert!(matches!(e, StoreError::Backend(ref m) if m.contains("SignatureDoesNotMatch")));
    let e = failure("PUT Object", "k", StatusCode::SERVICE_UNAVAILABLE, "SlowDown");
    assert!(matches!(e, StoreError::Unavailable(_)));
}
