//! `verdict admin migrate`: copies a whole database into an empty one of
//! either kind (SQLite → PostgreSQL or back), keeping every id, from one
//! consistent snapshot of the source, and checks the copy table by table.
//!
//! The target's schema is made by the store's own migrations; rows are
//! then copied table by table in key order, parents first, in one write
//! transaction (binary COPY on PostgreSQL, prepared inserts on SQLite);
//! id counters are set past the largest id (or the source's own counter,
//! which may be higher: an id is never reused); attachment files are
//! copied when the target's storage is another one; and each table's row
//! count and checksum are compared on both sides.

mod files;
mod postgres;
mod sqlite;
mod tables;

use std::collections::BTreeSet;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use clap::Args;
use verdict_postgres::PgConfig;
use verdict_server::blobs::Blobs;
use verdict_sqlite::SqliteConfig;
use verdict_store::Timestamp;
use verdict_store::backend::idempotency::expired_at;

use crate::serve::{open_blobs, open_store, redact};
use postgres::Postgres;
use sqlite::Sqlite;
use tables::{Plan, Schema, Tally, Value};

#[derive(Args, Debug)]
pub struct MigrateArgs {
    /// The database to copy: sqlite://FILE or postgres://USER@HOST/DB. A
    /// server may keep running on it.
    #[arg(long, value_name = "URL")]
    from: String,
    /// The empty database to copy into (created or migrated first; one
    /// that holds rows is refused).
    #[arg(long, value_name = "URL")]
    to: String,
    /// The source's attachment storage, as `verdict serve --attachments`
    /// (default: as `verdict serve` would find it for --from).
    #[arg(long, value_name = "LOCATION")]
    from_attachments: Option<String>,
    /// The target's attachment storage (default: as `verdict serve` would
    /// find it for --to). Files are copied when it is not the source's.
    #[arg(long, value_name = "LOCATION")]
    to_attachments: Option<String>,
}

/// Rows read and written at a time: memory stays bounded whatever the
/// size of the database.
const BATCH_ROWS: usize = 5_000;

/// Where a database is, as the URL says.
enum Location {
    Sqlite { url: String, path: PathBuf },
    Postgres { url: String, config: Box<PgConfig> },
}

impl Location {
    fn parse(url: &str, flag: &str) -> Result<Location, String> {
        if url.starts_with("sqlite:") {
            let config = SqliteConfig::from_url(url).map_err(|e| format!("{flag}: {e}"))?;
            Ok(Location::Sqlite {
                url: url.to_string(),
                path: config.path,
            })
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            let config =
                PgConfig::from_url(url).map_err(|e| format!("{flag} {}: {e}", redact(url)))?;
            Ok(Location::Postgres {
                url: url.to_string(),
                config: Box::new(config),
            })
        } else {
            Err(format!(
                "{flag}: unsupported database URL {} (use sqlite://FILE or postgres://USER@HOST/DB)",
                redact(url)
            ))
        }
    }

    fn url(&self) -> &str {
        match self {
            Location::Sqlite { url, .. } | Location::Postgres { url, .. } => url,
        }
    }

    /// What names the same database whatever the URL's spelling.
    fn identity(&self) -> String {
        match self {
            Location::Sqlite { path, .. } => {
                let canonical = match (path.parent(), path.file_name()) {
                    (Some(dir), Some(name)) => {
                        let dir = if dir.as_os_str().is_empty() {
                            Path::new(".")
                        } else {
                            dir
                        };
                        dir.canonicalize().map(|d| d.join(name)).ok()
                    }
                    _ => None,
                };
                format!(
                    "sqlite:{}",
                    canonical.unwrap_or_else(|| path.clone()).display()
                )
            }
            Location::Postgres { config, .. } => {
                let hosts: Vec<String> = config
                    .pg
                    .get_hosts()
                    .iter()
                    .map(|h| format!("{h:?}"))
                    .collect();
                format!(
                    "postgres:{}:{:?}/{}",
                    hosts.join(","),
                    config.pg.get_ports(),
                    config.pg.get_dbname().unwrap_or("")
                )
            }
        }
    }

    /// How to start over after a failed copy.
    fn drop_hint(&self) -> String {
        match self {
            Location::Sqlite { path, .. } => format!("delete {}", path.display()),
            Location::Postgres { config, .. } => format!(
                "DROP DATABASE {0} and CREATE DATABASE {0}",
                config.pg.get_dbname().unwrap_or("…")
            ),
        }
    }

