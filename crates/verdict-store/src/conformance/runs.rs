//! Runs: creation over all or given cases, find-or-create by key, listing,
//! updates, adding cases, and closing.

use std::sync::Arc;

use super::support::*;
use crate::*;

async fn case_ids(s: &dyn Store, run: RunId) -> Vec<CaseId> {
    everything(s, run).await.iter().map(|r| r.case_id).collect()
}

pub async fn runs_over_all_or_given_cases(s: Arc<dyn Store>) {
    let s = s.as_ref();
    let (_, p, cases) = project_with_cases(s, 3).await;
    let described = NewRun {
        description: Some("nightly".into()),
        ..new_run("all", None, None)
    };
    let (all, created) = s.create_run(p, described, t(4)).await.expect("run");
    assert!(created);
    assert_eq!(
        (
            all.project_id,
            all.name.as_str(),
            all.description.as_deref()
        ),
        (p, "all", Some("nightly"))
    );
    assert_eq!(
        (all.key.as_deref(), all.state, all.created_at, all.closed_at),
        (None, RunState::Open, t(4), None)
    );
    assert_eq!((all.counts.not_tested, all.counts.total()), (3, 3));
    assert_eq!(s.get_run(all.id).await, Ok(all.clone()));
    assert_eq!(case_ids(s, all.id).await, cases, "in case order");
    for r in everything(s, all.id).await {
        assert_eq!(r.run_id, all.id);
        assert_eq!(
            (r.status, r.note, r.elapsed_ms, r.tested_by, r.tested_at),
            (Status::NotTested, None, None, None, None),
            "every result starts untested"
        );
    }
    let some = s
        .create_run(
            p,
            new_run("some", None, Some(vec![cases[2], cases[0]])),
            t(5),
        )
        .await
        .expect("given cases")
        .0;
    assert_eq!(some.counts.total(), 2);
    let mut held = case_ids(s, some.id).await;
    held.sort();
    assert_eq!(held, [cases[0], cases[2]]);
    let empty = s
        .create_run(p, new_run("none", None, Some(vec![])), t(5))
        .await
        .expect("no cases")
        .0;
    assert_eq!(empty.counts, Counts::default());
    assert!(everything(s, empty.id).await.is_empty());
    assert_not_found(s.get_run(RunId::from_db(UNKNOWN)).await);
    let nowhere = ProjectId::from_db(UNKNOWN);
    assert_not_found(s.create_run(nowhere, new_run("x", None, None), t(5)).await);
}

pub async fn unknown_cases_make_a_run_invalid(s: Arc<dyn Store>) {
    let s = s.as_ref();
    let (owner, p, cases) = project_with_cases(s, 2).await;
    let q = s
        .create_project("Q".into(), owner, t(0))
        .await
        .expect("q")
        .id;
    let foreign = s
        .create_case(q, new_case("elsewhere", None), t(0))
        .await
        .expect("case")
        .id;
    let ids = vec![cases[0], CaseId::from_db(UNKNOWN), cases[1], foreign];
    let bad = s.create_run(p, new_run("bad", Some("pipe"), Some(ids)), t(1));
    assert_invalid(bad.await, &["case_ids[1]", "case_ids[3]"]);
    let runs = s
        .list_runs(p, RunFilter::default(), page(1, 10))
        .await
        .expect("runs");
    assert_eq!(runs.total, 0, "nothing created");
    let (_, created) = s
        .create_run(p, new_run("good", Some("pipe"), Some(vec![cases[0]])), t(2))
        .await
        .expect("the key is still free");
    assert!(created);
}

