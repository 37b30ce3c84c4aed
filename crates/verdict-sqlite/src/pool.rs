//! Connections. Writes go through one writer thread that commits every
//! write waiting at the time in one transaction (group commit): with
//! `synchronous=FULL` each commit costs an fsync, and sharing it is how many
//! small concurrent writes stay both durable and fast. Each write runs in its
//! own savepoint, so one failing write never disturbs the others in its
//! group. Reads run on a small pool of connections on the blocking thread
//! pool, each in its own read transaction (a consistent snapshot).

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, mpsc};

use rusqlite::{Connection, OpenFlags};
use tokio::sync::oneshot;
use verdict_store::{StoreError, StoreResult};

use crate::db_err;

/// How much a commit waits for the disk; see DESIGN §8.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Synchronous {
    /// fsync at every commit: an answered write survives power loss.
    Full,
    /// Opt-in: faster, but the last writes may be lost on power loss.
    Normal,
}

/// The most writes one group commit takes, so one group's latency stays bounded.
const MAX_GROUP: usize = 512;
/// Idle read connections kept open.
const MAX_IDLE_READERS: usize = 8;

/// Delivers a write's answer once the fate of its commit is known.
type Delivery = Box<dyn FnOnce(StoreResult<()>) + Send>;

trait WriteJob: Send {
    /// Runs inside the group's transaction; `isolated` wraps it in a
    /// savepoint so its failure undoes only its own changes. Returns whether
    /// it succeeded and the delivery of its answer.
    fn run(self: Box<Self>, conn: &Connection, isolated: bool) -> (bool, Delivery);
    fn fail(self: Box<Self>, err: StoreError);
}

struct Pending<F, R> {
    work: F,
    reply: oneshot::Sender<StoreResult<R>>,
}

impl<F, R> WriteJob for Pending<F, R>
where
    F: FnOnce(&Connection) -> StoreResult<R> + Send + 'static,
    R: Send + 'static,
{
    fn run(self: Box<Self>, conn: &Connection, isolated: bool) -> (bool, Delivery) {
        let Pending { work, reply } = *self;
        let outcome = if isolated {
            in_savepoint(conn, work)
        } else {
            guarded(conn, work)
        };
        let ok = outcome.is_ok();
        let delivery: Delivery = Box::new(move |commit| {
            // The receiver may have gone (client hung up); nothing to do then.
            let _ = reply.send(commit.and(outcome));
        });
        (ok, delivery)
    }

    fn fail(self: Box<Self>, err: StoreError) {
        let _ = self.reply.send(Err(err));
    }
}

/// Runs a write; a panic becomes an error instead of killing the writer.
fn guarded<R>(
    conn: &Connection,
    work: impl FnOnce(&Connection) -> StoreResult<R>,
) -> StoreResult<R> {
    catch_unwind(AssertUnwindSafe(|| work(conn)))
        .unwrap_or_else(|_| Err(StoreError::Other("a write panicked".into())))
}

fn in_savepoint<R>(
    conn: &Connection,
    work: impl FnOnce(&Connection) -> StoreResult<R>,
) -> StoreResult<R> {
    control(conn, "SAVEPOINT job")?;
    let outcome = guarded(conn, work);
    if outcome.is_err() {
        control(conn, "ROLLBACK TO job")?;
    }
    control(conn, "RELEASE job")?;
    outcome
}

/// A transaction-control statement, prepared once per connection: the
/// writer runs several per group, and parsing them each time cost ~8% of
/// its time at 32 concurrent PATCHes.
fn control(conn: &Connection, sql: &str) -> StoreResult<()> {
    conn.prepare_cached(sql)
        .and_then(|mut stmt| stmt.execute([]))
        .map(drop)
        .map_err(db_err)
}

