//! Start-up and failure behaviour that only PostgreSQL has: instances
//! migrating at once, an unreachable database, connections killed under the
//! store, a pool that stays busy, text PostgreSQL cannot hold, connections
//! closed after large writes.

use crate::common;

use std::time::{Duration, Instant};

use verdict_postgres::testing::TestDatabase;
use verdict_postgres::{PgConfig, PgStore};
use verdict_store::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn instances_starting_together_on_an_empty_database_migrate_once() {
    let Some(db) = TestDatabase::from_env().await else {
        println!("{}", verdict_postgres::testing::SKIP_MESSAGE);
        return;
    };
    let config = db.config().unwrap();
    let starts: Vec<_> = (0..6)
        .map(|_| {
            let config = config.clone();
            tokio::spawn(async move { PgStore::connect(&config).await })
        })
        .collect();
    let mut stores = Vec::new();
    for start in starts {
        stores.push(start.await.unwrap().expect("every instance comes up"));
    }
    let client = db.client().await.unwrap();
    let rows = client
        .query(
            "SELECT version, count(*) FROM verdict_migrations GROUP BY version ORDER BY version",
            &[],
        )
        .await
        .unwrap();
    let versions: Vec<(i32, i64)> = rows.iter().map(|r| (r.get(0), r.get(1))).collect();
    assert_eq!(
        versions,
        (1..=12).map(|v| (v, 1)).collect::<Vec<(i32, i64)>>(),
        "each migration recorded once"
    );
    for store in &stores {
        store.ping().await.unwrap();
    }
    drop(stores);
    db.drop_database().await.unwrap();
}

