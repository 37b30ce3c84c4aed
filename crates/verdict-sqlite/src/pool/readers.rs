//! The read pool: idle connections kept for reuse, opened on demand when
//! none is idle. A read runs on the blocking thread pool in a read
//! transaction of its own (a consistent snapshot); a point read runs right
//! on the caller's thread.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use rusqlite::Connection;
use verdict_store::{StoreError, StoreResult};

use super::Pool;
use super::connection::{Synchronous, open_connection};
use crate::db_err;

/// Idle read connections kept open.
pub(super) const MAX_IDLE_READERS: usize = 8;

pub(super) struct Readers {
    path: PathBuf,
    synchronous: Synchronous,
    idle: Mutex<Vec<Connection>>,
    /// Read connections checked out right now.
    in_use: AtomicU64,
}

impl Readers {
    pub(super) fn new(path: PathBuf, synchronous: Synchronous) -> Readers {
        Readers {
            path,
            synchronous,
            idle: Mutex::new(Vec::new()),
            in_use: AtomicU64::new(0),
        }
    }

    /// Read connections checked out right now.
    pub(super) fn in_use(&self) -> u64 {
        self.in_use.load(Ordering::Relaxed)
    }

    /// Read connections open and waiting for work.
    pub(super) fn idle(&self) -> u64 {
        self.idle.lock().map(|r| r.len() as u64).unwrap_or(0)
    }

    /// Runs `work` on a connection checked out for it (counted in use
    /// meanwhile), then keeps the connection unless `work` left a
    /// transaction open on it.
    fn with<R>(&self, work: impl FnOnce(&Connection) -> StoreResult<R>) -> StoreResult<R> {
        let conn = self.take()?;
        self.in_use.fetch_add(1, Ordering::Relaxed);
        let outcome = work(&conn);
        self.in_use.fetch_sub(1, Ordering::Relaxed);
        if conn.is_autocommit() {
            self.give_back(conn);
        }
        outcome
    }

    fn take(&self) -> StoreResult<Connection> {
        let idle = self.idle.lock().ok().and_then(|mut r| r.pop());
        match idle {
            Some(conn) => Ok(conn),
            None => open_connection(&self.path, self.synchronous).map_err(db_err),
        }
    }

    fn give_back(&self, conn: Connection) {
        if let Ok(mut idle) = self.idle.lock()
            && idle.len() < MAX_IDLE_READERS
        {
            idle.push(conn);
        }
    }
}

impl Pool {
    /// Runs `work` in a read transaction on the blocking thread pool. The
    /// caller's tracing span (a store method's, a request's) is entered
    /// there around it, so what `work` logs belongs to that span.
    pub(crate) async fn read<R, F>(self: &Arc<Self>, work: F) -> StoreResult<R>
    where
        F: FnOnce(&Connection) -> StoreResult<R> + Send + 'static,
        R: Send + 'static,
    {
        let pool = Arc::clone(self);
        let span = tracing::Span::current();
        tokio::task::spawn_blocking(move || {
            let _entered = span.enter();
            pool.readers.with(|conn| {
                conn.execute_batch("BEGIN").map_err(db_err)?;
                let outcome = work(conn);
                conn.execute_batch("COMMIT").map_err(db_err)?;
                outcome
            })
        })
        .await
        .map_err(|e| StoreError::Other(format!("read task failed: {e}")))?
    }

    /// A point read (one indexed lookup): run right here on the caller's
    /// thread (so in the caller's span). It takes microseconds, less than
    /// handing it to the blocking pool would; anything that scans goes
    /// through [`read`](Self::read).
    pub(crate) fn point<R>(
        &self,
        work: impl FnOnce(&Connection) -> StoreResult<R>,
    ) -> StoreResult<R> {
        self.readers.with(work)
    }
}
