//! Attachments on S3-compatible storage shared by several instances: two
//! `verdict serve` processes on one PostgreSQL database and one bucket.
//! A file uploaded through one is listed and downloaded (the same sha256)
//! through the other; deleted through one, it is gone from both; and
//! `verdict admin prune` frees the bytes no row names, keeping the rest.
//! Also: a server refuses to start on a bucket it cannot reach, in bounded
//! time, saying why.
//!
//! Needs `VERDICT_TEST_S3_URL` (`.ci/s3.sh` starts a local S3 server) and,
//! for the shared test, `VERDICT_TEST_POSTGRES_URL`; skipped without them,
//! unless `VERDICT_REQUIRE_S3=1`.

use crate::common;

use std::process::Command;
use std::time::{Duration, Instant};

use common::Server;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use verdict_postgres::testing::{SKIP_MESSAGE, TestDatabase};
use verdict_server::blobs::Blobs;

const TOKEN: &str = "vdt_s3_shared_admin_token_0123456789ab";

/// The test bucket's URL, or `None` (the test says it was skipped).
fn s3_url(test: &str) -> Option<String> {
    match std::env::var("VERDICT_TEST_S3_URL") {
        Ok(url) if !url.is_empty() => Some(url),
        _ => {
            let why = format!(
                "{test}: VERDICT_TEST_S3_URL is not set (start a local S3 server with `. .ci/s3.sh`)"
            );
            if std::env::var("VERDICT_REQUIRE_S3").as_deref() == Ok("1") {
                panic!("VERDICT_REQUIRE_S3=1 but {why}");
            }
            println!("SKIPPED: {why}");
            None
        }
    }
}

/// The bucket's URL with a prefix of this test's own.
fn with_prefix(url: &str, prefix: &str) -> String {
    let (path, query) = url.split_once('?').unwrap_or((url, ""));
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    let path = format!(
        "{}/tests/{prefix}-{}-{nanos}",
        path.trim_end_matches('/'),
        std::process::id()
    );
    if query.is_empty() {
        path
    } else {
        format!("{path}?{query}")
    }
}

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

