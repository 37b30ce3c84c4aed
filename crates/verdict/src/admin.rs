//! `verdict admin`: maintenance run on the server's machine, against the
//! database and the attachment storage directly (not over HTTP).
//! `verdict admin prune` deletes old closed runs and frees their space;
//! `verdict admin backup` and `restore` copy a SQLite database (see
//! [`backup`]).

mod backup;

use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Subcommand};
use verdict_server::retention::{self, PruneOptions, PruneReport};
use verdict_store::{ProjectId, Timestamp};

use crate::serve::{open_blobs, open_store};

#[derive(Args, Debug)]
pub struct AdminArgs {
    #[command(subcommand)]
    command: AdminCommand,
}

#[derive(Subcommand, Debug)]
enum AdminCommand {
    /// Delete closed runs older than a duration, with their results,
    /// history and attachments, and free the space (database pages and
    /// stored files no row names any more).
    Prune(PruneArgs),
    /// Copy a whole database into an empty one, SQLite to PostgreSQL or
    /// back, keeping every id, and check the copy table by table.
    Migrate(crate::migrate::MigrateArgs),
    /// Copy a live SQLite database to a file, consistently, while the
    /// server keeps writing (with the attachment folder's files beside it).
    Backup(backup::BackupArgs),
    /// Restore a backup into a new SQLite database that `verdict serve`
    /// then serves.
    Restore(backup::RestoreArgs),
}

#[derive(Args, Debug)]
pub struct PruneArgs {
    /// Runs closed longer ago than this go: 90d, 12h, 30m, 45s.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    older_than: Duration,
    /// Only this project's runs (prj_…); every project's by default.
    #[arg(long, value_name = "PROJECT", value_parser = parse_project)]
    project: Option<ProjectId>,
    /// Count what would go; change nothing.
    #[arg(long)]
    dry_run: bool,
    /// Stored files no row names are deleted once older than this (an
    /// upload stores its file just before its row). 0s is safe only while
    /// no server is running.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, default_value = "1h")]
    orphan_grace: Duration,
    #[command(flatten)]
    store: StoreArgs,
}

/// The database and the attachment storage an admin command works on.
#[derive(Args, Debug)]
pub struct StoreArgs {
    /// The database, as for `verdict serve`.
    #[arg(
        long,
        env = "VERDICT_DATABASE_URL",
        default_value = "sqlite://verdict.db",
        hide_env_values = true
    )]
    database_url: String,
    /// The attachment storage, as for `verdict serve` (default: the folder
    /// `verdict-attachments` beside the SQLite file).
    #[arg(long, env = "VERDICT_ATTACHMENTS")]
    attachments: Option<String>,
}

/// `90d`, `12h`, `30m`, `45s`: a whole number and one unit.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let bad = || {
        format!(
            "{s:?} is not a duration: write a whole number and a unit, d, h, m or s (90d, 12h, 30m, 45s)"
        )
    };
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit()).ok_or_else(bad)?;
    let (number, unit) = s.split_at(split);
    if number.is_empty() {
        return Err(bad());
    }
    let n: u64 = number.parse().map_err(|_| bad())?;
    let seconds = match unit {
        "d" => 86_400,
        "h" => 3600,
        "m" => 60,
        "s" => 1,
        _ => return Err(bad()),
    };
    n.checked_mul(seconds)
        .map(Duration::from_secs)
        .ok_or_else(|| format!("{s:?} is too long a duration"))
}

fn parse_project(s: &str) -> Result<ProjectId, String> {
    s.parse::<ProjectId>().map_err(|e| format!("{s:?}: {e}"))
}

/// `1536` → `1.5 KiB`.
fn bytes(n: u64) -> String {
    const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
    if n < 1024 {
        return format!("{n} B");
    }
    let mut v = n as f64 / 1024.0;
    let mut unit = UNITS[0];
    for next in &UNITS[1..] {
        if v < 1024.0 {
            break;
        }
        v /= 1024.0;
        unit = next;
    }
    format!("{v:.1} {unit}")
}

