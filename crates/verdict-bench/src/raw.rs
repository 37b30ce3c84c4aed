//! Raw SQLite baselines: the same rows the server writes, straight through
//! rusqlite — same schema and indexes (the file is created and migrated by
//! `SqliteStore::open`), same pragmas, history rows and run counts
//! included — with no HTTP, no JSON, no auth, no group-commit machinery.
//! And the same listing queries, run directly on the server's own file.

use std::path::Path;
use std::time::{Duration, Instant};

use rusqlite::{Connection, OpenFlags, params};
use tempfile::TempDir;
use verdict_sqlite::{SqliteConfig, SqliteStore, Synchronous};
use verdict_store::Status;

use crate::backend::TriageRead;
use crate::data::execution;

fn err(e: rusqlite::Error) -> String {
    format!("raw sqlite: {e}")
}

/// The server's pragmas (crates/verdict-sqlite/src/pool.rs).
const PRAGMAS: &str = "PRAGMA busy_timeout = 10000;
     PRAGMA journal_mode = WAL;
     PRAGMA synchronous = FULL;
     PRAGMA foreign_keys = ON;
     PRAGMA temp_store = MEMORY;
     PRAGMA cache_size = -32000;";

const UPDATE: &str = "UPDATE results SET status = ?2, note = ?3, elapsed_ms = ?4, tested_by = ?5, tested_at = ?6 WHERE id = ?1";
const HISTORY: &str = "INSERT INTO history (result_id, status, note, elapsed_ms, tested_by, tested_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)";
const COUNTS: &str = "UPDATE runs SET passed = passed + ?2, failed = failed + ?3, blocked = blocked + ?4, retest = retest + ?5, not_tested = not_tested + ?6 WHERE id = ?1";

/// A fresh database holding one run of `n` untested results.
pub struct RawSqlite {
    _dir: TempDir,
    conn: Connection,
    run: i64,
    user: i64,
    results: Vec<i64>,
    statuses: Vec<Status>,
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

impl RawSqlite {
    pub fn create(n: usize) -> Result<RawSqlite, String> {
        let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
        let path = dir.path().join("raw.db");
        let config = SqliteConfig {
            path: path.clone(),
            synchronous: Synchronous::Full,
        };
        // Creates the file and runs the migrations: the server's schema.
        drop(SqliteStore::open(&config).map_err(|e| format!("raw sqlite: {e}"))?);
        let conn = Connection::open(&path).map_err(err)?;
        conn.execute_batch(PRAGMAS).map_err(err)?;
        conn.execute_batch("BEGIN").map_err(err)?;
        conn.execute(
            "INSERT INTO users (name, email, admin, created_at) VALUES ('raw', 'raw@localhost', 1, 0)",
            [],
        )
        .map_err(err)?;
        let user = conn.last_insert_rowid();
        conn.execute(
            "INSERT INTO projects (name, created_at) VALUES ('raw', 0)",
            [],
        )
        .map_err(err)?;
        let project = conn.last_insert_rowid();
        conn.execute(
            "INSERT INTO runs (project_id, name, created_at, not_tested) VALUES (?1, 'raw', 0, ?2)",
            params![project, n as i64],
        )
        .map_err(err)?;
        let run = conn.last_insert_rowid();
        let mut results = Vec::with_capacity(n);
        {
            let mut case = conn
                .prepare(
                    "INSERT INTO cases (project_id, title, key, created_at) VALUES (?1, ?2, ?3, 0)",
                )
                .map_err(err)?;
            let mut result = conn
                .prepare("INSERT INTO results (run_id, case_id, pos) VALUES (?1, ?2, ?3)")
                .map_err(err)?;
            for i in 0..n {
                case.execute(params![project, format!("Case {i}"), format!("raw.k{i}")])
                    .map_err(err)?;
                let case_id = conn.last_insert_rowid();
                result
                    .execute(params![run, case_id, i as i64 + 1])
                    .map_err(err)?;
                results.push(conn.last_insert_rowid());
            }
        }
        conn.execute_batch("COMMIT").map_err(err)?;
        Ok(RawSqlite {
            _dir: dir,
            conn,
            run,
            user,
            statuses: vec![Status::NotTested; n],
            results,
        })
    }

