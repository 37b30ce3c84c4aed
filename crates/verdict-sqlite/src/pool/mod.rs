//! Connections. Writes go through one writer thread that commits every
//! write waiting at the time in one transaction (group commit): under
//! `Synchronous::Full` each commit must reach the disk before it is
//! answered, and sharing that fsync is how many small concurrent writes stay
//! both durable and fast. The fsync itself runs on a second thread (see
//! [`wal_sync`](crate::wal_sync)) so the writer keeps working meanwhile,
//! taking new writes into its next group until the sync is done. Each write
//! in a group runs in its own savepoint, so one failing write never disturbs
//! the others. Reads run on a small pool of connections on the blocking thread
//! pool, each in its own read transaction (a consistent snapshot).
//!
//! [`writer`] holds the writer thread and its queue, [`readers`] the read
//! pool, [`connection`] how a connection is opened. Both carry the caller's
//! tracing span to the thread that runs the SQL: a span a store method
//! opens covers its statements.

mod connection;
mod readers;
mod writer;

use std::path::PathBuf;
use std::sync::Arc;

pub use connection::Synchronous;
pub(crate) use connection::open_connection;
use readers::{MAX_IDLE_READERS, Readers};
use writer::Queue;

pub(crate) struct Pool {
    /// Writes waiting for the writer thread.
    queue: Arc<Queue>,
    readers: Readers,
}

impl Drop for Pool {
    fn drop(&mut self) {
        self.queue.close();
    }
}

impl Pool {
    pub(crate) fn start(path: PathBuf, synchronous: Synchronous) -> rusqlite::Result<Arc<Pool>> {
        let queue = writer::start(&path, synchronous)?;
        Ok(Arc::new(Pool {
            queue,
            readers: Readers::new(path, synchronous),
        }))
    }

    /// Readers in use and idle, the writer (always open, counted in use
    /// while it has work), and the writes waiting for it.
    pub(crate) fn status(&self) -> verdict_store::PoolStatus {
        let queued = self.queue.queued();
        verdict_store::PoolStatus {
            in_use: self.readers.in_use() + u64::from(queued > 0),
            idle: self.readers.idle() + u64::from(queued == 0),
            max: MAX_IDLE_READERS as u64 + 1,
            waiting: queued,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::mpsc;
    use std::time::Duration;

    use super::*;
    use crate::db_err;

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

    /// A write or a read queued inside a span runs inside it on the thread
    /// that runs its SQL (the writer, a blocking-pool thread), so a span a
    /// store method opens covers its statements; one queued outside any
    /// span runs outside every span.
    #[test]
    fn reads_and_writes_run_in_the_span_they_were_queued_in() {
        use tracing::Instrument;
        // Another thread asks the global subscriber which span is current.
        let _ = tracing::subscriber::set_global_default(tracing_subscriber::registry());
        let dir = tempfile::tempdir().expect("tempdir");
        let pool = Pool::start(dir.path().join("span.db"), Synchronous::Full).expect("start");
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let current =
            |_: &rusqlite::Connection| Ok(tracing::Span::current().metadata().map(|m| m.name()));
        runtime.block_on(async {
            let (write, bulk, read) = async {
                (
                    pool.write(current).await,
                    pool.write_bulk(current).await,
                    pool.read(current).await,
                )
            }
            .instrument(tracing::info_span!("store_call"))
            .await;
            assert_eq!(write.expect("write"), Some("store_call"));
            assert_eq!(bulk.expect("bulk"), Some("store_call"));
            assert_eq!(read.expect("read"), Some("store_call"));
            assert_eq!(pool.write(current).await.expect("write"), None);
            assert_eq!(pool.read(current).await.expect("read"), None);
        });
    }
}
