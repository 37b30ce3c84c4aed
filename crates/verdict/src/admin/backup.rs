//! `verdict admin backup` and `verdict admin restore`: a consistent copy of
//! a live SQLite database (the copying itself is `verdict_sqlite::backup`),
//! checked and renamed into place, with the attachment folder's files
//! copied beside it. PostgreSQL is backed up with its own tools
//! (`pg_dump`/`pg_restore`; README, "Backups").

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use clap::Args;
use verdict_server::blobs::Blobs;
use verdict_sqlite::SqliteConfig;
use verdict_sqlite::backup::{self, BackupOptions, CopyReport, Progress};

use super::{StoreArgs, bytes};
use crate::serve::open_blobs;

#[derive(Args, Debug)]
pub struct BackupArgs {
    /// The backup file to write; its attachment files go to FILE.attachments/.
    #[arg(long, value_name = "FILE")]
    to: PathBuf,
    /// Replace FILE if it exists (by default an existing FILE is refused).
    #[arg(long)]
    overwrite: bool,
    /// Database pages copied per step (4 KiB each by default); the server's
    /// writes go on between steps and during them.
    #[arg(long, value_name = "N", default_value_t = BackupOptions::DEFAULT_PAGES_PER_STEP, value_parser = clap::value_parser!(u32).range(1..))]
    pages_per_step: u32,
    /// Milliseconds to pause after each step, leaving the disk to the server.
    #[arg(long, value_name = "MS", default_value_t = BackupOptions::DEFAULT_PAUSE_MS)]
    pause_ms: u64,
    /// What to back up (SQLite; for PostgreSQL use pg_dump). Attachments
    /// in a bucket are not copied.
    #[command(flatten)]
    store: StoreArgs,
}

#[derive(Args, Debug)]
pub struct RestoreArgs {
    /// A file written by `verdict admin backup` (FILE.attachments/ beside
    /// it, if any, is restored too).
    #[arg(long, value_name = "FILE")]
    from: PathBuf,
    /// The database to create: sqlite://PATH, a new or empty file.
    #[arg(long, value_name = "URL")]
    to: String,
    /// Where the restored database's attachments go, as for `verdict serve`
    /// (default: the folder `verdict-attachments` beside PATH).
    #[arg(long, env = "VERDICT_ATTACHMENTS")]
    attachments: Option<String>,
}

fn is_postgres(url: &str) -> bool {
    url.starts_with("postgres://") || url.starts_with("postgresql://")
}

/// `FILE` → `FILE.attachments`.
fn attachments_beside(file: &Path) -> PathBuf {
    let mut name = file.as_os_str().to_owned();
    name.push(".attachments");
    PathBuf::from(name)
}

/// The SQLite file a URL names, or why it names none.
fn sqlite_path(url: &str, postgres_hint: &str) -> Result<PathBuf, String> {
    if is_postgres(url) {
        return Err(postgres_hint.to_string());
    }
    if !url.starts_with("sqlite:") {
        return Err(format!(
            "unsupported database URL {url:?} (use sqlite://FILE)"
        ));
    }
    Ok(SqliteConfig::from_url(url)?.path)
}

pub async fn backup(args: BackupArgs) -> Result<(), String> {
    let source = sqlite_path(
        &args.store.database_url,
        "verdict admin backup copies SQLite databases; back PostgreSQL up with its own tools: \
         pg_dump --format=custom --dbname=URL --file=verdict.dump, restored with pg_restore \
         into a new database (README, \"Backups\")",
    )?;
    let target = args.to.clone();
    if target.is_dir() {
        return Err(format!(
            "--to {} is a folder; name a file",
            target.display()
        ));
    }
    if target.exists() && !args.overwrite {
        return Err(format!(
            "{} already exists (pass --overwrite to replace it)",
            target.display()
        ));
    }
    let options = BackupOptions {
        pages_per_step: args.pages_per_step,
        pause: Duration::from_millis(args.pause_ms),
    };
    let partial = backup::partial_path(&target);
    eprintln!(
        "Backing up {} to {} ({} pages a step, {} ms pause)",
        source.display(),
        target.display(),
        options.pages_per_step,
        args.pause_ms
    );
    let report = checked_copy(&source, &partial, &options)?;

    let blobs = open_blobs(args.store.attachments.as_deref(), &args.store.database_url)?;
    let files_dir = attachments_beside(&target);
    // A bucket is not copied (None).
    let files = match blobs.folder_root() {
        Some(root) => match copy_attachments(&blobs, root, &files_dir, &partial).await {
            Ok(files) => Some(files),
            Err(e) => {
                let _ = std::fs::remove_file(&partial);
                return Err(e);
            }
        },
        None => None,
    };
    if let Err(e) = backup::publish(&partial, &target, args.overwrite) {
        let _ = std::fs::remove_file(&partial);
        return Err(e);
    }
    // Only now: until the new copy is in place, the old one may name them.
    let removed = match &files {
        Some(_) => remove_unnamed(&files_dir, &target).await?,
        None => 0,
    };
    print_copy("Backed up", &source, &target, &report);
    match files {
        Some(f) => print_files(&f, &files_dir, removed),
        None => println!(
            "  attachments   in {}: not copied (back the bucket up with its own tools)",
            blobs.describe()
        ),
    }
    Ok(())
}

