//! Opening a connection: the pragmas every connection runs with (the
//! writer's, the readers', the one that migrates) and the SQL functions
//! search needs.

use std::path::Path;

use rusqlite::{Connection, OpenFlags};

/// How much a commit waits for the disk; see API §8.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Synchronous {
    /// fsync at every commit: an answered write survives power loss.
    Full,
    /// Opt-in: faster, but the last writes may be lost on power loss.
    Normal,
}

pub(crate) fn open_connection(
    path: &Path,
    synchronous: Synchronous,
) -> rusqlite::Result<Connection> {
    // A new file gets incremental auto-vacuum (a prune's free pages can
    // then be given back without rewriting the file; see
    // `retention::reclaim`). It must be set before WAL mode writes the
    // file's header and before the first table, and only then: on an
    // existing file the pragma takes a write lock, which a connection
    // opened while the writer works would wait for.
    let fresh = std::fs::metadata(path).map_or(true, |m| m.len() == 0);
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
    conn.execute_batch("PRAGMA busy_timeout = 10000")?;
    if fresh {
        conn.execute_batch("PRAGMA auto_vacuum = INCREMENTAL")?;
    }
    conn.execute_batch(&format!(
        "PRAGMA journal_mode = WAL;
         PRAGMA synchronous = {sync};
         PRAGMA foreign_keys = ON;
         PRAGMA temp_store = MEMORY;
         PRAGMA cache_size = -32000;"
    ))?;
    conn.set_prepared_statement_cache_capacity(64);
    crate::search::register(&conn)?;
    Ok(conn)
}
