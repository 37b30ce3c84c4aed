//! The store conformance suite on SQLite: a fresh database file per check.

use std::sync::Arc;

use verdict_sqlite::{SqliteConfig, SqliteStore, Synchronous};
use verdict_store::Store;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_passes_the_store_conformance_suite() {
    let passed = verdict_store::conformance::run_all(|| async {
        let dir = tempfile::tempdir().expect("tempdir");
        let config = SqliteConfig {
            path: dir.path().join("verdict.db"),
            synchronous: Synchronous::Full,
        };
        let store: Arc<dyn Store> = Arc::new(SqliteStore::open(&config).expect("open"));
        (store, dir)
    })
    .await;
    assert_eq!(passed.len(), verdict_store::conformance::CHECKS.len());
}
