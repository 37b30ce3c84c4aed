//! Raw PostgreSQL baselines through tokio-postgres: a fresh database
//! migrated by `PgStore::connect` (the server's schema and indexes), then
//! the same rows the server writes — the bulk as `UNNEST` arrays in one
//! transaction (one `UPDATE … FROM unnest`, one `INSERT … SELECT FROM
//! unnest` for the history, one counts update), single executions as one
//! transaction each — and the same listing queries on the server's own
//! database.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use tokio_postgres::types::ToSql;
use tokio_postgres::{Client, Statement};
use verdict_postgres::testing::TestDatabase;
use verdict_postgres::{PgConfig, PgStore};
use verdict_store::Status;

use crate::data::execution;
use crate::raw::PageQuery;

fn err(e: tokio_postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => format!("raw postgres: {}", db.message()),
        None => format!("raw postgres: {e}"),
    }
}

/// A direct connection (TLS as the URL says); its connection task runs on
/// the current runtime.
pub async fn connect(url: &str) -> Result<Client, String> {
    verdict_postgres::connect_client(&PgConfig::from_url(url)?)
        .await
        .map_err(|e| format!("raw postgres: {e}"))
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

const COUNTS: &str =
    "UPDATE runs SET passed = passed + $2, failed = failed + $3, blocked = blocked + $4,
     retest = retest + $5, not_tested = not_tested + $6 WHERE id = $1";

/// A fresh database (dropped with this value) holding one run of `n`
/// untested results.
pub struct RawPg {
    client: Client,
    run: i64,
    user: i64,
    results: Vec<i64>,
    statuses: Vec<Status>,
    /// The hash of a token of `user`, as the server looks tokens up.
    token: Vec<u8>,
    // Last, so the connection is gone before the database is dropped.
    _db: TestDatabase,
}

impl RawPg {
    pub async fn create(admin_url: &str, n: usize) -> Result<RawPg, String> {
        let db = TestDatabase::create(admin_url).await?;
        let store = PgStore::connect(&PgConfig::from_url(db.url())?)
            .await
            .map_err(|e| format!("raw postgres: {e}"))?;
        store.close();
        let client = connect(db.url()).await?;
        let user: i64 = client
            .query_one(
                "INSERT INTO users (name, email, admin, created_at) VALUES ('raw', 'raw@localhost', true, 0) RETURNING id",
                &[],
            )
            .await
            .map_err(err)?
            .get(0);
        let project: i64 = client
            .query_one(
                "INSERT INTO projects (name, created_at) VALUES ('raw', 0) RETURNING id",
                &[],
            )
            .await
            .map_err(err)?
            .get(0);
        let run: i64 = client
            .query_one(
                "INSERT INTO runs (project_id, name, created_at, not_tested) VALUES ($1, 'raw', 0, $2) RETURNING id",
                &[&project, &(n as i64)],
            )
            .await
            .map_err(err)?
            .get(0);
        client
            .execute(
                "INSERT INTO cases (project_id, title, key, created_at)
                 SELECT $1, 'Case ' || i, 'raw.k' || i, 0 FROM generate_series(0, $2::bigint - 1) AS i ORDER BY i",
                &[&project, &(n as i64)],
            )
            .await
            .map_err(err)?;
        let rows = client
            .query(
                "INSERT INTO results (run_id, case_id, pos) SELECT $1, id, row_number() OVER (ORDER BY id) FROM cases WHERE project_id = $2 ORDER BY id RETURNING id",
                &[&run, &project],
            )
            .await
            .map_err(err)?;
        let mut results: Vec<i64> = rows.iter().map(|r| r.get(0)).collect();
        results.sort_unstable();
        let token = vec![0x5a_u8; 32];
        client
            .execute(
                "INSERT INTO tokens (user_id, name, hash, created_at) VALUES ($1, 'raw', $2, 0)",
                &[&user, &token],
            )
            .await
            .map_err(err)?;
        client.batch_execute("ANALYZE").await.map_err(err)?;
        Ok(RawPg {
            token,
            client,
            run,
            user,
            statuses: vec![Status::NotTested; results.len()],
            results,
            _db: db,
        })
    }

    /// Every result once in one transaction, as UNNEST arrays.
    pub async fn bulk(&mut self, rep: usize) -> Result<Duration, String> {
        let start = Instant::now();
        let n = self.results.len();
        let (mut status, mut note, mut elapsed) = (
            Vec::with_capacity(n),
            Vec::with_capacity(n),
            Vec::with_capacity(n),
        );
        let mut delta = [0i64; 5];
        for i in 0..n {
            let e = execution(i, rep);
            delta[self.statuses[i].code() as usize] -= 1;
            delta[e.status.code() as usize] += 1;
            self.statuses[i] = e.status;
            status.push(e.status.code() as i16);
            note.push(e.note);
            elapsed.push(e.elapsed_ms);
        }
        let now = now_ms();
        let by = vec![self.user; n];
        let at = vec![now; n];
        let tx = self.client.transaction().await.map_err(err)?;
        tx.execute(
            "UPDATE results r SET status = u.status, note = u.note, elapsed_ms = u.elapsed_ms,
                 tested_by = u.tested_by, tested_at = u.tested_at
             FROM unnest($1::bigint[], $2::smallint[], $3::text[], $4::bigint[], $5::bigint[], $6::bigint[])
                 AS u(id, status, note, elapsed_ms, tested_by, tested_at)
             WHERE r.id = u.id",
            &[&self.results, &status, &note, &elapsed, &by, &at],
        )
        .await
        .map_err(err)?;
        tx.execute(
            "INSERT INTO history (result_id, status, note, elapsed_ms, tested_by, tested_at)
             SELECT * FROM unnest($1::bigint[], $2::smallint[], $3::text[], $4::bigint[], $5::bigint[], $6::bigint[])",
            &[&self.results, &status, &note, &elapsed, &by, &at],
        )
        .await
        .map_err(err)?;
        tx.execute(
            COUNTS,
            &[
                &self.run, &delta[1], &delta[2], &delta[3], &delta[4], &delta[0],
            ],
        )
        .await
        .map_err(err)?;
        tx.commit().await.map_err(err)?;
        Ok(start.elapsed())
    }

    /// One transaction per execution (UPDATE + history INSERT + counts).
    pub async fn single_rate(&mut self, span: Duration) -> Result<(u64, Duration), String> {
        let update = self
            .client
            .prepare("UPDATE results SET status = $2, note = $3, elapsed_ms = $4, tested_by = $5, tested_at = $6 WHERE id = $1")
            .await
            .map_err(err)?;
        let history = self
            .client
            .prepare("INSERT INTO history (result_id, status, note, elapsed_ms, tested_by, tested_at) VALUES ($1, $2, $3, $4, $5, $6)")
            .await
            .map_err(err)?;
        let counts = self.client.prepare(COUNTS).await.map_err(err)?;
        let start = Instant::now();
        let n = self.results.len();
        let mut k = 0usize;
        while start.elapsed() < span {
            let i = k % n;
            let e = execution(i, 1_000 + k / n);
            let (id, code, now) = (self.results[i], e.status.code() as i16, now_ms());
            let mut delta = [0i64; 5];
            delta[self.statuses[i].code() as usize] -= 1;
            delta[e.status.code() as usize] += 1;
            self.statuses[i] = e.status;
            let tx = self.client.transaction().await.map_err(err)?;
            tx.execute(
                &update,
                &[&id, &code, &e.note, &e.elapsed_ms, &self.user, &now],
            )
            .await
            .map_err(err)?;
            tx.execute(
                &history,
                &[&id, &code, &e.note, &e.elapsed_ms, &self.user, &now],
            )
            .await
            .map_err(err)?;
            tx.execute(
                &counts,
                &[
                    &self.run, &delta[1], &delta[2], &delta[3], &delta[4], &delta[0],
                ],
            )
            .await
            .map_err(err)?;
            tx.commit().await.map_err(err)?;
            k += 1;
        }
        Ok((k as u64, start.elapsed()))
    }
}

impl RawPg {
    /// `conns` connections at once for `span`, each sending, per write,
    /// the statements the server sends for a PATCH of one result (the
    /// token look-up, the one-statement checked write:
    /// `verdict_postgres::testing::patch_statements`), prepared once per
    /// connection as the server's are: (writes, time taken, latencies ms).
    pub async fn concurrent_rate(
        &mut self,
        conns: usize,
        span: Duration,
    ) -> Result<(u64, Duration, Vec<f64>), String> {
        let statements = std::sync::Arc::new(verdict_postgres::testing::patch_statements());
        let ids = std::sync::Arc::new(self.results.clone());
        let mut clients = Vec::with_capacity(conns);
        for _ in 0..conns {
            clients.push(connect(self._db.url()).await?);
        }
        let start = Instant::now();
        let deadline = start + span;
        let mut tasks = Vec::with_capacity(conns);
        for (task, client) in clients.into_iter().enumerate() {
            let (statements, ids) = (statements.clone(), ids.clone());
            let (run, user, token) = (self.run, self.user, self.token.clone());
            tasks.push(tokio::spawn(async move {
                let [auth, record] = &*statements;
                let auth = client.prepare(auth).await.map_err(err)?;
                let record = client.prepare(record).await.map_err(err)?;
                let none: Option<String> = None;
                let mut latencies = Vec::new();
                let first = task * ids.len() / conns;
                let mut k = 0usize;
                while Instant::now() < deadline {
                    let i = (first + k) % ids.len();
                    let e = execution(i, 2_000 + k);
                    let (code, now) = (e.status.code() as i16, now_ms());
                    let tested = (e.status != Status::NotTested).then_some((user, now));
                    let (by, at) = (tested.map(|t| t.0), tested.map(|t| t.1));
                    let sent = Instant::now();
                    client.query_opt(&auth, &[&token]).await.map_err(err)?;
                    let rows = client
                        .query(
                            &record,
                            &[
                                &ids[i],
                                &run,
                                &code,
                                &e.note,
                                &e.elapsed_ms,
                                &by,
                                &at,
                                &none,
                                &none,
                                &none,
                                &user,
                                &now,
                                &true,
                            ],
                        )
                        .await
                        .map_err(err)?;
                    if rows.len() != 1 {
                        return Err("raw postgres: the write wrote nothing".to_string());
                    }
                    latencies.push(sent.elapsed().as_secs_f64() * 1000.0);
                    k += 1;
                }
                Ok::<_, String>(latencies)
            }));
        }
        let mut all = Vec::new();
        for t in tasks {
            all.extend(t.await.map_err(|e| format!("a raw task failed: {e}"))??);
        }
        Ok((all.len() as u64, start.elapsed(), all))
    }
}

/// Reads the server's own database directly, with statements prepared
/// once and the counts and the page pipelined in one round trip.
pub struct RawPgReader {
    client: Client,
    /// By (status filter, cursor): the counts and the page statements.
    prepared: HashMap<(bool, bool), (Statement, Statement)>,
}

const PAGE: &str = "SELECT r.id, r.run_id, r.case_id, c.title, r.status, r.note, r.elapsed_ms, r.tested_by, r.tested_at
     FROM (SELECT id FROM results WHERE run_id = $1 FILTER AND id > $2 ORDER BY id LIMIT $3 OFFSET $4) p
     JOIN results r ON r.id = p.id JOIN cases c ON c.id = r.case_id ORDER BY r.id";

const PAGE_BY_POSITION: &str = "SELECT r.id, r.run_id, r.case_id, c.title, r.status, r.note, r.elapsed_ms, r.tested_by, r.tested_at
     FROM (SELECT id FROM results WHERE run_id = $1 AND pos > $2 ORDER BY pos LIMIT $3) p
     JOIN results r ON r.id = p.id JOIN cases c ON c.id = r.case_id ORDER BY r.id";

impl RawPgReader {
    pub async fn open(url: &str) -> Result<RawPgReader, String> {
        Ok(RawPgReader {
            client: connect(url).await?,
            prepared: HashMap::new(),
        })
    }

    /// The page (deferred join) and the run's total for the query.
    pub async fn page(&mut self, run: i64, q: PageQuery) -> Result<(usize, i64), String> {
        let filtered = q.status.is_some();
        let shape = (filtered, filtered || q.after != 0);
        if !self.prepared.contains_key(&shape) {
            let counts = self
                .client
                .prepare(
                    "SELECT not_tested, passed, failed, blocked, retest FROM runs WHERE id = $1",
                )
                .await
                .map_err(err)?;
            // The server's statements: an unfiltered page from the start
            // is a range of positions ($2 and $4 are 0 then).
            let sql = match shape {
                (true, _) => PAGE.replace("FILTER", "AND status = $5"),
                (false, true) => PAGE.replace("FILTER", ""),
                (false, false) => PAGE_BY_POSITION.to_string(),
            };
            let page = self.client.prepare(&sql).await.map_err(err)?;
            self.prepared.insert(shape, (counts, page));
        }
        let (counts, page) = self.prepared.get(&shape).ok_or("no statement")?;
        let code = q.status.map_or(0, |s| s.code() as i16);
        let mut params: Vec<&(dyn ToSql + Sync)> = vec![&run, &q.after, &q.limit, &q.offset];
        if filtered {
            params.push(&code);
        } else if !shape.1 {
            params = vec![&run, &q.offset, &q.limit];
        }
        let by_run: [&(dyn ToSql + Sync); 1] = [&run];
        let (counts, rows) = tokio::try_join!(
            self.client.query_one(counts, &by_run),
            self.client.query(page, &params)
        )
        .map_err(err)?;
        let total: i64 = match q.status {
            Some(s) => counts.get(s.code() as usize),
            None => (0..5).map(|i| counts.get::<_, i64>(i)).sum(),
        };
        for r in &rows {
            let _: (i64, String, Option<String>) = (r.get(0), r.get(3), r.get(5));
        }
        Ok((rows.len(), total))
    }

    pub async fn history_count(&mut self, run: i64) -> Result<i64, String> {
        let row = self
            .client
            .query_one(
                "SELECT count(*) FROM history h JOIN results r ON r.id = h.result_id WHERE r.run_id = $1",
                &[&run],
            )
            .await
            .map_err(err)?;
        Ok(row.get(0))
    }

    /// The rows of a triage answer (see [`TriageRead`]); how many. The
    /// reads of a comparison are pipelined, as the server's are.
    pub async fn triage(&mut self, read: TriageRead) -> Result<usize, String> {
        let sql = |q: &str| q.replace("?1", "$1").replace("?2", "$2");
        let n = match read {
            TriageRead::Compare { run, base } => {
                let stmt = self.client.prepare(&sql(COMPARE)).await.map_err(err)?;
                let (by_run, by_base): ([&(dyn ToSql + Sync); 1], [&(dyn ToSql + Sync); 1]) =
                    ([&run], [&base]);
                let (a, b) = tokio::try_join!(
                    self.client.query(&stmt, &by_run),
                    self.client.query(&stmt, &by_base)
                )
                .map_err(err)?;
                a.len() + b.len()
            }
            TriageRead::Failures { run } => self
                .client
                .query(&sql(FAILURES), &[&run])
                .await
                .map_err(err)?
                .len(),
            TriageRead::Window { project, runs } => self
                .client
                .query(&sql(WINDOW), &[&project, &runs])
                .await
                .map_err(err)?
                .len(),
            TriageRead::Trends { project, runs } => self
                .client
                .query(&sql(TRENDS), &[&project, &runs])
                .await
                .map_err(err)?
                .len(),
            TriageRead::CaseAcross { case, limit } => self
                .client
                .query(&sql(CASE_ACROSS), &[&case, &limit])
                .await
                .map_err(err)?
                .len(),
        };
        Ok(n)
    }
}

use crate::backend::TriageRead;
use crate::raw::{CASE_ACROSS, COMPARE, FAILURES, TRENDS, WINDOW};