    /// A connection; a read-only one to a SQLite file leaves it as it is.
    async fn connect(&self, read_only: bool) -> Result<Db, String> {
        match self {
            Location::Sqlite { path, .. } => Ok(Db::Sqlite(Sqlite::open(path, read_only)?)),
            Location::Postgres { config, .. } => Ok(Db::Postgres(Postgres::connect(config).await?)),
        }
    }
}

/// A connection to either kind of database.
enum Db {
    Sqlite(Sqlite),
    Postgres(Postgres),
}

impl Db {
    async fn schema(&self) -> Result<Schema, String> {
        match self {
            Db::Sqlite(s) => s.schema(),
            Db::Postgres(p) => p.schema().await,
        }
    }

    async fn tables_with_rows(&self) -> Result<Vec<String>, String> {
        let all: Vec<&str> = tables::TABLES
            .iter()
            .chain(tables::DERIVED)
            .copied()
            .collect();
        match self {
            Db::Sqlite(s) => s.tables_with_rows(&all),
            Db::Postgres(p) => p.tables_with_rows(&all).await,
        }
    }

    async fn begin_snapshot(&self) -> Result<(), String> {
        match self {
            Db::Sqlite(s) => s.begin_snapshot(),
            Db::Postgres(p) => p.begin_snapshot().await,
        }
    }

    async fn begin_write(&self) -> Result<(), String> {
        match self {
            Db::Sqlite(s) => s.begin_write(),
            Db::Postgres(p) => p.begin_write().await,
        }
    }

    async fn commit(&self) -> Result<(), String> {
        match self {
            Db::Sqlite(s) => s.commit(),
            Db::Postgres(p) => p.commit().await,
        }
    }

    async fn count(&self, plan: &Plan) -> Result<u64, String> {
        match self {
            Db::Sqlite(s) => s.count(plan),
            Db::Postgres(p) => p.count(plan).await,
        }
    }

    async fn read(
        &self,
        plan: &Plan,
        after: Option<&[Value]>,
        limit: usize,
    ) -> Result<Vec<Vec<Value>>, String> {
        match self {
            Db::Sqlite(s) => s.read(plan, after, limit),
            Db::Postgres(p) => p.read(plan, after, limit).await,
        }
    }

    async fn write(&self, plan: &Plan, rows: &[Vec<Value>]) -> Result<(), String> {
        match self {
            Db::Sqlite(s) => s.write(plan, rows),
            Db::Postgres(p) => p.write(plan, rows).await,
        }
    }

    async fn counter(&self, table: &str) -> Result<Option<i64>, String> {
        match self {
            Db::Sqlite(s) => s.counter(table),
            Db::Postgres(p) => p.counter(table).await,
        }
    }

    async fn set_counter(&self, table: &str, last: i64) -> Result<(), String> {
        match self {
            Db::Sqlite(s) => s.set_counter(table, last),
            Db::Postgres(p) => p.set_counter(table, last).await,
        }
    }
}

/// Progress on stderr: a line redrawn in place on a terminal, one line per
/// table otherwise.
struct Progress {
    tty: bool,
    drawn: Instant,
}

impl Progress {
    fn new() -> Progress {
        let now = Instant::now();
        Progress {
            tty: std::io::stderr().is_terminal(),
            // The first update draws at once.
            drawn: now.checked_sub(Duration::from_secs(1)).unwrap_or(now),
        }
    }

    fn update(&mut self, what: &str, done: u64, total: u64) {
        if !self.tty || self.drawn.elapsed() < Duration::from_millis(100) {
            return;
        }
        self.drawn = Instant::now();
        let percent = (done * 100).checked_div(total).unwrap_or(100);
        let mut err = std::io::stderr().lock();
        let _ = write!(
            err,
            "\r\x1b[K  {what:<12} {done:>10} / {total} ({percent}%)"
        );
        let _ = err.flush();
    }

    fn done(&mut self, line: &str) {
        let mut err = std::io::stderr().lock();
        if self.tty {
            let _ = write!(err, "\r\x1b[K");
        }
        let _ = writeln!(err, "  {line}");
    }
}

/// One table's rows and checksum on each side.
struct Check {
    table: String,
    source: (u64, String),
    target: (u64, String),
}

/// What a copy found, to report.
struct Outcome {
    checks: Vec<Check>,
    files: Option<files::FilesCopied>,
    files_named: usize,
}