pub async fn find_or_create_by_key_returns_the_run_unchanged(s: Arc<dyn Store>) {
    let s = s.as_ref();
    let (owner, p, cases) = project_with_cases(s, 3).await;
    let keyed = NewRun {
        description: Some("first".into()),
        ..new_run("ci", Some("pipe-1"), Some(vec![cases[0]]))
    };
    let (first, created) = s.create_run(p, keyed, t(1)).await.expect("create");
    assert!(created);
    assert_eq!(first.key.as_deref(), Some("pipe-1"));
    let other_request = NewRun {
        description: None,
        ..new_run("another name", Some("pipe-1"), None)
    };
    let (found, created) = s
        .create_run(p, other_request.clone(), t(2))
        .await
        .expect("find");
    assert!(!created);
    assert_eq!(found, first, "unchanged: name, description, cases");
    let result = everything(s, first.id).await[0].id;
    s.record_result(first.id, result, exec(Status::Passed, None), owner, t(3))
        .await
        .expect("record");
    let (current, _) = s
        .create_run(p, other_request.clone(), t(4))
        .await
        .expect("find");
    assert_eq!(current.counts.passed, 1, "the run as it is now");
    let runs = s
        .list_runs(p, RunFilter::default(), page(1, 10))
        .await
        .expect("runs");
    assert_eq!(runs.total, 1);

    let q = s
        .create_project("Q".into(), owner, t(0))
        .await
        .expect("q")
        .id;
    let (elsewhere, created) = s
        .create_run(q, other_request.clone(), t(5))
        .await
        .expect("other project");
    assert!(created, "keys are per project");
    assert_ne!(elsewhere.id, first.id);
    s.close_run(first.id, t(6)).await.expect("close");
    let (closed, created) = s.create_run(p, other_request, t(7)).await.expect("find");
    assert_eq!(
        (closed.id, closed.state, created),
        (first.id, RunState::Closed, false)
    );
}

pub async fn run_listing_by_state_newest_first(s: Arc<dyn Store>) {
    let s = s.as_ref();
    let (owner, p, _) = project_with_cases(s, 1).await;
    let mut ids = Vec::new();
    for i in 1..=4 {
        let run = s.create_run(p, new_run(&format!("r{i}"), None, None), t(i));
        ids.push(run.await.expect("run").0.id);
    }
    let q = s
        .create_project("Q".into(), owner, t(0))
        .await
        .expect("q")
        .id;
    run_over_all(s, q, "elsewhere").await;
    s.close_run(ids[1], t(9)).await.expect("close");
    let listed = |state: Option<RunState>, pg: Page| async move {
        let l = s
            .list_runs(
                p,
                RunFilter {
                    state,
                    branch: None,
                },
                pg,
            )
            .await
            .expect("list runs");
        (
            l.total,
            l.items.into_iter().map(|r| r.id).collect::<Vec<_>>(),
        )
    };
    let (open, closed) = (Some(RunState::Open), Some(RunState::Closed));
    assert_eq!(
        listed(open, page(1, 10)).await,
        (3, vec![ids[3], ids[2], ids[0]]),
        "newest first"
    );
    assert_eq!(listed(closed, page(1, 10)).await, (1, vec![ids[1]]));
    assert_eq!(
        listed(None, page(1, 3)).await,
        (4, vec![ids[3], ids[2], ids[1]])
    );
    assert_eq!(listed(None, page(2, 3)).await, (4, vec![ids[0]]));
    assert_eq!(listed(open, page(2, 3)).await, (3, vec![]));
}

pub async fn run_updates(s: Arc<dyn Store>) {
    let s = s.as_ref();
    let (_, p, _) = project_with_cases(s, 2).await;
    let run = run_over_all(s, p, "r").await;
    let same = s
        .update_run(run.id, RunPatch::default())
        .await
        .expect("empty patch");
    assert_eq!(same, run);
    let describe = RunPatch {
        name: None,
        description: Some(Some("for 2.0".into())),
        ..RunPatch::default()
    };
    let described = s.update_run(run.id, describe).await.expect("describe");
    assert_eq!(
        (described.name.as_str(), described.description.as_deref()),
        ("r", Some("for 2.0"))
    );
    let rename = RunPatch {
        name: Some("release".into()),
        ..RunPatch::default()
    };
    let renamed = s.update_run(run.id, rename).await.expect("rename");
    assert_eq!(
        (renamed.name.as_str(), renamed.description.as_deref()),
        ("release", Some("for 2.0")),
        "None leaves a field alone"
    );
    let clear = RunPatch {
        description: Some(None),
        ..RunPatch::default()
    };
    let cleared = s.update_run(run.id, clear).await.expect("clear");
    assert_eq!(cleared.description, None, "Some(None) clears");
    assert_eq!(
        (cleared.counts, cleared.state),
        (run.counts, RunState::Open)
    );
    assert_eq!(s.get_run(run.id).await, Ok(cleared));
    let nowhere = RunId::from_db(UNKNOWN);
    assert_not_found(s.update_run(nowhere, RunPatch::default()).await);
}

