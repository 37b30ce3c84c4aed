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
    // auto_vacuum before journal_mode: it takes effect only on a database with no table
    // yet, and only before WAL mode writes the file's header, so a new file
    // is created with it (a prune's free pages can then be given back
    // without rewriting the file; see `retention::reclaim`). On an older
    // file it is what the next VACUUM converts it to.
    conn.execute_batch(&format!(
        "PRAGMA busy_timeout = 10000;
         PRAGMA auto_vacuum = INCREMENTAL;
         PRAGMA journal_mode = WAL;
         PRAGMA synchronous = {sync};
         PRAGMA foreign_keys = ON;
         PRAGMA temp_store = MEMORY;
         PRAGMA cache_size = -32000;"
    ))?;
    conn.set_prepared_statement_cache_capacity(64);
    crate::search::register(&conn)?;
    Ok(conn)
}
