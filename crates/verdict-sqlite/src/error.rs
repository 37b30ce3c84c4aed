//! What can go wrong talking to SQLite, sorted by what the caller can do
//! about it: retry later (`Unavailable`, a 503) or nothing (a bug).

use rusqlite::ErrorCode;
use verdict_store::{StoreError, StoreResult};

/// Maps a driver error: lock and I/O trouble is `Unavailable` (retryable);
/// anything else is a bug or a broken file.
pub(crate) fn db_err(e: rusqlite::Error) -> StoreError {
    match &e {
        rusqlite::Error::SqliteFailure(f, _)
            if matches!(
                f.code,
                ErrorCode::DatabaseBusy
                    | ErrorCode::DatabaseLocked
                    | ErrorCode::CannotOpen
                    | ErrorCode::SystemIoFailure
                    | ErrorCode::DiskFull
                    | ErrorCode::ReadOnly
            ) =>
        {
            StoreError::Unavailable(e.to_string())
        }
        _ => StoreError::Other(e.to_string()),
    }
}

pub(crate) fn is_unique_violation(e: &rusqlite::Error) -> bool {
    matches!(e, rusqlite::Error::SqliteFailure(f, _)
        if f.code == ErrorCode::ConstraintViolation
            && f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE)
}

/// `QueryReturnedNoRows` is a `NotFound`; everything else maps as [`db_err`].
pub(crate) fn found<T>(r: rusqlite::Result<T>) -> StoreResult<T> {
    match r {
        Ok(v) => Ok(v),
        Err(rusqlite::Error::QueryReturnedNoRows) => Err(StoreError::NotFound),
        Err(e) => Err(db_err(e)),
    }
}
