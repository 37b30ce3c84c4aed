//! The store conformance suite on PostgreSQL: one test per check, each on a
//! fresh database, when `VERDICT_TEST_POSTGRES_URL` names a server (each
//! skips otherwise).

use std::sync::Arc;

use verdict_postgres::testing::{SKIP_MESSAGE, TestDatabase};
use verdict_store::Store;

verdict_store::conformance_tests!(|| async {
    let Some(db) = TestDatabase::from_env().await else {
        println!("{SKIP_MESSAGE}");
        return None;
    };
    let store: Arc<dyn Store> = Arc::new(db.connect().await.expect("connect"));
    Some((store, db))
});
