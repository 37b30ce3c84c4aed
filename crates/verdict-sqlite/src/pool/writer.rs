//! The writer: one thread owns the only writing connection and commits
//! every write waiting at the time in one transaction (group commit), each
//! in its own savepoint so one failing write never disturbs the others.
//! Under `Synchronous::Full` it commits with `synchronous=NORMAL` and hands
//! each group to the WAL sync thread ([`wal_sync`](crate::wal_sync)), which
//! answers it once the WAL is on disk; meanwhile the writer takes new
//! writes into its next group. A write queued inside a tracing span runs
//! inside that span on the writer thread.

use std::collections::VecDeque;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;
use std::sync::{Arc, Condvar, Mutex};

use rusqlite::Connection;
use tokio::sync::oneshot;
use verdict_store::{StoreError, StoreResult};

use super::Pool;
use super::connection::{Synchronous, open_connection};
use crate::db_err;
use crate::wal_sync::{self, Delivery, WalSync};

/// The most writes one group commit takes, so one group's latency stays bounded.
const MAX_GROUP: usize = 512;

trait WriteJob: Send {
    /// Runs inside the group's transaction; `isolated` wraps it in a
    /// savepoint so its failure undoes only its own changes. Returns whether
    /// it succeeded and the delivery of its answer.
    fn run(self: Box<Self>, conn: &Connection, isolated: bool) -> (bool, Delivery);
    fn fail(self: Box<Self>, err: StoreError);
    /// Whether it commits in a transaction of its own, with SQLite's
    /// foreign-key checks off (see [`Pool::write_bulk`]), or runs outside
    /// any transaction (see [`Pool::maintain`]); either way it is taken
    /// alone.
    fn solo(&self) -> bool;
    /// Whether it runs outside any transaction.
    fn bare(&self) -> bool;
}

struct Pending<F, R> {
    work: F,
    reply: oneshot::Sender<StoreResult<R>>,
    solo: bool,
    bare: bool,
    /// The span current where the write was queued, entered around `work`
    /// on the writer thread.
    span: tracing::Span,
}

