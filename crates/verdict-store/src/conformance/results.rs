//! Results: listing, executions, bulk uploads, imports and concurrency.

use std::collections::HashMap;
use std::sync::Arc;

use super::{exec, now, project_with_cases, run_over_all, user};
use crate::*;

fn query(statuses: Vec<Status>, after: Option<ResultId>, page: u32, per_page: u32) -> ResultQuery {
    ResultQuery {
        statuses,
        after,
        q: None,
        page: Page { page, per_page },
    }
}

fn entry(index: usize, case_id: CaseId, status: Status, note: &str) -> BulkEntry {
    BulkEntry {
        index,
        case_id,
        execution: exec(status, Some(note)),
    }
}

fn bulk(run: RunId, actor: UserId, entries: Vec<BulkEntry>, partial: bool) -> BulkRequest {
    BulkRequest {
        run,
        actor,
        now: now(),
        entries,
        partial,
        rejected: Vec::new(),
        idempotency: None,
    }
}

async fn everything(s: &dyn Store, run: RunId) -> Vec<TestResult> {
    s.list_results(run, query(vec![], None, 1, 1000))
        .await
        .expect("list")
        .items
}

async fn recount(s: &dyn Store, run: RunId) -> Counts {
    let mut c = Counts::default();
    for r in everything(s, run).await {
        c.add(r.status, 1);
    }
    c
}

pub async fn listing_orders_pages_and_filters_without_scans(s: Arc<dyn Store>) {
    let s = s.as_ref();
    let (owner, p, cases) = project_with_cases(s, 10).await;
    let run = run_over_all(s, p, "r").await.id;
    let all = everything(s, run).await;
    assert!(all.windows(2).all(|w| w[0].id < w[1].id), "ordered by id");
    assert_eq!(all.iter().map(|r| r.case_id).collect::<Vec<_>>(), cases);
    let entries = (0..10)
        .map(|i| {
            entry(
                i,
                cases[i],
                if i % 3 == 0 {
                    Status::Failed
                } else {
                    Status::Passed
                },
                "n",
            )
        })
        .collect();
    s.record_bulk(bulk(run, owner, entries, false))
        .await
        .expect("bulk");
    let page2 = s
        .list_results(run, query(vec![], None, 2, 4))
        .await
        .expect("page 2");
    assert_eq!((page2.total, page2.items[0].id), (10, all[4].id));
    let past = s
        .list_results(run, query(vec![], None, 9, 4))
        .await
        .expect("past the end");
    assert_eq!((past.total, past.items.len()), (10, 0));
    let after = s
        .list_results(run, query(vec![], Some(all[7].id), 1, 4))
        .await
        .expect("after");
    assert_eq!(
        after.items.iter().map(|r| r.id).collect::<Vec<_>>(),
        [all[8].id, all[9].id]
    );
    let failed = s
        .list_results(run, query(vec![Status::Failed], None, 1, 100))
        .await
        .expect("failed");
    assert_eq!((failed.total, failed.items.len()), (4, 4));
    let both = s
        .list_results(run, query(vec![Status::Passed, Status::Failed], None, 1, 3))
        .await
        .expect("both");
    assert_eq!(both.total, 10);
    assert_eq!(
        both.items.iter().map(|r| r.id).collect::<Vec<_>>(),
        [all[0].id, all[1].id, all[2].id]
    );
    let other = run_over_all(s, p, "other").await.id;
    assert_eq!(
        s.get_result(other, all[0].id).await,
        Err(StoreError::NotFound)
    );
}

pub async fn title_search(s: Arc<dyn Store>) {
    let s = s.as_ref();
    let (owner, p, cases) = project_with_cases(s, 12).await;
    let run = run_over_all(s, p, "r").await.id;
    s.record_result(
        run,
        everything(s, run).await[1].id,
        exec(Status::Failed, None),
        owner,
        now(),
    )
    .await
    .expect("record");
    let search = |statuses: Vec<Status>, q: &str| ResultQuery {
        statuses,
        after: None,
        q: Some(q.into()),
        page: Page {
            page: 1,
            per_page: 2,
        },
    };
    // "case 1", "case 10", "case 11" contain "CASE 1".
    let found = s
        .list_results(run, search(vec![], "CASE 1"))
        .await
        .expect("search");
    assert_eq!((found.total, found.items.len()), (3, 2));
    assert_eq!(found.items[0].case_id, cases[1]);
    let failed = s
        .list_results(run, search(vec![Status::Failed], "case 1"))
        .await
        .expect("filtered search");
    assert_eq!(failed.total, 1);
    let none = s
        .list_results(run, search(vec![], "100%"))
        .await
        .expect("wildcards are text");
    assert_eq!(none.total, 0);
}

