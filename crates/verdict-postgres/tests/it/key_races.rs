//! Transactions creating the same new case keys at once, in opposite
//! orders, from two stores: JUnit imports with `create_missing` into four
//! runs and bulk case upserts. Each key must become exactly one case, every
//! call must succeed, and new keys are inserted in key order so PostgreSQL
//! detects no deadlock at all.

use crate::common;

use std::sync::Arc;

use common::{deadlocks, setup, t};
use verdict_store::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn imports_and_upserts_creating_the_same_keys_in_opposite_orders() {
    let Some((db, stores, user, project, _)) = setup(0).await else {
        return;
    };
    let mut runs = Vec::new();
    for i in 0..4 {
        let run = NewRun {
            name: format!("job {i}"),
            description: None,
            key: Some(format!("job-{i}")),
            meta: RunMeta::default(),
            case_ids: Some(vec![]),
        };
        runs.push(
            stores[i % 2]
                .create_run(project.id, run, t(1))
                .await
                .unwrap()
                .0,
        );
    }
    let keys: Vec<String> = (0..1000).map(|i| format!("com.acme.T{i:02}")).collect();
    let mut tasks = Vec::new();
    for (i, run) in runs.iter().enumerate() {
        let store = Arc::clone(&stores[i % 2]);
        let mut order = keys.clone();
        if i % 2 == 1 {
            order.reverse();
        }
        let entries = order
            .iter()
            .enumerate()
            .map(|(index, key)| KeyedEntry {
                details: Default::default(),
                index,
                key: key.clone(),
                title: key.clone(),
                suite: None,
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
        let run_id = run.id;
        tasks.push(tokio::spawn(async move {
            store
                .import_results(ImportRequest {
                    run: run_id,
                    actor: user.id,
                    now: t(2),
                    entries,
                    create_missing: true,
                    dry_run: false,
                    partial: false,
                    idempotency: None,
                })
                .await
                .map(|o| o.bulk.updated)
        }));
    }
    for i in 0..4usize {
        let store = Arc::clone(&stores[i % 2]);
        let mut order: Vec<NewCase> = keys
            .iter()
            .map(|k| NewCase {
                title: format!("upserted {k}"),
                key: Some(k.clone()),
                suite: None,
                details: Default::default(),
            })
            .collect();
        if i % 2 == 0 {
            order.reverse();
        }
        tasks.push(tokio::spawn(async move {
            store
                .upsert_cases(project.id, order, t(3))
                .await
                .map(|u| u.len() as u64)
        }));
    }
    for task in tasks {
        assert_eq!(task.await.unwrap().unwrap(), 1000);
    }
    let listed = stores[0]
        .list_cases(
            project.id,
            CaseQuery::default(),
            Page {
                page: 1,
                per_page: 1000,
            },
        )
        .await
        .unwrap();
    assert_eq!(listed.total, 1000, "each key became exactly one case");
    for run in &runs {
        let run = stores[1].get_run(run.id).await.unwrap();
        assert_eq!(run.counts.passed, 1000, "each import reached every key");
    }
    assert_eq!(deadlocks(&db, stores).await, 0);
    db.drop_database().await.unwrap();
}