    /// Writes one execution of result number `i`; keeps the counts delta.
    fn write(
        &mut self,
        i: usize,
        rep: usize,
        delta: &mut [i64; 5],
        now: i64,
    ) -> Result<(), String> {
        let e = execution(i, rep);
        let id = self.results[i];
        let mut update = self.conn.prepare_cached(UPDATE).map_err(err)?;
        let code = e.status.code();
        update
            .execute(params![id, code, e.note, e.elapsed_ms, self.user, now])
            .map_err(err)?;
        let mut history = self.conn.prepare_cached(HISTORY).map_err(err)?;
        history
            .execute(params![id, code, e.note, e.elapsed_ms, self.user, now])
            .map_err(err)?;
        delta[self.statuses[i].code() as usize] -= 1;
        delta[code as usize] += 1;
        self.statuses[i] = e.status;
        Ok(())
    }

    fn add_counts(&self, delta: &[i64; 5]) -> Result<(), String> {
        // Codes: not_tested 0, passed 1, failed 2, blocked 3, retest 4.
        let mut stmt = self.conn.prepare_cached(COUNTS).map_err(err)?;
        stmt.execute(params![
            self.run, delta[1], delta[2], delta[3], delta[4], delta[0]
        ])
        .map_err(err)?;
        Ok(())
    }

    /// Every result of the run once, in one transaction: the bulk baseline.
    /// Like the server's bulk, it runs with the foreign-key checks off (the
    /// server looks every reference up itself in the same transaction).
    pub fn bulk(&mut self, rep: usize) -> Result<Duration, String> {
        let start = Instant::now();
        let now = now_ms();
        self.conn
            .execute_batch("PRAGMA foreign_keys = OFF; BEGIN IMMEDIATE")
            .map_err(err)?;
        let mut delta = [0i64; 5];
        for i in 0..self.results.len() {
            self.write(i, rep, &mut delta, now)?;
        }
        self.add_counts(&delta)?;
        self.conn
            .execute_batch("COMMIT; PRAGMA foreign_keys = ON")
            .map_err(err)?;
        Ok(start.elapsed())
    }

    /// Single executions one after the other, each its own transaction
    /// (UPDATE + history INSERT + run counts, one fsync each) for `span`:
    /// the PATCH baseline. Returns (transactions, time taken).
    pub fn single_rate(&mut self, span: Duration) -> Result<(u64, Duration), String> {
        let start = Instant::now();
        let mut k = 0usize;
        let n = self.results.len();
        while start.elapsed() < span {
            self.conn.execute_batch("BEGIN IMMEDIATE").map_err(err)?;
            let mut delta = [0i64; 5];
            self.write(k % n, 1_000 + k / n, &mut delta, now_ms())?;
            self.add_counts(&delta)?;
            self.conn.execute_batch("COMMIT").map_err(err)?;
            k += 1;
        }
        Ok((k as u64, start.elapsed()))
    }
}

/// One page of a run read straight from a database file.
#[derive(Debug, Clone, Copy)]
pub struct PageQuery {
    pub status: Option<Status>,
    pub after: i64,
    pub limit: i64,
    pub offset: i64,
}

/// A read-only connection to the server's own database file, for the
/// listing baselines.
pub struct RawReader {
    conn: Connection,
}

impl RawReader {
    pub fn open(path: &Path) -> Result<RawReader, String> {
        let conn =
            Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY).map_err(err)?;
        conn.execute_batch("PRAGMA busy_timeout = 10000; PRAGMA cache_size = -32000;")
            .map_err(err)?;
        Ok(RawReader { conn })
    }

