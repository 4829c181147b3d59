//! Photos checked by their content, and a photo body past the route's size limit.

use reqwest::Method;

use crate::common::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn photos_are_checked_by_content() {
    let srv = TestServer::start().await;
    let (me, _) = srv.citizen(&phone(130)).await;
    let gif = b"GIF89a\x40\x00\x40\x00\x80\x00\x00\xff\xff\xff\x00\x00\x00!\xf9\x04\x00\x00\x00\x00\x00,\x00\x00\x00\x00\x40\x00\x40\x00\x00\x02\x02D\x01\x00;".to_vec();

    // Not an image, whatever the label says.
    for (bytes, ct) in [
        (gif.clone(), "image/png"),
        (gif.clone(), "image/jpeg"),
        (b"hello, I am a photo".to_vec(), "image/jpeg"),
        (b"\x89PNG\r\n\x1a\n truncated".to_vec(), "image/png"),
    ] {
        let res = me
            .raw(Method::PUT, "/api/v1/me/photo", Some(ct), bytes)
            .await
            .expect("raw");
        let p = assert_problem(&res, 422, "validation_failed");
        assert_eq!(p.errors.len(), 1, "{p:?}");
        assert_eq!(p.errors[0].field, "photo");
    }
    // A GIF labelled as one is refused by its type.
    let res = me
        .raw(Method::PUT, "/api/v1/me/photo", Some("image/gif"), gif)
        .await
        .expect("raw");
    assert_problem(&res, 415, "unsupported_media_type");
    // Too small (SPEC: a face must be recognisable).
    let res = me
        .raw(Method::PUT, "/api/v1/me/photo", Some("image/png"), png_photo(32, 32))
        .await
        .expect("raw");
    let p = assert_problem(&res, 422, "validation_failed");
    assert_eq!(p.errors[0].field, "photo");
    // Both languages say what is wrong: the size in pixels, not the file's type or weight.
    assert_eq!(p.errors[0].code, "photo_dimensions");
    assert!(p.errors[0].message.contains("8000 pixels"), "{p:?}");
    assert!(p.errors[0].message_bn.contains("পিক্সেল"), "{p:?}");
    // A real PNG mislabelled as JPEG is recognised by its content.
    let ok = me
        .put_photo(png_photo(64, 64), "image/jpeg")
        .await
        .expect("a PNG is a PNG");
    assert_eq!(ok["content_type"], "image/png");

    // Over 2 MiB: a PNG signature followed by padding, within the route's body limit.
    let mut big = b"\x89PNG\r\n\x1a\n".to_vec();
    big.resize(2 * 1024 * 1024 + 1024, 0);
    let res = me
        .raw(Method::PUT, "/api/v1/me/photo", Some("image/png"), big)
        .await
        .expect("raw");
    assert_problem(&res, 413, "payload_too_large");
    srv.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn photo_body_past_the_route_limit_gets_413_problem_json() {
    let srv = TestServer::start().await;
    let (me, _) = srv.citizen(&phone(131)).await;
    let mut huge = b"\x89PNG\r\n\x1a\n".to_vec();
    huge.resize(2 * 1024 * 1024 + 64 * 1024 + 1, 0);
    let res = me
        .raw(Method::PUT, "/api/v1/me/photo", Some("image/png"), huge)
        .await
        .expect("raw");
    assert_problem(&res, 413, "payload_too_large");
    srv.finish().await;
}
