//! Connections and transactions. A deadpool pool of tokio-postgres clients
//! (opened by `crate::open`, TLS as the URL says); every statement is
//! prepared once per connection and cached.
//!
//! Writes run in [`write_tx!`]: one READ COMMITTED transaction with explicit
//! row locks, run again from the start when it loses a race (serialization
//! failure, deadlock, or a unique key a concurrent transaction took first),
//! at most [`MAX_ATTEMPTS`] times with a short jittered backoff; a write of
//! one statement runs in [`statement!`] under the same rule. Reads that take
//! more than one statement run in [`snapshot!`] (one REPEATABLE READ READ
//! ONLY transaction, so a page and its total agree); single-statement reads
//! in [`read!`]. A transaction whose connection dies before COMMIT was sent,
//! and any read, runs once more on a new connection (nothing of it was
//! committed); a write that may have been committed is never run twice.
//!
//! Recovery after the database restarts: a connection whose statement failed
//! with a connection-level error is detached from the pool and dropped
//! ([`settle`]), and the pool's recycle check drops any connection whose
//! socket has closed, so the next request opens a fresh one. Waiting for a
//! connection (or opening one) is bounded, so requests fail fast with
//! `Unavailable` while the database is down and work again once it is back.

use std::hash::{BuildHasher, RandomState};
use std::time::Duration;

use deadpool_postgres::{GenericClient, Manager, ManagerConfig, Object, Pool, RecyclingMethod};
use tokio_postgres::Row;
use tokio_postgres::types::{ToSql, Type};
use verdict_store::StoreError;

use crate::config::PgConfig;
use crate::error::{Error, Result, db_err, other, pool_err};

/// Attempts of one write transaction before a lost race is a 503.
pub(crate) const MAX_ATTEMPTS: u32 = 6;
/// How long a request waits for a free connection (or for a new one).
pub(crate) const POOL_TIMEOUT: Duration = Duration::from_secs(5);

type Opened = std::result::Result<
    (tokio_postgres::Client, tokio::task::JoinHandle<()>),
    tokio_postgres::Error,
>;

/// How the pool opens a connection: [`crate::open`], so the pool and
/// direct connections agree on TLS (`sslmode=allow` included).
struct Open(PgConfig);

impl deadpool_postgres::Connect for Open {
    fn connect(
        &self,
        _: &tokio_postgres::Config,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Opened> + Send + '_>> {
        Box::pin(crate::open(&self.0))
    }
}

pub(crate) fn build(config: &PgConfig) -> Result<Pool> {
    let manager = Manager::from_connect(
        config.pg.clone(),
        Open(config.clone()),
        ManagerConfig {
            // `is_closed` only: no extra round trip per checkout. A dead
            // connection that still looks open fails its first statement,
            // which detaches it (see `settle`).
            recycling_method: RecyclingMethod::Fast,
        },
    );
    Pool::builder(manager)
        .max_size(config.pool_size)
        .wait_timeout(Some(POOL_TIMEOUT))
        .create_timeout(Some(POOL_TIMEOUT))
        .recycle_timeout(Some(POOL_TIMEOUT))
        .runtime(deadpool_postgres::Runtime::Tokio1)
        .build()
        .map_err(|e| other(format!("cannot build the connection pool: {e}")))
}

pub(crate) async fn client(pool: &Pool) -> Result<Object> {
    pool.get().await.map_err(pool_err)
}

/// Gives a connection back to the pool, unless what happened on it says it
/// is broken: then it is detached (the pool opens a new one when needed),
/// so a connection killed by a database restart is never handed out again.
/// A connection that died in use means the others most likely did too (a
/// restart ends every session): the idle ones are dropped as well, so the
/// next attempt opens a fresh connection rather than finding another
/// corpse whose end its task has not noticed yet.
pub(crate) fn settle<T>(client: Object, outcome: &Result<T>) {
    settle_write(client, outcome, 0);
}

