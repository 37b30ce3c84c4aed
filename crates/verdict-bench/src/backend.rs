//! What a database backend gives the benchmark: the URL `verdict serve`
//! opens, raw baselines written straight through its driver, and a raw
//! reader of the server's own database. SQLite is built here, PostgreSQL
//! in `postgres.rs`.
//!
//! Methods return boxed futures so a driver that is async (tokio-postgres)
//! and one that is not (rusqlite) fit the same workloads.

use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::time::Duration;

use tempfile::TempDir;

use crate::raw::{PageQuery, RawReader, RawSqlite};

pub type Fut<'a, T> = Pin<Box<dyn Future<Output = Result<T, String>> + Send + 'a>>;

/// A fresh database holding one run of `n` untested results (same schema
/// and indexes as the server's), written straight through the driver.
pub trait Baseline: Send {
    /// Every result of the run once (with its history row and the run's
    /// counts), in one transaction. `rep` picks the values.
    fn bulk(&mut self, rep: usize) -> Fut<'_, Duration>;
    /// Single executions, sequential, each its own durable transaction,
    /// for `span`: (transactions, time taken).
    fn single_rate(&mut self, span: Duration) -> Fut<'_, (u64, Duration)>;
    /// `conns` connections writing single executions at once, each sending
    /// what the server sends per PATCH, for `span`: (writes, time taken,
    /// latencies in ms). PostgreSQL only (SQLite has one writer).
    fn concurrent_rate(
        &mut self,
        _conns: usize,
        _span: Duration,
    ) -> Fut<'_, (u64, Duration, Vec<f64>)> {
        Box::pin(async { Err("no concurrent baseline on this backend".to_string()) })
    }
}

/// Reads the server's own database directly.
pub trait Reader: Send {
    /// One page of a run and the run's total for the query: (rows, total).
    fn page(&mut self, run: i64, q: PageQuery) -> Fut<'_, (usize, i64)>;
    /// Executions recorded for a run.
    fn history_count(&mut self, run: i64) -> Fut<'_, i64>;
    /// The rows a triage answer is made of, read straight from the
    /// database: how many.
    fn triage(&mut self, read: TriageRead) -> Fut<'_, usize>;
}

/// What a triage answer reads, as plain queries (the raw baselines of the
/// triage workload).
#[derive(Debug, Clone, Copy)]
pub enum TriageRead {
    /// (case, status, result) of both runs, each ordered by case.
    Compare { run: i64, base: i64 },
    /// The run's failed results with their titles and notes.
    Failures { run: i64 },
    /// (case, run, status) of the passed and failed results of the
    /// project's latest `runs` runs.
    Window { project: i64, runs: i64 },
    /// The project's latest `runs` runs with their counts.
    Trends { project: i64, runs: i64 },
    /// The case's latest `limit` results with their runs.
    CaseAcross { case: i64, limit: i64 },
}

type MakeBaseline = Box<dyn Fn(usize) -> Fut<'static, Box<dyn Baseline>> + Send + Sync>;
type MakeReader = Box<dyn Fn() -> Fut<'static, Box<dyn Reader>> + Send + Sync>;

/// Which engine: some targets of issue #6 are stated for SQLite only.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Sqlite,
    Postgres,
}

pub struct Backend {
    pub kind: Kind,
    /// Prefix of the workload names (empty for the default backend).
    pub label: &'static str,
    /// What the server is started with (`--database-url`).
    pub database_url: String,
    pub baseline: MakeBaseline,
    pub reader: MakeReader,
    /// Keeps a temporary database directory alive.
    pub _dir: Option<TempDir>,
}

impl Baseline for RawSqlite {
    fn bulk(&mut self, rep: usize) -> Fut<'_, Duration> {
        Box::pin(async move { RawSqlite::bulk(self, rep) })
    }

    fn single_rate(&mut self, span: Duration) -> Fut<'_, (u64, Duration)> {
        Box::pin(async move { RawSqlite::single_rate(self, span) })
    }
}

impl Reader for RawReader {
    fn page(&mut self, run: i64, q: PageQuery) -> Fut<'_, (usize, i64)> {
        Box::pin(async move { RawReader::page(self, run, &q) })
    }

    fn history_count(&mut self, run: i64) -> Fut<'_, i64> {
        Box::pin(async move { RawReader::history_count(self, run) })
    }

    fn triage(&mut self, read: TriageRead) -> Fut<'_, usize> {
        Box::pin(async move { RawReader::triage(self, read) })
    }
}

/// SQLite (the default, `synchronous=FULL`) on a fresh temporary file.
pub fn sqlite() -> Result<Backend, String> {
    let dir = tempfile::tempdir().map_err(|e| format!("cannot make a temp dir: {e}"))?;
    let path: PathBuf = dir.path().join("bench.db");
    let reader_path = path.clone();
    Ok(Backend {
        kind: Kind::Sqlite,
        label: "",
        database_url: format!("sqlite://{}", path.display()),
        baseline: Box::new(|n| {
            Box::pin(async move { RawSqlite::create(n).map(|r| Box::new(r) as Box<dyn Baseline>) })
        }),
        reader: Box::new(move || {
            let path = reader_path.clone();
            Box::pin(async move { RawReader::open(&path).map(|r| Box::new(r) as Box<dyn Reader>) })
        }),
        _dir: Some(dir),
    })
}
