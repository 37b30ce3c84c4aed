//! Where attachment bytes live: a folder on the filesystem (the default)
//! or an S3-compatible bucket (for many instances sharing one database).
//! Content-addressed: a file is stored once under its sha256, whatever
//! number of attachment rows name it.
//!
//! An upload is first spooled to a local file while its sha256 is
//! computed (memory stays bounded whatever its size); [`Blobs::put`] then
//! moves it into storage. Storing the same digest again replaces the copy
//! with the same bytes and makes it new, so a prune sweeping old orphans
//! never deletes bytes a row is about to name.

use std::ops::Range;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use axum::body::Body;
use tokio::io::{AsyncReadExt, AsyncSeekExt};

mod s3;

/// A stored file, as a listing sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlobInfo {
    /// Lowercase hex sha256.
    pub digest: String,
    pub size: u64,
    /// When it was last stored.
    pub modified: SystemTime,
}

/// What went wrong in the attachment storage.
#[derive(Debug, thiserror::Error)]
pub enum BlobError {
    /// The location is not one Verdict understands.
    #[error("{0}")]
    Config(String),
    #[error("no stored file {0}")]
    NotFound(String),
    #[error("attachment storage: {0}")]
    Io(String),
}

/// The attachment storage. Cheap to share behind an `Arc`.
pub struct Blobs {
    kind: Kind,
}

enum Kind {
    /// `root/ab/abcdef…` (the first two hex digits fan files out), uploads
    /// spooled in `root/.incoming`.
    Folder { root: PathBuf, spool: PathBuf },
    /// `prefix/ab/abcdef…` in a bucket, uploads spooled in the system's
    /// temporary folder.
    S3(s3::S3),
}

impl std::fmt::Debug for Blobs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.describe())
    }
}