pub fn run(args: AdminArgs) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("verdict: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = match args.command {
        AdminCommand::Prune(args) => runtime.block_on(prune(args)),
        AdminCommand::Migrate(args) => runtime.block_on(crate::migrate::migrate(args)),
        AdminCommand::Backup(args) => runtime.block_on(backup::backup(args)),
        AdminCommand::Restore(args) => runtime.block_on(backup::restore(args)),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("verdict: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn prune(args: PruneArgs) -> Result<(), String> {
    // No statement bound: one prune is one transaction, however large.
    let store = open_store(&args.store.database_url, None).await?;
    let blobs = open_blobs(args.store.attachments.as_deref(), &args.store.database_url)?;
    blobs
        .check()
        .await
        .map_err(|e| format!("--attachments {}: {e}", blobs.describe()))?;
    let now = Timestamp::now();
    let options = PruneOptions {
        older_than: args.older_than,
        project: args.project,
        dry_run: args.dry_run,
        orphan_grace: args.orphan_grace,
    };
    let report = retention::prune(store.as_ref(), &blobs, &options, now).await?;
    print_report(&args, &report, retention::cutoff(now, args.older_than));
    Ok(())
}

fn print_report(args: &PruneArgs, r: &PruneReport, cutoff: Timestamp) {
    let scope = match args.project {
        Some(p) => format!("project {p}"),
        None => "all projects".to_string(),
    };
    let o = &r.outcome;
    if args.dry_run {
        println!(
            "Dry run: nothing was changed. Closed runs closed before {cutoff} ({scope}) that would go:"
        );
    } else {
        println!("Pruned closed runs closed before {cutoff} ({scope}):");
    }
    println!("  runs          {}", o.runs);
    println!("  results       {}", o.results);
    println!("  executions    {}", o.executions);
    println!(
        "  attachments   {} ({})",
        o.attachments,
        bytes(o.attachment_bytes)
    );
    if args.dry_run {
        println!("  database      {}", bytes(r.database_bytes_before));
        println!(
            "  orphan files  {} ({}) no row names, older than {}s",
            r.orphans_deleted,
            bytes(r.file_bytes_freed),
            args.orphan_grace.as_secs()
        );
        println!(
            "  (the files only the pruned attachments name are counted once their rows are gone)"
        );
    } else {
        println!(
            "  database      {} → {}",
            bytes(r.database_bytes_before),
            bytes(r.database_bytes_after)
        );
        println!(
            "  files freed   {} ({}; {} of them orphans)",
            r.files_deleted,
            bytes(r.file_bytes_freed),
            r.orphans_deleted
        );
        if r.spool_files_deleted > 0 {
            println!(
                "  spool         {} unfinished upload(s) removed",
                r.spool_files_deleted
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_are_a_number_and_a_unit() {
        assert_eq!(parse_duration("90d"), Ok(Duration::from_secs(90 * 86_400)));
        assert_eq!(parse_duration("12h"), Ok(Duration::from_secs(12 * 3600)));
        assert_eq!(parse_duration("30m"), Ok(Duration::from_secs(1800)));
        assert_eq!(parse_duration("45s"), Ok(Duration::from_secs(45)));
        assert_eq!(parse_duration("0s"), Ok(Duration::ZERO));
        for bad in [
            "",
            "90",
            "d",
            "-1d",
            "1.5h",
            "90 days",
            "1w",
            "1d2h",
            "99999999999999999999d",
        ] {
            assert!(parse_duration(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn bytes_are_shown_in_binary_units() {
        assert_eq!(bytes(0), "0 B");
        assert_eq!(bytes(1536), "1.5 KiB");
        assert_eq!(bytes(5 * 1024 * 1024), "5.0 MiB");
    }
}
