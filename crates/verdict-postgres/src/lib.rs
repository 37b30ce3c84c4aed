//! [`Store`](verdict_store::Store) on PostgreSQL, for several stateless `verdict serve` instances
//! sharing one database (API §1, §9). Behaves exactly like the SQLite
//! store (the reference); what differs is how concurrency is made safe:
//!
//! - **Driver**: tokio-postgres (binary protocol, pipelining, statements
//!   prepared once per connection) pooled by deadpool-postgres; TLS with
//!   rustls, configured by libpq's URL parameters (module `tls`).
//! - **Transactions**: READ COMMITTED with explicit row locks, retried from
//!   the start on serialization failures and deadlocks (module `pool`).
//! - **Bulk writes** are set-based: a constant number of round trips for any
//!   number of entries (`UNNEST` arrays, module `bulk`); they keep each
//!   result's flags and each run's elapsed sum, so triage reads (module
//!   `triage`) never replay history nor sum a run's results.
//! - **PATCHes** arriving together are written together: one statement
//!   and one commit for up to 64 of them (module `patches`).
//! - **Lock order**: a run row before its result rows, result rows by id,
//!   new case keys in key order, so concurrent writers cannot deadlock.
//! - **Failures** of the database (down, restarting, pool exhausted for 5 s)
//!   are `StoreError::Unavailable` (a 503); broken connections are dropped,
//!   so the same process works again once the database is back.
//! - **Durability** (API §8) is PostgreSQL's `synchronous_commit`; the
//!   store warns at start-up when the server has it off.

mod attachments;
mod bulk;
mod cases;
mod config;
mod error;
mod idempotency;
mod import;
mod manual;
mod migrations;
mod once;
mod patches;
mod pool;
mod projects;
mod results;
mod retention;
mod runs;
mod store;
#[cfg(feature = "testing")]
pub mod testing;
mod testrail;
mod tls;
mod triage;
mod users;
mod webhooks;

use deadpool_postgres::Pool;
use verdict_store::StoreResult;

pub use config::{DEFAULT_POOL_SIZE, PgConfig};

/// One connection, outside any pool, made the way the store makes its own
/// (TLS as the URL says; for tools that speak SQL directly: migration
/// between databases, benchmarks, tests). Its connection task runs on the
/// current Tokio runtime until the client is dropped. Errors never repeat
/// the URL.
pub async fn connect_client(config: &PgConfig) -> Result<tokio_postgres::Client, String> {
    let (client, _task) = open(config)
        .await
        .map_err(|e| format!("cannot connect to PostgreSQL: {}", error::describe(&e)))?;
    Ok(client)
}

/// Opens one connection (TLS as `sslmode` says; `allow` tries without TLS
/// first, then with it, as libpq does) and spawns its task on the current
/// runtime.
pub(crate) async fn open(
    config: &PgConfig,
) -> Result<(tokio_postgres::Client, tokio::task::JoinHandle<()>), tokio_postgres::Error> {
    let tls = config.tls.clone();
    let (client, connection) = match config.pg.connect(tls.clone()).await {
        Err(plain) if config.tls.mode() == tls::SslMode::Allow => {
            tracing::debug!(error = %plain, "sslmode=allow: no connection without TLS, trying TLS");
            let mut with_tls = config.pg.clone();
            with_tls.ssl_mode(tokio_postgres::config::SslMode::Require);
            with_tls.connect(tls).await?
        }
        other => other?,
    };
    let task = tokio::spawn(async move {
        if let Err(e) = connection.await {
            tracing::debug!(error = %e, "a PostgreSQL connection ended");
        }
    });
    Ok((client, task))
}

use crate::error::{Error, db_err};
use crate::pool::col;

/// The PostgreSQL store. Cheap to clone; clones share one pool.
#[derive(Clone)]
pub struct PgStore {
    pool: Pool,
    /// PATCHes waiting to be written together (module `patches`).
    patches: patches::Patches,
}

impl std::fmt::Debug for PgStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgStore")
            .field("pool", &self.pool.status())
            .finish()
    }
}

impl PgStore {
    /// Opens the pool and brings the schema up to date (safe to run from
    /// several instances at once). Fails with `Unavailable` when the
    /// database cannot be reached.
    pub async fn connect(config: &PgConfig) -> StoreResult<Self> {
        let pool = pool::build(config).map_err(Error::into_store)?;
        let mut client = pool::client(&pool).await.map_err(Error::into_store)?;
        let ran = migrations::migrate(&mut client).await;
        pool::settle(client, &ran);
        let ran = ran.map_err(Error::into_store)?;
        if ran > 0 {
            tracing::info!(migrations = ran, "postgres schema migrated");
        }
        let store = Self {
            pool,
            patches: patches::Patches::default(),
        };
        store.check_durability().await;
        Ok(store)
    }

    /// Closes the pool: connections are closed as they come back, and
    /// every later call fails with `Unavailable`.
    pub fn close(&self) {
        self.pool.close();
    }

    async fn check_durability(&self) {
        let setting: Result<String, Error> = async {
            let client = pool::client(&self.pool).await?;
            let row = client
                .query_one("SHOW synchronous_commit", &[])
                .await
                .map_err(db_err)?;
            col(&row, 0)
        }
        .await;
        match setting {
            Ok(s) if s == "off" => tracing::warn!(
                synchronous_commit = %s,
                "PostgreSQL may lose answered writes on a crash; set synchronous_commit=on (API §8)"
            ),
            Ok(_) => {}
            Err(e) => tracing::warn!(error = ?e, "cannot read synchronous_commit"),
        }
    }
}