pub async fn single_executions_and_history(s: Arc<dyn Store>) {
    let s = s.as_ref();
    let (owner, p, _) = project_with_cases(s, 2).await;
    let run = run_over_all(s, p, "r").await.id;
    let id = everything(s, run).await[0].id;
    let r = s
        .record_result(run, id, exec(Status::Failed, Some("boom")), owner, now())
        .await
        .expect("record");
    assert_eq!(
        (r.status, r.note.as_deref(), r.elapsed_ms, r.tested_by),
        (Status::Failed, Some("boom"), Some(1500), Some(owner))
    );
    let cleared = s
        .record_result(
            run,
            id,
            Execution {
                status: Status::NotTested,
                note: None,
                elapsed_ms: None,
            },
            owner,
            now(),
        )
        .await
        .expect("clear");
    assert_eq!(
        (cleared.tested_by, cleared.tested_at, cleared.note),
        (None, None, None)
    );
    let h = s
        .result_history(
            run,
            id,
            Page {
                page: 1,
                per_page: 10,
            },
        )
        .await
        .expect("history");
    assert_eq!(
        h.items.iter().map(|e| e.status).collect::<Vec<_>>(),
        [Status::NotTested, Status::Failed],
        "newest first"
    );
    assert_eq!(h.items[0].tested_by, owner);
    let paged = s
        .result_history(
            run,
            id,
            Page {
                page: 2,
                per_page: 1,
            },
        )
        .await
        .expect("page");
    assert_eq!((paged.total, paged.items[0].status), (2, Status::Failed));
    assert_eq!(s.get_run(run).await.expect("run").counts.not_tested, 2);
    s.close_run(run, now()).await.expect("close");
    let closed = s
        .record_result(run, id, exec(Status::Passed, None), owner, now())
        .await;
    assert_eq!(closed.map(|_| ()), Err(StoreError::run_closed()));
}

pub async fn bulk_is_atomic_or_partial(s: Arc<dyn Store>) {
    let s = s.as_ref();
    let (owner, p, cases) = project_with_cases(s, 3).await;
    let run = run_over_all(s, p, "r").await.id;
    let stranger = CaseId::from_db(999_999);
    let atomic = bulk(
        run,
        owner,
        vec![
            entry(0, cases[0], Status::Passed, "a"),
            entry(1, stranger, Status::Passed, "b"),
        ],
        false,
    );
    match s.record_bulk(atomic).await {
        Err(StoreError::Invalid(f)) => assert_eq!(f[0].field, "results[1].test_case_id"),
        other => panic!("{other:?}"),
    }
    assert_eq!(
        s.get_run(run).await.expect("run").counts.not_tested,
        3,
        "nothing written"
    );
    let mut partial = bulk(
        run,
        owner,
        vec![
            entry(0, stranger, Status::Passed, "x"),
            entry(2, cases[1], Status::Failed, "y"),
        ],
        true,
    );
    partial.rejected = vec![Rejection {
        index: 1,
        test_case_id: None,
        code: "validation_failed".into(),
        message: "bad".into(),
    }];
    let out = s.record_bulk(partial).await.expect("partial");
    assert_eq!(out.updated, 1);
    assert_eq!(
        out.rejected
            .iter()
            .map(|r| (r.index, r.code.as_str()))
            .collect::<Vec<_>>(),
        [(0, "case_not_in_run"), (1, "validation_failed")]
    );
    assert_eq!(s.get_run(run).await.expect("run").counts.failed, 1);
}

pub async fn bulk_order_and_idempotency(s: Arc<dyn Store>) {
    let s = s.as_ref();
    let (owner, p, cases) = project_with_cases(s, 2).await;
    let other = user(s, "other").await;
    let run = run_over_all(s, p, "r").await.id;
    let key = |k: &str, f: u8| {
        Some(IdempotencyKey {
            key: k.into(),
            fingerprint: [f; 32],
        })
    };
    let mut first = bulk(
        run,
        owner,
        vec![
            entry(0, cases[0], Status::Failed, "1"),
            entry(1, cases[0], Status::Passed, "2"),
        ],
        false,
    );
    first.idempotency = key("k", 1);
    let out = s.record_bulk(first.clone()).await.expect("first");
    assert_eq!((out.updated, out.replayed), (2, false));
    let again = s.record_bulk(first.clone()).await.expect("replay");
    assert!(again.replayed);
    assert_eq!(again.results, out.results);
    let id = out.results[0].id;
    let h = s
        .result_history(
            run,
            id,
            Page {
                page: 1,
                per_page: 10,
            },
        )
        .await
        .expect("history");
    assert_eq!(
        h.items
            .iter()
            .map(|e| e.note.as_deref())
            .collect::<Vec<_>>(),
        [Some("2"), Some("1")],
        "applied once, last current"
    );
    assert_eq!(
        s.get_result(run, id).await.expect("result").status,
        Status::Passed
    );
    let mut reused = first.clone();
    reused.idempotency = key("k", 2);
    assert_eq!(
        s.record_bulk(reused).await.map(|_| ()),
        Err(StoreError::IdempotencyKeyReused)
    );
    let mut theirs = first;
    theirs.actor = other;
    assert!(
        !s.record_bulk(theirs)
            .await
            .expect("other user's key")
            .replayed
    );
}

