//! Bulk uploads (atomic or partial, in order, idempotent on request), large
//! uploads, and imports addressed by case key.

use std::sync::Arc;

use super::support::*;
use crate::*;

/// Applied entries as (test case, status), in outcome order.
fn applied(outcome: &BulkOutcome) -> Vec<(CaseId, Status)> {
    outcome
        .results
        .iter()
        .map(|a| (a.test_case_id, a.status))
        .collect()
}

fn rejected(outcome: &BulkOutcome) -> Vec<(usize, &str)> {
    outcome
        .rejected
        .iter()
        .map(|r| (r.index, r.code.as_str()))
        .collect()
}

/// The result id of a case in a run.
async fn result_of(s: &dyn Store, run: RunId, case: CaseId) -> ResultId {
    let all = everything(s, run).await;
    all.iter().find(|r| r.case_id == case).expect("in run").id
}

pub async fn atomic_bulk_writes_nothing_when_an_entry_is_bad(s: Arc<dyn Store>) {
    let s = s.as_ref();
    let (owner, p, cases) = project_with_cases(s, 3).await;
    let ids = Some(vec![cases[0], cases[1]]);
    let run = s.create_run(p, new_run("r", None, ids), t(1)).await;
    let run = run.expect("run").0;
    // Indexes are the request's, whatever the entries' positions here.
    let entries = vec![
        entry(0, cases[0], Status::Passed, "a"),
        entry(2, CaseId::from_db(UNKNOWN), Status::Passed, "b"),
        entry(3, cases[1], Status::Failed, "c"),
        entry(5, cases[2], Status::Passed, "project case, not in the run"),
    ];
    let mut request = bulk(run.id, owner, entries, false);
    request.idempotency = idempotency("atomic", 1);
    let fields = ["results[2].test_case_id", "results[5].test_case_id"];
    assert_invalid(s.record_bulk(request.clone()).await, &fields);
    assert_invalid(s.record_bulk(request).await, &fields);
    assert_eq!(s.get_run(run.id).await, Ok(run.clone()), "counts unchanged");
    for r in everything(s, run.id).await {
        assert_eq!((r.status, r.tested_by), (Status::NotTested, None));
    }
    assert_eq!(history_len(s, run.id).await, 0, "nothing written");
}

/// An entry the HTTP layer refused, with one error per field.
fn refused(index: usize, fields: &[&str]) -> RefusedEntry {
    RefusedEntry {
        index,
        test_case_id: Some(format!("tc_sent_{index}")),
        errors: fields
            .iter()
            .map(|f| FieldError::new(format!("results[{index}].{f}"), "bad"))
            .collect(),
    }
}

pub async fn atomic_bulk_with_refused_entries_names_them_and_cases_not_in_the_run(
    s: Arc<dyn Store>,
) {
    let s = s.as_ref();
    let (owner, p, cases) = project_with_cases(s, 3).await;
    let ids = Some(vec![cases[0], cases[1]]);
    let run = s.create_run(p, new_run("r", None, ids), t(1)).await;
    let run = run.expect("run").0;
    let used = bulk(
        run.id,
        owner,
        vec![entry(0, cases[0], Status::Passed, "a")],
        false,
    );
    let used = BulkRequest {
        idempotency: idempotency("used", 1),
        ..used
    };
    s.record_bulk(used).await.expect("a bulk that uses the key");
    let before = s.get_run(run.id).await.expect("run");
    let history = history_len(s, run.id).await;

    let entries = vec![
        entry(0, cases[1], Status::Failed, "in the run"),
        entry(2, cases[2], Status::Passed, "project case, not in the run"),
        entry(4, CaseId::from_db(UNKNOWN), Status::Passed, "unknown"),
    ];
    let mut request = bulk(run.id, owner, entries, false);
    request.refused = vec![refused(1, &["status", "note"]), refused(3, &["elapsed"])];
    let fields = [
        "results[1].status",
        "results[1].note",
        "results[2].test_case_id",
        "results[3].elapsed",
        "results[4].test_case_id",
    ];
    assert_invalid(s.record_bulk(request.clone()).await, &fields);
    // The entries' errors come first: before a key used for another
    // request, and before a closed run.
    request.idempotency = idempotency("used", 2);
    assert_invalid(s.record_bulk(request.clone()).await, &fields);
    request.idempotency = idempotency("fresh", 3);
    assert_invalid(s.record_bulk(request.clone()).await, &fields);
    assert_eq!(s.get_run(run.id).await, Ok(before), "counts unchanged");
    assert_eq!(history_len(s, run.id).await, history, "nothing written");
    // Nothing was kept for the key either: another request may use it.
    let fresh = bulk(
        run.id,
        owner,
        vec![entry(0, cases[1], Status::Passed, "b")],
        false,
    );
    let fresh = BulkRequest {
        idempotency: idempotency("fresh", 4),
        ..fresh
    };
    let out = s.record_bulk(fresh).await.expect("the key is still free");
    assert!(!out.replayed);

    s.close_run(run.id, t(2)).await.expect("close");
    assert_invalid(s.record_bulk(request.clone()).await, &fields);
    // Only refused entries: only they are named.
    request.entries.clear();
    assert_invalid(
        s.record_bulk(request.clone()).await,
        &["results[1].status", "results[1].note", "results[3].elapsed"],
    );
    request.run = RunId::from_db(UNKNOWN);
    assert_not_found(s.record_bulk(request).await);
}

