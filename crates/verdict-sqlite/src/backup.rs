//! Copies of a live database, for `verdict admin backup` and `restore`:
//! SQLite's online backup API, a few pages at a time.
//!
//! The copy is one consistent snapshot. The source connection opens a read
//! transaction before the first step and holds it to the last, so every
//! step reads the same snapshot: in WAL mode readers never block the
//! writer, so a server keeps answering writes while the backup runs (they
//! go to the WAL, which checkpoints cannot shrink past the snapshot until
//! the backup ends). Without the held snapshot SQLite restarts a backup
//! whenever another connection writes between two steps, and under a
//! steady stream of writes it would never finish.
//!
//! Between steps the backup pauses, so it takes a bounded share of the
//! disk and the CPU from the server it runs beside.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use rusqlite::backup::{Backup, StepResult};
use rusqlite::{Connection, OpenFlags};

/// How the copy proceeds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BackupOptions {
    /// Database pages copied per step (a page is 4 KiB by default).
    pub pages_per_step: u32,
    /// The pause after each step.
    pub pause: Duration,
}

impl BackupOptions {
    pub const DEFAULT_PAGES_PER_STEP: u32 = 1000;
    pub const DEFAULT_PAUSE_MS: u64 = 5;
}

impl Default for BackupOptions {
    fn default() -> Self {
        Self {
            pages_per_step: Self::DEFAULT_PAGES_PER_STEP,
            pause: Duration::from_millis(Self::DEFAULT_PAUSE_MS),
        }
    }
}

/// How far a copy is, after a step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    pub copied_pages: u64,
    pub total_pages: u64,
}

/// What a finished copy did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CopyReport {
    pub pages: u64,
    pub page_size: u64,
    pub steps: u64,
    /// The longest single step: the longest the copy held its locks at once.
    pub longest_step: Duration,
    pub elapsed: Duration,
    /// The schema version (`PRAGMA user_version`) of the copy.
    pub schema_version: i64,
}

impl CopyReport {
    pub fn bytes(&self) -> u64 {
        self.pages * self.page_size
    }
}

/// How long the copy waits on a source another process holds locked
/// (a rollback-journal writer, or a `VACUUM`) before it gives up.
const LOCKED_FOR_AT_MOST: Duration = Duration::from_secs(60);

/// `FILE` → `FILE.partial`: where a copy is written before it is checked
/// and renamed into place.
pub fn partial_path(target: &Path) -> PathBuf {
    let mut name = target.as_os_str().to_owned();
    name.push(".partial");
    PathBuf::from(name)
}

/// Copies the Verdict database at `source` into a new file `dest` (an
/// earlier `dest` is replaced), in steps of `options.pages_per_step`
/// pages, calling `progress` after each. `dest` is left in rollback-journal
/// mode: one self-contained file.
pub fn copy(
    source: &Path,
    dest: &Path,
    options: &BackupOptions,
    mut progress: impl FnMut(Progress),
) -> Result<CopyReport, String> {
    let started = Instant::now();
    let src = open_existing(source)?;
    // The snapshot every step reads (see the module's documentation).
    src.execute_batch("BEGIN DEFERRED")
        .map_err(|e| format!("{}: {e}", source.display()))?;
    let schema_version = verdict_version(&src, source)?;

    match std::fs::remove_file(dest) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(format!("cannot replace {}: {e}", dest.display())),
    }
    // Created first so an unwritable place is reported as the OS says it.
    std::fs::File::create(dest).map_err(|e| format!("cannot write {}: {e}", dest.display()))?;
    let mut dst =
        Connection::open(dest).map_err(|e| format!("cannot write {}: {e}", dest.display()))?;

    let pages_per_step = i32::try_from(options.pages_per_step.max(1)).unwrap_or(i32::MAX);
    let mut steps = 0u64;
    let mut longest_step = Duration::ZERO;
    {
        let backup = Backup::new(&src, &mut dst)
            .map_err(|e| format!("cannot start the copy into {}: {e}", dest.display()))?;
        let mut locked_since: Option<Instant> = None;
        loop {
            let t = Instant::now();
            let step = backup
                .step(pages_per_step)
                .map_err(|e| format!("copying {}: {e}", source.display()))?;
            longest_step = longest_step.max(t.elapsed());
            steps += 1;
            let p = backup.progress();
            let total = u64::try_from(p.pagecount).unwrap_or(0);
            let remaining = u64::try_from(p.remaining).unwrap_or(0);
            progress(Progress {
                copied_pages: total.saturating_sub(remaining),
                total_pages: total,
            });
            match step {
                StepResult::Done => break,
                StepResult::More => locked_since = None,
                StepResult::Busy | StepResult::Locked => {
                    let since = *locked_since.get_or_insert_with(Instant::now);
                    if since.elapsed() > LOCKED_FOR_AT_MOST {
                        return Err(format!(
                            "{} stayed locked for more than {}s; try again later",
                            source.display(),
                            LOCKED_FOR_AT_MOST.as_secs()
                        ));
                    }
                }
                // A result a later SQLite may add: step again.
                _ => {}
            }
            std::thread::sleep(options.pause);
        }
    }
    src.execute_batch("COMMIT")
        .map_err(|e| format!("{}: {e}", source.display()))?;
    drop(src);

    // One file, no WAL beside it: a backup can be copied or read as is.
    let mode: String = dst
        .query_row("PRAGMA journal_mode = DELETE", [], |r| r.get(0))
        .map_err(|e| format!("{}: {e}", dest.display()))?;
    if !mode.eq_ignore_ascii_case("delete") {
        return Err(format!(
            "{}: could not leave WAL mode ({mode})",
            dest.display()
        ));
    }
    let (pages, page_size): (i64, i64) = dst
        .query_row(
            "SELECT page_count, page_size FROM pragma_page_count(), pragma_page_size()",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .map_err(|e| format!("{}: {e}", dest.display()))?;
    dst.close()
        .map_err(|(_, e)| format!("cannot close {}: {e}", dest.display()))?;
    sync_file(dest)?;
    Ok(CopyReport {
        pages: u64::try_from(pages).unwrap_or(0),
        page_size: u64::try_from(page_size).unwrap_or(0),
        steps,
        longest_step,
        elapsed: started.elapsed(),
        schema_version,
    })
}

