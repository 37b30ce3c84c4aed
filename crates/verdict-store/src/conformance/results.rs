//! Results: listing order, paging, keyset `after`, status filters, title
//! search, single executions and their history.

use std::sync::Arc;

use super::support::*;
use crate::*;

fn ids(items: &[TestResult]) -> Vec<ResultId> {
    items.iter().map(|r| r.id).collect()
}

/// The statuses the status-filter checks record, by case index.
fn pattern(i: usize) -> Status {
    [
        Status::Failed,
        Status::Passed,
        Status::Passed,
        Status::Blocked,
    ][i % 4]
}

async fn listed(s: &dyn Store, run: RunId, q: ResultQuery) -> (i64, Vec<ResultId>) {
    let l = s.list_results(run, q).await.expect("list results");
    (l.total, ids(&l.items))
}

pub async fn listing_orders_by_id_and_pages(s: Arc<dyn Store>) {
    let s = s.as_ref();
    let (_, p, cases) = project_with_cases(s, 10).await;
    let run = run_over_all(s, p, "r").await.id;
    let all = s
        .list_results(run, query(vec![], None, page(1, 100)))
        .await
        .expect("list");
    assert_eq!(all.total, 10);
    assert!(all.items.windows(2).all(|w| w[0].id < w[1].id), "by id");
    assert_eq!(
        all.items.iter().map(|r| r.case_id).collect::<Vec<_>>(),
        cases
    );
    assert_eq!(all.items[3].case_title, "case 3");
    let all = ids(&all.items);
    let q = |after: Option<usize>, p: Page| query(vec![], after.map(|i| all[i]), p);
    assert_eq!(
        listed(s, run, q(None, page(2, 4))).await,
        (10, all[4..8].to_vec())
    );
    assert_eq!(
        listed(s, run, q(None, page(3, 4))).await,
        (10, all[8..].to_vec())
    );
    assert_eq!(
        listed(s, run, q(None, page(4, 4))).await,
        (10, vec![]),
        "past the end"
    );
    // `after` is a cursor, not a filter: the total is still the run's.
    assert_eq!(
        listed(s, run, q(Some(3), page(1, 4))).await,
        (10, all[4..8].to_vec())
    );
    assert_eq!(
        listed(s, run, q(Some(3), page(2, 4))).await.1,
        all[8..].to_vec(),
        "pages count from the cursor"
    );
    assert_eq!(listed(s, run, q(Some(9), page(1, 4))).await.1, vec![]);
    let other = run_over_all(s, p, "other").await.id;
    let theirs = listed(s, other, query(vec![], None, page(1, 100))).await;
    assert_eq!(theirs.0, 10);
    assert!(
        theirs.1.iter().all(|id| !all.contains(id)),
        "one result per run and case"
    );
}

pub async fn status_filters_and_totals(s: Arc<dyn Store>) {
    let s = s.as_ref();
    let (owner, p, cases) = project_with_cases(s, 12).await;
    let run = run_over_all(s, p, "r").await.id;
    // Case 11 stays not tested.
    let entries = (0..11)
        .map(|i| entry(i, cases[i], pattern(i), "n"))
        .collect();
    s.record_bulk(bulk(run, owner, entries, false))
        .await
        .expect("bulk");
    let all = everything(s, run).await;
    let with = |statuses: &[Status]| -> Vec<ResultId> {
        all.iter()
            .filter(|r| statuses.contains(&r.status))
            .map(|r| r.id)
            .collect()
    };
    let q =
        |statuses: &[Status], after: Option<ResultId>, p: Page| query(statuses.to_vec(), after, p);
    let failed = with(&[Status::Failed]);
    assert_eq!(failed.len(), 3);
    assert_eq!(
        listed(s, run, q(&[Status::Failed], None, page(1, 100))).await,
        (3, failed)
    );
    let passed = with(&[Status::Passed]);
    assert_eq!(
        listed(s, run, q(&[Status::Passed], None, page(2, 4))).await,
        (6, passed[4..].to_vec())
    );
    let both = [Status::Blocked, Status::Failed];
    let expected = with(&both);
    assert_eq!(expected.len(), 5);
    assert_eq!(
        listed(s, run, q(&both, None, page(1, 100))).await,
        (5, expected.clone())
    );
    assert_eq!(
        listed(s, run, q(&both, None, page(2, 4))).await,
        (5, expected[4..].to_vec()),
        "a merged filter pages by id"
    );
    assert_eq!(
        listed(s, run, q(&both, Some(expected[1]), page(1, 3)))
            .await
            .1,
        expected[2..5].to_vec()
    );
    let twice = [Status::Failed, Status::Failed];
    assert_eq!(
        listed(s, run, q(&twice, None, page(1, 100))).await.0,
        3,
        "no double count"
    );
    let untested = listed(s, run, q(&[Status::NotTested], None, page(1, 100))).await;
    assert_eq!(untested, (1, vec![all[11].id]));
    assert_eq!(
        listed(s, run, q(&[Status::Retest], None, page(1, 10))).await,
        (0, vec![])
    );
    let every = listed(s, run, q(&Status::ALL, None, page(1, 100))).await;
    assert_eq!(every, (12, ids(&all)));
    let counts = s.get_run(run).await.expect("run").counts;
    assert_eq!((counts.failed, counts.passed, counts.blocked), (3, 6, 2));
    assert_eq!(counts, recount(s, run).await);
}

