//! Attachment storage through its API, on both kinds: a folder (always)
//! and an S3-compatible bucket (with `VERDICT_TEST_S3_URL`, as `.ci/run`
//! sets it with a local S3 server; skipped otherwise unless
//! `VERDICT_REQUIRE_S3=1`). Small files go in one PUT, big ones in parts;
//! ranges, listing, replacing, deleting; and `s3://` locations that are
//! wrong are refused with a message saying why.

use std::time::{Duration, Instant};

use http_body_util::BodyExt;
use object_store::ObjectStoreExt;
use sha2::{Digest, Sha256};
use verdict_server::blobs::{BlobError, Blobs};

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

/// The bucket's URL with a prefix of the test's own, so tests sharing the
/// bucket never see each other's objects.
fn with_prefix(url: &str, prefix: &str) -> String {
    let (path, query) = url.split_once('?').unwrap_or((url, ""));
    let unique = format!(
        "{prefix}-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    );
    let path = path.trim_end_matches('/');
    if query.is_empty() {
        format!("{path}/tests/{unique}")
    } else {
        format!("{path}/tests/{unique}?{query}")
    }
}

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Bytes that differ along the file (so a part out of place shows).
fn content(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u32).wrapping_mul(2_654_435_761).to_le_bytes()[1] ^ seed)
        .collect()
}

/// Spools `bytes` where the storage wants them and puts them; answers the
/// digest.
async fn put(blobs: &Blobs, bytes: &[u8]) -> String {
    let spooled = tempfile::NamedTempFile::new_in(blobs.spool_dir()).unwrap();
    std::fs::write(spooled.path(), bytes).unwrap();
    let digest = sha256_hex(bytes);
    let path = spooled.into_temp_path();
    blobs
        .put(&digest, &path, bytes.len() as u64)
        .await
        .expect("put");
    assert!(!path.exists(), "the spooled file is gone after put");
    digest
}

async fn read(blobs: &Blobs, digest: &str, range: Option<std::ops::Range<u64>>) -> Vec<u8> {
    let body = blobs.get(digest, range).await.expect("get");
    body.collect().await.expect("body").to_bytes().to_vec()
}

/// Everything a storage must do, whatever its kind.
async fn behaves_as_storage(blobs: &Blobs) {
    assert!(
        blobs.list().await.unwrap().is_empty(),
        "a new storage is empty"
    );

    let small = content(1000, 1);
    // Three parts on S3: two full ones and a short last one.
    let big = content(2 * 8 * 1024 * 1024 + 12_345, 2);
    let empty = Vec::new();
    let d_small = put(blobs, &small).await;
    let d_big = put(blobs, &big).await;
    let d_empty = put(blobs, &empty).await;

    for (digest, bytes) in [(&d_small, &small), (&d_big, &big), (&d_empty, &empty)] {
        assert!(blobs.exists(digest).await.unwrap());
        let got = read(blobs, digest, None).await;
        assert_eq!(got.len(), bytes.len());
        assert_eq!(sha256_hex(&got), *digest, "the bytes come back unchanged");
    }
    // Ranges, across a part boundary too.
    let cut = 8 * 1024 * 1024 - 10;
    assert_eq!(
        read(blobs, &d_big, Some(cut..cut + 20)).await,
        &big[cut as usize..cut as usize + 20]
    );
    assert_eq!(read(blobs, &d_small, Some(0..1)).await, &small[..1]);
    assert_eq!(read(blobs, &d_small, Some(999..1000)).await, &small[999..]);
    assert!(read(blobs, &d_small, Some(5..5)).await.is_empty());

    let mut listed: Vec<(String, u64)> = blobs
        .list()
        .await
        .unwrap()
        .into_iter()
        .map(|b| (b.digest, b.size))
        .collect();
    listed.sort();
    let mut expected = vec![
        (d_small.clone(), small.len() as u64),
        (d_big.clone(), big.len() as u64),
        (d_empty.clone(), 0),
    ];
    expected.sort();
    assert_eq!(listed, expected);

    // Storing the same bytes again replaces the copy and makes it new.
    let before = blobs.list().await.unwrap();
    let old = before
        .iter()
        .find(|b| b.digest == d_small)
        .unwrap()
        .modified;
    tokio::time::sleep(Duration::from_millis(1100)).await;
    put(blobs, &small).await;
    let after = blobs.list().await.unwrap();
    assert_eq!(after.len(), 3, "still stored once");
    let new = after.iter().find(|b| b.digest == d_small).unwrap().modified;
    assert!(new > old, "the copy is new: {old:?} then {new:?}");

    // Unknown and malformed digests are not found, never an error.
    let unknown = sha256_hex(b"never stored");
    assert!(!blobs.exists(&unknown).await.unwrap());
    assert!(matches!(
        blobs.get(&unknown, None).await,
        Err(BlobError::NotFound(_))
    ));
    assert!(matches!(
        blobs.get(&unknown, Some(0..0)).await,
        Err(BlobError::NotFound(_))
    ));
    for bad in ["../etc/passwd", "ABCDEF", "", &d_small.to_uppercase()] {
        assert!(
            matches!(blobs.get(bad, None).await, Err(BlobError::NotFound(_))),
            "{bad:?}"
        );
    }

    blobs.delete(&d_big).await.unwrap();
    assert!(!blobs.exists(&d_big).await.unwrap());
    blobs
        .delete(&d_big)
        .await
        .expect("deleting a missing file is fine");
    let left: Vec<String> = blobs
        .list()
        .await
        .unwrap()
        .into_iter()
        .map(|b| b.digest)
        .collect();
    assert_eq!(left.len(), 2);
    assert!(!left.contains(&d_big));
    blobs.check().await.expect("the storage answers");
}