impl<F, R> WriteJob for Pending<F, R>
where
    F: FnOnce(&Connection) -> StoreResult<R> + Send + 'static,
    R: Send + 'static,
{
    fn run(self: Box<Self>, conn: &Connection, isolated: bool) -> (bool, Delivery) {
        let Pending {
            work, reply, span, ..
        } = *self;
        let outcome = {
            let _entered = span.enter();
            if isolated {
                in_savepoint(conn, work)
            } else {
                guarded(conn, work)
            }
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

    fn solo(&self) -> bool {
        self.solo || self.bare
    }

    fn bare(&self) -> bool {
        self.bare
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

/// The writer's queue. The writer sleeps on `ready` until there is a job,
/// the pool is dropped, or (while it grows a group) the WAL sync finishes.
pub(super) struct Queue {
    state: Mutex<QueueState>,
    ready: Condvar,
}

struct QueueState {
    jobs: VecDeque<Box<dyn WriteJob>>,
    /// False once the pool is dropped: the writer finishes what is queued
    /// and stops.
    open: bool,
}

impl Queue {
    fn new() -> Queue {
        Queue {
            state: Mutex::new(QueueState {
                jobs: VecDeque::new(),
                open: true,
            }),
            ready: Condvar::new(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, QueueState> {
        // A panic while holding this lock cannot leave the queue half-changed
        // (every change is one push, drain or flag), so a poisoned lock is
        // still usable.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Stops taking writes: the writer finishes what is queued and ends.
    pub(super) fn close(&self) {
        self.lock().open = false;
        self.ready.notify_all();
    }

    /// Writes waiting for the writer.
    pub(super) fn queued(&self) -> u64 {
        self.lock().jobs.len() as u64
    }

    /// Wakes the writer (to look at the sync thread's state again).
    fn wake(&self) {
        let _guard = self.lock();
        self.ready.notify_all();
    }

    /// Takes up to `max` jobs, sleeping while there are none and `wait()`
    /// holds; `None` when there are none and it no longer holds (or the
    /// pool is gone). A solo job is taken alone, and only when `solo_ok`
    /// (`None` otherwise); other jobs are taken up to the next solo one.
    fn take(
        &self,
        max: usize,
        solo_ok: bool,
        wait: impl Fn() -> bool,
    ) -> Option<Vec<Box<dyn WriteJob>>> {
        let mut state = self.lock();
        loop {
            if let Some(first) = state.jobs.front() {
                if first.solo() {
                    return solo_ok.then(|| state.jobs.drain(..1).collect());
                }
                let n = state
                    .jobs
                    .iter()
                    .take(max)
                    .take_while(|job| !job.solo())
                    .count();
                return Some(state.jobs.drain(..n).collect());
            }
            if !state.open || !wait() {
                return None;
            }
            state = self.ready.wait(state).unwrap_or_else(|e| e.into_inner());
        }
    }
}

/// Closes the queue when the writer thread ends (or unwinds): jobs still
/// queued are dropped, which answers each with an error.
struct CloseOnExit<'a>(&'a Queue);

impl Drop for CloseOnExit<'_> {
    fn drop(&mut self) {
        let mut state = self.0.lock();
        state.open = false;
        state.jobs.clear();
    }
}

/// Opens the writer's connection and starts the writer thread (and, under
/// `Full`, the WAL sync thread); the queue is how writes reach them.
pub(super) fn start(path: &Path, synchronous: Synchronous) -> rusqlite::Result<Arc<Queue>> {
    // Under `Full` the writer commits with `NORMAL` and a sync thread
    // makes each group durable before it is answered (see wal_sync).
    let conn = open_connection(path, Synchronous::Normal)?;
    let thread_err = |e: std::io::Error| rusqlite::Error::ToSqlConversionFailure(Box::new(e));
    let queue = Arc::new(Queue::new());
    let sync = match synchronous {
        Synchronous::Full => {
            let writer = Arc::clone(&queue);
            Some(WalSync::start(path, move || writer.wake()).map_err(thread_err)?)
        }
        Synchronous::Normal => None,
    };
    let jobs = Arc::clone(&queue);
    std::thread::Builder::new()
        .name("verdict-writer".into())
        .spawn(move || {
            // However the writer ends, later writes fail at once instead
            // of waiting for an answer that will not come.
            let _closed = CloseOnExit(&jobs);
            writer_loop(&conn, &jobs, sync.as_ref());
        })
        .map_err(thread_err)?;
    Ok(queue)
}

impl Pool {
    pub(crate) async fn write<R, F>(&self, work: F) -> StoreResult<R>
    where
        F: FnOnce(&Connection) -> StoreResult<R> + Send + 'static,
        R: Send + 'static,
    {
        self.submit(work, false, false).await
    }

    /// A large write that checks every reference it stores itself, in the
    /// same transaction (a bulk of results: the run is read, every result
    /// located in it, the actor authenticated). It commits in a
    /// transaction of its own with SQLite's foreign-key checks off: they
    /// cost three lookups per result, 40% of a 50,000-result bulk, and
    /// would find nothing. Every other write keeps them.
    pub(crate) async fn write_bulk<R, F>(&self, work: F) -> StoreResult<R>
    where
        F: FnOnce(&Connection) -> StoreResult<R> + Send + 'static,
        R: Send + 'static,
    {
        self.submit(work, true, false).await
    }

    /// Work that must run outside any transaction on the writing
    /// connection (VACUUM, a WAL checkpoint): taken alone, between groups,
    /// with no BEGIN around it. It is answered when it returns.
    pub(crate) async fn maintain<R, F>(&self, work: F) -> StoreResult<R>
    where
        F: FnOnce(&Connection) -> StoreResult<R> + Send + 'static,
        R: Send + 'static,
    {
        self.submit(work, false, true).await
    }

    async fn submit<R, F>(&self, work: F, solo: bool, bare: bool) -> StoreResult<R>
    where
        F: FnOnce(&Connection) -> StoreResult<R> + Send + 'static,
        R: Send + 'static,
    {
        let (reply, answer) = oneshot::channel();
        let job: Box<dyn WriteJob> = Box::new(Pending {
            work,
            reply,
            solo,
            bare,
            span: tracing::Span::current(),
        });
        {
            let mut state = self.queue.lock();
            if !state.open {
                return Err(StoreError::Unavailable("the writer has stopped".into()));
            }
            state.jobs.push_back(job);
            self.queue.ready.notify_one();
        }
        answer
            .await
            .map_err(|_| StoreError::Unavailable("the writer stopped before answering".into()))?
    }
}

/// Turns SQLite's foreign-key checks on or off for the transactions that
/// follow (`checking` is what they are now). The pragma does nothing inside
/// a transaction, so it is refused there rather than silently ignored.
fn check_foreign_keys(conn: &Connection, checking: &mut bool, on: bool) -> StoreResult<()> {
    if *checking == on {
        return Ok(());
    }
    if !conn.is_autocommit() {
        return Err(StoreError::Other(
            "the writer's connection is still in a transaction".into(),
        ));
    }
    control(
        conn,
        if on {
            "PRAGMA foreign_keys = ON"
        } else {
            "PRAGMA foreign_keys = OFF"
        },
    )?;
    *checking = on;
    Ok(())
}

fn writer_loop(conn: &Connection, queue: &Queue, sync: Option<&WalSync>) {
    let syncing = || sync.is_some_and(WalSync::in_flight);
    // Foreign-key checks are on except around a solo job's transaction.
    let mut checking = true;
    // Sleeps until there is work; stops once the pool is gone and the
    // queue is empty.
    while let Some(group) = queue.take(MAX_GROUP, true, || true) {
        // A solo job is always taken alone.
        let solo = group.iter().any(|job| job.solo());
        if group.iter().any(|job| job.bare()) {
            for job in group {
                let (_, deliver) = job.run(conn, false);
                deliver(Ok(()));
            }
            continue;
        }
        let begin = match sync {
            Some(sync) if sync.failed() => Err(wal_sync::sync_failed()),
            _ => check_foreign_keys(conn, &mut checking, !solo)
                .and_then(|()| control(conn, "BEGIN IMMEDIATE")),
        };
        if let Err(err) = begin {
            for job in group {
                job.fail(err.clone());
            }
            continue;
        }
        // While the previous group's sync is still running, this group
        // could not be answered sooner than that sync ends anyway: keep
        // taking writes into it until then (fewer, larger commits write
        // each shared page once). Otherwise a write alone in its group
        // needs no savepoint (whose sub-journal costs a copy of every page
        // it touches): if it fails, the whole transaction is rolled back.
        let grow = !solo && syncing();
        let isolated = grow || group.len() > 1;
        let mut all_ok = true;
        let mut deliveries: Vec<Delivery> = Vec::with_capacity(group.len());
        let mut run = |jobs: Vec<Box<dyn WriteJob>>, deliveries: &mut Vec<Delivery>| {
            for job in jobs {
                let (ok, delivery) = job.run(conn, isolated);
                all_ok &= ok;
                deliveries.push(delivery);
            }
        };
        run(group, &mut deliveries);
        while grow && deliveries.len() < MAX_GROUP {
            match queue.take(MAX_GROUP - deliveries.len(), false, syncing) {
                Some(more) => run(more, &mut deliveries),
                None => break,
            }
        }
        if !isolated && !all_ok {
            let rollback = control(conn, "ROLLBACK");
            for deliver in deliveries {
                deliver(rollback.clone());
            }
            continue;
        }
        let commit = control(conn, "COMMIT");
        if commit.is_err() {
            // Leave no transaction open for the next group.
            let _ = control(conn, "ROLLBACK");
            tracing::error!(error = ?commit, "group commit failed");
        }
        match (sync, commit) {
            (Some(sync), Ok(())) => sync.after_commit(deliveries),
            (_, commit) => {
                for deliver in deliveries {
                    deliver(commit.clone());
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn sync_threads() -> usize {
        std::fs::read_dir("/proc/self/task")
            .map(|tasks| {
                tasks
                    .filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("comm")).ok())
                    .filter(|name| name.trim() == "verdict-walsync")
                    .count()
            })
            .unwrap_or(0)
    }

    /// Under `Full` a write is answered through the WAL sync thread, and
    /// what was answered is in the file when it is opened again; dropping
    /// the pool stops its writer and sync threads.
    #[test]
    #[cfg(target_os = "linux")]
    fn full_writes_are_answered_after_their_sync_and_pools_stop_their_threads() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("full.db");
        let runtime = runtime();
        for round in 0..50 {
            let pool = Pool::start(path.clone(), Synchronous::Full).expect("start");
            runtime.block_on(async {
                pool.write(|c| {
                    c.execute_batch("CREATE TABLE IF NOT EXISTS t (n INTEGER)")
                        .map_err(db_err)
                })
                .await
                .expect("create");
                // Concurrent writes: some share a group and a sync.
                let writes: Vec<_> = (0..8)
                    .map(|i| {
                        let pool = Arc::clone(&pool);
                        tokio::spawn(async move {
                            pool.write(move |c| {
                                c.execute("INSERT INTO t (n) VALUES (?1)", [round * 8 + i])
                                    .map(drop)
                                    .map_err(db_err)
                            })
                            .await
                        })
                    })
                    .collect();
                for write in writes {
                    write.await.expect("task").expect("insert");
                }
            });
            drop(pool);
        }
        let conn = Connection::open(&path).expect("reopen");
        let rows: i64 = conn
            .query_row("SELECT count(*) FROM t", [], |r| r.get(0))
            .expect("count");
        assert_eq!(rows, 50 * 8);
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while sync_threads() > 0 && std::time::Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        assert_eq!(sync_threads(), 0, "dropped pools left sync threads running");
    }

    fn runtime() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime")
    }

    /// A job that does nothing, and where its answer arrives.
    fn job(solo: bool) -> (Box<dyn WriteJob>, oneshot::Receiver<StoreResult<()>>) {
        let (reply, answer) = oneshot::channel();
        let job = Box::new(Pending {
            work: |_: &Connection| Ok(()),
            reply,
            solo,
            bare: false,
            span: tracing::Span::none(),
        });
        (job, answer)
    }

    /// A solo job is taken alone; a group stops before one; a growing
    /// group (`solo_ok` false) leaves it for the next.
    #[test]
    fn solo_jobs_are_taken_alone() {
        let queue = Queue {
            state: Mutex::new(QueueState {
                jobs: [false, false, true, true, false]
                    .into_iter()
                    .map(|solo| job(solo).0)
                    .collect(),
                open: true,
            }),
            ready: Condvar::new(),
        };
        let solos = |jobs: Option<Vec<Box<dyn WriteJob>>>| {
            jobs.map(|jobs| jobs.iter().map(|j| j.solo()).collect::<Vec<_>>())
        };
        assert_eq!(
            solos(queue.take(8, true, || false)),
            Some(vec![false, false])
        );
        assert_eq!(solos(queue.take(8, false, || false)), None);
        assert_eq!(solos(queue.take(8, true, || false)), Some(vec![true]));
        assert_eq!(solos(queue.take(8, true, || false)), Some(vec![true]));
        assert_eq!(solos(queue.take(8, true, || false)), Some(vec![false]));
        assert_eq!(solos(queue.take(8, true, || false)), None);
    }

    /// Foreign-key checks are off inside a bulk write and on again for the
    /// writes after it, whether the bulk succeeded or failed.
    #[test]
    fn only_bulk_writes_skip_foreign_key_checks() {
        let dir = tempfile::tempdir().expect("tempdir");
        let pool = Pool::start(dir.path().join("fk.db"), Synchronous::Full).expect("start");
        let runtime = runtime();
        let checking = |c: &Connection| {
            c.query_row("PRAGMA foreign_keys", [], |r| r.get::<_, bool>(0))
                .map_err(db_err)
        };
        let orphan = |c: &Connection| {
            c.execute("INSERT INTO child (parent) VALUES (42)", [])
                .map(drop)
                .map_err(db_err)
        };
        runtime.block_on(async {
            pool.write(|c| {
                c.execute_batch(
                    "CREATE TABLE parent (id INTEGER PRIMARY KEY);
                     CREATE TABLE child (parent INTEGER REFERENCES parent (id));",
                )
                .map_err(db_err)
            })
            .await
            .expect("schema");
            assert!(pool.write(checking).await.expect("write"));
            assert!(!pool.write_bulk(checking).await.expect("bulk"));
            assert!(pool.write(checking).await.expect("write after a bulk"));
            assert!(pool.write(orphan).await.is_err(), "checks are on again");
            let failed: StoreResult<()> = pool
                .write_bulk(|_| Err(StoreError::Other("no".into())))
                .await;
            assert!(failed.is_err());
            assert!(
                pool.write(checking)
                    .await
                    .expect("write after a failed bulk")
            );
            assert!(pool.write(orphan).await.is_err(), "checks are on again");
        });
    }

    /// Once the writer has stopped, a write fails at once with 503's error
    /// instead of waiting for an answer, and writes still queued are
    /// answered with it too.
    #[test]
    fn writes_fail_at_once_after_the_writer_stops() {
        let dir = tempfile::tempdir().expect("tempdir");
        let pool = Pool::start(dir.path().join("stop.db"), Synchronous::Full).expect("start");
        let runtime = runtime();
        // A job left in the queue when the writer ends is answered.
        let (queued, answer) = job(false);
        let queue = Queue {
            state: Mutex::new(QueueState {
                jobs: VecDeque::from([queued]),
                open: true,
            }),
            ready: Condvar::new(),
        };
        drop(CloseOnExit(&queue));
        assert!(
            runtime.block_on(answer).is_err(),
            "the queued job was answered"
        );
        assert!(!queue.lock().open);
        // A pool whose writer has stopped refuses new writes.
        pool.queue.lock().open = false;
        let outcome = runtime.block_on(pool.write(|_| Ok(())));
        assert!(
            matches!(&outcome, Err(StoreError::Unavailable(m)) if m.contains("stopped")),
            "{outcome:?}"
        );
    }
}