pub async fn keyed_imports(s: Arc<dyn Store>) {
    let s = s.as_ref();
    let (owner, p, _) = project_with_cases(s, 1).await;
    let run = s
        .create_run(
            p,
            NewRun {
                name: "ci".into(),
                description: None,
                key: None,
                case_ids: Some(vec![]),
            },
            now(),
        )
        .await
        .expect("empty run")
        .0
        .id;
    let keyed = |index: usize, key: &str, status: Status| KeyedEntry {
        index,
        key: key.into(),
        title: key.into(),
        suite: None,
        execution: exec(status, None),
    };
    let request = |create_missing: bool, dry_run: bool| ImportRequest {
        run,
        actor: owner,
        now: now(),
        entries: vec![
            keyed(0, "k0", Status::Passed),
            keyed(1, "new.one", Status::Failed),
        ],
        create_missing,
        dry_run,
        partial: false,
        idempotency: None,
    };
    match s.import_results(request(false, false)).await {
        Err(StoreError::Invalid(f)) => assert_eq!(
            f.iter().map(|f| f.field.as_str()).collect::<Vec<_>>(),
            ["testcases[0]", "testcases[1]"]
        ),
        other => panic!("{other:?}"),
    }
    let dry = s
        .import_results(request(true, true))
        .await
        .expect("dry run");
    assert_eq!((dry.created, dry.added, dry.dry_run), (1, 1, true));
    assert_eq!(
        s.get_run(run).await.expect("run").counts.total(),
        0,
        "a dry run writes nothing"
    );
    let done = s
        .import_results(request(true, false))
        .await
        .expect("import");
    assert_eq!((done.created, done.added, done.bulk.updated), (1, 1, 2));
    let counts = s.get_run(run).await.expect("run").counts;
    assert_eq!((counts.passed, counts.failed, counts.total()), (1, 1, 2));
}

pub async fn concurrent_writes_keep_counts_and_history_exact(s: Arc<dyn Store>) {
    let (owner, p, cases) = project_with_cases(s.as_ref(), 20).await;
    let run = run_over_all(s.as_ref(), p, "r").await.id;
    let ids: Vec<ResultId> = everything(s.as_ref(), run)
        .await
        .iter()
        .map(|r| r.id)
        .collect();
    let statuses = [
        Status::Passed,
        Status::Failed,
        Status::Blocked,
        Status::Retest,
    ];
    let mut tasks = Vec::new();
    for t in 0..8usize {
        let (s, cases, ids) = (Arc::clone(&s), cases.clone(), ids.clone());
        tasks.push(tokio::spawn(async move {
            let mut written = 0;
            for k in 0..12usize {
                if k % 2 == 0 {
                    let entries = (0..6)
                        .map(|j| entry(j, cases[(t + k + j * 3) % 20], statuses[(t + j) % 4], "b"))
                        .collect();
                    written += s
                        .record_bulk(bulk(run, owner, entries, false))
                        .await
                        .expect("bulk")
                        .updated;
                } else {
                    s.record_result(
                        run,
                        ids[(t * 7 + k) % 20],
                        exec(statuses[k % 4], Some("p")),
                        owner,
                        now(),
                    )
                    .await
                    .expect("record");
                    written += 1;
                }
            }
            written
        }));
    }
    let mut written = 0;
    for t in tasks {
        written += t.await.expect("task");
    }
    let s = s.as_ref();
    assert_eq!(
        s.get_run(run).await.expect("run").counts,
        recount(s, run).await
    );
    let mut history = 0;
    let mut last: HashMap<ResultId, Status> = HashMap::new();
    for id in &ids {
        let h = s
            .result_history(
                run,
                *id,
                Page {
                    page: 1,
                    per_page: 1000,
                },
            )
            .await
            .expect("history");
        history += h.total as u64;
        if let Some(newest) = h.items.first() {
            last.insert(*id, newest.status);
        }
    }
    assert_eq!(history, written, "every write exactly once in history");
    for r in everything(s, run).await {
        assert_eq!(
            last.get(&r.id).copied().unwrap_or(Status::NotTested),
            r.status,
            "current = last write"
        );
    }
}