/// Rows from which a write's connection is closed after use instead of
/// going back to the pool (see [`settle_write`]).
pub(crate) const LARGE_WRITE_ROWS: usize = 10_000;

/// [`settle`] for a write that sent `rows` rows: past [`LARGE_WRITE_ROWS`]
/// its connection is closed as well. A connection's buffers grow to its
/// largest message (a 100,000-row bulk's arrays are several MB) and never
/// shrink, so a pool that once carried big uploads on every connection
/// would keep that memory for good: measured, 241 MB at rest after the
/// benchmark against 72 MB on SQLite. Opening a connection again costs a
/// few milliseconds, next to the hundreds a write that large takes.
pub(crate) fn settle_write<T>(client: Object, outcome: &Result<T>, rows: usize) {
    let lost = matches!(outcome, Err(Error::Lost(_)));
    let broken = client.is_closed() || outcome.as_ref().is_err_and(Error::is_unavailable);
    if lost && let Some(pool) = Object::pool(&client) {
        let dropped = pool.retain(|_, _| false).removed.len();
        tracing::warn!(
            dropped,
            "a database connection was lost; dropped the idle ones"
        );
    }
    if broken || rows > LARGE_WRITE_ROWS {
        drop(Object::take(client));
    }
}

/// A short exponential backoff with jitter (about 5, 10, 20, 40, 80 ms), so
/// transactions that collided do not collide again in step.
pub(crate) async fn backoff(attempt: u32) {
    let base = 5u64 << attempt.saturating_sub(1).min(5);
    let jitter = RandomState::new().hash_one(attempt) % (base + 1);
    tokio::time::sleep(Duration::from_millis(base / 2 + jitter)).await;
}

/// Whether an attempt that failed with `e` runs again: a lost race up to
/// [`MAX_ATTEMPTS`] times; a lost connection once, when nothing can have
/// been committed on it (`may_rerun`).
pub(crate) fn again(e: &Error, attempt: u32, may_rerun: bool) -> bool {
    match e {
        Error::Retry(why) if attempt < MAX_ATTEMPTS => {
            tracing::debug!(attempt, %why, "transaction lost a race, running it again");
            true
        }
        Error::Lost(why) if may_rerun && attempt == 1 => {
            tracing::debug!(%why, "connection lost, running again on a new one");
            true
        }
        _ => false,
    }
}

/// Runs `$body` (a future using the transaction `$tx`) in a READ COMMITTED
/// transaction and commits it; run again from the start while it loses
/// races, and once if its connection dies before COMMIT is sent. Evaluates
/// to a `StoreResult`. The body is evaluated again on each attempt, so it
/// must borrow its inputs, not move them.
macro_rules! write_tx {
    ($store:expr, |$tx:ident| $body:expr) => {
        $crate::pool::write_tx!($store, rows = 0, |$tx| $body)
    };
    // `rows`: how many rows the write sends, for `settle_write`.
    ($store:expr, rows = $rows:expr, |$tx:ident| $body:expr) => {{
        let mut attempt: u32 = 0;
        loop {
            attempt += 1;
            let mut committing = false;
            let outcome: $crate::error::Result<_> = async {
                let mut client = $crate::pool::client(&$store.pool).await?;
                let outcome = async {
                    let $tx = client
                        .build_transaction()
                        .isolation_level(tokio_postgres::IsolationLevel::ReadCommitted)
                        .start()
                        .await
                        .map_err($crate::error::db_err)?;
                    let value = $body.await?;
                    committing = true;
                    $tx.commit().await.map_err($crate::error::db_err)?;
                    Ok::<_, $crate::error::Error>(value)
                }
                .await;
                $crate::pool::settle_write(client, &outcome, $rows);
                outcome
            }
            .await;
            match outcome {
                Err(e) if $crate::pool::again(&e, attempt, !committing) => {
                    $crate::pool::backoff(attempt).await;
                }
                other => break other.map_err($crate::error::Error::into_store),
            }
        }
    }};
}