pub async fn partial_bulk_applies_the_rest_and_merges_rejections(s: Arc<dyn Store>) {
    let s = s.as_ref();
    let (owner, p, cases) = project_with_cases(s, 4).await;
    let ids = Some(cases[..3].to_vec());
    let run = s.create_run(p, new_run("r", None, ids), t(1)).await;
    let run = run.expect("run").0.id;
    let unknown = CaseId::from_db(UNKNOWN);
    let mut request = bulk(
        run,
        owner,
        vec![
            entry(0, unknown, Status::Passed, "x"),
            entry(2, cases[1], Status::Failed, "a"),
            entry(3, cases[3], Status::Passed, "not in the run"),
            entry(5, cases[0], Status::Passed, "b"),
            entry(6, cases[1], Status::Passed, "c"),
        ],
        true,
    );
    // What the HTTP layer refused already (a bad status, say), by index.
    request.refused = vec![refused(4, &["status"]), refused(1, &["status", "note"])];
    let out = s.record_bulk(request).await.expect("partial");
    assert_eq!((out.updated, out.replayed), (3, false));
    assert_eq!(
        applied(&out),
        [
            (cases[1], Status::Failed),
            (cases[0], Status::Passed),
            (cases[1], Status::Passed)
        ],
        "in request order"
    );
    assert_eq!(out.results[0].id, result_of(s, run, cases[1]).await);
    assert_eq!(out.results[1].id, result_of(s, run, cases[0]).await);
    assert_eq!(
        rejected(&out),
        [
            (0, "case_not_in_run"),
            (1, "validation_failed"),
            (3, "case_not_in_run"),
            (4, "validation_failed")
        ],
        "merged, by index"
    );
    assert_eq!(out.rejected[0].test_case_id, Some(unknown.to_string()));
    assert_eq!(out.rejected[1].test_case_id.as_deref(), Some("tc_sent_1"));
    assert_eq!(
        out.rejected[1].message, "results[1].status: bad; results[1].note: bad",
        "a refused entry's errors, joined"
    );
    assert_eq!(out.rejected[2].test_case_id, Some(cases[3].to_string()));
    assert!(out.rejected.iter().all(|r| !r.message.is_empty()));
    let counts = s.get_run(run).await.expect("run").counts;
    assert_eq!((counts.passed, counts.not_tested), (2, 1));
    assert_eq!(counts, recount(s, run).await);

    let hopeless = vec![entry(0, unknown, Status::Failed, "y")];
    let none = s.record_bulk(bulk(run, owner, hopeless, true)).await;
    let none = none.expect("nothing valid is still an answer");
    assert_eq!(
        (none.updated, rejected(&none)),
        (0, vec![(0, "case_not_in_run")])
    );
    assert_eq!(history_len(s, run).await, 3);
}

pub async fn same_case_twice_is_two_executions(s: Arc<dyn Store>) {
    let s = s.as_ref();
    let (owner, p, cases) = project_with_cases(s, 3).await;
    let run = run_over_all(s, p, "r").await.id;
    let entries = vec![
        entry(0, cases[0], Status::Failed, "1"),
        entry(1, cases[1], Status::Passed, "other"),
        entry(2, cases[0], Status::Passed, "2"),
    ];
    let out = s
        .record_bulk(bulk(run, owner, entries, false))
        .await
        .expect("bulk");
    assert_eq!(out.updated, 3, "executions, not distinct results");
    assert_eq!(out.results[0].id, out.results[2].id);
    assert!(out.rejected.is_empty());
    let id = out.results[0].id;
    let h = history(s, run, id).await;
    let notes: Vec<Option<&str>> = h.iter().map(|e| e.note.as_deref()).collect();
    assert_eq!(notes, [Some("2"), Some("1")], "both kept, newest first");
    assert!(
        h.iter()
            .all(|e| (e.tested_by, e.tested_at) == (owner, t(10)))
    );
    let current = s.get_result(run, id).await.expect("result");
    assert_eq!(
        (current.status, current.note.as_deref()),
        (Status::Passed, Some("2")),
        "the last one is current"
    );
    assert_eq!(
        (current.tested_by, current.tested_at),
        (Some(owner), Some(t(10)))
    );
    let counts = s.get_run(run).await.expect("run").counts;
    assert_eq!((counts.passed, counts.failed, counts.not_tested), (2, 0, 1));
}