pub async fn migrate(args: MigrateArgs) -> Result<(), String> {
    let started = Instant::now();
    let from = Location::parse(&args.from, "--from")?;
    let to = Location::parse(&args.to, "--to")?;
    if from.identity() == to.identity() {
        return Err(format!(
            "--from and --to name the same database ({}): the target must be another, empty one",
            redact(from.url())
        ));
    }
    if let Location::Sqlite { path, .. } = &from
        && !path.is_file()
    {
        return Err(format!(
            "--from: there is no SQLite database at {}",
            path.display()
        ));
    }
    refuse_full_target(&to).await?;
    let from_blobs = open_blobs(args.from_attachments.as_deref(), from.url())?;
    let to_blobs = open_blobs(args.to_attachments.as_deref(), to.url())?;
    for (flag, blobs) in [
        ("--from-attachments", &from_blobs),
        ("--to-attachments", &to_blobs),
    ] {
        blobs
            .check()
            .await
            .map_err(|e| format!("{flag} {}: {e}", blobs.describe()))?;
    }

    // The store's own migrations bring the source up to date (as a server
    // start would) and create the target's schema.
    drop(open_store(from.url(), None).await?);
    drop(open_store(to.url(), None).await?);
    eprintln!("Copying {} into {}", redact(from.url()), redact(to.url()));
    let source = from.connect(false).await?;
    let target = to.connect(false).await?;
    let now = Timestamp::now();
    let source_schema = source.schema().await?;
    let target_schema = target.schema().await?;
    let plans = tables::plan(&source_schema, &target_schema, expired_at(now))?;

    let outcome = copy(&source, &target, &plans, &target_schema, &from_blobs, &to_blobs)
        .await
        .map_err(|e| match e {
            Failure::BeforeCommit(e) => format!(
                "{e}\nThe migration stopped; nothing was committed to {}, which has its schema and no rows: \
                 run the migration again (or {} first).",
                redact(to.url()),
                to.drop_hint()
            ),
            Failure::AfterCommit(e) => format!(
                "{e}\nThe migration stopped after the rows were committed to {}: \
                 {} and run the migration again.",
                redact(to.url()),
                to.drop_hint()
            ),
        })?;
    report(&outcome, started.elapsed())
}

/// Refuses a target that holds rows, before anything touches it.
async fn refuse_full_target(to: &Location) -> Result<(), String> {
    if let Location::Sqlite { path, .. } = to
        && !path.exists()
    {
        return Ok(());
    }
    let full = to.connect(true).await?.tables_with_rows().await?;
    if full.is_empty() {
        return Ok(());
    }
    Err(format!(
        "--to {} is not empty (rows in: {}); the migration copies only into an empty database, \
         and left it untouched",
        redact(to.url()),
        full.join(", ")
    ))
}

enum Failure {
    BeforeCommit(String),
    AfterCommit(String),
}