/// Runs `$body` (a future using the pooled client `$c`) outside an explicit
/// transaction. `read`: statements that change nothing, run again once on
/// a new connection if theirs dies; `write`: one statement that changes
/// rows (its own transaction), never run again after it was sent.
macro_rules! single {
    ($kind:ident, $store:expr, |$c:ident| $body:expr) => {{
        let mut attempt: u32 = 0;
        loop {
            attempt += 1;
            let outcome: $crate::error::Result<_> = async {
                let $c = $crate::pool::client(&$store.pool).await?;
                let outcome = $body.await;
                $crate::pool::settle($c, &outcome);
                outcome
            }
            .await;
            let may_rerun = stringify!($kind) == "read";
            match outcome {
                Err(e) if $crate::pool::again(&e, attempt, may_rerun) => {
                    $crate::pool::backoff(attempt).await;
                }
                other => break other.map_err($crate::error::Error::into_store),
            }
        }
    }};
}

/// One read statement (see [`single!`]).
macro_rules! read {
    ($store:expr, |$c:ident| $body:expr) => {
        $crate::pool::single!(read, $store, |$c| $body)
    };
}

/// One write statement in its own transaction (see [`single!`]).
macro_rules! statement {
    ($store:expr, |$c:ident| $body:expr) => {
        $crate::pool::single!(write, $store, |$c| $body)
    };
}

/// Runs `$body` (a future using `$tx`) in a REPEATABLE READ READ ONLY
/// transaction: one consistent snapshot for reads of several statements.
/// Run again once on a new connection if its connection dies.
macro_rules! snapshot {
    ($store:expr, |$tx:ident| $body:expr) => {{
        let mut attempt: u32 = 0;
        loop {
            attempt += 1;
            let outcome: $crate::error::Result<_> = async {
                let mut client = $crate::pool::client(&$store.pool).await?;
                let outcome = async {
                    let $tx = client
                        .build_transaction()
                        .isolation_level(tokio_postgres::IsolationLevel::RepeatableRead)
                        .read_only(true)
                        .start()
                        .await
                        .map_err($crate::error::db_err)?;
                    let value = $body.await?;
                    $tx.commit().await.map_err($crate::error::db_err)?;
                    Ok::<_, $crate::error::Error>(value)
                }
                .await;
                $crate::pool::settle(client, &outcome);
                outcome
            }
            .await;
            match outcome {
                Err(e) if $crate::pool::again(&e, attempt, true) => {
                    $crate::pool::backoff(attempt).await;
                }
                other => break other.map_err($crate::error::Error::into_store),
            }
        }
    }};
}

pub(crate) use {read, single, snapshot, statement, write_tx};

/// One statement parameter.
pub(crate) type Param<'a> = dyn ToSql + Sync + 'a;
/// Parameters of one statement.
pub(crate) type Params<'a> = [&'a Param<'a>];

pub(crate) async fn query<C: GenericClient>(
    c: &C,
    sql: &str,
    params: &Params<'_>,
) -> Result<Vec<Row>> {
    let stmt = c.prepare_cached(sql).await.map_err(db_err)?;
    c.query(&stmt, params).await.map_err(db_err)
}

/// At most one row.
pub(crate) async fn query_opt<C: GenericClient>(
    c: &C,
    sql: &str,
    params: &Params<'_>,
) -> Result<Option<Row>> {
    let stmt = c.prepare_cached(sql).await.map_err(db_err)?;
    c.query_opt(&stmt, params).await.map_err(db_err)
}

/// Exactly one row; none is `NotFound`.
pub(crate) async fn query_found<C: GenericClient>(
    c: &C,
    sql: &str,
    params: &Params<'_>,
) -> Result<Row> {
    query_opt(c, sql, params)
        .await?
        .ok_or(Error::Store(StoreError::NotFound))
}

pub(crate) async fn execute<C: GenericClient>(
    c: &C,
    sql: &str,
    params: &Params<'_>,
) -> Result<u64> {
    let stmt = c.prepare_cached(sql).await.map_err(db_err)?;
    c.execute(&stmt, params).await.map_err(db_err)
}

