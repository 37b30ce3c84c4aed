//! The behaviour every backend must have, checked through the [`Store`]
//! trait alone. A backend's test calls [`run_all`] with a factory that makes
//! a fresh, empty, migrated store per check (and a guard that keeps its
//! database alive until the check is done):
//!
//! ```ignore
//! verdict_store::conformance::run_all(|| async {
//!     let dir = tempfile::tempdir().unwrap();
//!     let store = SqliteStore::open(&config_in(&dir)).unwrap();
//!     (Arc::new(store) as Arc<dyn Store>, dir)
//! }).await;
//! ```
//!
//! Each check panics with its name on the first failure and prints
//! `conformance: <name> ok` when it passes.

mod basics;
mod results;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use crate::{
    CaseId, Execution, NewCase, NewRun, NewUser, ProjectId, Run, Status, Store, Timestamp, UserId,
};

type Check = fn(Arc<dyn Store>) -> Pin<Box<dyn Future<Output = ()> + Send>>;

macro_rules! checks {
    ($($module:ident :: $name:ident),* $(,)?) => {
        &[$((stringify!($name), |s| Box::pin($module::$name(s)))),*]
    };
}

/// Every check, by name.
pub const CHECKS: &[(&str, Check)] = checks![
    basics::users_and_unique_emails,
    basics::passwords_and_sign_in_lookup,
    basics::bootstrap_and_tokens,
    basics::projects_and_members,
    basics::cases_keys_upserts_and_deletes,
    basics::runs_find_or_create_add_and_close,
    results::listing_orders_pages_and_filters_without_scans,
    results::title_search,
    results::single_executions_and_history,
    results::bulk_is_atomic_or_partial,
    results::bulk_order_and_idempotency,
    results::keyed_imports,
    results::concurrent_writes_keep_counts_and_history_exact,
];

/// Runs every check on its own fresh store; returns the names that passed.
pub async fn run_all<F, Fut, G>(fresh: F) -> Vec<&'static str>
where
    F: Fn() -> Fut,
    Fut: Future<Output = (Arc<dyn Store>, G)>,
{
    let mut passed = Vec::new();
    for (name, check) in CHECKS {
        let (store, guard) = fresh().await;
        let outcome = tokio::spawn(check(store)).await;
        drop(guard);
        if let Err(e) = outcome {
            panic!("conformance check {name} failed: {e}");
        }
        println!("conformance: {name} ok");
        passed.push(*name);
    }
    passed
}

// --- arrangement helpers shared by the checks ----------------------------

pub(crate) fn now() -> Timestamp {
    Timestamp::now()
}

pub(crate) async fn user(s: &dyn Store, name: &str) -> UserId {
    s.create_user(
        NewUser {
            name: name.into(),
            email: format!("{name}@example.com"),
            password_hash: None,
            admin: false,
        },
        now(),
    )
    .await
    .expect("create user")
    .id
}

/// A project owned by a new user, with `n` keyed cases (`k0`…).
pub(crate) async fn project_with_cases(
    s: &dyn Store,
    n: usize,
) -> (UserId, ProjectId, Vec<CaseId>) {
    let owner = user(s, "owner").await;
    let p = s
        .create_project("P".into(), owner, now())
        .await
        .expect("project")
        .id;
    let cases = s
        .upsert_cases(
            p,
            (0..n)
                .map(|i| NewCase {
                    title: format!("case {i}"),
                    key: Some(format!("k{i}")),
                    suite: None,
                })
                .collect(),
            now(),
        )
        .await
        .expect("cases")
        .into_iter()
        .map(|u| u.case.id)
        .collect();
    (owner, p, cases)
}

pub(crate) async fn run_over_all(s: &dyn Store, p: ProjectId, name: &str) -> Run {
    s.create_run(
        p,
        NewRun {
            name: name.into(),
            description: None,
            key: None,
            case_ids: None,
        },
        now(),
    )
    .await
    .expect("run")
    .0
}

pub(crate) fn exec(status: Status, note: Option<&str>) -> Execution {
    Execution {
        status,
        note: note.map(str::to_string),
        elapsed_ms: Some(1500),
    }
}