/// Runs `PRAGMA integrity_check` on the Verdict database at `path`: `Ok`
/// when SQLite answers `ok`, else the problems it lists (the first few).
pub fn integrity_check(path: &Path) -> Result<(), String> {
    let conn = open_existing(path)?;
    verdict_version(&conn, path)?;
    let mut stmt = conn
        .prepare("PRAGMA integrity_check(20)")
        .map_err(|e| format!("{}: {e}", path.display()))?;
    let rows: Vec<String> = stmt
        .query_map([], |r| r.get(0))
        .and_then(|rows| rows.collect())
        .map_err(|e| format!("{} fails the integrity check: {e}", path.display()))?;
    if rows.len() == 1 && rows[0] == "ok" {
        Ok(())
    } else {
        Err(format!(
            "{} fails the integrity check: {}",
            path.display(),
            rows.join("; ")
        ))
    }
}

/// The sha256 of every attachment the database at `path` names.
pub fn attachment_digests(path: &Path) -> Result<Vec<String>, String> {
    let conn = open_existing(path)?;
    let mut stmt = conn
        .prepare("SELECT DISTINCT sha256 FROM attachments ORDER BY sha256")
        .map_err(|e| format!("{}: {e}", path.display()))?;
    stmt.query_map([], |r| r.get(0))
        .and_then(|rows| rows.collect())
        .map_err(|e| format!("{}: {e}", path.display()))
}

/// Whether `path` holds a database with something in it: a file (or its
/// WAL) that is not empty.
pub fn holds_data(path: &Path) -> bool {
    let mut wal = path.as_os_str().to_owned();
    wal.push("-wal");
    [path.to_path_buf(), PathBuf::from(wal)]
        .iter()
        .any(|p| std::fs::metadata(p).is_ok_and(|m| m.len() > 0))
}

/// Moves the checked copy `partial` to `target`, atomically: readers see
/// the old `target` (or none) or the whole new one. Without `overwrite` an
/// existing `target` is kept and the move refused, even one that appeared
/// while the copy ran.
pub fn publish(partial: &Path, target: &Path, overwrite: bool) -> Result<(), String> {
    if overwrite {
        std::fs::rename(partial, target)
            .map_err(|e| format!("cannot move the copy to {}: {e}", target.display()))?;
    } else {
        // A hard link fails if the name exists: no window in which a file
        // created meanwhile could be replaced.
        std::fs::hard_link(partial, target).map_err(|e| {
            if e.kind() == std::io::ErrorKind::AlreadyExists {
                format!(
                    "{} already exists (pass --overwrite to replace it)",
                    target.display()
                )
            } else {
                format!("cannot move the copy to {}: {e}", target.display())
            }
        })?;
        std::fs::remove_file(partial)
            .map_err(|e| format!("cannot remove {}: {e}", partial.display()))?;
    }
    if let Some(dir) = target.parent() {
        sync_dir(dir);
    }
    Ok(())
}

/// An existing database file (never creates one), with the store's busy
/// timeout.
fn open_existing(path: &Path) -> Result<Connection, String> {
    match std::fs::metadata(path) {
        Ok(m) if m.is_file() => {}
        Ok(_) => return Err(format!("{} is not a file", path.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(format!("there is no database at {}", path.display()));
        }
        Err(e) => return Err(format!("cannot read {}: {e}", path.display())),
    }
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(|e| format!("cannot open {}: {e}", path.display()))?;
    conn.execute_batch("PRAGMA busy_timeout = 10000")
        .map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(conn)
}

/// The schema version of a Verdict database; an error for any other file
/// (not SQLite, an empty database, or a newer Verdict's schema).
fn verdict_version(conn: &Connection, path: &Path) -> Result<i64, String> {
    let version: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .map_err(|e| format!("{} is not a readable SQLite database: {e}", path.display()))?;
    let has_results: bool = conn
        .query_row(
            "SELECT EXISTS (SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = 'results')",
            [],
            |r| r.get(0),
        )
        .map_err(|e| format!("{} is not a readable SQLite database: {e}", path.display()))?;
    if version == 0 || !has_results {
        return Err(format!("{} is not a Verdict database", path.display()));
    }
    let known = i64::try_from(crate::migrations::count()).unwrap_or(i64::MAX);
    if version > known {
        return Err(format!(
            "{} was written by a newer Verdict (schema {version}; this one knows {known})",
            path.display()
        ));
    }
    Ok(version)
}

fn sync_file(path: &Path) -> Result<(), String> {
    std::fs::File::open(path)
        .and_then(|f| f.sync_all())
        .map_err(|e| format!("cannot sync {}: {e}", path.display()))
}

/// Makes a rename in `dir` durable (best effort: not every platform can
/// open a directory).
fn sync_dir(dir: &Path) {
    let dir = if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    };
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
}
