//! Attachment bytes in an S3-compatible bucket, for many instances that
//! share one database: `s3://bucket/prefix?endpoint=…&region=…`, objects
//! at `prefix/ab/<sha256>`, through the object_store crate. Credentials
//! come from the standard AWS environment variables.
//!
//! Uploads are spooled in a local folder (`verdict-spool` in the system's
//! temporary folder) and sent from there: one PUT for a small file, a
//! multipart upload of [`PART_BYTES`] parts for a big one, so memory stays
//! bounded whatever the size.

use std::ops::Range;
use std::path::{Path as FsPath, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use axum::body::Body;
use futures_util::{StreamExt, TryStreamExt};
use object_store::aws::{AmazonS3, AmazonS3Builder, AmazonS3ConfigKey};
use object_store::path::Path;
use object_store::{
    ClientOptions, GetOptions, GetRange, MultipartUpload, ObjectStore, ObjectStoreExt, PutPayload,
};
use tokio::io::AsyncReadExt;

use super::{BlobError, BlobInfo, is_digest};

/// The size of one part of a multipart upload, and the largest file sent
/// in one PUT. At most two parts are in memory at once (one being sent,
/// the next being read); S3 wants parts of at least 5 MiB.
pub(super) const PART_BYTES: usize = 8 * 1024 * 1024;

/// How long the start-up check waits for the bucket to answer.
const CHECK_TIMEOUT: Duration = Duration::from_secs(15);

/// An `s3://` location, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Location {
    pub bucket: String,
    /// Without leading or trailing `/`; empty for the bucket's root.
    pub prefix: String,
    pub endpoint: Option<String>,
    pub region: Option<String>,
}

const FORM: &str = "s3://bucket/prefix?endpoint=…&region=…";

fn config(message: String) -> BlobError {
    BlobError::Config(message)
}

/// Parses `s3://bucket[/prefix][?endpoint=URL&region=NAME]`, refusing
/// anything else with a message naming what is wrong.
pub(super) fn parse(location: &str) -> Result<Location, BlobError> {
    let Some(rest) = location.strip_prefix("s3://") else {
        return Err(config(format!("not an s3:// location: use {FORM}")));
    };
    if rest.contains('#') {
        return Err(config(format!(
            "an s3:// location has no #fragment: use {FORM}"
        )));
    }
    let (path, query) = match rest.split_once('?') {
        Some((path, query)) => (path, Some(query)),
        None => (rest, None),
    };
    let (bucket, prefix) = path.split_once('/').unwrap_or((path, ""));
    if bucket.is_empty() {
        return Err(config(format!(
            "the s3:// location names no bucket: use {FORM}"
        )));
    }
    if !valid_bucket(bucket) {
        return Err(config(format!(
            "{bucket:?} is not a bucket name (3 to 63 lowercase letters, digits, dots and hyphens, \
             starting and ending with a letter or digit)"
        )));
    }
    let prefix = prefix.trim_end_matches('/');
    if !prefix.is_empty() {
        Path::parse(prefix).map_err(|e| config(format!("the prefix {prefix:?}: {e}")))?;
    }
    let mut endpoint = None;
    let mut region = None;
    for (key, value) in form_urlencoded::parse(query.unwrap_or("").as_bytes()) {
        let slot = match key.as_ref() {
            "endpoint" => &mut endpoint,
            "region" => &mut region,
            other => {
                return Err(config(format!(
                    "unknown parameter {other:?} in the s3:// location (known: endpoint, region)"
                )));
            }
        };
        if slot.is_some() {
            return Err(config(format!(
                "{key} is given twice in the s3:// location"
            )));
        }
        if value.trim().is_empty() {
            return Err(config(format!("{key} is empty in the s3:// location")));
        }
        *slot = Some(value.into_owned());
    }
    if let Some(e) = &endpoint {
        let host = e
            .strip_prefix("http://")
            .or_else(|| e.strip_prefix("https://"))
            .unwrap_or("");
        if host.is_empty() || host.starts_with('/') || e.chars().any(char::is_whitespace) {
            return Err(config(format!(
                "the endpoint {e:?} is not an http:// or https:// URL with a host"
            )));
        }
    }
    if let Some(r) = &region
        && !r
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return Err(config(format!("{r:?} is not a region name")));
    }
    Ok(Location {
        bucket: bucket.to_string(),
        prefix: prefix.to_string(),
        endpoint: endpoint.map(|e| e.trim_end_matches('/').to_string()),
        region,
    })
}

/// S3's rules for bucket names (the ones every S3-compatible server keeps).
fn valid_bucket(name: &str) -> bool {
    let bytes = name.as_bytes();
    (3..=63).contains(&bytes.len())
        && bytes
            .iter()
            .all(|b| matches!(b, b'a'..=b'z' | b'0'..=b'9' | b'.' | b'-'))
        && bytes[0].is_ascii_alphanumeric()
        && bytes[bytes.len() - 1].is_ascii_alphanumeric()
}