#[tokio::test]
async fn an_unreachable_database_is_unavailable_quickly() {
    // Nothing listens on port 1.
    let config =
        PgConfig::from_url("postgres://verdict@127.0.0.1:1/verdict?connect_timeout=2").unwrap();
    let started = Instant::now();
    let err = PgStore::connect(&config).await.unwrap_err();
    assert!(matches!(err, StoreError::Unavailable(_)), "{err:?}");
    assert!(started.elapsed() < Duration::from_secs(8));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn works_again_after_its_connections_are_killed() {
    let Some((db, store)) = common::fresh().await else {
        return;
    };
    let admin = db.client().await.unwrap();
    let user = store
        .create_user(
            NewUser {
                name: "u".into(),
                email: "u@example.com".into(),
                password_hash: None,
                admin: false,
            },
            Timestamp::from_millis(0),
        )
        .await
        .unwrap();
    for round in 0..3 {
        // Fill the pool with open connections, then kill them all, as a
        // database restart does (57P01 admin_shutdown to every session).
        let pings: Vec<_> = (0..8)
            .map(|_| {
                let store = store.clone();
                async move { store.ping().await }
            })
            .collect();
        for p in futures_join(pings).await {
            p.unwrap();
        }
        let killed = admin
            .query(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
                 WHERE datname = current_database() AND pid <> pg_backend_pid()",
                &[],
            )
            .await
            .unwrap();
        assert!(!killed.is_empty(), "round {round}: connections were open");
        // No pause: the pool may still hold connections whose end it has
        // not noticed. Reads, and transactions that lose their connection
        // before COMMIT, run again on a new one, so nothing fails.
        for i in 0..20 {
            store
                .list_users(Page {
                    page: 1,
                    per_page: 10,
                })
                .await
                .unwrap_or_else(|e| panic!("round {round}, read {i}: {e:?}"));
            store
                .create_project(
                    format!("p{round}-{i}").into(),
                    user.id,
                    Timestamp::from_millis(0),
                )
                .await
                .unwrap_or_else(|e| panic!("round {round}, write {i}: {e:?}"));
        }
        store.ping().await.expect("works again without a restart");
    }
    drop(store);
    db.drop_database().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pool_that_stays_busy_answers_unavailable_after_the_wait_timeout() {
    let Some(db) = TestDatabase::from_env().await else {
        println!("{}", verdict_postgres::testing::SKIP_MESSAGE);
        return;
    };
    let url = verdict_postgres::testing::with_param(db.url(), "pool_size=1");
    let store = PgStore::connect(&PgConfig::from_url(&url).unwrap())
        .await
        .unwrap();
    let user = store
        .create_user(
            NewUser {
                name: "u".into(),
                email: "u@example.com".into(),
                password_hash: None,
                admin: false,
            },
            Timestamp::from_millis(0),
        )
        .await
        .unwrap();
    let project = store
        .create_project("p".into(), user.id, Timestamp::from_millis(0))
        .await
        .unwrap();
    let run = NewRun {
        name: "r".into(),
        description: None,
        key: None,
        meta: RunMeta::default(),
        case_ids: None,
    };
    let (run, _) = store
        .create_run(project.id, run, Timestamp::from_millis(0))
        .await
        .unwrap();
    // Another session holds the run row: closing it waits, holding the
    // pool's only connection.
    let mut blocker = db.client().await.unwrap();
    let tx = blocker.transaction().await.unwrap();
    tx.execute(
        "SELECT 1 FROM runs WHERE id = $1 FOR UPDATE",
        &[&run.id.get()],
    )
    .await
    .unwrap();
    let closer = {
        let store = store.clone();
        tokio::spawn(async move { store.close_run(run.id, Timestamp::from_millis(1)).await })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    let started = Instant::now();
    let err = store.get_run(run.id).await.unwrap_err();
    assert!(matches!(err, StoreError::Unavailable(_)), "{err:?}");
    assert!(
        started.elapsed() >= Duration::from_secs(4) && started.elapsed() < Duration::from_secs(8)
    );
    assert!(store.pool_status().waiting <= 1);
    tx.rollback().await.unwrap();
    let closed = closer.await.unwrap().unwrap();
    assert_eq!(closed.state, RunState::Closed);
    drop(store);
    db.drop_database().await.unwrap();
}

#[tokio::test]
async fn text_postgres_cannot_hold_is_invalid_not_a_crash() {
    let Some((db, store)) = common::fresh().await else {
        return;
    };
    let err = store
        .create_user(
            NewUser {
                name: "nul\0byte".into(),
                email: "n@example.com".into(),
                password_hash: None,
                admin: false,
            },
            Timestamp::from_millis(0),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Invalid(_)), "{err:?}");
    store.ping().await.unwrap();
    drop(store);
    db.drop_database().await.unwrap();
}

/// With `bound_statements`, a statement that waits past the bound (here a
/// PATCH waiting for the run row another session holds) is cancelled and
/// the write answers `Unavailable`, instead of waiting for good; once the
/// row is free the same write succeeds. Start-up is not bounded: waiting
/// for another instance's migration lock takes as long as it takes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn statements_end_at_the_bound_but_migrations_wait() {
    let Some(db) = TestDatabase::from_env().await else {
        println!("{}", verdict_postgres::testing::SKIP_MESSAGE);
        return;
    };
    let mut config = db.config().unwrap();
    config.bound_statements(Duration::from_millis(300));
    // Another "instance" migrating: start-up waits for it, past the bound.
    let mut admin = db.client().await.unwrap();
    admin
        .execute(
            "SELECT pg_advisory_lock($1)",
            &[&verdict_postgres::testing::MIGRATION_LOCK],
        )
        .await
        .unwrap();
    let starting = tokio::spawn({
        let config = config.clone();
        async move { PgStore::connect(&config).await }
    });
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert!(!starting.is_finished(), "start-up waits for the lock");
    admin
        .execute(
            "SELECT pg_advisory_unlock($1)",
            &[&verdict_postgres::testing::MIGRATION_LOCK],
        )
        .await
        .unwrap();
    let store = starting
        .await
        .unwrap()
        .expect("starts once the lock is free");

    let now = common::t(0);
    let user = common::ci_user(&store).await;
    let project = store
        .create_project("p".into(), user.id, now)
        .await
        .unwrap();
    store
        .create_case(
            project.id,
            NewCase {
                title: "t".into(),
                key: None,
                suite: None,
                details: Default::default(),
            },
            now,
        )
        .await
        .unwrap();
    let run = run_over_every_case(&store, project.id).await;
    let result = store
        .list_results(run.id, common::all_results())
        .await
        .unwrap()
        .items[0]
        .id;
    let failed = Execution {
        step_results: Vec::new(),
        defects: Vec::new(),
        status: Status::Failed,
        note: None,
        elapsed_ms: None,
        output: None,
    };
    let holder = admin.transaction().await.unwrap();
    holder
        .execute(
            "SELECT 1 FROM runs WHERE id = $1 FOR UPDATE",
            &[&run.id.get()],
        )
        .await
        .unwrap();
    let started = Instant::now();
    let err = store
        .record_result(run.id, result, failed.clone(), user.id, now)
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Unavailable(_)), "{err:?}");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "cancelled at the bound: {:?}",
        started.elapsed()
    );
    holder.rollback().await.unwrap();
    let written = store
        .record_result(run.id, result, failed, user.id, now)
        .await
        .unwrap();
    assert_eq!(written.status, Status::Failed);
    assert_eq!(
        store
            .get_run(run.id)
            .await
            .unwrap()
            .counts
            .get(Status::Failed),
        1
    );
    drop(store);
    db.drop_database().await.unwrap();
}