pub async fn restore(args: RestoreArgs) -> Result<(), String> {
    let target = sqlite_path(
        &args.to,
        "verdict admin restore writes SQLite databases; restore a PostgreSQL dump with \
         pg_restore into a new database (README, \"Backups\")",
    )?;
    if target.is_dir() {
        return Err(format!(
            "--to {} is a folder; name a file",
            target.display()
        ));
    }
    if backup::holds_data(&target) {
        return Err(format!(
            "{} already holds a database; restore only into a new or empty file",
            target.display()
        ));
    }
    // A damaged backup is refused before anything is written.
    backup::integrity_check(&args.from).map_err(|e| format!("not restoring: {e}"))?;
    let partial = backup::partial_path(&target);
    let options = BackupOptions {
        pages_per_step: u32::MAX,
        pause: Duration::ZERO,
    };
    let report = checked_copy(&args.from, &partial, &options)?;

    let blobs = open_blobs(args.attachments.as_deref(), &args.to)?;
    let from_files = attachments_beside(&args.from);
    // Into a bucket they are not copied (None).
    let files = match blobs.folder_root() {
        Some(root) if from_files.is_dir() => {
            let copied = match Blobs::folder(&from_files) {
                Ok(source) => copy_attachments(&source, &from_files, root, &partial).await,
                Err(e) => Err(format!("{}: {e}", from_files.display())),
            };
            match copied {
                Ok(files) => Some(files),
                Err(e) => {
                    let _ = std::fs::remove_file(&partial);
                    return Err(e);
                }
            }
        }
        _ => None,
    };
    // An empty file at PATH (never a database) may be replaced.
    backup::publish(&partial, &target, target.exists()).inspect_err(|_| {
        let _ = std::fs::remove_file(&partial);
    })?;
    print_copy("Restored", &args.from, &target, &report);
    match files {
        Some(f) => print_files(&f, blobs.folder_root().unwrap_or(Path::new("")), 0),
        None if from_files.is_dir() => println!(
            "  attachments   {} not copied into {} (copy them into the bucket with its own tools)",
            from_files.display(),
            blobs.describe()
        ),
        None => println!("  attachments   none beside the backup"),
    }
    println!(
        "Serve it with: verdict serve --database-url sqlite://{}",
        target.display()
    );
    Ok(())
}

/// Copies `source` to `partial` and checks the copy; on any failure the
/// partial file is removed.
fn checked_copy(
    source: &Path,
    partial: &Path,
    options: &BackupOptions,
) -> Result<CopyReport, String> {
    let mut last_print = Instant::now();
    let outcome = backup::copy(source, partial, options, |p: Progress| {
        if last_print.elapsed() >= Duration::from_secs(2) && p.total_pages > 0 {
            last_print = Instant::now();
            eprintln!(
                "  {:>3}% ({} of {} pages)",
                p.copied_pages * 100 / p.total_pages,
                p.copied_pages,
                p.total_pages
            );
        }
    })
    .and_then(|report| backup::integrity_check(partial).map(|()| report));
    if outcome.is_err() {
        let _ = std::fs::remove_file(partial);
    }
    outcome
}