async fn copy(
    source: &Db,
    target: &Db,
    plans: &[Plan],
    target_schema: &Schema,
    from_blobs: &Blobs,
    to_blobs: &Blobs,
) -> Result<Outcome, Failure> {
    let mut progress = Progress::new();
    let before = Failure::BeforeCommit;
    source.begin_snapshot().await.map_err(before)?;
    let mut totals = Vec::new();
    for plan in plans {
        totals.push(source.count(plan).await.map_err(before)?);
    }
    target.begin_write().await.map_err(before)?;
    let mut sums = Vec::new();
    let mut digests = BTreeSet::new();
    for (plan, &total) in plans.iter().zip(&totals) {
        let started = Instant::now();
        let mut tally = Tally::default();
        let mut after: Option<Vec<Value>> = None;
        let mut max_id = 0i64;
        let digest_column = (plan.table == tables::ATTACHMENTS.0)
            .then(|| {
                plan.columns
                    .iter()
                    .position(|c| c.name == tables::ATTACHMENTS.1)
            })
            .flatten();
        let id_column = plan.columns.iter().position(|c| c.name == "id");
        loop {
            let rows = source
                .read(plan, after.as_deref(), BATCH_ROWS)
                .await
                .map_err(before)?;
            let Some(last) = rows.last() else { break };
            after = Some(plan.key_of(last));
            for row in &rows {
                tally.add(row);
                if let Some(Value::Int(id)) = id_column.map(|i| &row[i]) {
                    max_id = max_id.max(*id);
                }
                if let Some(Value::Text(d)) = digest_column.map(|i| &row[i]) {
                    digests.insert(d.clone());
                }
            }
            target.write(plan, &rows).await.map_err(before)?;
            progress.update(&plan.table, tally.rows, total);
            if rows.len() < BATCH_ROWS {
                break;
            }
        }
        if id_column.is_some() {
            let counter = source.counter(&plan.table).await.map_err(before)?;
            let last = counter.unwrap_or(0).max(max_id);
            target
                .set_counter(&plan.table, last)
                .await
                .map_err(before)?;
        }
        progress.done(&format!(
            "{:<12} {:>10} rows copied in {:.1}s",
            plan.table,
            tally.rows,
            started.elapsed().as_secs_f64()
        ));
        sums.push(tally.finish());
    }
    target.commit().await.map_err(before)?;
    let after_commit = Failure::AfterCommit;
    // The snapshot is no longer needed; the connection closes on drop.
    let files = if from_blobs.describe() == to_blobs.describe() {
        None
    } else {
        let total = digests.len() as u64;
        let copied = files::copy(from_blobs, to_blobs, &digests, |n| {
            progress.update("files", n, total)
        })
        .await
        .map_err(after_commit)?;
        progress.done(&format!(
            "{:<12} {:>10} copied ({} bytes) from {} to {}, {} already there",
            "files",
            copied.copied,
            copied.bytes,
            from_blobs.describe(),
            to_blobs.describe(),
            copied.present
        ));
        Some(copied)
    };

    // The target, read back the same way.
    let mut checks = Vec::new();
    for (plan, source_sum) in plans.iter().zip(sums) {
        let mut plan = plan.clone();
        if plan.table == "runs" {
            plan.add_stripes = tables::stripe_columns(&plan.columns, target_schema);
        }
        let mut tally = Tally::default();
        let mut after: Option<Vec<Value>> = None;
        loop {
            let rows = target
                .read(&plan, after.as_deref(), BATCH_ROWS)
                .await
                .map_err(after_commit)?;
            let Some(last) = rows.last() else { break };
            after = Some(plan.key_of(last));
            rows.iter().for_each(|r| tally.add(r));
            progress.update(&format!("check {}", plan.table), tally.rows, source_sum.0);
            if rows.len() < BATCH_ROWS {
                break;
            }
        }
        checks.push(Check {
            table: plan.table.clone(),
            source: source_sum,
            target: tally.finish(),
        });
    }
    progress.done("checked every table on both sides");
    Ok(Outcome {
        checks,
        files,
        files_named: digests.len(),
    })
}

/// Prints the comparison; an error when anything differs.
fn report(outcome: &Outcome, elapsed: Duration) -> Result<(), String> {
    println!(
        "{:<12} {:>12} {:>12}  {:<16} {:<16}  ",
        "table", "source rows", "target rows", "source sha256", "target sha256"
    );
    let mut differ = Vec::new();
    for c in &outcome.checks {
        let same = c.source == c.target;
        if !same {
            differ.push(c.table.clone());
        }
        println!(
            "{:<12} {:>12} {:>12}  {:<16} {:<16}  {}",
            c.table,
            c.source.0,
            c.target.0,
            &c.source.1[..16],
            &c.target.1[..16],
            if same { "ok" } else { "DIFFERENT" }
        );
    }
    match &outcome.files {
        Some(f) => println!(
            "{:<12} {:>12} {:>12}  {} copied, {} already there, {} missing in the source storage",
            "files",
            outcome.files_named,
            f.copied + f.present,
            f.copied,
            f.present,
            f.missing.len()
        ),
        None => println!(
            "{:<12} {:>12} {:>12}  the same attachment storage: nothing to copy",
            "files", outcome.files_named, outcome.files_named
        ),
    }
    println!("Done in {:.1}s.", elapsed.as_secs_f64());
    if !differ.is_empty() {
        return Err(format!(
            "the copy differs from the source in: {} (was the target written to during the copy?)",
            differ.join(", ")
        ));
    }
    if let Some(f) = &outcome.files
        && !f.missing.is_empty()
    {
        return Err(format!(
            "{} attachment file(s) that rows name are missing from the source storage, \
             so the target lacks them too: {}",
            f.missing.len(),
            f.missing.join(", ")
        ));
    }
    Ok(())
}