/// A run "r" over every case of the project.
async fn run_over_every_case(store: &PgStore, project: ProjectId) -> Run {
    store
        .create_run(
            project,
            NewRun {
                name: "r".into(),
                description: None,
                key: None,
                meta: RunMeta::default(),
                case_ids: None,
            },
            common::t(0),
        )
        .await
        .unwrap()
        .0
}

/// Sessions of this store's database other than `admin`'s own.
async fn sessions(admin: &tokio_postgres::Client) -> i64 {
    admin
        .query_one(
            "SELECT count(*) FROM pg_stat_activity
             WHERE datname = current_database() AND pid <> pg_backend_pid()",
            &[],
        )
        .await
        .unwrap()
        .get(0)
}

/// Waits (up to 5 s) until the store's database has `n` sessions.
async fn until_sessions(admin: &tokio_postgres::Client, n: i64) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while sessions(admin).await != n {
        assert!(
            Instant::now() < deadline,
            "still {} sessions, not {n}",
            sessions(admin).await
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A connection's buffers keep the size of its largest message, so the
/// connection of a write of more than 10,000 rows is closed afterwards
/// instead of going back to the pool; smaller writes keep theirs.
#[tokio::test]
async fn connections_of_large_writes_are_closed_after_them() {
    let Some((db, store)) = common::fresh().await else {
        return;
    };
    let admin = db.client().await.unwrap();
    let now = common::t(0);
    let user = common::ci_user(&store).await;
    let project = store
        .create_project("p".into(), user.id, now)
        .await
        .unwrap();
    let cases = |n: usize, from: usize| -> Vec<NewCase> {
        (from..from + n)
            .map(|i| NewCase {
                title: format!("t{i}"),
                key: Some(format!("k{i}")),
                suite: None,
                details: Default::default(),
            })
            .collect()
    };
    // Sequential writes share one pooled connection.
    until_sessions(&admin, 1).await;
    assert_eq!(store.pool_status().idle, 1);

    // 10,000 rows: the connection goes back to the pool.
    let small = store
        .upsert_cases(project.id, cases(10_000, 0), now)
        .await
        .unwrap();
    assert_eq!(store.pool_status().idle, 1);
    until_sessions(&admin, 1).await;

    // 10,001 rows: written, and its connection closed.
    let large = store
        .upsert_cases(project.id, cases(10_001, 10_000), now)
        .await
        .unwrap();
    assert!(large.iter().all(|c| c.created));
    assert_eq!(store.pool_status().idle, 0);
    until_sessions(&admin, 0).await;

    // The next request opens a new connection; a large bulk closes it too.
    let run = run_over_every_case(&store, project.id).await;
    assert_eq!(run.counts.total(), 20_001);
    assert_eq!(store.pool_status().idle, 1);
    let entries = small
        .iter()
        .chain(&large)
        .enumerate()
        .map(|(index, c)| BulkEntry {
            index,
            case_id: c.case.id,
            execution: Execution {
                step_results: Vec::new(),
                defects: Vec::new(),
                status: Status::Passed,
                note: None,
                elapsed_ms: None,
                output: None,
            },
        })
        .collect();
    let outcome = store
        .record_bulk(BulkRequest {
            run: run.id,
            actor: user.id,
            now,
            entries,
            partial: false,
            refused: Vec::new(),
            idempotency: None,
        })
        .await
        .unwrap();
    assert_eq!(outcome.updated, 20_001);
    assert_eq!(store.pool_status().idle, 0);
    until_sessions(&admin, 0).await;
    let run = store.get_run(run.id).await.unwrap();
    assert_eq!(run.counts.passed, 20_001);
    drop(store);
    db.drop_database().await.unwrap();
}

/// Awaits futures concurrently (no extra dependency for join_all).
async fn futures_join<F>(futures: Vec<F>) -> Vec<F::Output>
where
    F: std::future::Future + Send + 'static,
    F::Output: Send + 'static,
{
    let handles: Vec<_> = futures.into_iter().map(tokio::spawn).collect();
    let mut out = Vec::new();
    for h in handles {
        out.push(h.await.expect("task"));
    }
    out
}
