//! Retention: deleting old closed runs with everything they hold, and
//! giving the space back (database pages and attachment bytes). Run by
//! `verdict admin prune` and daily by `verdict serve --retention-days`.
//!
//! The order matters for crash safety. Rows go first (one transaction in
//! the store), then the database reclaims its free pages, then files: a
//! file is deleted only after a fresh look at the rows shows none names
//! it, so a crash anywhere leaves at worst an orphan file (deleted by the
//! next prune), never a row without its bytes. An upload racing the sweep
//! stores its file before its row and checks the file is still there once
//! the row is committed, putting it back from its spool if a prune took it.

use std::collections::HashSet;
use std::time::{Duration, SystemTime};

use verdict_store::{ProjectId, PruneOutcome, PruneRequest, Store, Timestamp};

use crate::blobs::{BlobInfo, Blobs};

/// How many digests one `referenced_digests` call asks about: one query
/// each, and well under SQLite's and PostgreSQL's bound-parameter limits.
const DIGEST_BATCH: usize = 500;

/// What to prune.
#[derive(Debug, Clone)]
pub struct PruneOptions {
    /// Closed runs closed longer ago than this go.
    pub older_than: Duration,
    pub project: Option<ProjectId>,
    pub dry_run: bool,
    /// Stored files no row names are deleted once older than this (an
    /// upload stores its file just before its row commits).
    pub orphan_grace: Duration,
}

impl PruneOptions {
    /// `--orphan-grace`'s default: an hour, far longer than any upload
    /// takes between storing its file and committing its row.
    pub const DEFAULT_ORPHAN_GRACE: Duration = Duration::from_secs(3600);
}

/// What a prune did.
#[derive(Debug, Clone, Default)]
pub struct PruneReport {
    pub outcome: PruneOutcome,
    /// Stored files deleted (a dry run: that would be), and their bytes:
    /// those whose last rows this prune deleted, and orphans.
    pub files_deleted: u64,
    pub file_bytes_freed: u64,
    /// Of `files_deleted`, the orphans: files no row named before this
    /// prune (an upload cut short by a crash, a deleted attachment).
    pub orphans_deleted: u64,
    /// Spooled uploads left by a crash and deleted.
    pub spool_files_deleted: u64,
    pub database_bytes_before: u64,
    pub database_bytes_after: u64,
}

/// The instant `older_than` before `now` (the Unix epoch at the earliest).
pub fn cutoff(now: Timestamp, older_than: Duration) -> Timestamp {
    let ms = i64::try_from(older_than.as_millis()).unwrap_or(i64::MAX);
    Timestamp::from_millis(now.millis().saturating_sub(ms).max(0))
}

