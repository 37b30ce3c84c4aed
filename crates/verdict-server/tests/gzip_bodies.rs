//! Request bodies may be gzip-compressed; limits apply after decoding
//! (API §7).

// Test helpers outside #[test] functions may unwrap too.
#![allow(clippy::unwrap_used)]

mod common;

use std::io::Write;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use common::TestApp;
use serde_json::json;
use verdict_server::Limits;

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(bytes).unwrap();
    gz.finish().unwrap()
}

fn post_gzip(path: &str, token: &str, body: Vec<u8>) -> Request<Body> {
    Request::post(path)
        .header("authorization", format!("Bearer {token}"))
        .header("content-type", "application/json")
        .header("content-encoding", "gzip")
        .body(Body::from(body))
        .unwrap()
}

#[tokio::test]
async fn a_gzipped_bulk_is_decoded_and_applied() {
    let app = TestApp::new().await;
    let (_, cases, run) = app.seeded(2).await;
    let body = json!({"results": [{"test_case_id": cases[0], "status": "passed"}]}).to_string();
    let r = app
        .send(post_gzip(
            &format!("/v1/runs/{run}/results/bulk"),
            &app.admin,
            gzip(body.as_bytes()),
        ))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(app.counts(&run).await["passed"], 1);
}

#[tokio::test]
async fn a_body_that_decompresses_past_the_limit_is_a_413_and_writes_nothing() {
    let app = TestApp::with_limits(Limits {
        max_body_bytes: 4096,
        ..Limits::default()
    })
    .await;
    let (_, cases, run) = app.seeded(1).await;
    let note = "x".repeat(60_000);
    let body = json!({"results": [{"test_case_id": cases[0], "status": "failed", "note": note}]})
        .to_string();
    let compressed = gzip(body.as_bytes());
    assert!(compressed.len() < 4096, "the compressed body itself fits");
    let r = app
        .send(post_gzip(
            &format!("/v1/runs/{run}/results/bulk"),
            &app.admin,
            compressed,
        ))
        .await;
    r.assert_error(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large");
    assert_eq!(app.counts(&run).await["not_tested"], 1);
}

#[tokio::test]
async fn broken_gzip_is_a_400_and_unknown_encodings_a_415() {
    let app = TestApp::new().await;
    let (_, _, run) = app.seeded(1).await;
    let r = app
        .send(post_gzip(
            &format!("/v1/runs/{run}/results/bulk"),
            &app.admin,
            b"\x1f\x8bnot really gzip".to_vec(),
        ))
        .await;
    r.assert_error(StatusCode::BAD_REQUEST, "malformed_request");
    let r = app
        .send(
            Request::post(format!("/v1/runs/{run}/results/bulk"))
                .header("authorization", format!("Bearer {}", app.admin))
                .header("content-type", "application/json")
                .header("content-encoding", "br")
                .body(Body::from("{}"))
                .unwrap(),
        )
        .await;
    r.assert_error(StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type");
}
