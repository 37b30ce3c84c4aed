//! The store conformance suite on SQLite: one test per check, each on a
//! fresh database file.

use std::sync::Arc;

use verdict_sqlite::{SqliteConfig, SqliteStore, Synchronous};
use verdict_store::Store;

verdict_store::conformance_tests!(|| async {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = SqliteConfig {
        path: dir.path().join("verdict.db"),
        synchronous: Synchronous::Full,
    };
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(&config).expect("open"));
    Some((store, dir))
});