async fn json_call(
    http: &reqwest::Client,
    method: reqwest::Method,
    url: String,
    body: Option<Value>,
) -> (u16, Value) {
    let mut req = http.request(method, url).bearer_auth(TOKEN);
    if let Some(b) = body {
        req = req.json(&b);
    }
    let res = req.send().await.expect("request");
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

/// Uploads `bytes` as the raw body; answers the attachment.
async fn upload(
    http: &reqwest::Client,
    base: &str,
    path: &str,
    name: &str,
    content_type: &str,
    bytes: Vec<u8>,
) -> Value {
    let res = http
        .post(format!("{base}{path}"))
        .query(&[("name", name)])
        .bearer_auth(TOKEN)
        .header("Content-Type", content_type)
        .body(bytes)
        .send()
        .await
        .expect("upload");
    let status = res.status().as_u16();
    let body: Value = res.json().await.unwrap_or(Value::Null);
    assert_eq!(status, 201, "{body}");
    body["data"][0].clone()
}

async fn download(http: &reqwest::Client, base: &str, aid: &str) -> (u16, Vec<u8>) {
    let res = http
        .get(format!("{base}/v1/attachments/{aid}/content"))
        .bearer_auth(TOKEN)
        .send()
        .await
        .expect("download");
    let status = res.status().as_u16();
    (status, res.bytes().await.expect("bytes").to_vec())
}

async fn stored(location: &str) -> Vec<String> {
    Blobs::open(location)
        .expect("open the bucket")
        .list()
        .await
        .expect("list the bucket")
        .into_iter()
        .map(|b| b.digest)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_servers_share_attachments_on_one_bucket_and_prune_frees_them() {
    let Some(s3) = s3_url("two_servers_share_attachments_on_one_bucket_and_prune_frees_them")
    else {
        return;
    };
    let Some(db) = TestDatabase::from_env().await else {
        println!("{SKIP_MESSAGE}");
        return;
    };
    let location = with_prefix(&s3, "shared");
    let a = Server::start_url_args(db.url(), Some(TOKEN), &["--attachments", &location]);
    let b = Server::start_url_args(db.url(), Some(TOKEN), &["--attachments", &location]);
    let http = common::http();
    use reqwest::Method;

    let (s, p) = json_call(
        &http,
        Method::POST,
        format!("{}/v1/projects", a.url),
        Some(json!({"name": "shared bucket"})),
    )
    .await;
    assert_eq!(s, 201, "{p}");
    let pid = p["data"]["id"].as_str().expect("pid").to_string();
    let (s, c) = json_call(
        &http,
        Method::POST,
        format!("{}/v1/projects/{pid}/cases/bulk", a.url),
        Some(json!({"cases": [{"title": "checkout", "key": "shop.checkout"}]})),
    )
    .await;
    assert_eq!(s, 200, "{c}");
    let (s, r) = json_call(
        &http,
        Method::POST,
        format!("{}/v1/projects/{pid}/runs", a.url),
        Some(json!({"name": "nightly"})),
    )
    .await;
    assert_eq!(s, 201, "{r}");
    let rid = r["data"]["id"].as_str().expect("rid").to_string();
    let (s, list) = json_call(
        &http,
        Method::GET,
        format!("{}/v1/runs/{rid}/results", b.url),
        None,
    )
    .await;
    assert_eq!(s, 200, "{list}");
    let res = list["data"][0]["id"].as_str().expect("result").to_string();
    let path = format!("/v1/runs/{rid}/results/{res}/attachments");

    // A log big enough to go up in parts, and a screenshot.
    let log: Vec<u8> = (0..9 * 1024 * 1024 + 321)
        .map(|i: usize| b"verdict log line\n"[i % 17])
        .collect();
    let shot: Vec<u8> = b"\x89PNG\r\n\x1a\n not really a picture".to_vec();
    let log_att = upload(&http, &a.url, &path, "build.log", "text/plain", log.clone()).await;
    let shot_att = upload(&http, &a.url, &path, "shot.png", "image/png", shot.clone()).await;
    assert_eq!(log_att["sha256"], sha256_hex(&log).as_str(), "{log_att}");
    assert_eq!(log_att["size"], log.len() as u64);
    let log_id = log_att["id"].as_str().expect("id").to_string();
    let shot_id = shot_att["id"].as_str().expect("id").to_string();

    // The other server lists both and serves the same bytes.
    let (s, listed) = json_call(&http, Method::GET, format!("{}{path}", b.url), None).await;
    assert_eq!(s, 200, "{listed}");
    let mut names: Vec<&str> = listed["data"]
        .as_array()
        .expect("list")
        .iter()
        .map(|a| a["name"].as_str().expect("name"))
        .collect();
    names.sort();
    assert_eq!(names, ["build.log", "shot.png"]);
    let (s, got) = download(&http, &b.url, &log_id).await;
    assert_eq!(s, 200);
    assert_eq!(sha256_hex(&got), sha256_hex(&log), "the same bytes");
    let (s, got) = download(&http, &b.url, &shot_id).await;
    assert_eq!(s, 200);
    assert_eq!(got, shot);
    // A range, across the first part's end, through the other server.
    let ranged = http
        .get(format!("{}/v1/attachments/{log_id}/content", b.url))
        .bearer_auth(TOKEN)
        .header("Range", "bytes=8388600-8388615")
        .send()
        .await
        .expect("range");
    assert_eq!(ranged.status().as_u16(), 206);
    assert_eq!(
        ranged.bytes().await.expect("bytes").as_ref(),
        &log[8_388_600..8_388_616]
    );
    let mut in_bucket = stored(&location).await;
    in_bucket.sort();
    let mut expected = vec![sha256_hex(&log), sha256_hex(&shot)];
    expected.sort();
    assert_eq!(in_bucket, expected, "each file stored once, by its sha256");

    // Deleted through one server: gone through the other.
    let (s, body) = json_call(
        &http,
        Method::DELETE,
        format!("{}/v1/attachments/{log_id}", a.url),
        None,
    )
    .await;
    assert_eq!(s, 204, "{body}");
    let (s, _) = download(&http, &b.url, &log_id).await;
    assert_eq!(s, 404);
    let (s, _) = json_call(
        &http,
        Method::GET,
        format!("{}/v1/attachments/{log_id}", b.url),
        None,
    )
    .await;
    assert_eq!(s, 404);

    // Bytes left by a crash between storing and committing: no row names them.
    let orphan = b"stored, then the server died".to_vec();
    {
        let blobs = Blobs::open(&location).expect("open");
        let spooled = tempfile::NamedTempFile::new_in(blobs.spool_dir()).expect("spool");
        std::fs::write(spooled.path(), &orphan).expect("write");
        blobs
            .put(&sha256_hex(&orphan), spooled.path(), orphan.len() as u64)
            .await
            .expect("put");
    }

    // A prune frees every file no row names, and keeps the screenshot.
    let out = Command::new(env!("CARGO_BIN_EXE_verdict"))
        .args([
            "admin",
            "prune",
            "--older-than",
            "90d",
            "--orphan-grace",
            "0s",
            "--database-url",
            db.url(),
            "--attachments",
            &location,
        ])
        .env_remove("VERDICT_DATABASE_URL")
        .output()
        .expect("run verdict admin prune");
    assert!(
        out.status.success(),
        "prune: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(stored(&location).await, vec![sha256_hex(&shot)]);
    let (s, got) = download(&http, &a.url, &shot_id).await;
    assert_eq!(s, 200);
    assert_eq!(got, shot);

    drop((a, b));
    db.drop_database().await.expect("drop the test database");
}

/// Nothing answers at the endpoint: `verdict serve` stops with a message
/// naming the bucket, well before anyone would give up waiting.
#[test]
fn a_server_does_not_start_on_a_bucket_it_cannot_reach() {
    let dir = tempfile::tempdir().expect("tempdir");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let location = format!("s3://nowhere/x?endpoint=http://127.0.0.1:{port}&region=us-east-1");
    let started = Instant::now();
    let out = Command::new(env!("CARGO_BIN_EXE_verdict"))
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--attachments",
            &location,
        ])
        .env(
            "VERDICT_DATABASE_URL",
            format!("sqlite://{}", dir.path().join("v.db").display()),
        )
        .env_remove("VERDICT_ADMIN_TOKEN")
        .output()
        .expect("run verdict serve");
    assert!(!out.status.success());
    assert!(
        started.elapsed() < Duration::from_secs(40),
        "{:?}",
        started.elapsed()
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("\"nowhere\"") && stderr.contains(&format!("127.0.0.1:{port}")),
        "{stderr}"
    );
}