/// A parameter of a statement planned for each call, with its type.
pub(crate) type Typed<'a> = (&'a Param<'a>, Type);

/// Runs a statement planned for this call from the tables as they are now
/// (an unnamed statement, in one round trip), where [`query`] keeps each
/// connection's plan.
///
/// For the delivery worker's statements over its queue tables, which grow
/// from nothing to many thousands of rows in minutes: a prepared
/// statement's plan is made generic after a few calls and then kept for
/// the connection's life, and a plan made while a table was small scans
/// all of it. The fan-out kept a hash join over a scan of every event this
/// way, 1,300 buffers per call at 45,000 events, where an index lookup per
/// event takes a few dozen. Planning costs a fraction of a millisecond,
/// paid by the worker's few calls a second.
pub(crate) async fn query_planned<C: tokio_postgres::GenericClient>(
    c: &C,
    sql: &str,
    params: &[Typed<'_>],
) -> Result<Vec<Row>> {
    c.query_typed(sql, params).await.map_err(db_err)
}

/// [`query_planned`] for a statement without rows to return.
pub(crate) async fn execute_planned<C: tokio_postgres::GenericClient>(
    c: &C,
    sql: &str,
    params: &[Typed<'_>],
) -> Result<u64> {
    c.execute_typed(sql, params).await.map_err(db_err)
}

/// Gives the planner statistics after a bulk insert, inside the transaction
/// that inserted (ANALYZE counts its own new rows).
///
/// A table never analyzed, or analyzed when it was a fraction of its size,
/// makes PostgreSQL estimate one row for most lookups, and between two
/// indexes both estimated at one row it takes the smaller: a case lookup by
/// key then used the `(project_id, id)` index and compared every case of
/// the project with every key, and a 50,000-key upsert ran past the request
/// timeout. Autovacuum fixes the statistics, but only a minute or so later.
/// ANALYZE samples a bounded number of rows (about 60 ms at 100,000 cases
/// here), so it runs only after inserts of `WORTH_IT` rows or more. Which
/// run or project a row belongs to has no statistics at all (migration 2).
pub(crate) async fn analyze_after_insert(
    tx: &deadpool_postgres::Transaction<'_>,
    table: &'static str,
    added: usize,
) -> Result<()> {
    const WORTH_IT: usize = 1_000;
    if added >= WORTH_IT {
        tx.batch_execute(&format!("ANALYZE {table}"))
            .await
            .map_err(db_err)?;
    }
    Ok(())
}

/// The value of a column, or an `Other` error naming it.
pub(crate) fn col<'a, T: tokio_postgres::types::FromSql<'a>>(
    row: &'a Row,
    idx: usize,
) -> Result<T> {
    row.try_get(idx)
        .map_err(|e| other(format!("reading column {idx}: {e}")))
}

/// `n` fresh ids from a table's identity sequence, ascending: rows inserted
/// with them in request order get ids that increase in request order, and
/// the caller knows each row's id before inserting it.
pub(crate) async fn alloc_ids<C: GenericClient>(
    c: &C,
    sequence: &str,
    n: usize,
) -> Result<Vec<i64>> {
    if n == 0 {
        return Ok(Vec::new());
    }
    let n = i64::try_from(n).map_err(|_| other("too many rows"))?;
    let rows = query(
        c,
        "SELECT nextval($1::text::regclass) FROM generate_series(1, $2::bigint)",
        &[&sequence, &n],
    )
    .await?;
    sorted_ids(&rows)
}

/// The first column of each row, as ids in increasing order.
pub(crate) fn sorted_ids(rows: &[Row]) -> Result<Vec<i64>> {
    let mut ids = rows
        .iter()
        .map(|r| col::<i64>(r, 0))
        .collect::<Result<Vec<_>>>()?;
    ids.sort_unstable();
    Ok(ids)
}