pub async fn idempotent_retries_replay_the_stored_outcome(s: Arc<dyn Store>) {
    let s = s.as_ref();
    let (owner, p, cases) = project_with_cases(s, 3).await;
    let other = user(s, "other").await;
    let run = run_over_all(s, p, "r").await.id;
    let mut first = bulk(
        run,
        owner,
        vec![
            entry(0, cases[0], Status::Failed, "1"),
            entry(1, CaseId::from_db(UNKNOWN), Status::Passed, "x"),
            entry(2, cases[0], Status::Passed, "2"),
        ],
        true,
    );
    first.idempotency = idempotency("k", 1);
    let out = s.record_bulk(first.clone()).await.expect("first");
    assert_eq!(
        (out.updated, out.replayed, out.rejected.len()),
        (2, false, 1)
    );
    let id = out.results[0].id;
    s.record_result(run, id, exec(Status::Blocked, Some("later")), owner, t(11))
        .await
        .expect("a later write");
    let counts = s.get_run(run).await.expect("run").counts;

    let again = s.record_bulk(first.clone()).await.expect("replay");
    assert!(again.replayed);
    assert_eq!(
        (again.updated, &again.results, &again.rejected),
        (out.updated, &out.results, &out.rejected),
        "the stored outcome"
    );
    assert_eq!(history(s, run, id).await.len(), 3, "applied once");
    let current = s.get_result(run, id).await.expect("result");
    assert_eq!(current.note.as_deref(), Some("later"), "not re-applied");
    assert_eq!(s.get_run(run).await.expect("run").counts, counts);

    let mut reused = first.clone();
    reused.idempotency = idempotency("k", 2);
    reused.entries = vec![entry(0, cases[1], Status::Passed, "3")];
    let refused = s.record_bulk(reused).await;
    assert_eq!(refused.map(|_| ()), Err(StoreError::IdempotencyKeyReused));
    assert_eq!(history_len(s, run).await, 3, "nothing written");

    let mut theirs = first.clone();
    theirs.actor = other;
    let theirs = s.record_bulk(theirs).await.expect("another user's key");
    assert_eq!((theirs.replayed, theirs.updated), (false, 2));
    let mut fresh_key = first.clone();
    fresh_key.idempotency = idempotency("k2", 1);
    let fresh = s.record_bulk(fresh_key).await.expect("another key");
    assert!(!fresh.replayed);
    assert_eq!(history(s, run, id).await.len(), 7);

    s.close_run(run, t(12)).await.expect("close");
    let after_close = s.record_bulk(first).await.expect("replay after close");
    assert!(after_close.replayed, "a retry gets the first answer");
}

pub async fn large_bulks_keep_counts_exact(s: Arc<dyn Store>) {
    const N: usize = 5_000;
    let s = s.as_ref();
    let (owner, p, cases) = project_with_cases(s, N).await;
    let run = run_over_all(s, p, "big").await.id;
    let passing = cases
        .iter()
        .enumerate()
        .rev()
        .map(|(i, c)| entry(i, *c, Status::Passed, "ok"))
        .collect();
    let out = s
        .record_bulk(bulk(run, owner, passing, false))
        .await
        .expect("all passed");
    assert_eq!(out.updated, N as u64);
    let counts = s.get_run(run).await.expect("run").counts;
    assert_eq!((counts.passed, counts.total()), (N as i64, N as i64));
    assert_eq!(counts, recount(s, run).await);

    // Mixed statuses, the first 100 cases twice, one unknown case at the end.
    let mut mixed: Vec<BulkEntry> = cases
        .iter()
        .chain(&cases[..100])
        .enumerate()
        .map(|(i, c)| entry(i, *c, Status::ALL[i % 5], "mixed"))
        .collect();
    let unknown = entry(mixed.len(), CaseId::from_db(UNKNOWN), Status::Failed, "x");
    mixed.push(unknown);
    let atomic = s.record_bulk(bulk(run, owner, mixed.clone(), false)).await;
    assert_invalid(atomic, &[&format!("results[{}].test_case_id", N + 100)]);
    assert_eq!(s.get_run(run).await.expect("run").counts, counts);
    let out = s
        .record_bulk(bulk(run, owner, mixed, true))
        .await
        .expect("mixed");
    assert_eq!((out.updated, out.rejected.len()), (N as u64 + 100, 1));
    let mut expected = Counts::default();
    for (i, _) in cases.iter().enumerate() {
        // Case i was last written by entry N + i when it was sent twice.
        let last = if i < 100 { N + i } else { i };
        expected.add(Status::ALL[last % 5], 1);
    }
    let counts = s.get_run(run).await.expect("run").counts;
    assert_eq!(counts, expected);
    assert_eq!(counts, recount(s, run).await);
    let twice = s.get_result(run, out.results[0].id).await.expect("result");
    assert_eq!(history(s, run, twice.id).await.len(), 3);
}

