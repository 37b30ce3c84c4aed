//! [`Store`] on embedded SQLite, the zero-setup default. One database file
//! in WAL mode; by default every answered write is on disk (the WAL is
//! fdatasynced before the answer, see `wal_sync`); writes are
//! group-committed by one writer thread (see [`pool`]), reads run on a
//! small connection pool.

mod attachments;
pub mod backup;
mod bulk;
mod cases;
mod config;
mod error;
mod idempotency;
mod import;
mod manual;
mod migrations;
mod once;
mod pool;
mod projects;
mod results;
mod retention;
mod runs;
mod search;
mod store;
mod triage;
mod users;
mod wal_sync;
mod webhooks;

use std::sync::Arc;

use verdict_store::{StoreResult, Timestamp};

pub use config::SqliteConfig;
pub use pool::Synchronous;

pub(crate) use error::{db_err, found, is_unique_violation};

/// The SQLite store. Cheap to clone; all clones share one writer.
#[derive(Clone)]
pub struct SqliteStore {
    pool: Arc<pool::Pool>,
}

impl SqliteStore {
    /// Opens (creating if needed) and migrates the database.
    pub fn open(config: &SqliteConfig) -> StoreResult<Self> {
        let mut conn = pool::open_connection(&config.path, config.synchronous).map_err(db_err)?;
        let ran = migrations::migrate(&mut conn).map_err(db_err)?;
        if ran > 0 {
            tracing::info!(migrations = ran, "sqlite schema migrated");
        }
        drop(conn);
        let pool = pool::Pool::start(config.path.clone(), config.synchronous).map_err(db_err)?;
        Ok(Self { pool })
    }
}

/// A time column that may be empty.
pub(crate) fn ts(ms: Option<i64>) -> Option<Timestamp> {
    ms.map(Timestamp::from_millis)
}