pub(super) struct S3 {
    store: Arc<AmazonS3>,
    location: Location,
    /// Where objects are: the prefix (or the bucket's root).
    root: Path,
    spool: PathBuf,
}

fn s3_err(what: &str, key: &Path, e: object_store::Error) -> BlobError {
    BlobError::Io(format!("cannot {what} {key}: {e}"))
}

impl S3 {
    pub(super) fn open(location: &str) -> Result<S3, BlobError> {
        let location = parse(location)?;
        // reqwest is built with rustls and no provider of its own: the
        // process needs one before the first HTTPS request (ring, as the
        // CLI uses; keeping one already installed).
        let _ = rustls::crypto::ring::default_provider().install_default();

        // Downloads stream to clients at their pace, so no limit on a whole
        // request; a stalled connection is caught by the read timeout.
        let client = ClientOptions::new()
            .with_timeout_disabled()
            .with_connect_timeout(Duration::from_secs(5))
            .with_read_timeout(Duration::from_secs(120));
        let mut builder = AmazonS3Builder::new().with_client_options(client);
        // The standard AWS variables, as `AmazonS3Builder::from_env` reads
        // them (credentials, region, and any client setting they tune).
        for (key, value) in std::env::vars() {
            if key.starts_with("AWS_")
                && let Ok(key) = key.to_ascii_lowercase().parse::<AmazonS3ConfigKey>()
            {
                builder = builder.with_config(key, value);
            }
        }
        builder = builder.with_bucket_name(&location.bucket);
        if let Some(region) = &location.region {
            builder = builder.with_region(region);
        }
        if let Some(endpoint) = &location.endpoint {
            // S3-compatible servers are addressed by path (bucket in the
            // path, not in the host name); plain HTTP when the endpoint says so.
            builder = builder
                .with_endpoint(endpoint)
                .with_virtual_hosted_style_request(false)
                .with_allow_http(endpoint.starts_with("http://"));
        }
        let store = builder
            .build()
            .map_err(|e| config(format!("cannot use the bucket: {e}")))?;

        let spool = std::env::temp_dir().join("verdict-spool");
        std::fs::create_dir_all(&spool)
            .map_err(|e| BlobError::Io(format!("cannot create {}: {e}", spool.display())))?;
        let root = if location.prefix.is_empty() {
            Path::default()
        } else {
            Path::parse(&location.prefix)
                .map_err(|e| config(format!("the prefix {:?}: {e}", location.prefix)))?
        };
        Ok(S3 {
            store: Arc::new(store),
            location,
            root,
            spool,
        })
    }

    pub(super) fn describe(&self) -> String {
        let Location {
            bucket,
            prefix,
            endpoint,
            region,
        } = &self.location;
        let mut out = format!("s3://{bucket}/{prefix}");
        let mut sep = '?';
        for (key, value) in [("endpoint", endpoint), ("region", region)] {
            if let Some(value) = value {
                out.push_str(&format!("{sep}{key}={value}"));
                sep = '&';
            }
        }
        out
    }

    pub(super) fn spool_dir(&self) -> &FsPath {
        &self.spool
    }

