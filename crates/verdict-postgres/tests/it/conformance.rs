//! The store conformance suite on PostgreSQL: a fresh database per check,
//! when `VERDICT_TEST_POSTGRES_URL` names a server (skipped otherwise).

use std::sync::Arc;

use verdict_postgres::testing::{SKIP_MESSAGE, TestDatabase, url_from_env};
use verdict_store::Store;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_passes_the_store_conformance_suite() {
    if url_from_env().is_none() {
        println!("{SKIP_MESSAGE}");
        return;
    }
    let passed = verdict_store::conformance::run_all(|| async {
        let db = TestDatabase::from_env().await.expect("URL is set");
        let store: Arc<dyn Store> = Arc::new(db.connect().await.expect("connect"));
        (store, db)
    })
    .await;
    assert_eq!(passed.len(), verdict_store::conformance::CHECKS.len());
}