#[tokio::test]
async fn a_folder_stores_reads_lists_and_deletes() {
    let dir = tempfile::tempdir().unwrap();
    let blobs = Blobs::open(&format!("file://{}", dir.path().display())).unwrap();
    behaves_as_storage(&blobs).await;
}

#[tokio::test]
async fn a_bucket_stores_reads_lists_and_deletes() {
    let Some(url) = s3_url("a_bucket_stores_reads_lists_and_deletes") else {
        return;
    };
    let blobs = Blobs::open(&with_prefix(&url, "storage")).expect("open");
    blobs.check().await.expect("the bucket answers");
    assert!(
        blobs.spool_dir().ends_with("verdict-spool") && blobs.spool_dir().is_dir(),
        "{}",
        blobs.spool_dir().display()
    );
    behaves_as_storage(&blobs).await;
}

/// Objects in the bucket that are not `ab/<digest>` under the prefix (or
/// are under another prefix) are not listed: they are not Verdict's.
#[tokio::test]
async fn a_bucket_lists_only_its_own_objects() {
    let Some(url) = s3_url("a_bucket_lists_only_its_own_objects") else {
        return;
    };
    let location = with_prefix(&url, "foreign");
    let blobs = Blobs::open(&location).unwrap();
    let ours = put(&blobs, b"ours").await;

    // The same bucket through object_store directly.
    let (path, query) = location.split_once('?').unwrap();
    let (bucket, prefix) = path.trim_start_matches("s3://").split_once('/').unwrap();
    let endpoint = query
        .split('&')
        .find_map(|kv| kv.strip_prefix("endpoint="))
        .unwrap();
    let raw = object_store::aws::AmazonS3Builder::from_env()
        .with_bucket_name(bucket)
        .with_endpoint(endpoint)
        .with_allow_http(true)
        .build()
        .unwrap();
    let digest = sha256_hex(b"foreign");
    for key in [
        format!("{prefix}/notes.txt"),
        format!("{prefix}/{}/{digest}", &digest[2..4]),
        format!("{prefix}/{}/{digest}.tmp", &digest[..2]),
        format!("{prefix}/{}/x/{digest}", &digest[..2]),
        format!("{prefix}-other/{}/{digest}", &digest[..2]),
    ] {
        raw.put(&key.as_str().into(), "x".into()).await.unwrap();
    }
    let listed: Vec<String> = blobs
        .list()
        .await
        .unwrap()
        .into_iter()
        .map(|b| b.digest)
        .collect();
    assert_eq!(listed, vec![ours]);
}

#[test]
fn wrong_s3_locations_are_refused_with_a_reason() {
    for (location, says) in [
        ("s3://", "names no bucket"),
        ("s3:///prefix", "names no bucket"),
        ("s3://?region=us-east-1", "names no bucket"),
        ("s3://Bucket_Name/x", "not a bucket name"),
        ("s3://ab", "not a bucket name"),
        ("s3://key:secret@bucket", "not a bucket name"),
        ("s3://bucket/a//b", "prefix"),
        ("s3://bucket/a/../b", "prefix"),
        ("s3://bucket?color=blue", "unknown parameter \"color\""),
        (
            "s3://bucket?Endpoint=http://x",
            "unknown parameter \"Endpoint\"",
        ),
        ("s3://bucket?region=a&region=b", "region is given twice"),
        ("s3://bucket?endpoint=", "endpoint is empty"),
        (
            "s3://bucket?endpoint=ftp://host",
            "not an http:// or https:// URL",
        ),
        (
            "s3://bucket?endpoint=http://",
            "not an http:// or https:// URL",
        ),
        ("s3://bucket?region=us east", "not a region name"),
        ("s3://bucket#top", "fragment"),
    ] {
        match Blobs::open(location) {
            Err(BlobError::Config(message)) => {
                assert!(message.contains(says), "{location}: {message}")
            }
            other => panic!("{location}: {other:?}"),
        }
    }
}

#[test]
fn an_s3_location_is_described_without_credentials() {
    let blobs = Blobs::open(
        "s3://bucket/some/prefix/?endpoint=http%3A%2F%2F127.0.0.1%3A9%2F&region=eu-west-1",
    )
    .unwrap();
    assert_eq!(
        blobs.describe(),
        "s3://bucket/some/prefix?endpoint=http://127.0.0.1:9&region=eu-west-1"
    );
}

/// Nothing listens on the endpoint: the start-up check fails, quickly and
/// saying where it looked, instead of the server waiting forever.
#[tokio::test]
async fn an_unreachable_bucket_fails_the_check_in_bounded_time() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let blobs = Blobs::open(&format!(
        "s3://nowhere?endpoint=http://127.0.0.1:{port}&region=us-east-1"
    ))
    .unwrap();
    let started = Instant::now();
    let err = blobs.check().await.expect_err("nothing answers");
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "{:?}",
        started.elapsed()
    );
    assert!(
        err.to_string()
            .contains(&format!("\"nowhere\" at http://127.0.0.1:{port}")),
        "{err}"
    );
}

/// A bucket that does not exist fails the check too.
#[tokio::test]
async fn a_missing_bucket_fails_the_check() {
    let Some(url) = s3_url("a_missing_bucket_fails_the_check") else {
        return;
    };
    let query = url.split_once('?').map(|(_, q)| q).unwrap_or("");
    let blobs = Blobs::open(&format!("s3://no-such-bucket-here?{query}")).unwrap();
    let err = blobs.check().await.expect_err("no bucket");
    assert!(err.to_string().contains("no-such-bucket-here"), "{err}");
}