    /// Lists one level under the prefix: it needs the bucket to exist and
    /// the credentials to be accepted.
    pub(super) async fn check(&self) -> Result<(), BlobError> {
        let where_ = match &self.location.endpoint {
            Some(e) => format!("bucket {:?} at {e}", self.location.bucket),
            None => format!("bucket {:?}", self.location.bucket),
        };
        match tokio::time::timeout(
            CHECK_TIMEOUT,
            self.store.list_with_delimiter(Some(&self.root)),
        )
        .await
        {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(e)) => Err(BlobError::Io(format!("cannot list the {where_}: {e}"))),
            Err(_) => Err(BlobError::Io(format!(
                "the {where_} did not answer within {}s",
                CHECK_TIMEOUT.as_secs()
            ))),
        }
    }

    fn key(&self, digest: &str) -> Result<Path, BlobError> {
        if !is_digest(digest) {
            return Err(BlobError::NotFound(digest.to_string()));
        }
        Ok(self.root.clone().join(&digest[..2]).join(digest))
    }

    pub(super) async fn put(
        &self,
        digest: &str,
        spooled: &FsPath,
        size: u64,
    ) -> Result<(), BlobError> {
        let key = self.key(digest)?;
        let read_err =
            |e: std::io::Error| BlobError::Io(format!("cannot read {}: {e}", spooled.display()));
        let mut file = tokio::fs::File::open(spooled).await.map_err(read_err)?;
        if size <= PART_BYTES as u64 {
            let bytes = read_part(&mut file).await.map_err(read_err)?;
            self.store
                .put(&key, PutPayload::from(bytes))
                .await
                .map_err(|e| s3_err("store", &key, e))?;
        } else {
            let mut upload = self
                .store
                .put_multipart(&key)
                .await
                .map_err(|e| s3_err("start storing", &key, e))?;
            if let Err(e) = send_parts(upload.as_mut(), &mut file).await {
                // Parts already sent would otherwise be kept (and billed)
                // until the bucket's lifecycle rules clear them.
                let _ = upload.abort().await;
                return Err(match e {
                    PartError::Read(e) => read_err(e),
                    PartError::Send(e) => s3_err("store", &key, e),
                });
            }
            upload
                .complete()
                .await
                .map_err(|e| s3_err("finish storing", &key, e))?;
        }
        drop(file);
        // The bytes are stored: the spooled copy is not needed any more.
        let _ = tokio::fs::remove_file(spooled).await;
        Ok(())
    }

    pub(super) async fn exists(&self, digest: &str) -> Result<bool, BlobError> {
        let key = self.key(digest)?;
        match self.store.head(&key).await {
            Ok(_) => Ok(true),
            Err(object_store::Error::NotFound { .. }) => Ok(false),
            Err(e) => Err(s3_err("look up", &key, e)),
        }
    }

    pub(super) async fn get(
        &self,
        digest: &str,
        range: Option<Range<u64>>,
    ) -> Result<Body, BlobError> {
        let key = self.key(digest)?;
        let range = match range {
            // S3 refuses an empty range; there is nothing to send anyway
            // (but the object must exist, as a folder's file must).
            Some(r) if r.start >= r.end => {
                return if self.exists(digest).await? {
                    Ok(Body::empty())
                } else {
                    Err(BlobError::NotFound(digest.to_string()))
                };
            }
            Some(r) => Some(GetRange::Bounded(r)),
            None => None,
        };
        let options = GetOptions {
            range,
            ..GetOptions::default()
        };
        match self.store.get_opts(&key, options).await {
            Ok(result) => Ok(Body::from_stream(result.into_stream().map_err(move |e| {
                std::io::Error::other(format!("cannot read {key}: {e}"))
            }))),
            Err(object_store::Error::NotFound { .. }) => {
                Err(BlobError::NotFound(digest.to_string()))
            }
            Err(e) => Err(s3_err("read", &key, e)),
        }
    }

    pub(super) async fn delete(&self, digest: &str) -> Result<(), BlobError> {
        let key = self.key(digest)?;
        match self.store.delete(&key).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(s3_err("delete", &key, e)),
        }
    }

    /// Every object under the prefix named `ab/<digest>`; anything else
    /// in the bucket is not Verdict's and is left out.
    pub(super) async fn list(&self) -> Result<Vec<BlobInfo>, BlobError> {
        let root_parts = self.root.parts().count();
        let mut stream = self.store.list(Some(&self.root));
        let mut out = Vec::new();
        while let Some(meta) = stream.next().await {
            let meta = meta.map_err(|e| s3_err("list", &self.root, e))?;
            let parts: Vec<_> = meta.location.parts().skip(root_parts).collect();
            let [fan, name] = parts.as_slice() else {
                continue;
            };
            let digest = name.as_ref();
            if !is_digest(digest) || fan.as_ref() != &digest[..2] {
                continue;
            }
            out.push(BlobInfo {
                digest: digest.to_string(),
                size: meta.size,
                modified: SystemTime::from(meta.last_modified),
            });
        }
        out.sort_by(|a, b| a.digest.cmp(&b.digest));
        Ok(out)
    }
}

enum PartError {
    Read(std::io::Error),
    Send(object_store::Error),
}

/// Up to [`PART_BYTES`] from the file (fewer only at its end).
async fn read_part(file: &mut tokio::fs::File) -> std::io::Result<Vec<u8>> {
    let mut buf = Vec::with_capacity(PART_BYTES);
    (&mut *file)
        .take(PART_BYTES as u64)
        .read_to_end(&mut buf)
        .await?;
    Ok(buf)
}

/// Sends the file in parts, reading the next part while one is sent.
async fn send_parts(
    upload: &mut dyn MultipartUpload,
    file: &mut tokio::fs::File,
) -> Result<(), PartError> {
    let mut next = read_part(file).await.map_err(PartError::Read)?;
    while !next.is_empty() {
        let sending = upload.put_part(PutPayload::from(std::mem::take(&mut next)));
        let (sent, read) = tokio::join!(sending, read_part(file));
        sent.map_err(PartError::Send)?;
        next = read.map_err(PartError::Read)?;
    }
    Ok(())
}