    /// The page and the run's counts in one read transaction, the page by
    /// the natural deferred join (ids from the index, then the rows).
    /// Returns (rows, total).
    pub fn page(&self, run: i64, q: &PageQuery) -> Result<(usize, i64), String> {
        let filter = if q.status.is_some() {
            "AND status = ?5"
        } else {
            ""
        };
        let sql = format!(
            "SELECT r.id, r.run_id, r.case_id, c.title, r.status, r.note, r.elapsed_ms, r.tested_by, r.tested_at
             FROM (SELECT id FROM results WHERE run_id = ?1 {filter} AND id > ?2 ORDER BY id LIMIT ?3 OFFSET ?4) p
             JOIN results r ON r.id = p.id JOIN cases c ON c.id = r.case_id ORDER BY r.id"
        );
        self.conn.execute_batch("BEGIN").map_err(err)?;
        let counts: [i64; 5] = self
            .conn
            .prepare_cached(
                "SELECT not_tested, passed, failed, blocked, retest FROM runs WHERE id = ?1",
            )
            .and_then(|mut s| {
                s.query_row([run], |r| {
                    Ok([r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?])
                })
            })
            .map_err(err)?;
        let total = match q.status {
            Some(s) => counts[s.code() as usize],
            None => counts.iter().sum(),
        };
        let mut stmt = self.conn.prepare_cached(&sql).map_err(err)?;
        let code = q.status.map_or(-1, Status::code);
        let mut rows = if q.status.is_some() {
            stmt.query(params![run, q.after, q.limit, q.offset, code])
        } else {
            stmt.query(params![run, q.after, q.limit, q.offset])
        }
        .map_err(err)?;
        let mut n = 0;
        while let Some(row) = rows.next().map_err(err)? {
            let _: (i64, i64, i64, String, i64, Option<String>) = (
                row.get(0).map_err(err)?,
                row.get(1).map_err(err)?,
                row.get(2).map_err(err)?,
                row.get(3).map_err(err)?,
                row.get(4).map_err(err)?,
                row.get(5).map_err(err)?,
            );
            let _: (Option<i64>, Option<i64>, Option<i64>) = (
                row.get(6).map_err(err)?,
                row.get(7).map_err(err)?,
                row.get(8).map_err(err)?,
            );
            n += 1;
        }
        drop(rows);
        self.conn.execute_batch("COMMIT").map_err(err)?;
        Ok((n, total))
    }

    /// Executions recorded for a run (to check that every acknowledged
    /// write is in the file).
    pub fn history_count(&self, run: i64) -> Result<i64, String> {
        self.conn
            .query_row(
                "SELECT count(*) FROM history h JOIN results r ON r.id = h.result_id WHERE r.run_id = ?1",
                [run],
                |r| r.get(0),
            )
            .map_err(err)
    }

    /// The rows of a triage answer (see [`TriageRead`]), every column
    /// read; how many.
    pub fn triage(&self, read: TriageRead) -> Result<usize, String> {
        let reads: Vec<(&str, Vec<i64>)> = match read {
            TriageRead::Compare { run, base } => vec![(COMPARE, vec![run]), (COMPARE, vec![base])],
            TriageRead::Failures { run } => vec![(FAILURES, vec![run])],
            TriageRead::Window { project, runs } => vec![(WINDOW, vec![project, runs])],
            TriageRead::Trends { project, runs } => vec![(TRENDS, vec![project, runs])],
            TriageRead::CaseAcross { case, limit } => vec![(CASE_ACROSS, vec![case, limit])],
        };
        self.conn.execute_batch("BEGIN").map_err(err)?;
        let mut n = 0;
        for (sql, args) in reads {
            let mut stmt = self.conn.prepare_cached(sql).map_err(err)?;
            let columns = stmt.column_count();
            let mut rows = stmt.query(rusqlite::params_from_iter(args)).map_err(err)?;
            while let Some(row) = rows.next().map_err(err)? {
                for i in 0..columns {
                    let _: rusqlite::types::Value = row.get(i).map_err(err)?;
                }
                n += 1;
            }
        }
        self.conn.execute_batch("COMMIT").map_err(err)?;
        Ok(n)
    }
}

pub(crate) const COMPARE: &str =
    "SELECT case_id, status, id FROM results WHERE run_id = ?1 ORDER BY case_id";
pub(crate) const FAILURES: &str = "SELECT r.id, r.case_id, c.title, r.note FROM results r
     JOIN cases c ON c.id = r.case_id WHERE r.run_id = ?1 AND r.status = 2 ORDER BY r.id";
pub(crate) const WINDOW: &str = "SELECT case_id, run_id, status FROM results WHERE run_id IN
     (SELECT id FROM runs WHERE project_id = ?1 ORDER BY id DESC LIMIT ?2) AND status IN (1, 2)";
pub(crate) const TRENDS: &str =
    "SELECT id, name, created_at, branch, passed, failed, blocked, retest,
     not_tested, elapsed_ms FROM runs WHERE project_id = ?1 ORDER BY id DESC LIMIT ?2";
pub(crate) const CASE_ACROSS: &str =
    "SELECT r.run_id, ru.name, ru.branch, ru.\"commit\", r.id, r.status,
     r.note, r.elapsed_ms, r.tested_by, r.tested_at FROM results r
     JOIN runs ru ON ru.id = r.run_id WHERE r.case_id = ?1 ORDER BY r.run_id DESC LIMIT ?2";
