//! Arrangement helpers shared by the checks: fixed instants, small
//! constructors for the request types, and reads that collect a whole run or
//! a whole history through the trait (so checks can recount what the store
//! reports).

use crate::*;

/// 2026-03-26T10:15:00Z: checks use fixed instants, so they can assert the
/// exact times a store hands back.
const BASE_MS: i64 = 1_774_520_100_000;

/// The fixed instant `secs` seconds after the base.
pub(crate) fn t(secs: i64) -> Timestamp {
    Timestamp::from_millis(BASE_MS + secs * 1000)
}

pub(crate) fn page(page: u32, per_page: u32) -> Page {
    Page { page, per_page }
}

/// An id no fresh store has issued.
pub(crate) const UNKNOWN: i64 = 999_999;

pub(crate) fn new_user(name: &str, email: &str, admin: bool) -> NewUser {
    NewUser {
        name: name.into(),
        email: email.into(),
        password_hash: None,
        admin,
    }
}

/// A new non-admin user `name` with email `name@example.com`.
pub(crate) async fn user(s: &dyn Store, name: &str) -> UserId {
    s.create_user(new_user(name, &format!("{name}@example.com"), false), t(0))
        .await
        .expect("create user")
        .id
}

pub(crate) fn new_case(title: &str, key: Option<&str>) -> NewCase {
    NewCase {
        title: title.into(),
        key: key.map(Into::into),
        suite: None,
        details: Default::default(),
    }
}

/// A project owned by a new user, with `n` keyed cases (`k0`…, titled
/// `case 0`…), in id order.
pub(crate) async fn project_with_cases(
    s: &dyn Store,
    n: usize,
) -> (UserId, ProjectId, Vec<CaseId>) {
    let owner = user(s, "owner").await;
    let p = s
        .create_project("P".into(), owner, t(0))
        .await
        .expect("project")
        .id;
    let new = (0..n)
        .map(|i| new_case(&format!("case {i}"), Some(&format!("k{i}"))))
        .collect();
    let cases = s
        .upsert_cases(p, new, t(0))
        .await
        .expect("cases")
        .into_iter()
        .map(|u| u.case.id)
        .collect();
    (owner, p, cases)
}

pub(crate) fn new_run(name: &str, key: Option<&str>, case_ids: Option<Vec<CaseId>>) -> NewRun {
    NewRun {
        name: name.into(),
        description: None,
        key: key.map(Into::into),
        meta: RunMeta::default(),
        case_ids,
    }
}

/// A new run over every case of the project.
pub(crate) async fn run_over_all(s: &dyn Store, p: ProjectId, name: &str) -> Run {
    s.create_run(p, new_run(name, None, None), t(0))
        .await
        .expect("run")
        .0
}

pub(crate) fn exec(status: Status, note: Option<&str>) -> Execution {
    Execution {
        step_results: Vec::new(),
        defects: Vec::new(),
        status,
        note: note.map(str::to_string),
        elapsed_ms: Some(1500),
        output: None,
    }
}

pub(crate) fn entry(index: usize, case_id: CaseId, status: Status, note: &str) -> BulkEntry {
    BulkEntry {
        index,
        case_id,
        execution: exec(status, Some(note)),
    }
}

pub(crate) fn bulk(
    run: RunId,
    actor: UserId,
    entries: Vec<BulkEntry>,
    partial: bool,
) -> BulkRequest {
    BulkRequest {
        run,
        actor,
        now: t(10),
        entries,
        partial,
        refused: Vec::new(),
        idempotency: None,
    }
}

pub(crate) fn idempotency(key: &str, fingerprint: u8) -> Option<IdempotencyKey> {
    Some(IdempotencyKey {
        key: key.into(),
        fingerprint: [fingerprint; 32],
    })
}

pub(crate) fn query(statuses: Vec<Status>, after: Option<ResultId>, p: Page) -> ResultQuery {
    ResultQuery {
        assignee: None,
        statuses,
        after,
        q: None,
        page: p,
        key: None,
        output: false,
    }
}

/// Every result of a run, in id order, read page by page with `after`.
pub(crate) async fn everything(s: &dyn Store, run: RunId) -> Vec<TestResult> {
    let mut all: Vec<TestResult> = Vec::new();
    loop {
        let after = all.last().map(|r| r.id);
        let next = s
            .list_results(run, query(vec![], after, page(1, 1000)))
            .await
            .expect("list results")
            .items;
        if next.is_empty() {
            return all;
        }
        // A store that ignores `after` would page forever: fail instead.
        assert!(
            after.is_none_or(|a| next[0].id > a),
            "`after` must page past {after:?}"
        );
        all.extend(next);
    }
}

/// The run's counts as the results themselves say.
pub(crate) async fn recount(s: &dyn Store, run: RunId) -> Counts {
    let mut c = Counts::default();
    for r in everything(s, run).await {
        c.add(r.status, 1);
    }
    c
}

/// A result's whole history, newest first (fewer than 1,000 entries).
pub(crate) async fn history(s: &dyn Store, run: RunId, id: ResultId) -> Vec<HistoryEntry> {
    let h = s
        .result_history(run, id, page(1, 1000))
        .await
        .expect("history");
    assert_eq!(h.total, h.items.len() as i64, "history total");
    h.items
}

/// History entries over every result of the run.
pub(crate) async fn history_len(s: &dyn Store, run: RunId) -> usize {
    let mut n = 0;
    for r in everything(s, run).await {
        n += history(s, run, r.id).await.len();
    }
    n
}

/// Panics unless `result` is the conflict `code`.
pub(crate) fn assert_conflict<T: std::fmt::Debug>(result: StoreResult<T>, code: &str) {
    match result {
        Err(StoreError::Conflict { code: c, .. }) if c == code => {}
        other => panic!("expected conflict {code}, got {other:?}"),
    }
}

/// Panics unless `result` is `Invalid` naming exactly `fields`, in order.
pub(crate) fn assert_invalid<T: std::fmt::Debug>(result: StoreResult<T>, fields: &[&str]) {
    match result {
        Err(StoreError::Invalid(errors)) => assert_eq!(
            errors.iter().map(|e| e.field.as_str()).collect::<Vec<_>>(),
            fields
        ),
        other => panic!("expected invalid {fields:?}, got {other:?}"),
    }
}

/// Panics unless `result` is `NotFound`.
pub(crate) fn assert_not_found<T: std::fmt::Debug>(result: StoreResult<T>) {
    assert!(
        matches!(result, Err(StoreError::NotFound)),
        "expected not found, got {result:?}"
    );
}