/// What copying an attachment folder did.
struct FilesCopied {
    copied: u64,
    copied_bytes: u64,
    unchanged: u64,
}

/// Every file of the storage folder `from` (listed by `source`) into the
/// folder `dest` (files already there with the same size are kept: names
/// are digests), then a check that every file the database `db` names is
/// there.
async fn copy_attachments(
    source: &Blobs,
    from: &Path,
    dest: &Path,
    db: &Path,
) -> Result<FilesCopied, String> {
    let copied = copy_folder(source, from, dest).await?;
    check_named_files(dest, db)?;
    Ok(copied)
}

async fn copy_folder(source: &Blobs, from: &Path, dest: &Path) -> Result<FilesCopied, String> {
    let listed = source
        .list()
        .await
        .map_err(|e| format!("attachments in {}: {e}", from.display()))?;
    let mut out = FilesCopied {
        copied: 0,
        copied_bytes: 0,
        unchanged: 0,
    };
    for file in listed {
        let fan = &file.digest[..2];
        let to = dest.join(fan).join(&file.digest);
        if std::fs::metadata(&to).is_ok_and(|m| m.len() == file.size) {
            out.unchanged += 1;
            continue;
        }
        let from_file = from.join(fan).join(&file.digest);
        copy_file(&from_file, &to)?;
        out.copied += 1;
        out.copied_bytes += file.size;
    }
    Ok(out)
}

/// Copies one file through a temporary name, synced, so `to` is whole or
/// absent.
fn copy_file(from: &Path, to: &Path) -> Result<(), String> {
    let dir = to.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let mut tmp = to.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    std::fs::copy(from, &tmp)
        .and_then(|_| std::fs::File::open(&tmp)?.sync_all())
        .and_then(|()| std::fs::rename(&tmp, to))
        .map_err(|e| {
            let _ = std::fs::remove_file(&tmp);
            format!("cannot copy {} to {}: {e}", from.display(), to.display())
        })
}

/// Every attachment the database `db` names has its file in `folder`.
fn check_named_files(folder: &Path, db: &Path) -> Result<(), String> {
    let missing: Vec<String> = backup::attachment_digests(db)?
        .into_iter()
        .filter(|d| d.len() > 2 && !folder.join(&d[..2]).join(d).is_file())
        .collect();
    match missing.first() {
        None => Ok(()),
        Some(first) => Err(format!(
            "{} attachment file(s) the database names are missing from {} (first: {first}); \
             was a prune deleting them while the copy ran?",
            missing.len(),
            folder.display()
        )),
    }
}

/// Removes the files in a backup's attachment folder that the backup
/// `db` does not name (left by an earlier backup, or uploaded after the
/// snapshot); answers how many.
async fn remove_unnamed(folder: &Path, db: &Path) -> Result<u64, String> {
    let named: BTreeSet<String> = backup::attachment_digests(db)?.into_iter().collect();
    let stored = Blobs::folder(folder)
        .map_err(|e| format!("{}: {e}", folder.display()))?
        .list()
        .await
        .map_err(|e| format!("{}: {e}", folder.display()))?;
    let mut removed = 0;
    for file in stored.iter().filter(|f| !named.contains(&f.digest)) {
        let path = folder.join(&file.digest[..2]).join(&file.digest);
        std::fs::remove_file(&path)
            .map_err(|e| format!("cannot remove {}: {e}", path.display()))?;
        removed += 1;
    }
    Ok(removed)
}

fn print_copy(what: &str, from: &Path, to: &Path, r: &CopyReport) {
    println!("{what} {} to {}:", from.display(), to.display());
    println!(
        "  database      {} ({} pages of {} B), schema {}",
        bytes(r.bytes()),
        r.pages,
        r.page_size,
        r.schema_version
    );
    println!(
        "  copied in     {:.2}s, {} steps, longest step {:.1} ms",
        r.elapsed.as_secs_f64(),
        r.steps,
        r.longest_step.as_secs_f64() * 1000.0
    );
    println!("  integrity     ok");
}

fn print_files(f: &FilesCopied, folder: &Path, removed: u64) {
    println!(
        "  attachments   {} copied ({}), {} already there, {} no longer named removed, in {}",
        f.copied,
        bytes(f.copied_bytes),
        f.unchanged,
        removed,
        folder.display()
    );
}
