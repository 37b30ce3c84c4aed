//! Many writers at once on one store (`tokio::spawn` over a shared
//! `Arc<dyn Store>`): every accepted write lands exactly once, the current
//! state is the last write, counts stay exact, find-or-create and
//! idempotent retries behave as if the calls had come one after another.

use std::collections::HashSet;
use std::sync::Arc;

use tokio::task::JoinHandle;

use super::support::*;
use crate::*;

/// One accepted execution: the result it wrote and its (unique) note.
type Write = (ResultId, String, Status);

const WRITERS: usize = 8;
const STATUSES: [Status; 4] = [
    Status::Passed,
    Status::Failed,
    Status::Blocked,
    Status::Retest,
];

async fn joined<T: Send + 'static>(tasks: Vec<JoinHandle<T>>) -> Vec<T> {
    let mut out = Vec::with_capacity(tasks.len());
    for task in tasks {
        out.push(task.await.expect("task"));
    }
    out
}

/// Every history entry of the run as a write, sorted, and panics unless each
/// result's current state is its newest history entry.
async fn written_history(s: &dyn Store, run: RunId) -> Vec<Write> {
    let mut seen = Vec::new();
    for r in everything(s, run).await {
        let h = history(s, run, r.id).await;
        match h.first() {
            Some(newest) => assert_eq!(
                (r.status, &r.note),
                (newest.status, &newest.note),
                "current = last write of {}",
                r.id
            ),
            None => assert_eq!(r.status, Status::NotTested),
        }
        seen.extend(
            h.into_iter()
                .map(|e| (r.id, e.note.expect("every write has a note"), e.status)),
        );
    }
    sort(&mut seen);
    seen
}

/// Notes are unique, so this is a total order.
fn sort(writes: &mut [Write]) {
    writes.sort_by(|a, b| (a.0, &a.1).cmp(&(b.0, &b.1)));
}

pub async fn concurrent_writes_keep_counts_and_history_exact(s: Arc<dyn Store>) {
    const CASES: usize = 20;
    let (owner, p, cases) = project_with_cases(s.as_ref(), CASES).await;
    let run = run_over_all(s.as_ref(), p, "r").await.id;
    let ids: Vec<ResultId> = everything(s.as_ref(), run)
        .await
        .iter()
        .map(|r| r.id)
        .collect();
    let mut tasks = Vec::new();
    for w in 0..WRITERS {
        let (s, cases, ids) = (Arc::clone(&s), cases.clone(), ids.clone());
        tasks.push(tokio::spawn(async move {
            let mut writes: Vec<Write> = Vec::new();
            for k in 0..12usize {
                if k % 2 == 0 {
                    // Overlapping cases, and sometimes one case twice.
                    let entries: Vec<BulkEntry> = (0..6)
                        .map(|j| {
                            let case = cases[(w + k + j * 4) % CASES];
                            let status = STATUSES[(w + j) % 4];
                            entry(j, case, status, &format!("w{w} k{k} j{j}"))
                        })
                        .collect();
                    let out = s
                        .record_bulk(bulk(run, owner, entries.clone(), false))
                        .await
                        .expect("bulk");
                    assert_eq!(out.updated, 6);
                    for (a, e) in out.results.iter().zip(entries) {
                        let note = e.execution.note.expect("note");
                        writes.push((a.id, note, a.status));
                    }
                } else {
                    let (id, status, note) = (
                        ids[(w * 7 + k) % CASES],
                        STATUSES[k % 4],
                        format!("w{w} k{k}"),
                    );
                    s.record_result(run, id, exec(status, Some(&note)), owner, t(1))
                        .await
                        .expect("record");
                    writes.push((id, note, status));
                }
            }
            writes
        }));
    }
    let mut accepted: Vec<Write> = joined(tasks).await.into_iter().flatten().collect();
    sort(&mut accepted);
    let s = s.as_ref();
    assert_eq!(accepted.len(), WRITERS * (6 * 6 + 6));
    assert_eq!(
        written_history(s, run).await,
        accepted,
        "every write exactly once in history, on its result"
    );
    assert_eq!(
        s.get_run(run).await.expect("run").counts,
        recount(s, run).await
    );
}

