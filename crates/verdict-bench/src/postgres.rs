//! PostgreSQL: `--postgres URL` names a server (e.g.
//! `postgres://postgres@127.0.0.1:5432/postgres`); the benchmark creates a
//! fresh database on it for the server under test and one per raw baseline
//! (`CREATE DATABASE verdict_test_<random>`, dropped afterwards), and runs
//! every workload as for SQLite, rows labelled `pg:`. The raw baselines
//! are in `raw_pg.rs` (UNNEST arrays in one transaction via tokio-postgres).

use std::time::Duration;

use verdict_postgres::testing::TestDatabase;

use crate::backend::{Backend, Baseline, Fut, Kind, Reader, TriageRead};
use crate::raw::PageQuery;
use crate::raw_pg::{RawPg, RawPgReader};
use crate::report::Row;

impl Baseline for RawPg {
    fn bulk(&mut self, rep: usize) -> Fut<'_, Duration> {
        Box::pin(RawPg::bulk(self, rep))
    }

    fn single_rate(&mut self, span: Duration) -> Fut<'_, (u64, Duration)> {
        Box::pin(RawPg::single_rate(self, span))
    }

    fn concurrent_rate(
        &mut self,
        conns: usize,
        span: Duration,
    ) -> Fut<'_, (u64, Duration, Vec<f64>)> {
        Box::pin(RawPg::concurrent_rate(self, conns, span))
    }
}

impl Reader for RawPgReader {
    fn page(&mut self, run: i64, q: PageQuery) -> Fut<'_, (usize, i64)> {
        Box::pin(RawPgReader::page(self, run, q))
    }

    fn history_count(&mut self, run: i64) -> Fut<'_, i64> {
        Box::pin(RawPgReader::history_count(self, run))
    }

    fn triage(&mut self, read: TriageRead) -> Fut<'_, usize> {
        Box::pin(RawPgReader::triage(self, read))
    }
}

pub async fn run(url: &str, quick: bool, only: Option<&str>) -> Result<Vec<Row>, String> {
    let db = TestDatabase::create(url)
        .await
        .map_err(|e| format!("PostgreSQL: cannot create a database: {e}"))?;
    println!(
        "PostgreSQL: fresh database {} (synchronous_commit as the server has it)",
        db.name()
    );
    let (admin, server_url) = (url.to_string(), db.url().to_string());
    let backend = Backend {
        kind: Kind::Postgres,
        label: "pg: ",
        database_url: server_url.clone(),
        baseline: Box::new(move |n| {
            let admin = admin.clone();
            Box::pin(async move {
                RawPg::create(&admin, n)
                    .await
                    .map(|r| Box::new(r) as Box<dyn Baseline>)
            })
        }),
        reader: Box::new(move || {
            let url = server_url.clone();
            Box::pin(async move {
                RawPgReader::open(&url)
                    .await
                    .map(|r| Box::new(r) as Box<dyn Reader>)
            })
        }),
        _dir: None,
    };
    let rows = crate::workloads::run(&backend, quick, only).await;
    drop(backend);
    db.drop_database().await?;
    rows
}
