//! Attachment files: copied from the source's storage to the target's
//! when they are not the same storage, each checked against its sha256.

use std::collections::BTreeSet;
use std::path::PathBuf;

use http_body_util::BodyExt;
use sha2::{Digest, Sha256};
use tokio::io::AsyncWriteExt;
use verdict_server::blobs::{BlobError, Blobs};

/// What the copy of the files did.
#[derive(Debug, Default)]
pub struct FilesCopied {
    /// Files the target already had.
    pub present: u64,
    pub copied: u64,
    pub bytes: u64,
    /// Digests rows name that the source storage does not hold.
    pub missing: Vec<String>,
}

/// Copies every file in `digests` that `to` lacks from `from`.
pub async fn copy(
    from: &Blobs,
    to: &Blobs,
    digests: &BTreeSet<String>,
    mut progress: impl FnMut(u64),
) -> Result<FilesCopied, String> {
    let mut done = FilesCopied::default();
    for (n, digest) in digests.iter().enumerate() {
        progress(n as u64);
        let stored = to
            .exists(digest)
            .await
            .map_err(|e| format!("target attachment storage: {e}"))?;
        if stored {
            done.present += 1;
            continue;
        }
        match copy_one(from, to, digest).await {
            Ok(size) => {
                done.copied += 1;
                done.bytes += size;
            }
            Err(CopyError::Missing) => done.missing.push(digest.clone()),
            Err(CopyError::Other(e)) => return Err(e),
        }
    }
    progress(digests.len() as u64);
    Ok(done)
}

enum CopyError {
    Missing,
    Other(String),
}

/// Streams one file into the target's spool (never whole in memory),
/// checks its digest, and stores it.
async fn copy_one(from: &Blobs, to: &Blobs, digest: &str) -> Result<u64, CopyError> {
    let mut body = match from.get(digest, None).await {
        Ok(b) => b,
        Err(BlobError::NotFound(_)) => return Err(CopyError::Missing),
        Err(e) => return Err(CopyError::Other(format!("source attachment storage: {e}"))),
    };
    let spooled = spool_path(to, digest);
    let other = |what: &str, e: &dyn std::fmt::Display| {
        CopyError::Other(format!("{what} {}: {e}", spooled.display()))
    };
    let mut file = tokio::fs::File::create(&spooled)
        .await
        .map_err(|e| other("cannot create", &e))?;
    let mut hasher = Sha256::new();
    let mut size = 0u64;
    let result = async {
        while let Some(frame) = body.frame().await {
            let frame = frame
                .map_err(|e| CopyError::Other(format!("reading the stored file {digest}: {e}")))?;
            if let Ok(data) = frame.into_data() {
                hasher.update(&data);
                size += data.len() as u64;
                file.write_all(&data)
                    .await
                    .map_err(|e| other("cannot write", &e))?;
            }
        }
        file.sync_all()
            .await
            .map_err(|e| other("cannot sync", &e))?;
        let actual: String = hasher
            .finalize()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        if actual != digest {
            return Err(CopyError::Other(format!(
                "the source's stored file {digest} has the sha256 {actual}: it is damaged; \
                 the migration stopped before copying it"
            )));
        }
        to.put(digest, &spooled, size)
            .await
            .map_err(|e| CopyError::Other(format!("target attachment storage: {e}")))
    }
    .await;
    if result.is_err() {
        let _ = tokio::fs::remove_file(&spooled).await;
    }
    result.map(|()| size)
}

fn spool_path(to: &Blobs, digest: &str) -> PathBuf {
    to.spool_dir()
        .join(format!("migrate-{}-{digest}", std::process::id()))
}