pub async fn parallel_jobs_share_one_run_by_key(s: Arc<dyn Store>) {
    let (_, p, _) = project_with_cases(s.as_ref(), 5).await;
    let tasks = (0..WRITERS)
        .map(|w| {
            let s = Arc::clone(&s);
            tokio::spawn(async move {
                let run = new_run(&format!("job {w}"), Some("pipeline-7"), None);
                s.create_run(p, run, t(1)).await.expect("find or create")
            })
        })
        .collect();
    let answers = joined(tasks).await;
    let created = answers.iter().filter(|(_, new)| *new).count();
    assert_eq!(created, 1, "exactly one job created the run");
    let ids: HashSet<RunId> = answers.iter().map(|(r, _)| r.id).collect();
    assert_eq!(ids.len(), 1, "every job got the same run");
    assert!(
        answers.iter().all(|(r, _)| r.counts.not_tested == 5),
        "whole"
    );
    let listed = s
        .list_runs(p, RunFilter::default(), page(1, 10))
        .await
        .expect("runs");
    assert_eq!(listed.total, 1);
}

pub async fn concurrent_retries_apply_once(s: Arc<dyn Store>) {
    let (owner, p, cases) = project_with_cases(s.as_ref(), 4).await;
    let run = run_over_all(s.as_ref(), p, "r").await.id;
    let entries = cases
        .iter()
        .enumerate()
        .map(|(i, c)| entry(i, *c, STATUSES[i % 4], &format!("e{i}")))
        .collect();
    let mut request = bulk(run, owner, entries, false);
    request.idempotency = idempotency("retry-storm", 3);
    let tasks = (0..WRITERS)
        .map(|_| {
            let (s, request) = (Arc::clone(&s), request.clone());
            tokio::spawn(async move { s.record_bulk(request).await.expect("bulk or replay") })
        })
        .collect();
    let answers = joined(tasks).await;
    let first = answers.iter().filter(|o| !o.replayed).count();
    assert_eq!(first, 1, "applied by exactly one request");
    assert!(answers.iter().all(|o| o.results == answers[0].results));
    let s = s.as_ref();
    assert_eq!(history_len(s, run).await, 4, "written once");
    let counts = s.get_run(run).await.expect("run").counts;
    assert_eq!((counts.not_tested, counts.total()), (0, 4));
}

pub async fn closing_races_with_writes(s: Arc<dyn Store>) {
    let (owner, p, cases) = project_with_cases(s.as_ref(), 6).await;
    let run = run_over_all(s.as_ref(), p, "r").await.id;
    let ids: Vec<ResultId> = everything(s.as_ref(), run)
        .await
        .iter()
        .map(|r| r.id)
        .collect();
    let mut tasks = Vec::new();
    for w in 0..WRITERS {
        let (s, cases, ids) = (Arc::clone(&s), cases.clone(), ids.clone());
        tasks.push(tokio::spawn(async move {
            let mut writes: Vec<Write> = Vec::new();
            for k in 0..10usize {
                let note = format!("w{w} k{k}");
                let status = STATUSES[(w + k) % 4];
                let outcome = if k % 2 == 0 {
                    let e = entry(0, cases[(w + k) % 6], status, &note);
                    s.record_bulk(bulk(run, owner, vec![e], false))
                        .await
                        .map(|o| o.results[0].id)
                } else {
                    let id = ids[(w + k) % 6];
                    s.record_result(run, id, exec(status, Some(&note)), owner, t(1))
                        .await
                        .map(|r| r.id)
                };
                match outcome {
                    Ok(id) => writes.push((id, note, status)),
                    Err(e) => assert_eq!(e, StoreError::run_closed(), "{note}"),
                }
            }
            writes
        }));
    }
    let closer = {
        let s = Arc::clone(&s);
        tokio::spawn(async move { s.close_run(run, t(2)).await.expect("close") })
    };
    let mut accepted: Vec<Write> = joined(tasks).await.into_iter().flatten().collect();
    sort(&mut accepted);
    assert_eq!(closer.await.expect("closer").state, RunState::Closed);
    let s = s.as_ref();
    assert_eq!(
        written_history(s, run).await,
        accepted,
        "accepted = written"
    );
    let run_now = s.get_run(run).await.expect("run");
    assert_eq!(run_now.counts, recount(s, run).await);
    let late = s.record_result(run, ids[0], exec(Status::Passed, Some("late")), owner, t(3));
    assert_conflict(late.await, "run_closed");
}