pub async fn title_search(s: Arc<dyn Store>) {
    let s = s.as_ref();
    let (owner, p, cases) = project_with_cases(s, 12).await;
    let run = run_over_all(s, p, "r").await.id;
    let all = everything(s, run).await;
    s.record_result(run, all[1].id, exec(Status::Failed, None), owner, t(1))
        .await
        .expect("record");
    let search = |statuses: Vec<Status>, q: &str, after: Option<ResultId>| ResultQuery {
        assignee: None,
        statuses,
        after,
        q: Some(q.into()),
        page: page(1, 2),
        key: None,
        output: false,
    };
    // "case 1", "case 10", "case 11" contain "CASE 1".
    let found = s
        .list_results(run, search(vec![], "CASE 1", None))
        .await
        .expect("search");
    assert_eq!((found.total, found.items.len()), (3, 2));
    assert_eq!(found.items[0].case_id, cases[1]);
    let next = s
        .list_results(run, search(vec![], "case 1", Some(found.items[1].id)))
        .await
        .expect("next page");
    assert_eq!(ids(&next.items), [all[11].id]);
    let failed = s
        .list_results(run, search(vec![Status::Failed], "case 1", None))
        .await
        .expect("filtered search");
    assert_eq!((failed.total, ids(&failed.items)), (1, vec![all[1].id]));
    let none = s
        .list_results(run, search(vec![], "100%", None))
        .await
        .expect("wildcards are text");
    assert_eq!((none.total, none.items.len()), (0, 0));
}

pub async fn results_belong_to_their_run(s: Arc<dyn Store>) {
    let s = s.as_ref();
    let (owner, p, _) = project_with_cases(s, 2).await;
    let run = run_over_all(s, p, "r").await.id;
    let other = run_over_all(s, p, "other").await.id;
    let mine = everything(s, run).await[0].clone();
    assert_eq!(s.get_result(run, mine.id).await, Ok(mine.clone()));
    assert_not_found(s.get_result(other, mine.id).await);
    assert_eq!(s.result_run(mine.id).await, Ok(run));
    assert_not_found(s.result_run(ResultId::from_db(UNKNOWN)).await);
    assert_not_found(s.get_result(run, ResultId::from_db(UNKNOWN)).await);
    let wrong = s.record_result(other, mine.id, exec(Status::Passed, None), owner, t(1));
    assert_not_found(wrong.await);
    let unknown = RunId::from_db(UNKNOWN);
    let nowhere = s.record_result(unknown, mine.id, exec(Status::Passed, None), owner, t(1));
    assert_not_found(nowhere.await);
    assert_not_found(s.result_history(other, mine.id, page(1, 10)).await);
    assert_not_found(
        s.list_results(unknown, query(vec![], None, page(1, 10)))
            .await,
    );
    assert_eq!(
        s.get_result(run, mine.id).await,
        Ok(mine),
        "nothing written"
    );
    assert_eq!(history_len(s, run).await + history_len(s, other).await, 0);
    for r in [run, other] {
        assert_eq!(s.get_run(r).await.expect("run").counts.not_tested, 2);
    }
}