pub async fn adding_cases_skips_present_ones(s: Arc<dyn Store>) {
    let s = s.as_ref();
    let (owner, p, cases) = project_with_cases(s, 3).await;
    let run = s
        .create_run(p, new_run("r", None, Some(vec![cases[0]])), t(1))
        .await
        .expect("run")
        .0
        .id;
    let first = everything(s, run).await[0].id;
    s.record_result(run, first, exec(Status::Passed, Some("ok")), owner, t(2))
        .await
        .expect("record");
    let grown = s
        .add_cases_to_run(run, vec![cases[0], cases[2], cases[1]])
        .await
        .expect("add");
    assert_eq!(
        (
            grown.counts.passed,
            grown.counts.not_tested,
            grown.counts.total()
        ),
        (1, 2, 3)
    );
    let kept = s.get_result(run, first).await.expect("kept");
    assert_eq!(
        (kept.status, kept.note.as_deref()),
        (Status::Passed, Some("ok")),
        "a present case is left alone"
    );
    let mut held: Vec<CaseId> = case_ids(s, run).await;
    held.sort();
    assert_eq!(held, cases);
    assert_eq!(recount(s, run).await, grown.counts);
    let same = s.add_cases_to_run(run, vec![]).await.expect("nothing");
    assert_eq!(same.counts, grown.counts);
    let q = s
        .create_project("Q".into(), owner, t(0))
        .await
        .expect("q")
        .id;
    let elsewhere = s
        .create_case(q, new_case("elsewhere", None), t(0))
        .await
        .expect("case")
        .id;
    let bad = s.add_cases_to_run(run, vec![CaseId::from_db(UNKNOWN), elsewhere]);
    assert_invalid(bad.await, &["case_ids[0]", "case_ids[1]"]);
    assert_eq!(s.get_run(run).await.expect("run").counts, grown.counts);
    assert_not_found(s.add_cases_to_run(RunId::from_db(UNKNOWN), vec![]).await);
}

pub async fn closed_runs_refuse_result_changes(s: Arc<dyn Store>) {
    let s = s.as_ref();
    let (owner, p, cases) = project_with_cases(s, 3).await;
    let run = s
        .create_run(p, new_run("r", None, Some(vec![cases[0], cases[1]])), t(1))
        .await
        .expect("run")
        .0
        .id;
    let id = everything(s, run).await[0].id;
    s.record_result(run, id, exec(Status::Failed, None), owner, t(2))
        .await
        .expect("record");
    let closed = s.close_run(run, t(5)).await.expect("close");
    assert_eq!(
        (closed.state, closed.closed_at),
        (RunState::Closed, Some(t(5)))
    );
    assert_eq!(s.get_run(run).await, Ok(closed.clone()));
    let again = s.close_run(run, t(9)).await.expect("close again");
    assert_eq!(again, closed, "closing a closed run changes nothing");

    let record = s.record_result(run, id, exec(Status::Passed, None), owner, t(6));
    assert_conflict(record.await, "run_closed");
    for partial in [false, true] {
        let entries = vec![entry(0, cases[0], Status::Passed, "late")];
        let late = s.record_bulk(bulk(run, owner, entries, partial));
        assert_conflict(late.await, "run_closed");
    }
    assert_conflict(s.add_cases_to_run(run, vec![cases[2]]).await, "run_closed");
    let import = ImportRequest {
        run,
        actor: owner,
        now: t(6),
        entries: vec![KeyedEntry {
            details: Default::default(),
            index: 0,
            key: "k0".into(),
            title: "case 0".into(),
            suite: None,
            execution: exec(Status::Passed, None),
        }],
        create_missing: true,
        dry_run: false,
        partial: true,
        idempotency: None,
    };
    assert_conflict(s.import_results(import).await, "run_closed");

    assert_eq!(s.get_run(run).await, Ok(closed), "nothing changed");
    assert_eq!(history_len(s, run).await, 1);
    assert_eq!(
        s.get_result(run, id).await.expect("still readable").status,
        Status::Failed
    );
    assert_not_found(s.close_run(RunId::from_db(UNKNOWN), t(9)).await);
}