pub(crate) struct Pool {
    path: PathBuf,
    synchronous: Synchronous,
    writer: Mutex<mpsc::Sender<Box<dyn WriteJob>>>,
    readers: Mutex<Vec<Connection>>,
    /// Read connections checked out right now.
    reading: AtomicU64,
    /// Writes sent to the writer and not yet run (shared with its thread).
    queued: Arc<AtomicU64>,
}

pub(crate) fn open_connection(
    path: &Path,
    synchronous: Synchronous,
) -> rusqlite::Result<Connection> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    let sync = match synchronous {
        Synchronous::Full => "FULL",
        Synchronous::Normal => "NORMAL",
    };
    conn.execute_batch(&format!(
        "PRAGMA busy_timeout = 10000;
         PRAGMA journal_mode = WAL;
         PRAGMA synchronous = {sync};
         PRAGMA foreign_keys = ON;
         PRAGMA temp_store = MEMORY;
         PRAGMA cache_size = -32000;"
    ))?;
    conn.set_prepared_statement_cache_capacity(64);
    Ok(conn)
}

impl Pool {
    pub(crate) fn start(path: PathBuf, synchronous: Synchronous) -> rusqlite::Result<Arc<Pool>> {
        let conn = open_connection(&path, synchronous)?;
        let (tx, rx) = mpsc::channel::<Box<dyn WriteJob>>();
        let queued = Arc::new(AtomicU64::new(0));
        let writer_queued = Arc::clone(&queued);
        std::thread::Builder::new()
            .name("verdict-sqlite-writer".into())
            .spawn(move || writer_loop(conn, rx, &writer_queued))
            .map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(e)))?;
        Ok(Arc::new(Pool {
            path,
            synchronous,
            writer: Mutex::new(tx),
            readers: Mutex::new(Vec::new()),
            reading: AtomicU64::new(0),
            queued,
        }))
    }

    pub(crate) async fn write<R, F>(&self, work: F) -> StoreResult<R>
    where
        F: FnOnce(&Connection) -> StoreResult<R> + Send + 'static,
        R: Send + 'static,
    {
        let (reply, answer) = oneshot::channel();
        let job: Box<dyn WriteJob> = Box::new(Pending { work, reply });
        {
            let sender = self
                .writer
                .lock()
                .map_err(|_| StoreError::Other("writer lock poisoned".into()))?;
            self.queued.fetch_add(1, Ordering::Relaxed);
            sender.send(job).map_err(|_| {
                self.queued.fetch_sub(1, Ordering::Relaxed);
                StoreError::Unavailable("the writer has stopped".into())
            })?;
        }
        answer
            .await
            .map_err(|_| StoreError::Other("the writer dropped a request".into()))?
    }

    pub(crate) async fn read<R, F>(self: &Arc<Self>, work: F) -> StoreResult<R>
    where
        F: FnOnce(&Connection) -> StoreResult<R> + Send + 'static,
        R: Send + 'static,
    {
        let pool = Arc::clone(self);
        tokio::task::spawn_blocking(move || {
            let conn = pool.take_reader()?;
            pool.reading.fetch_add(1, Ordering::Relaxed);
            let outcome = (|| {
                conn.execute_batch("BEGIN").map_err(db_err)?;
                let outcome = work(&conn);
                conn.execute_batch("COMMIT").map_err(db_err)?;
                outcome
            })();
            pool.reading.fetch_sub(1, Ordering::Relaxed);
            if conn.is_autocommit() {
                pool.give_back(conn);
            }
            outcome
        })
        .await
        .map_err(|e| StoreError::Other(format!("read task failed: {e}")))?
    }

    /// Readers in use and idle, the writer (always open, counted in use
    /// while it has work), and the writes waiting for it.
    pub(crate) fn status(&self) -> verdict_store::PoolStatus {
        let idle = self.readers.lock().map(|r| r.len() as u64).unwrap_or(0);
        let queued = self.queued.load(Ordering::Relaxed);
        verdict_store::PoolStatus {
            in_use: self.reading.load(Ordering::Relaxed) + u64::from(queued > 0),
            idle: idle + u64::from(queued == 0),
            max: MAX_IDLE_READERS as u64 + 1,
            waiting: queued,
        }
    }

    /// A point read (one indexed lookup): run right here on the caller's
    /// thread. It takes microseconds, less than handing it to the blocking
    /// pool would; anything that scans goes through [`read`](Self::read).
    pub(crate) fn point<R>(
        &self,
        work: impl FnOnce(&Connection) -> StoreResult<R>,
    ) -> StoreResult<R> {
        let conn = self.take_reader()?;
        self.reading.fetch_add(1, Ordering::Relaxed);
        let outcome = work(&conn);
        self.reading.fetch_sub(1, Ordering::Relaxed);
        if conn.is_autocommit() {
            self.give_back(conn);
        }
        outcome
    }

    fn take_reader(&self) -> StoreResult<Connection> {
        let idle = self.readers.lock().ok().and_then(|mut r| r.pop());
        match idle {
            Some(conn) => Ok(conn),
            None => open_connection(&self.path, self.synchronous).map_err(db_err),
        }
    }

    fn give_back(&self, conn: Connection) {
        if let Ok(mut idle) = self.readers.lock()
            && idle.len() < MAX_IDLE_READERS
        {
            idle.push(conn);
        }
    }
}