pub async fn keyed_imports(s: Arc<dyn Store>) {
    let s = s.as_ref();
    let (owner, p, _) = project_with_cases(s, 1).await;
    let run = s
        .create_run(p, new_run("ci", None, Some(vec![])), t(1))
        .await
        .expect("empty run")
        .0
        .id;
    let request = |create_missing: bool, dry_run: bool| ImportRequest {
        run,
        actor: owner,
        now: t(2),
        entries: vec![
            keyed(0, "k0", Status::Passed),
            keyed(1, "new.one", Status::Failed),
        ],
        create_missing,
        dry_run,
        partial: false,
        idempotency: None,
    };
    assert_invalid(
        s.import_results(request(false, false)).await,
        &["testcases[0]", "testcases[1]"],
    );
    let dry = s
        .import_results(request(true, true))
        .await
        .expect("dry run");
    assert_eq!((dry.created, dry.added, dry.dry_run), (1, 1, true));
    assert_eq!(dry.bulk.updated, 0);
    assert_eq!(s.get_run(run).await.expect("run").counts.total(), 0, "dry");
    let found = s.list_cases(p, CaseQuery::default(), page(1, 10)).await;
    assert_eq!(found.expect("cases").total, 1, "a dry run creates nothing");
    let done = s
        .import_results(request(true, false))
        .await
        .expect("import");
    assert_eq!((done.created, done.added, done.bulk.updated), (1, 1, 2));
    let counts = s.get_run(run).await.expect("run").counts;
    assert_eq!((counts.passed, counts.failed, counts.total()), (1, 1, 2));
    let case = s.list_cases(p, by_key("new.one"), page(1, 10)).await;
    let case = case.expect("cases").items.remove(0);
    assert_eq!(
        (case.title.as_str(), case.suite.as_deref()),
        ("new.one", Some("S"))
    );
    let again = s
        .import_results(request(false, false))
        .await
        .expect("matched");
    assert_eq!(
        (again.matched, again.created, again.bulk.updated),
        (2, 0, 2)
    );
}

pub async fn partial_imports_and_repeated_keys(s: Arc<dyn Store>) {
    let s = s.as_ref();
    let (owner, p, cases) = project_with_cases(s, 2).await;
    let run = s.create_run(p, new_run("ci", None, Some(vec![cases[0]])), t(1));
    let run = run.await.expect("run").0.id;
    let mut request = ImportRequest {
        run,
        actor: owner,
        now: t(2),
        entries: vec![
            keyed(0, "k0", Status::Failed),
            keyed(1, "k1", Status::Passed),
            keyed(2, "nope", Status::Passed),
            keyed(3, "k0", Status::Passed),
        ],
        create_missing: false,
        dry_run: false,
        partial: true,
        idempotency: idempotency("report-1", 7),
    };
    let out = s.import_results(request.clone()).await.expect("partial");
    assert_eq!(
        applied(&out.bulk),
        [(cases[0], Status::Failed), (cases[0], Status::Passed)],
        "the same key twice: two executions"
    );
    assert_eq!(
        rejected(&out.bulk),
        [(1, "case_not_found"), (2, "case_not_found")]
    );
    assert_eq!((out.matched, out.created, out.added), (1, 0, 0));
    assert_eq!(out.unmatched, ["k1", "nope"]);
    let id = out.bulk.results[0].id;
    assert_eq!(history(s, run, id).await.len(), 2);
    let counts = s.get_run(run).await.expect("run").counts;
    assert_eq!(
        (counts.passed, counts.total()),
        (1, 1),
        "the last is current"
    );

    let replay = s.import_results(request.clone()).await.expect("replay");
    assert!(replay.bulk.replayed);
    assert_eq!(
        (replay.bulk.results, replay.unmatched),
        (out.bulk.results, out.unmatched)
    );
    assert_eq!(history(s, run, id).await.len(), 2, "applied once");
    request.idempotency = idempotency("report-1", 8);
    let reused = s.import_results(request).await;
    assert_eq!(reused.map(|_| ()), Err(StoreError::IdempotencyKeyReused));
}

fn keyed(index: usize, key: &str, status: Status) -> KeyedEntry {
    KeyedEntry {
        details: Default::default(),
        index,
        key: key.into(),
        title: key.into(),
        suite: Some("S".into()),
        execution: exec(status, None),
    }
}

fn by_key(key: &str) -> CaseQuery {
    CaseQuery {
        suite: None,
        priority: None,
        key: Some(key.into()),
        q: None,
        quarantined: None,
    }
}
