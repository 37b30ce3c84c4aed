//! Count stripes: single PATCHes add their count changes to stripe rows
//! of the run; every read adds them, writers that need exact counts fold
//! them in, and a prune deletes a run whatever it holds.

use crate::common;

use std::sync::Arc;

use common::{all_results, deadlocks, setup, t};
use verdict_store::*;

fn recount(results: &[TestResult]) -> Counts {
    let mut counts = Counts::default();
    for r in results {
        counts.add(r.status, 1);
    }
    counts
}

fn exec(status: Status, ms: i64) -> Execution {
    Execution {
        status,
        note: Some(format!("{status:?} in {ms} ms")),
        elapsed_ms: Some(ms),
        step_results: vec![],
        defects: vec![],
        output: None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn patched_counts_read_exact_fold_on_close_and_prune_with_the_run() {
    let Some((db, stores, user, project, _cases)) = setup(40).await else {
        return;
    };
    let run = stores[0]
        .create_run(
            project.id,
            NewRun {
                name: "r".into(),
                description: None,
                key: None,
                meta: RunMeta::default(),
                case_ids: None,
            },
            t(1),
        )
        .await
        .unwrap()
        .0;
    let ids: Vec<ResultId> = stores[0]
        .list_results(run.id, all_results())
        .await
        .unwrap()
        .items
        .iter()
        .map(|r| r.id)
        .collect();
    let statuses = Status::ALL;
    let mut tasks = Vec::new();
    for i in 0..8usize {
        let store = Arc::clone(&stores[i % 2]);
        let ids = ids.clone();
        tasks.push(tokio::spawn(async move {
            for k in 0..30usize {
                let id = ids[(i * 5 + k) % ids.len()];
                let status = statuses[(i + k) % statuses.len()];
                store
                    .record_result(run.id, id, exec(status, (k + 1) as i64), user.id, t(2))
                    .await
                    .unwrap();
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    let results = stores[1].list_results(run.id, all_results()).await.unwrap();
    let expected = recount(&results.items);
    let elapsed: i64 = results.items.iter().filter_map(|r| r.elapsed_ms).sum();
    let client = db.client().await.unwrap();
    let stripes: i64 = client
        .query_one(
            "SELECT count(*) FROM run_count_stripes WHERE run_id = $1",
            &[&run.id.get()],
        )
        .await
        .unwrap()
        .get(0);
    assert!(stripes > 0, "PATCHes wrote to stripes");
    for store in &stores {
        assert_eq!(store.get_run(run.id).await.unwrap().counts, expected);
    }
    let listed = stores[0]
        .list_runs(
            project.id,
            RunFilter::default(),
            Page {
                page: 1,
                per_page: 20,
            },
        )
        .await
        .unwrap();
    assert_eq!(listed.items[0].counts, expected, "a list of runs adds them");
    let trends = stores[0].trends(project.id, None, 10).await.unwrap();
    assert_eq!(trends[0].counts, expected, "trends add them");
    assert_eq!(trends[0].elapsed_ms, elapsed, "and the elapsed sum");

    let closed = stores[1].close_run(run.id, t(3)).await.unwrap();
    assert_eq!(closed.counts, expected, "close answers exact counts");
    let left: i64 = client
        .query_one(
            "SELECT count(*) FROM run_count_stripes WHERE run_id = $1",
            &[&run.id.get()],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(left, 0, "close folded the stripes into the run");
    assert_eq!(stores[0].get_run(run.id).await.unwrap().counts, expected);

    let pruned = stores[0]
        .prune(PruneRequest {
            closed_before: t(4),
            project: None,
            dry_run: false,
        })
        .await
        .unwrap();
    assert_eq!(pruned.runs, 1);
    assert_eq!(pruned.results, 40);
    assert_eq!(pruned.executions, 240);
    assert!(matches!(
        stores[0].get_run(run.id).await,
        Err(StoreError::NotFound)
    ));
    assert_eq!(deadlocks(&db, stores).await, 0, "no deadlock");
    drop(client);
    db.drop_database().await.unwrap();
}
