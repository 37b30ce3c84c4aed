//! Several stores (as several `verdict serve` instances would have) on one
//! database, racing: find-or-create by key, overlapping bulk uploads and
//! single PATCHes in opposite orders, idempotent retries (new case keys
//! racing: `key_races.rs`). Every call must succeed with the answer a
//! serial order would give; no deadlock or serialization failure may
//! surface.

use crate::common;

use std::sync::Arc;

use common::{all_results, deadlocks, setup, t};
use verdict_store::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn parallel_jobs_share_one_run_by_key() {
    let Some((db, stores, _user, project, _)) = setup(20).await else {
        return;
    };
    let mut tasks = Vec::new();
    for i in 0..12 {
        let store = Arc::clone(&stores[i % 2]);
        tasks.push(tokio::spawn(async move {
            let run = NewRun {
                name: format!("job {i}"),
                description: None,
                key: Some("pipeline-1".into()),
                meta: RunMeta::default(),
                case_ids: None,
            };
            store.create_run(project.id, run, t(1)).await
        }));
    }
    let mut created = 0;
    let mut ids = std::collections::HashSet::new();
    for task in tasks {
        let (run, new) = task.await.unwrap().unwrap();
        created += usize::from(new);
        ids.insert(run.id);
        assert_eq!(run.counts.not_tested, 20, "every answer has the full run");
    }
    assert_eq!(created, 1, "exactly one job created the run");
    assert_eq!(ids.len(), 1, "every job got the same run");
    db.drop_database().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn overlapping_bulks_in_opposite_orders_all_apply() {
    let Some((db, stores, user, project, cases)) = setup(300).await else {
        return;
    };
    let new_run = |name: &str| NewRun {
        name: name.into(),
        description: None,
        key: None,
        meta: RunMeta::default(),
        case_ids: None,
    };
    let run = stores[0]
        .create_run(project.id, new_run("r"), t(1))
        .await
        .unwrap()
        .0;
    let other = stores[1]
        .create_run(project.id, new_run("r2"), t(1))
        .await
        .unwrap()
        .0;
    let statuses = [
        Status::Passed,
        Status::Failed,
        Status::Blocked,
        Status::Retest,
    ];
    let results = stores[0]
        .list_results(run.id, all_results())
        .await
        .unwrap()
        .items;
    let failed = |note: &str| Execution {
        step_results: Vec::new(),
        defects: Vec::new(),
        status: Status::Failed,
        note: Some(note.to_string()),
        elapsed_ms: None,
        output: None,
    };
    // The uploads below pass the cases at positions 0, 4, 8, … in every
    // upload of an even number (and never fail them), so these two results
    // fail first and pass later whatever the interleaving: retried passes
    // for the flags check below, not left to the race.
    for k in [0, 4] {
        stores[0]
            .record_result(run.id, results[k].id, failed("before"), user.id, t(1))
            .await
            .unwrap();
    }
    let mut tasks = Vec::new();
    for i in 0..16usize {
        let store = Arc::clone(&stores[i % 2]);
        let mut order = cases.clone();
        if i % 2 == 1 {
            order.reverse();
        }
        order.rotate_left(i * 17 % cases.len());
        let entries: Vec<BulkEntry> = order
            .iter()
            .enumerate()
            .map(|(index, case)| BulkEntry {
                index,
                case_id: *case,
                execution: Execution {
                    step_results: Vec::new(),
                    defects: Vec::new(),
                    status: statuses[(i + index) % 4],
                    note: Some(format!("upload {i}")),
                    elapsed_ms: Some(index as i64),
                    output: None,
                },
            })
            .collect();
        let target = if i % 4 == 3 { other.id } else { run.id };
        tasks.push(tokio::spawn(async move {
            store
                .record_bulk(BulkRequest {
                    run: target,
                    actor: user.id,
                    now: t(2),
                    entries,
                    partial: false,
                    refused: vec![],
                    idempotency: None,
                })
                .await
        }));
    }
    // Single PATCHes race with them too (same lock order: run, then result).
    for (i, r) in results.iter().take(20).enumerate() {
        let store = Arc::clone(&stores[i % 2]);
        let (run_id, id) = (run.id, r.id);
        tasks.push(tokio::spawn(async move {
            store
                .record_result(
                    run_id,
                    id,
                    Execution {
                        step_results: Vec::new(),
                        defects: Vec::new(),
                        status: Status::Failed,
                        note: None,
                        elapsed_ms: None,
                        output: None,
                    },
                    user.id,
                    t(3),
                )
                .await
                .map(|_| BulkOutcome {
                    updated: 1,
                    results: vec![],
                    rejected: vec![],
                    replayed: false,
                })
        }));
    }
    // The two PATCHes made before.
    let mut executions = std::collections::HashMap::from([(run.id, 2u64)]);
    for (i, task) in tasks.into_iter().enumerate() {
        let outcome = task
            .await
            .unwrap()
            .unwrap_or_else(|e| panic!("task {i}: {e:?}"));
        let target = if i < 16 && i % 4 == 3 {
            other.id
        } else {
            run.id
        };
        *executions.entry(target).or_insert(0u64) += outcome.updated;
    }
    for run_id in [run.id, other.id] {
        let run = stores[1].get_run(run_id).await.unwrap();
        let listed = stores[1]
            .list_results(run_id, all_results())
            .await
            .unwrap()
            .items;
        let mut counted = Counts::default();
        let mut history = 0;
        for r in &listed {
            counted.add(r.status, 1);
            history += stores[0]
                .result_history(
                    run_id,
                    r.id,
                    Page {
                        page: 1,
                        per_page: 1,
                    },
                )
                .await
                .unwrap()
                .total;
        }
        assert_eq!(run.counts, counted, "counts match the results they count");
        assert_eq!(run.counts.total(), 300);
        assert_eq!(
            history as u64, executions[&run_id],
            "one history row per execution"
        );
    }
    // What the racing writes kept for triage is what their results and
    // history say: each run's elapsed sum, each result's flags.
    let client = db.client().await.unwrap();
    let drift = client
        .query(
            // A run's elapsed sum is its row plus what PATCHes left in
            // its count stripes (folded by the next bulk or close).
            "SELECT id FROM runs WHERE elapsed_ms
                 + (SELECT coalesce(sum(elapsed_ms), 0) FROM run_count_stripes s WHERE s.run_id = runs.id)
                 <> (SELECT coalesce(sum(elapsed_ms), 0) FROM results r WHERE r.run_id = runs.id)",
            &[],
        )
        .await
        .unwrap();
    assert!(
        drift.is_empty(),
        "elapsed sums drifted on {} runs",
        drift.len()
    );
    let rows = client
        .query(
            "SELECT r.flags, bool_or(h.status = 2),
                 max(h.id) FILTER (WHERE h.status = 1) > min(h.id) FILTER (WHERE h.status = 2)
             FROM results r JOIN history h ON h.result_id = r.id GROUP BY r.id, r.flags",
            &[],
        )
        .await
        .unwrap();
    let mut retried = 0;
    for row in &rows {
        let (flags, failed, passed_after): (i16, bool, Option<bool>) =
            (row.get(0), row.get(1), row.get(2));
        let want = i16::from(failed) | (i16::from(passed_after.unwrap_or(false)) << 1);
        assert_eq!(flags, want, "flags follow the history");
        retried += usize::from(want == 3);
    }
    assert!(retried > 0, "some results passed after a failure");
    assert_eq!(deadlocks(&db, stores).await, 0);
    db.drop_database().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn idempotent_retries_racing_apply_once() {
    let Some((db, stores, user, project, cases)) = setup(5).await else {
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
    let request = BulkRequest {
        run: run.id,
        actor: user.id,
        now: t(2),
        entries: cases
            .iter()
            .enumerate()
            .map(|(index, case)| BulkEntry {
                index,
                case_id: *case,
                execution: Execution {
                    step_results: Vec::new(),
                    defects: Vec::new(),
                    status: Status::Passed,
                    note: None,
                    elapsed_ms: None,
                    output: None,
                },
            })
            .collect(),
        partial: false,
        refused: vec![],
        idempotency: Some(IdempotencyKey {
            key: "retry-me".into(),
            fingerprint: [7; 32],
        }),
    };
    let tasks: Vec<_> = (0..8)
        .map(|i| {
            let (store, request) = (Arc::clone(&stores[i % 2]), request.clone());
            tokio::spawn(async move { store.record_bulk(request).await })
        })
        .collect();
    let mut first = 0;
    let mut answers = Vec::new();
    for task in tasks {
        let outcome = task.await.unwrap().unwrap();
        first += usize::from(!outcome.replayed);
        answers.push((outcome.updated, outcome.results));
    }
    assert_eq!(first, 1, "applied once, replayed to every other retry");
    assert!(
        answers.windows(2).all(|w| w[0] == w[1]),
        "every retry got the same answer"
    );
    let run = stores[1].get_run(run.id).await.unwrap();
    assert_eq!(run.counts.passed, 5);
    db.drop_database().await.unwrap();
}