pub async fn recording_sets_fields_and_counts(s: Arc<dyn Store>) {
    let s = s.as_ref();
    let (owner, p, cases) = project_with_cases(s, 2).await;
    let tester = user(s, "tester").await;
    let run = run_over_all(s, p, "r").await.id;
    let id = everything(s, run).await[0].id;
    let failed = s
        .record_result(run, id, exec(Status::Failed, Some("boom")), tester, t(7))
        .await
        .expect("record");
    assert_eq!(
        (
            failed.id,
            failed.run_id,
            failed.case_id,
            failed.case_title.as_str()
        ),
        (id, run, cases[0], "case 0")
    );
    assert_eq!(
        (failed.status, failed.note.as_deref(), failed.elapsed_ms),
        (Status::Failed, Some("boom"), Some(1500))
    );
    assert_eq!(
        (failed.tested_by, failed.tested_at),
        (Some(tester), Some(t(7)))
    );
    assert_eq!(s.get_result(run, id).await, Ok(failed));
    let counts = s.get_run(run).await.expect("run").counts;
    assert_eq!(
        (counts.failed, counts.not_tested, counts.total()),
        (1, 1, 2)
    );

    let bare = Execution {
        step_results: Vec::new(),
        defects: Vec::new(),
        status: Status::Passed,
        note: None,
        elapsed_ms: None,
        output: None,
    };
    let passed = s
        .record_result(run, id, bare, owner, t(8))
        .await
        .expect("again");
    assert_eq!(
        (passed.status, passed.note, passed.elapsed_ms),
        (Status::Passed, None, None),
        "a field not given is null"
    );
    assert_eq!(
        (passed.tested_by, passed.tested_at),
        (Some(owner), Some(t(8)))
    );
    let counts = s.get_run(run).await.expect("run").counts;
    assert_eq!((counts.passed, counts.failed, counts.not_tested), (1, 0, 1));
    assert_eq!(counts, recount(s, run).await);
}

pub async fn not_tested_clears_the_result_but_history_keeps_it(s: Arc<dyn Store>) {
    let s = s.as_ref();
    let (owner, p, _) = project_with_cases(s, 2).await;
    let run = run_over_all(s, p, "r").await.id;
    let before = everything(s, run).await[0].clone();
    s.record_result(
        run,
        before.id,
        exec(Status::Blocked, Some("env")),
        owner,
        t(1),
    )
    .await
    .expect("record");
    let untested = Execution {
        step_results: Vec::new(),
        defects: Vec::new(),
        status: Status::NotTested,
        note: None,
        elapsed_ms: None,
        output: None,
    };
    let cleared = s
        .record_result(run, before.id, untested, owner, t(2))
        .await
        .expect("clear");
    assert_eq!(cleared, before, "back to its untested state");
    let h = history(s, run, before.id).await;
    assert_eq!(
        h.iter()
            .map(|e| (e.status, e.tested_by, e.tested_at))
            .collect::<Vec<_>>(),
        [
            (Status::NotTested, owner, t(2)),
            (Status::Blocked, owner, t(1))
        ],
        "the clearing is an execution too"
    );
    let counts = s.get_run(run).await.expect("run").counts;
    assert_eq!((counts.blocked, counts.not_tested), (0, 2));
}

pub async fn history_newest_first_with_paging(s: Arc<dyn Store>) {
    let s = s.as_ref();
    let (owner, p, _) = project_with_cases(s, 2).await;
    let tester = user(s, "tester").await;
    let run = run_over_all(s, p, "r").await.id;
    let all = everything(s, run).await;
    let id = all[0].id;
    let statuses = [
        Status::Failed,
        Status::Retest,
        Status::Failed,
        Status::Passed,
        Status::Blocked,
    ];
    for (i, status) in statuses.into_iter().enumerate() {
        let actor = if i % 2 == 0 { owner } else { tester };
        let note = i.to_string();
        s.record_result(run, id, exec(status, Some(&note)), actor, t(i as i64))
            .await
            .expect("record");
    }
    let h = history(s, run, id).await;
    assert_eq!(h.len(), 5);
    for (e, i) in h.iter().zip((0..5).rev()) {
        let actor = if i % 2 == 0 { owner } else { tester };
        let expected = HistoryEntry {
            step_results: Vec::new(),
            defects: Vec::new(),
            result_id: id,
            status: statuses[i],
            note: Some(i.to_string()),
            elapsed_ms: Some(1500),
            tested_by: actor,
            tested_at: t(i as i64),
            output: None,
        };
        assert_eq!(e, &expected, "newest first");
    }
    let notes = |pg: Page| async move {
        let l = s.result_history(run, id, pg).await.expect("history page");
        let notes: Vec<String> = l.items.into_iter().filter_map(|e| e.note).collect();
        (l.total, notes)
    };
    assert_eq!(notes(page(2, 2)).await, (5, vec!["2".into(), "1".into()]));
    assert_eq!(notes(page(3, 2)).await, (5, vec!["0".into()]));
    assert_eq!(notes(page(4, 2)).await, (5, vec![]));
    let quiet = s
        .result_history(run, all[1].id, page(1, 10))
        .await
        .expect("history");
    assert_eq!((quiet.total, quiet.items.len()), (0, 0));
    assert_not_found(
        s.result_history(run, ResultId::from_db(UNKNOWN), page(1, 10))
            .await,
    );
}