fn writer_loop(conn: Connection, jobs: mpsc::Receiver<Box<dyn WriteJob>>, queued: &AtomicU64) {
    while let Ok(first) = jobs.recv() {
        let mut group = vec![first];
        while group.len() < MAX_GROUP {
            match jobs.try_recv() {
                Ok(job) => group.push(job),
                Err(_) => break,
            }
        }
        queued.fetch_sub(group.len() as u64, Ordering::Relaxed);
        if let Err(err) = control(&conn, "BEGIN IMMEDIATE") {
            for job in group {
                job.fail(err.clone());
            }
            continue;
        }
        // A write alone in its group needs no savepoint (whose sub-journal
        // costs a copy of every page it touches): if it fails, the whole
        // transaction is rolled back instead.
        let isolated = group.len() > 1;
        let mut all_ok = true;
        let deliveries: Vec<Delivery> = group
            .into_iter()
            .map(|job| {
                let (ok, delivery) = job.run(&conn, isolated);
                all_ok &= ok;
                delivery
            })
            .collect();
        if !isolated && !all_ok {
            let rollback = control(&conn, "ROLLBACK");
            for deliver in deliveries {
                deliver(rollback.clone());
            }
            continue;
        }
        let commit = control(&conn, "COMMIT");
        if commit.is_err() {
            // Leave no transaction open for the next group.
            let _ = control(&conn, "ROLLBACK");
            tracing::error!(error = ?commit, "group commit failed");
        }
        for deliver in deliveries {
            deliver(commit.clone());
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    /// Pools started and dropped in a loop, each with several readers: the
    /// writer's connection closes on its thread while the readers close on
    /// this one and the next pool opens. SQLite 3.51.1 (bundled by rusqlite
    /// 0.38) deadlocked here within a few hundred rounds: closing a WAL
    /// connection and opening another took two mutexes in opposite orders.
    /// Fixed in SQLite 3.51.2; this keeps us from going back.
    #[test]
    fn connections_opening_and_closing_at_once_never_deadlock() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("churn.db");
        let (done, finished) = mpsc::channel();
        std::thread::spawn(move || {
            for _ in 0..1000 {
                let pool = Pool::start(path.clone(), Synchronous::Normal).expect("start");
                std::thread::scope(|s| {
                    for _ in 0..6 {
                        s.spawn(|| {
                            pool.point(|c| c.query_row("SELECT 1", [], |_| Ok(())).map_err(db_err))
                                .expect("read")
                        });
                    }
                });
                drop(pool);
            }
            let _ = done.send(());
        });
        finished
            .recv_timeout(Duration::from_secs(60))
            .expect("deadlocked opening or closing connections");
    }
}
