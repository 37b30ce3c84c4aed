//! What can go wrong talking to PostgreSQL, sorted by what the caller can do
//! about it: run the transaction again (a lost race, or a connection lost
//! before anything was committed), retry the request later (the database is
//! unreachable: `Unavailable`, a 503), or nothing (a bug).

use deadpool_postgres::PoolError;
use tokio_postgres::error::SqlState;
use verdict_store::{FieldError, StoreError};

/// An error inside the crate. Store methods turn it into a [`StoreError`]
/// once the retry loop is done with it.
#[derive(Debug)]
pub(crate) enum Error {
    /// The final answer, handed to the caller as is.
    Store(StoreError),
    /// The transaction lost a race (serialization failure, deadlock, or a
    /// unique key that a concurrent transaction took first): running it
    /// again from the start gives the answer a serial execution would.
    Retry(String),
    /// An established connection died under us (closed socket, server
    /// restart). Whatever was not committed was rolled back, so a read, or a
    /// transaction that had not sent COMMIT, may run again on a new one.
    Lost(String),
}

pub(crate) type Result<T> = std::result::Result<T, Error>;

impl From<StoreError> for Error {
    fn from(e: StoreError) -> Self {
        Error::Store(e)
    }
}

impl Error {
    /// The caller's view: a race still lost after every retry means the
    /// database is too busy right now (503, retry later), never a 500.
    pub(crate) fn into_store(self) -> StoreError {
        match self {
            Error::Store(e) => e,
            Error::Retry(why) => {
                StoreError::Unavailable(format!("database busy, gave up after retries: {why}"))
            }
            Error::Lost(why) => StoreError::Unavailable(why),
        }
    }

    /// Whether the connection this came from should be thrown away.
    pub(crate) fn is_unavailable(&self) -> bool {
        matches!(
            self,
            Error::Lost(_) | Error::Store(StoreError::Unavailable(_))
        )
    }
}

pub(crate) fn other(message: impl Into<String>) -> Error {
    Error::Store(StoreError::Other(message.into()))
}

/// Maps a driver error by SQLSTATE, or by kind when the server never
/// answered (I/O, closed connection, connect timeout).
pub(crate) fn db_err(e: tokio_postgres::Error) -> Error {
    let text = describe(&e);
    if let Some(db) = e.as_db_error() {
        let code = db.code();
        let c = code.code();
        return if *code == SqlState::T_R_SERIALIZATION_FAILURE
            || *code == SqlState::T_R_DEADLOCK_DETECTED
        {
            Error::Retry(text)
        } else if *code == SqlState::ADMIN_SHUTDOWN || *code == SqlState::CRASH_SHUTDOWN {
            // The server ended this session (a restart): the session is gone.
            Error::Lost(text)
        } else if c.starts_with("08") // connection exception
            || c.starts_with("53") // insufficient resources (too many connections, disk full)
            || c.starts_with("57P") // admin/crash shutdown, cannot connect now
            || c.starts_with("28") // authentication failed
            || *code == SqlState::INVALID_CATALOG_NAME // the database does not exist (any more)
            || *code == SqlState::QUERY_CANCELED // statement_timeout, cancel request
            || *code == SqlState::LOCK_NOT_AVAILABLE // lock_timeout set by the DBA
            || *code == SqlState::READ_ONLY_SQL_TRANSACTION
            // FATAL ends the session; at connect time (e.g. 55000, the
            // database does not accept connections now) there is none.
            || db.severity() == "FATAL"
        // pointed at a standby after failover
        {
            Error::Store(StoreError::Unavailable(text))
        } else if *code == SqlState::CHARACTER_NOT_IN_REPERTOIRE
            || *code == SqlState::UNTRANSLATABLE_CHARACTER
        {
            // PostgreSQL text cannot hold U+0000; the input is at fault.
            Error::Store(StoreError::Invalid(vec![FieldError::new(
                "body",
                "text must not contain NUL (U+0000) characters",
            )]))
        } else {
            other(text)
        };
    }
    if e.is_closed() || text.starts_with("error communicating with the server") {
        // A connection that was working is gone.
        Error::Lost(text)
    } else if is_transport(&e) {
        // Could not reach the server at all.
        Error::Store(StoreError::Unavailable(text))
    } else {
        other(text)
    }
}

/// The driver's text plus what lies under it (the server's message: the
/// driver alone says only "db error").
pub(crate) fn describe(e: &tokio_postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => format!("{} {}: {}", db.severity(), db.code().code(), db.message()),
        None => match std::error::Error::source(e) {
            Some(source) => format!("{e}: {source}"),
            None => e.to_string(),
        },
    }
}

/// Errors where the server never answered: tokio-postgres keeps their kind
/// private, so they are told apart by an I/O source or their fixed text.
fn is_transport(e: &tokio_postgres::Error) -> bool {
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        if s.is::<std::io::Error>() {
            return true;
        }
        source = s.source();
    }
    let text = e.to_string();
    [
        "error communicating with the server",
        "error connecting to server",
        "timeout waiting for server",
        "connection closed",
        "error performing TLS handshake",
    ]
    .iter()
    .any(|prefix| text.starts_with(prefix))
}

pub(crate) fn is_unique_violation(e: &tokio_postgres::Error) -> bool {
    e.code() == Some(&SqlState::UNIQUE_VIOLATION)
}

/// A unique violation where a serial execution would have seen the other
/// row: the transaction is retried and then finds it.
pub(crate) fn unique_is_race(e: tokio_postgres::Error) -> Error {
    if is_unique_violation(&e) {
        Error::Retry(describe(&e))
    } else {
        db_err(e)
    }
}

/// Waiting for a pooled connection: a timeout or an unreachable database
/// is `Unavailable`, so requests fail fast with a 503 instead of hanging.
pub(crate) fn pool_err(e: PoolError) -> Error {
    match e {
        PoolError::Backend(e) => db_err(e),
        PoolError::Timeout(kind) => Error::Store(StoreError::Unavailable(format!(
            "no database connection within the pool timeout ({kind:?})"
        ))),
        PoolError::Closed => Error::Store(StoreError::Unavailable("the pool is closed".into())),
        PoolError::NoRuntimeSpecified => other("pool built without a runtime"),
        PoolError::PostCreateHook(e) => other(format!("pool hook failed: {e}")),
    }
}