/// A sha256 in lowercase hex, as every stored file is named.
pub fn is_digest(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

fn io_err(what: &str, path: &Path, e: std::io::Error) -> BlobError {
    BlobError::Io(format!("{what} {}: {e}", path.display()))
}

impl Blobs {
    /// Opens `file:///path` (or a plain path) or
    /// `s3://bucket/prefix?endpoint=…&region=…` (credentials from the
    /// standard AWS environment variables). A folder is created if missing.
    pub fn open(location: &str) -> Result<Blobs, BlobError> {
        if let Some(path) = location.strip_prefix("file://") {
            if path.is_empty() {
                return Err(BlobError::Config(
                    "a file:// location needs a path (file:///var/lib/verdict/attachments)".into(),
                ));
            }
            return Self::folder(path);
        }
        if location.starts_with("s3://") {
            return Ok(Blobs {
                kind: Kind::S3(s3::S3::open(location)?),
            });
        }
        if location.contains("://") {
            return Err(BlobError::Config(format!(
                "unsupported attachment storage {location:?}: use file:///path or s3://bucket/prefix?endpoint=…&region=…"
            )));
        }
        Self::folder(location)
    }

    /// A folder on the filesystem (created if missing).
    pub fn folder(dir: impl Into<PathBuf>) -> Result<Blobs, BlobError> {
        let root: PathBuf = dir.into();
        let spool = root.join(".incoming");
        std::fs::create_dir_all(&spool).map_err(|e| io_err("cannot create", &spool, e))?;
        Ok(Blobs {
            kind: Kind::Folder { root, spool },
        })
    }

    /// The location, for logs (no credentials).
    pub fn describe(&self) -> String {
        match &self.kind {
            Kind::Folder { root, .. } => format!("file://{}", root.display()),
            Kind::S3(s3) => s3.describe(),
        }
    }

    /// Checks the storage answers (a bucket can be unreachable, or missing,
    /// or refuse the credentials; a folder was checked by opening it), in
    /// bounded time, so a server does not start with storage it cannot use.
    pub async fn check(&self) -> Result<(), BlobError> {
        match &self.kind {
            Kind::Folder { .. } => Ok(()),
            Kind::S3(s3) => s3.check().await,
        }
    }

    /// The folder files are stored in, or `None` on a bucket (for
    /// `verdict admin backup`, which copies a folder's files beside the
    /// database copy).
    pub fn folder_root(&self) -> Option<&Path> {
        match &self.kind {
            Kind::Folder { root, .. } => Some(root),
            Kind::S3(_) => None,
        }
    }

    /// A folder where uploads are spooled before [`put`](Self::put): on
    /// the same filesystem as a storage folder, so putting is a rename.
    pub fn spool_dir(&self) -> &Path {
        match &self.kind {
            Kind::Folder { spool, .. } => spool,
            Kind::S3(s3) => s3.spool_dir(),
        }
    }

    fn file_path(root: &Path, digest: &str) -> Result<PathBuf, BlobError> {
        if !is_digest(digest) {
            return Err(BlobError::NotFound(digest.to_string()));
        }
        Ok(root.join(&digest[..2]).join(digest))
    }

    /// Moves a spooled file whose sha256 is `digest` into storage. The
    /// spooled file is gone afterwards (moved or copied).
    pub async fn put(&self, digest: &str, spooled: &Path, size: u64) -> Result<(), BlobError> {
        match &self.kind {
            Kind::Folder { root, .. } => {
                let target = Self::file_path(root, digest)?;
                if let Some(parent) = target.parent() {
                    tokio::fs::create_dir_all(parent)
                        .await
                        .map_err(|e| io_err("cannot create", parent, e))?;
                }
                // The spooled file was synced by whoever wrote it; the
                // rename replaces an older copy of the same bytes atomically
                // and makes it new (see the module's note on orphans).
                tokio::fs::rename(spooled, &target)
                    .await
                    .map_err(|e| io_err("cannot store", &target, e))?;
                if let Some(parent) = target.parent() {
                    sync_dir(parent).await;
                }
                Ok(())
            }
            Kind::S3(s3) => s3.put(digest, spooled, size).await,
        }
    }

    /// Whether the digest is stored.
    pub async fn exists(&self, digest: &str) -> Result<bool, BlobError> {
        match &self.kind {
            Kind::Folder { root, .. } => {
                let path = Self::file_path(root, digest)?;
                tokio::fs::try_exists(&path)
                    .await
                    .map_err(|e| io_err("cannot read", &path, e))
            }
            Kind::S3(s3) => s3.exists(digest).await,
        }
    }

    /// The bytes (all, or the half-open `range`) as a streaming body.
    pub async fn get(&self, digest: &str, range: Option<Range<u64>>) -> Result<Body, BlobError> {
        match &self.kind {
            Kind::Folder { root, .. } => {
                let path = Self::file_path(root, digest)?;
                let mut file = match tokio::fs::File::open(&path).await {
                    Ok(f) => f,
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                        return Err(BlobError::NotFound(digest.to_string()));
                    }
                    Err(e) => return Err(io_err("cannot open", &path, e)),
                };
                let stream = match range {
                    Some(r) => {
                        file.seek(std::io::SeekFrom::Start(r.start))
                            .await
                            .map_err(|e| io_err("cannot read", &path, e))?;
                        let part = file.take(r.end.saturating_sub(r.start));
                        Body::from_stream(tokio_util::io::ReaderStream::with_capacity(
                            part,
                            64 * 1024,
                        ))
                    }
                    None => Body::from_stream(tokio_util::io::ReaderStream::with_capacity(
                        file,
                        64 * 1024,
                    )),
                };
                Ok(stream)
            }
            Kind::S3(s3) => s3.get(digest, range).await,
        }
    }

    /// Deletes a stored file; deleting a missing one is not an error.
    pub async fn delete(&self, digest: &str) -> Result<(), BlobError> {
        match &self.kind {
            Kind::Folder { root, .. } => {
                let path = Self::file_path(root, digest)?;
                match tokio::fs::remove_file(&path).await {
                    Ok(()) => Ok(()),
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
                    Err(e) => Err(io_err("cannot delete", &path, e)),
                }
            }
            Kind::S3(s3) => s3.delete(digest).await,
        }
    }

    /// Every stored file (and nothing else: spooled uploads are not listed).
    pub async fn list(&self) -> Result<Vec<BlobInfo>, BlobError> {
        match &self.kind {
            Kind::Folder { root, .. } => {
                let root = root.clone();
                tokio::task::spawn_blocking(move || list_folder(&root))
                    .await
                    .map_err(|e| BlobError::Io(format!("listing stopped: {e}")))?
            }
            Kind::S3(s3) => s3.list().await,
        }
    }

    /// Spooled uploads older than `age` (left by a crash) are deleted;
    /// answers how many.
    pub async fn clean_spool(&self, age: Duration) -> Result<u64, BlobError> {
        let spool = self.spool_dir().to_path_buf();
        tokio::task::spawn_blocking(move || {
            let mut removed = 0;
            let entries = match std::fs::read_dir(&spool) {
                Ok(e) => e,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
                Err(e) => return Err(io_err("cannot list", &spool, e)),
            };
            for entry in entries.flatten() {
                let old = entry
                    .metadata()
                    .and_then(|m| m.modified())
                    .ok()
                    .and_then(|m| m.elapsed().ok())
                    .is_some_and(|elapsed| elapsed >= age);
                if old && std::fs::remove_file(entry.path()).is_ok() {
                    removed += 1;
                }
            }
            Ok(removed)
        })
        .await
        .map_err(|e| BlobError::Io(format!("cleaning stopped: {e}")))?
    }
}

fn list_folder(root: &Path) -> Result<Vec<BlobInfo>, BlobError> {
    let mut out = Vec::new();
    let dirs = std::fs::read_dir(root).map_err(|e| io_err("cannot list", root, e))?;
    for dir in dirs.flatten() {
        let name = dir.file_name();
        let fan = name.to_string_lossy();
        if fan.len() != 2 || !dir.path().is_dir() {
            continue;
        }
        let files =
            std::fs::read_dir(dir.path()).map_err(|e| io_err("cannot list", &dir.path(), e))?;
        for file in files.flatten() {
            let digest = file.file_name().to_string_lossy().into_owned();
            if !is_digest(&digest) || !digest.starts_with(fan.as_ref()) {
                continue;
            }
            let Ok(meta) = file.metadata() else { continue };
            out.push(BlobInfo {
                digest,
                size: meta.len(),
                modified: meta.modified().unwrap_or(SystemTime::UNIX_EPOCH),
            });
        }
    }
    out.sort_by(|a, b| a.digest.cmp(&b.digest));
    Ok(out)
}

/// Makes a rename in `dir` durable (best effort: not every platform can
/// open a directory).
async fn sync_dir(dir: &Path) {
    if let Ok(d) = tokio::fs::File::open(dir).await {
        let _ = d.sync_all().await;
    }
}