/// Prunes, reclaims the database's free pages, and deletes the files no
/// row names. A dry run changes nothing and reports what would go: rows,
/// and orphan files (the files the pruned rows alone name are only known
/// once the rows are gone, so a dry run cannot count them).
pub async fn prune(
    store: &dyn Store,
    blobs: &Blobs,
    options: &PruneOptions,
    now: Timestamp,
) -> Result<PruneReport, String> {
    let db = |e: verdict_store::StoreError| format!("database: {e}");
    let database_bytes_before = store.database_bytes().await.map_err(db)?;
    let outcome = store
        .prune(PruneRequest {
            closed_before: cutoff(now, options.older_than),
            project: options.project,
            dry_run: options.dry_run,
        })
        .await
        .map_err(db)?;
    let mut report = PruneReport {
        database_bytes_before,
        ..PruneReport::default()
    };
    if !options.dry_run {
        store.reclaim().await.map_err(db)?;
    }
    // Listed after the rows went: the sizes of the files to delete, and
    // the candidates for the orphan sweep.
    let listing = blobs.list().await.map_err(|e| e.to_string())?;
    let mut gone: HashSet<String> = HashSet::new();

    // Files whose last rows this prune deleted go whatever their age.
    if !options.dry_run {
        for batch in outcome.unreferenced.chunks(DIGEST_BATCH) {
            let named: HashSet<String> = store
                .referenced_digests(batch.to_vec())
                .await
                .map_err(db)?
                .into_iter()
                .collect();
            for digest in batch.iter().filter(|d| !named.contains(*d)) {
                let Some(info) = find(&listing, digest) else {
                    // Already gone (deleted by hand, or by a prune racing this one).
                    continue;
                };
                blobs.delete(digest).await.map_err(|e| e.to_string())?;
                report.files_deleted += 1;
                report.file_bytes_freed += info.size;
                gone.insert(digest.clone());
            }
        }
    }

    // Orphans: files no row names, older than the grace (a younger one may
    // be an upload whose row is about to commit).
    let oldest_kept = SystemTime::now()
        .checked_sub(options.orphan_grace)
        .unwrap_or(SystemTime::UNIX_EPOCH);
    let candidates: Vec<&BlobInfo> = listing
        .iter()
        .filter(|b| !gone.contains(&b.digest) && b.modified <= oldest_kept)
        .collect();
    for batch in candidates.chunks(DIGEST_BATCH) {
        let named: HashSet<String> = store
            .referenced_digests(batch.iter().map(|b| b.digest.clone()).collect())
            .await
            .map_err(db)?
            .into_iter()
            .collect();
        for info in batch.iter().filter(|b| !named.contains(&b.digest)) {
            if !options.dry_run {
                blobs
                    .delete(&info.digest)
                    .await
                    .map_err(|e| e.to_string())?;
            }
            report.files_deleted += 1;
            report.orphans_deleted += 1;
            report.file_bytes_freed += info.size;
        }
    }
    if !options.dry_run {
        report.spool_files_deleted = blobs
            .clean_spool(options.orphan_grace)
            .await
            .map_err(|e| e.to_string())?;
    }
    report.database_bytes_after = store.database_bytes().await.map_err(db)?;
    report.outcome = outcome;
    Ok(report)
}

/// The listing's entry for a digest (the listing is sorted by digest).
fn find<'a>(listing: &'a [BlobInfo], digest: &str) -> Option<&'a BlobInfo> {
    listing
        .binary_search_by(|b| b.digest.as_str().cmp(digest))
        .ok()
        .and_then(|i| listing.get(i))
}

/// Runs a prune of runs closed more than `days` days ago shortly after
/// start and then every 24 hours, logging each outcome. Failures are
/// logged and retried at the next round; they never stop the server.
pub async fn run_daily(store: std::sync::Arc<dyn Store>, blobs: std::sync::Arc<Blobs>, days: u32) {
    // Shortly after start: not in the way of the first requests.
    const FIRST_DELAY: Duration = Duration::from_secs(5);
    const EVERY: Duration = Duration::from_secs(24 * 3600);
    let options = PruneOptions {
        older_than: Duration::from_secs(u64::from(days) * 86_400),
        project: None,
        dry_run: false,
        orphan_grace: PruneOptions::DEFAULT_ORPHAN_GRACE,
    };
    let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + FIRST_DELAY, EVERY);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        log_outcome(
            days,
            prune(store.as_ref(), &blobs, &options, Timestamp::now()).await,
        );
    }
}

fn log_outcome(days: u32, result: Result<PruneReport, String>) {
    match result {
        Ok(r) => tracing::info!(
            retention_days = days,
            runs = r.outcome.runs,
            results = r.outcome.results,
            executions = r.outcome.executions,
            attachments = r.outcome.attachments,
            files_deleted = r.files_deleted,
            file_bytes_freed = r.file_bytes_freed,
            orphans_deleted = r.orphans_deleted,
            spool_files_deleted = r.spool_files_deleted,
            database_bytes_before = r.database_bytes_before,
            database_bytes_after = r.database_bytes_after,
            "retention prune done"
        ),
        Err(e) => tracing::error!(
            retention_days = days,
            error = %e,
            "retention prune failed; retried in 24 hours"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cutoff_is_older_than_before_now_and_never_before_the_epoch() {
        let now = Timestamp::from_millis(10_000_000);
        assert_eq!(
            cutoff(now, Duration::from_secs(10)),
            Timestamp::from_millis(9_990_000)
        );
        assert_eq!(
            cutoff(now, Duration::from_secs(3650 * 86_400)),
            Timestamp::from_millis(0)
        );
        assert_eq!(cutoff(now, Duration::ZERO), now);
    }
}
