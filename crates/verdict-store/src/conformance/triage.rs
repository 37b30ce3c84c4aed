//! Triage: run metadata, the baseline rule, comparisons, failure groups,
//! the gate's facts, flaky cases, durations, trends, a case across runs and
//! quarantine, each on a small seeded history whose answers are known.

use std::sync::Arc;

use super::support::*;
use crate::backend::triage::signature;
use crate::*;

use Status::{Blocked, Failed, NotTested, Passed};

fn meta(branch: Option<&str>, environment: Option<&str>) -> RunMeta {
    RunMeta {
        branch: branch.map(Into::into),
        environment: environment.map(Into::into),
        ..RunMeta::default()
    }
}

/// A new run named `name` with `meta` over `cases` (`None`: every case).
async fn run_with(
    s: &dyn Store,
    p: ProjectId,
    name: &str,
    meta: RunMeta,
    cases: Option<Vec<CaseId>>,
) -> Run {
    let new = NewRun {
        meta,
        ..new_run(name, None, cases)
    };
    s.create_run(p, new, t(1)).await.expect("run").0
}

/// One execution: (case, status, elapsed ms, note).
type Play<'a> = (CaseId, Status, Option<i64>, Option<&'a str>);

/// Writes the executions in one atomic bulk, in order.
async fn play(s: &dyn Store, owner: UserId, run: RunId, executions: &[Play<'_>]) {
    let entries = executions
        .iter()
        .enumerate()
        .map(|(index, (case_id, status, elapsed_ms, note))| BulkEntry {
            index,
            case_id: *case_id,
            execution: Execution {
                step_results: Vec::new(),
                defects: Vec::new(),
                status: *status,
                note: note.map(str::to_string),
                elapsed_ms: *elapsed_ms,
                output: None,
            },
        })
        .collect();
    s.record_bulk(bulk(run, owner, entries, false))
        .await
        .expect("bulk");
}

/// A run with `meta` over every case, with `statuses` written in one bulk
/// (1 s each, no note).
async fn played(
    s: &dyn Store,
    owner: UserId,
    p: ProjectId,
    name: &str,
    meta: RunMeta,
    statuses: &[(CaseId, Status)],
) -> RunId {
    let run = run_with(s, p, name, meta, None).await.id;
    let plays: Vec<Play> = statuses
        .iter()
        .map(|(c, st)| (*c, *st, (*st != NotTested).then_some(1000), None))
        .collect();
    if !plays.is_empty() {
        play(s, owner, run, &plays).await;
    }
    run
}

async fn result_of(s: &dyn Store, run: RunId, case: CaseId) -> ResultId {
    let all = everything(s, run).await;
    all.iter().find(|r| r.case_id == case).expect("in run").id
}

async fn baseline_of(s: &dyn Store, run: RunId) -> Option<RunId> {
    s.compare_runs(run, BaselineChoice::Auto, vec![], page(1, 100))
        .await
        .expect("compare")
        .baseline_id
}

fn flaky_query(branch: Option<&str>, window: u32, threshold: f64) -> FlakyQuery {
    FlakyQuery {
        branch: branch.map(Into::into),
        window,
        threshold,
    }
}

fn durations_query(branch: Option<&str>, window: u32, sort: DurationSort) -> DurationQuery {
    DurationQuery {
        branch: branch.map(Into::into),
        window,
        sort,
    }
}

fn quarantined(flag: Option<bool>) -> CaseQuery {
    CaseQuery {
        quarantined: flag,
        ..CaseQuery::default()
    }
}

pub async fn run_metadata_round_trips_and_filters_runs(s: Arc<dyn Store>) {
    let s = s.as_ref();
    let (_, p, _) = project_with_cases(s, 1).await;
    let full = RunMeta {
        branch: Some("main".into()),
        commit: Some("3F2A1C9ABC".into()),
        build_url: Some("https://ci.example.com/build/7".into()),
        environment: Some("linux / chromium 131".into()),
    };
    let new = NewRun {
        meta: full.clone(),
        ..new_run("first", Some("pipe"), None)
    };
    let (first, created) = s.create_run(p, new, t(1)).await.expect("create");
    assert!(created);
    let stored = RunMeta {
        commit: Some("3f2a1c9abc".into()),
        ..full.clone()
    };
    assert_eq!(first.meta, stored, "commit lower-cased, the rest as given");
    assert_eq!(s.get_run(first.id).await.expect("get").meta, stored);
    let again = NewRun {
        meta: meta(Some("other"), None),
        ..new_run("again", Some("pipe"), None)
    };
    let (found, created) = s.create_run(p, again, t(2)).await.expect("find");
    assert!(!created);
    assert_eq!(found.meta, stored, "finding by key changes nothing");

    let plain = run_with(s, p, "plain", RunMeta::default(), None).await;
    assert_eq!(plain.meta, RunMeta::default());
    let dev = run_with(s, p, "dev", meta(Some("dev"), None), None).await;
    let second_main = run_with(s, p, "main 2", meta(Some("main"), None), None).await;

    let patch = RunPatch {
        meta: RunMetaPatch {
            commit: Some(Some("ABCDEF12".into())),
            environment: Some(None),
            ..RunMetaPatch::default()
        },
        ..RunPatch::default()
    };
    let patched = s.update_run(first.id, patch).await.expect("patch");
    assert_eq!(
        patched.meta,
        RunMeta {
            commit: Some("abcdef12".into()),
            environment: None,
            ..stored.clone()
        },
        "set, cleared and left alone"
    );
    assert_eq!(patched.name, "first", "name left alone");
    let clear = RunPatch {
        meta: RunMetaPatch {
            branch: Some(None),
            commit: Some(None),
            build_url: Some(None),
            environment: Some(None),
        },
        ..RunPatch::default()
    };
    let cleared = s.update_run(dev.id, clear).await.expect("clear");
    assert_eq!(cleared.meta, RunMeta::default());
    assert_eq!(
        s.get_run(dev.id).await.expect("get").meta,
        RunMeta::default()
    );
    let name_only = RunPatch {
        name: Some("renamed".into()),
        ..RunPatch::default()
    };
    let renamed = s.update_run(patched.id, name_only).await.expect("rename");
    assert_eq!(renamed.meta, patched.meta, "a patch without meta keeps it");

    let on = |branch: Option<&str>, state: Option<RunState>| RunFilter {
        state,
        branch: branch.map(Into::into),
    };
    let main = s
        .list_runs(p, on(Some("main"), None), page(1, 10))
        .await
        .expect("main runs");
    assert_eq!(main.total, 2);
    let ids: Vec<RunId> = main.items.iter().map(|r| r.id).collect();
    assert_eq!(ids, [second_main.id, first.id], "newest first");
    assert_eq!(main.items[1].meta, patched.meta, "listed with its meta");
    let paged = s
        .list_runs(p, on(Some("main"), None), page(2, 1))
        .await
        .expect("page");
    assert_eq!((paged.total, paged.items[0].id), (2, first.id));
    let none = s.list_runs(p, on(Some("mai"), None), page(1, 10)).await;
    assert_eq!(none.expect("none").total, 0, "exact branch only");
    let all = s.list_runs(p, on(None, None), page(1, 10)).await;
    assert_eq!(all.expect("all").total, 4);
    s.close_run(second_main.id, t(5)).await.expect("close");
    let open_main = s
        .list_runs(p, on(Some("main"), Some(RunState::Open)), page(1, 10))
        .await
        .expect("open main");
    assert_eq!(open_main.total, 1);
    assert_eq!(open_main.items[0].id, first.id);
}

pub async fn baselines_follow_branch_environment_and_tested_runs(s: Arc<dyn Store>) {
    let s = s.as_ref();
    let (owner, p, c) = project_with_cases(s, 2).await;
    let main = || meta(Some("main"), None);
    let r1 = played(s, owner, p, "r1", main(), &[(c[0], Passed)]).await;
    let r2 = played(s, owner, p, "r2", main(), &[]).await;
    let r3 = played(
        s,
        owner,
        p,
        "r3",
        meta(Some("dev"), None),
        &[(c[0], Passed)],
    )
    .await;
    let r4 = played(s, owner, p, "r4", meta(None, None), &[(c[0], Failed)]).await;
    let linux = || meta(Some("main"), Some("linux"));
    let r5 = played(s, owner, p, "r5", linux(), &[(c[1], Passed)]).await;
    let r6 = played(s, owner, p, "r6", main(), &[(c[0], Passed)]).await;
    let r7 = played(s, owner, p, "r7", linux(), &[(c[0], Passed)]).await;
    let mac = meta(Some("main"), Some("mac"));
    let r8 = played(s, owner, p, "r8", mac, &[(c[0], Passed), (c[1], Failed)]).await;
    let r9 = played(s, owner, p, "r9", meta(None, None), &[(c[1], Passed)]).await;
    let r10 = played(s, owner, p, "r10", main(), &[(c[0], NotTested)]).await;
    let r11 = played(s, owner, p, "r11", main(), &[(c[1], Passed)]).await;
    assert_eq!(baseline_of(s, r1).await, None, "the first run");
    assert_eq!(baseline_of(s, r2).await, Some(r1));
    assert_eq!(baseline_of(s, r3).await, None, "no earlier dev run");
    assert_eq!(
        baseline_of(s, r4).await,
        None,
        "no earlier run without a branch"
    );
    assert_eq!(baseline_of(s, r5).await, None, "no earlier linux run");
    assert_eq!(
        baseline_of(s, r6).await,
        Some(r5),
        "a run without an environment takes any environment"
    );
    assert_eq!(baseline_of(s, r7).await, Some(r5), "same environment");
    assert_eq!(baseline_of(s, r8).await, None, "no earlier mac run");
    assert_eq!(baseline_of(s, r9).await, Some(r4), "both without a branch");
    assert_eq!(baseline_of(s, r10).await, Some(r8), "any environment");
    assert_eq!(
        baseline_of(s, r11).await,
        Some(r8),
        "runs with nothing tested are skipped"
    );
    let alone = s
        .compare_runs(r8, BaselineChoice::Auto, vec![], page(1, 10))
        .await
        .expect("compare");
    assert_eq!(
        alone.summary,
        CompareSummary {
            new_test: 1,
            new_failure: 1,
            ..CompareSummary::default()
        },
        "without a baseline every tested case is new"
    );
    let listed: Vec<(CaseId, Category)> = alone
        .changes
        .items
        .iter()
        .map(|ch| (ch.case_id, ch.category))
        .collect();
    assert_eq!(
        listed,
        [(c[1], Category::NewFailure), (c[0], Category::NewTest)]
    );
    let facts = s
        .gate_facts(r8, BaselineChoice::Auto, true)
        .await
        .expect("gate");
    assert_eq!((facts.baseline_id, facts.new_failures), (None, 1));
    let failures = s
        .run_failures(r8, BaselineChoice::Auto, 20, page(1, 10))
        .await
        .expect("failures");
    assert_eq!(failures.baseline_id, None);
    assert!(failures.groups.items.iter().all(|g| g.new));
}

pub async fn explicit_baselines_must_be_other_runs_of_the_project(s: Arc<dyn Store>) {
    let s = s.as_ref();
    let (owner, p, c) = project_with_cases(s, 1).await;
    let r1 = played(s, owner, p, "r1", meta(Some("a"), None), &[(c[0], Failed)]).await;
    let r2 = played(s, owner, p, "r2", meta(Some("b"), None), &[(c[0], Passed)]).await;
    let q = s
        .create_project("Q".into(), owner, t(0))
        .await
        .expect("q")
        .id;
    let foreign = played(s, owner, q, "q1", RunMeta::default(), &[]).await;
    let unknown = RunId::from_db(UNKNOWN);
    for bad in [r2, foreign, unknown] {
        let choice = BaselineChoice::Run(bad);
        let on = if bad == r2 { r2 } else { r1 };
        assert_invalid(
            s.compare_runs(on, choice, vec![], page(1, 10)).await,
            &["baseline"],
        );
        assert_invalid(
            s.run_failures(on, choice, 20, page(1, 10)).await,
            &["baseline"],
        );
        assert_invalid(s.gate_facts(on, choice, true).await, &["baseline"]);
    }
    // Any other run of the project will do, a later one or another branch.
    let against_later = s
        .compare_runs(r1, BaselineChoice::Run(r2), vec![], page(1, 10))
        .await
        .expect("explicit");
    assert_eq!(against_later.baseline_id, Some(r2));
    assert_eq!(against_later.summary.new_failure, 1);
    let fixed = s
        .compare_runs(r2, BaselineChoice::Run(r1), vec![], page(1, 10))
        .await
        .expect("explicit");
    assert_eq!((fixed.baseline_id, fixed.summary.fixed), (Some(r1), 1));
    assert_eq!(baseline_of(s, r2).await, None, "auto: no earlier run of b");
    let facts = s
        .gate_facts(r2, BaselineChoice::Run(r1), true)
        .await
        .expect("gate");
    assert_eq!(facts.baseline_id, Some(r1));
}

pub async fn compare_sorts_cases_into_the_seven_categories(s: Arc<dyn Store>) {
    let s = s.as_ref();
    let (owner, p, c) = project_with_cases(s, 10).await;
    let base_cases: Vec<CaseId> = c.iter().copied().filter(|id| *id != c[4]).collect();
    let now_cases: Vec<CaseId> = c.iter().copied().filter(|id| *id != c[9]).collect();
    let base = run_with(s, p, "base", RunMeta::default(), Some(base_cases)).await;
    let now = run_with(s, p, "now", RunMeta::default(), Some(now_cases)).await;
    let ms = Some(10);
    play(
        s,
        owner,
        base.id,
        &[
            (c[0], Passed, ms, None),
            (c[2], Failed, ms, Some("boom")),
            (c[3], Failed, ms, Some("boom")),
            (c[5], Passed, ms, None),
            (c[6], Passed, ms, None),
            (c[7], Passed, ms, None),
            (c[9], Failed, ms, Some("gone")),
        ],
    )
    .await;
    play(
        s,
        owner,
        now.id,
        &[
            (c[0], Failed, ms, Some("expected 3 but got 4")),
            (c[1], Failed, ms, Some("expected 7 but got 9")),
            (c[2], Failed, ms, Some("NullPointerException")),
            (c[3], Passed, ms, None),
            (c[4], Passed, ms, None),
            (c[6], Blocked, ms, None),
            (c[7], Passed, ms, None),
        ],
    )
    .await;
    let expected_summary = CompareSummary {
        new_failure: 2,
        still_failing: 1,
        fixed: 1,
        new_test: 1,
        missing: 2,
        changed: 1,
        unchanged: 1,
    };
    let all = s
        .compare_runs(now.id, BaselineChoice::Auto, vec![], page(1, 100))
        .await
        .expect("compare");
    assert_eq!((all.run_id, all.baseline_id), (now.id, Some(base.id)));
    assert_eq!(all.summary, expected_summary);
    assert_eq!(all.changes.total, 8, "every category but unchanged");
    let order: Vec<(CaseId, Category)> = all
        .changes
        .items
        .iter()
        .map(|ch| (ch.case_id, ch.category))
        .collect();
    assert_eq!(
        order,
        [
            (c[0], Category::NewFailure),
            (c[1], Category::NewFailure),
            (c[2], Category::StillFailing),
            (c[3], Category::Fixed),
            (c[4], Category::NewTest),
            (c[5], Category::Missing),
            (c[9], Category::Missing),
            (c[6], Category::Changed),
        ],
        "by category, then case id"
    );
    let by_case = |id: CaseId| {
        all.changes
            .items
            .iter()
            .find(|ch| ch.case_id == id)
            .expect("listed")
            .clone()
    };
    let first = by_case(c[0]);
    assert_eq!(
        (first.key.as_deref(), first.title.as_str()),
        (Some("k0"), "case 0")
    );
    assert_eq!(
        (first.status, first.baseline_status),
        (Some(Failed), Some(Passed))
    );
    assert_eq!(first.result_id, Some(result_of(s, now.id, c[0]).await));
    let sig = signature::of(Some("expected 3 but got 4")).signature;
    assert_eq!(first.signature.as_deref(), Some(sig.as_str()));
    assert_eq!(
        by_case(c[1]).signature.as_deref(),
        Some(sig.as_str()),
        "numbers do not change a signature"
    );
    let untested_before = by_case(c[1]);
    assert_eq!(
        untested_before.baseline_status, None,
        "not tested = not in it"
    );
    let still = by_case(c[2]);
    let npe = signature::of(Some("NullPointerException")).signature;
    assert_eq!(still.signature.as_deref(), Some(npe.as_str()));
    assert_eq!(
        (still.status, still.baseline_status),
        (Some(Failed), Some(Failed))
    );
    let fixed = by_case(c[3]);
    assert_eq!(
        (fixed.status, fixed.baseline_status, fixed.signature),
        (Some(Passed), Some(Failed), None)
    );
    let new_test = by_case(c[4]);
    assert_eq!(
        (new_test.status, new_test.baseline_status),
        (Some(Passed), None)
    );
    assert_eq!(new_test.result_id, Some(result_of(s, now.id, c[4]).await));
    let untested_now = by_case(c[5]);
    assert_eq!(
        (
            untested_now.status,
            untested_now.baseline_status,
            untested_now.signature
        ),
        (None, Some(Passed), None),
        "held but not tested counts as missing"
    );
    assert_eq!(
        untested_now.result_id, None,
        "no result for what is missing"
    );
    let gone = by_case(c[9]);
    assert_eq!(
        (gone.status, gone.baseline_status, gone.result_id),
        (None, Some(Failed), None)
    );
    assert_eq!(
        (gone.key.as_deref(), gone.title.as_str()),
        (Some("k9"), "case 9"),
        "a case the run does not hold still has its key and title"
    );
    let changed = by_case(c[6]);
    assert_eq!(
        (changed.status, changed.baseline_status),
        (Some(Blocked), Some(Passed))
    );

    let filtered = s
        .compare_runs(
            now.id,
            BaselineChoice::Auto,
            vec![Category::Missing, Category::Fixed],
            page(1, 100),
        )
        .await
        .expect("filtered");
    assert_eq!(
        filtered.summary, expected_summary,
        "the summary counts every case"
    );
    assert_eq!(filtered.changes.total, 3);
    let ids: Vec<CaseId> = filtered.changes.items.iter().map(|ch| ch.case_id).collect();
    assert_eq!(ids, [c[3], c[5], c[9]]);
    let unchanged = s
        .compare_runs(
            now.id,
            BaselineChoice::Auto,
            vec![Category::Unchanged],
            page(1, 100),
        )
        .await
        .expect("unchanged");
    let ids: Vec<CaseId> = unchanged
        .changes
        .items
        .iter()
        .map(|ch| ch.case_id)
        .collect();
    assert_eq!((unchanged.changes.total, ids), (1, vec![c[7]]));
    let paged = s
        .compare_runs(now.id, BaselineChoice::Auto, vec![], page(2, 3))
        .await
        .expect("page");
    assert_eq!(paged.changes.total, 8);
    let ids: Vec<CaseId> = paged.changes.items.iter().map(|ch| ch.case_id).collect();
    assert_eq!(ids, [c[3], c[4], c[5]]);
    let past = s
        .compare_runs(now.id, BaselineChoice::Auto, vec![], page(9, 3))
        .await
        .expect("past the end");
    assert_eq!((past.changes.total, past.changes.items.len()), (8, 0));
    // The other way round.
    let back = s
        .compare_runs(base.id, BaselineChoice::Run(now.id), vec![], page(1, 100))
        .await
        .expect("reverse");
    assert_eq!(
        back.summary, expected_summary,
        "c3 and c9 fail anew, c0 is fixed, c1 and c4 go missing, c5 is new"
    );
    let reverse: Vec<(CaseId, Category)> = back
        .changes
        .items
        .iter()
        .map(|ch| (ch.case_id, ch.category))
        .collect();
    assert_eq!(
        reverse,
        [
            (c[3], Category::NewFailure),
            (c[9], Category::NewFailure),
            (c[2], Category::StillFailing),
            (c[0], Category::Fixed),
            (c[5], Category::NewTest),
            (c[1], Category::Missing),
            (c[4], Category::Missing),
            (c[6], Category::Changed),
        ]
    );
}

pub async fn failures_group_by_signature(s: Arc<dyn Store>) {
    let s = s.as_ref();
    let (owner, p, c) = project_with_cases(s, 7).await;
    let base = run_with(s, p, "base", RunMeta::default(), None).await.id;
    play(
        s,
        owner,
        base,
        &[
            (
                c[2],
                Failed,
                None,
                Some("NullPointerException\n  at Foo.bar"),
            ),
            (c[6], Failed, None, Some("something else")),
        ],
    )
    .await;
    let now = run_with(s, p, "now", RunMeta::default(), None).await.id;
    play(
        s,
        owner,
        now,
        &[
            (c[3], Failed, None, Some("expected 1 but got 2")),
            (
                c[0],
                Failed,
                None,
                Some("expected 3 but got 4\n  at A.test"),
            ),
            (c[1], Failed, None, Some("expected 7 but got 9")),
            (c[2], Failed, None, Some("NullPointerException")),
            (c[4], Passed, None, Some("expected 3 but got 4")),
            (c[5], Failed, None, None),
        ],
    )
    .await;
    let expected = signature::of(Some("expected 3 but got 4"));
    let npe = signature::of(Some("NullPointerException"));
    let empty = signature::of(None);
    let report = s
        .run_failures(now, BaselineChoice::Auto, 2, page(1, 10))
        .await
        .expect("failures");
    assert_eq!((report.run_id, report.baseline_id), (now, Some(base)));
    assert_eq!(report.groups.total, 3);
    let groups = &report.groups.items;
    let mut singles = [
        (npe.signature.clone(), false),
        (empty.signature.clone(), true),
    ];
    singles.sort();
    let shape: Vec<(String, i64, bool)> = groups
        .iter()
        .map(|g| (g.signature.clone(), g.count, g.new))
        .collect();
    assert_eq!(
        shape,
        [
            (expected.signature.clone(), 3, true),
            (singles[0].0.clone(), 1, singles[0].1),
            (singles[1].0.clone(), 1, singles[1].1),
        ],
        "largest first, then by signature; new unless the baseline failed alike"
    );
    assert_eq!(groups[0].message, expected.message);
    let first: Vec<(ResultId, CaseId, &str)> = groups[0]
        .results
        .iter()
        .map(|r| (r.result_id, r.case_id, r.title.as_str()))
        .collect();
    assert_eq!(
        first,
        [
            (result_of(s, now, c[0]).await, c[0], "case 0"),
            (result_of(s, now, c[1]).await, c[1], "case 1"),
        ],
        "the first per_group results by result id"
    );
    assert_eq!(
        groups[0].results[0].note.as_deref(),
        Some("expected 3 but got 4\n  at A.test"),
        "the whole note"
    );
    let paged = s
        .run_failures(now, BaselineChoice::Auto, 20, page(1, 1))
        .await
        .expect("page");
    assert_eq!((paged.groups.total, paged.groups.items.len()), (3, 1));
    assert_eq!(paged.groups.items[0].results.len(), 3);
    let second = s
        .run_failures(now, BaselineChoice::Auto, 20, page(2, 2))
        .await
        .expect("page 2");
    assert_eq!(second.groups.items.len(), 1);
    assert_eq!(second.groups.items[0].signature, singles[1].0);
    let alone = s
        .run_failures(base, BaselineChoice::Auto, 20, page(1, 10))
        .await
        .expect("no baseline");
    assert_eq!(alone.baseline_id, None);
    assert_eq!(alone.groups.total, 2);
    assert!(alone.groups.items.iter().all(|g| g.new && g.count == 1));
    let none = run_with(s, p, "clean", RunMeta::default(), None).await.id;
    play(s, owner, none, &[(c[0], Passed, None, None)]).await;
    let clean = s
        .run_failures(none, BaselineChoice::Auto, 20, page(1, 10))
        .await
        .expect("clean");
    assert_eq!((clean.baseline_id, clean.groups.total), (Some(now), 0));
}

pub async fn gate_facts_leave_out_quarantined_cases_when_asked(s: Arc<dyn Store>) {
    let s = s.as_ref();
    let (owner, p, c) = project_with_cases(s, 5).await;
    let base = played(
        s,
        owner,
        p,
        "base",
        RunMeta::default(),
        &[(c[0], Passed), (c[1], Passed), (c[2], Failed)],
    )
    .await;
    let now = played(
        s,
        owner,
        p,
        "now",
        RunMeta::default(),
        &[
            (c[0], Failed),
            (c[1], Failed),
            (c[2], Failed),
            (c[3], Passed),
        ],
    )
    .await;
    let summary = CompareSummary {
        new_failure: 2,
        still_failing: 1,
        new_test: 1,
        ..CompareSummary::default()
    };
    let facts = |ignore| s.gate_facts(now, BaselineChoice::Auto, ignore);
    let plain = facts(true).await.expect("gate");
    assert_eq!(
        plain,
        GateFacts {
            baseline_id: Some(base),
            summary,
            new_failures: 2,
            failures: 3,
            passed: 1,
            tested: 4,
        }
    );
    let quarantine = Quarantine {
        reason: "flaky on CI".into(),
        by: owner,
        at: t(3),
    };
    s.set_quarantine(c[0], Some(quarantine))
        .await
        .expect("quarantine");
    let ignored = facts(true).await.expect("gate");
    assert_eq!(
        ignored,
        GateFacts {
            baseline_id: Some(base),
            summary,
            new_failures: 1,
            failures: 2,
            passed: 1,
            tested: 3,
        },
        "quarantined cases count for no rule; the summary keeps them"
    );
    let counted = facts(false).await.expect("gate");
    assert_eq!(counted, plain, "or every case counts");
    s.set_quarantine(c[0], None).await.expect("release");
    assert_eq!(facts(true).await.expect("gate"), plain);
}

pub async fn flaky_cases_flip_or_pass_on_retry(s: Arc<dyn Store>) {
    let s = s.as_ref();
    let (owner, p, c) = project_with_cases(s, 5).await;
    // c0 flips, c1 always fails, c2 always passes, c3 passes after a retry
    // in r3, c4 passes then fails (a blocked run and untested runs between).
    let rows: [[Status; 5]; 5] = [
        [Passed, Failed, Passed, Passed, Failed],
        [Failed, Failed, Failed, Failed, Failed],
        [Passed, Passed, Passed, Passed, Passed],
        [Passed, Passed, Passed, Passed, Passed],
        [Passed, Blocked, Failed, NotTested, NotTested],
    ];
    let mut runs = Vec::new();
    for i in 0..5 {
        let run = run_with(s, p, &format!("r{}", i + 1), meta(Some("main"), None), None)
            .await
            .id;
        let mut plays: Vec<Play> = Vec::new();
        if i == 2 {
            plays.push((c[3], Failed, Some(5), Some("flaky")));
        }
        for (case, statuses) in c.iter().zip(rows.iter()) {
            if statuses[i] != NotTested {
                plays.push((*case, statuses[i], Some(5), None));
            }
        }
        play(s, owner, run, &plays).await;
        runs.push(run);
    }
    // Untested: left out of the window.
    let _idle = run_with(s, p, "idle", meta(Some("main"), None), None).await;
    // Another branch: c1 passes there.
    let dev = run_with(s, p, "dev", meta(Some("dev"), None), Some(vec![c[1]]))
        .await
        .id;
    play(s, owner, dev, &[(c[1], Passed, Some(5), None)]).await;

    let listed =
        |l: &Listing<FlakyCase>| -> Vec<CaseId> { l.items.iter().map(|f| f.case_id).collect() };
    let main = s
        .flaky_cases(p, flaky_query(Some("main"), 30, 0.1), page(1, 10))
        .await
        .expect("flaky");
    assert_eq!(main.total, 3);
    assert_eq!(
        listed(&main),
        [c[4], c[0], c[3]],
        "by score, then retried passes"
    );
    let c4 = &main.items[0];
    assert_eq!(
        (c4.score, c4.flips, c4.runs, c4.retried_pass),
        (1.0, 1, 2, 0),
        "only passed and failed count"
    );
    assert_eq!(c4.statuses, [Passed, Failed]);
    assert_eq!(c4.last_flip_run_id, Some(runs[2]));
    let c0 = &main.items[1];
    assert_eq!(
        (c0.key.as_deref(), c0.title.as_str(), c0.quarantined),
        (Some("k0"), "case 0", false)
    );
    assert_eq!(
        (c0.score, c0.flips, c0.runs, c0.retried_pass),
        (0.75, 3, 5, 0)
    );
    assert_eq!(c0.statuses, [Passed, Failed, Passed, Passed, Failed]);
    assert_eq!(c0.last_flip_run_id, Some(runs[4]));
    let c3 = &main.items[2];
    assert_eq!(
        (
            c3.score,
            c3.flips,
            c3.runs,
            c3.retried_pass,
            c3.last_flip_run_id
        ),
        (0.0, 0, 5, 1, None),
        "a pass after a failure in one run, listed once"
    );
    assert_eq!(c3.statuses, [Passed; 5]);

    let strict = s
        .flaky_cases(p, flaky_query(Some("main"), 30, 0.8), page(1, 10))
        .await
        .expect("threshold");
    assert_eq!(
        listed(&strict),
        [c[4], c[3]],
        "retried passes list whatever the score"
    );
    let narrow = s
        .flaky_cases(p, flaky_query(Some("main"), 2, 0.1), page(1, 10))
        .await
        .expect("window");
    assert_eq!(
        listed(&narrow),
        [c[0]],
        "the latest two runs that tested anything"
    );
    assert_eq!(
        (
            narrow.items[0].flips,
            narrow.items[0].runs,
            narrow.items[0].score
        ),
        (1, 2, 1.0)
    );
    assert_eq!(narrow.items[0].statuses, [Passed, Failed]);
    let everywhere = s
        .flaky_cases(p, flaky_query(None, 30, 0.1), page(1, 10))
        .await
        .expect("all branches");
    assert_eq!(listed(&everywhere), [c[4], c[0], c[1], c[3]]);
    let c1 = &everywhere.items[2];
    assert_eq!((c1.score, c1.flips, c1.runs), (0.2, 1, 6));
    assert_eq!(c1.last_flip_run_id, Some(dev));
    let dev_only = s
        .flaky_cases(p, flaky_query(Some("dev"), 30, 0.0), page(1, 10))
        .await
        .expect("dev");
    assert_eq!(dev_only.total, 0, "one run flips nothing");
    let paged = s
        .flaky_cases(p, flaky_query(Some("main"), 30, 0.1), page(2, 2))
        .await
        .expect("page");
    assert_eq!((paged.total, listed(&paged)), (3, vec![c[3]]));
    let quarantine = Quarantine {
        reason: "known".into(),
        by: owner,
        at: t(9),
    };
    s.set_quarantine(c[0], Some(quarantine))
        .await
        .expect("quarantine");
    let again = s
        .flaky_cases(p, flaky_query(Some("main"), 30, 0.1), page(1, 10))
        .await
        .expect("flaky");
    assert_eq!(
        listed(&again),
        [c[4], c[0], c[3]],
        "quarantine hides nothing"
    );
    assert!(again.items[1].quarantined);
    let q = s
        .create_project("Q".into(), owner, t(0))
        .await
        .expect("q")
        .id;
    let other = s
        .flaky_cases(q, flaky_query(None, 30, 0.1), page(1, 10))
        .await;
    assert_eq!(other.expect("other project").total, 0);
}

pub async fn durations_over_a_window_and_the_one_before(s: Arc<dyn Store>) {
    let s = s.as_ref();
    let (owner, p, c) = project_with_cases(s, 4).await;
    let main = || meta(Some("main"), None);
    // ms per run r1..r6 (None: no elapsed time or not run).
    let table: [[Option<i64>; 6]; 4] = [
        [
            Some(100),
            Some(200),
            Some(300),
            Some(600),
            Some(400),
            Some(500),
        ],
        [None, None, None, None, None, Some(50)],
        [
            Some(1000),
            Some(1000),
            Some(1000),
            Some(1000),
            Some(1000),
            Some(900),
        ],
        [Some(7), None, None, None, None, None],
    ];
    for i in 0..6 {
        let run = run_with(s, p, &format!("r{}", i + 1), main(), None)
            .await
            .id;
        let mut plays: Vec<Play> = Vec::new();
        for (case, ms) in c.iter().zip(table.iter()) {
            plays.push((*case, Passed, ms[i], None));
        }
        play(s, owner, run, &plays).await;
    }
    let x = run_with(s, p, "x", meta(Some("x"), None), Some(vec![c[1]]))
        .await
        .id;
    play(s, owner, x, &[(c[1], Failed, Some(5000), None)]).await;

    let slowest = s
        .durations(
            p,
            durations_query(Some("main"), 3, DurationSort::Slowest),
            page(1, 10),
        )
        .await
        .expect("durations");
    assert_eq!(
        slowest.total, 3,
        "a case without a time in the window is left out"
    );
    type Row<'a> = (
        CaseId,
        &'a str,
        i64,
        i64,
        i64,
        i64,
        Option<i64>,
        Option<f64>,
    );
    let rows: Vec<Row> = slowest
        .items
        .iter()
        .map(|d| {
            (
                d.case_id,
                d.title.as_str(),
                d.runs,
                d.p50_ms,
                d.p95_ms,
                d.last_ms,
                d.previous_p50_ms,
                d.change,
            )
        })
        .collect();
    assert_eq!(
        rows,
        [
            (c[2], "case 2", 3, 1000, 1000, 900, Some(1000), Some(1.0)),
            (c[0], "case 0", 3, 500, 600, 500, Some(200), Some(2.5)),
            (c[1], "case 1", 1, 50, 50, 50, None, None),
        ]
    );
    let regressed = s
        .durations(
            p,
            durations_query(Some("main"), 3, DurationSort::Regressed),
            page(1, 10),
        )
        .await
        .expect("regressed");
    let ids: Vec<CaseId> = regressed.items.iter().map(|d| d.case_id).collect();
    assert_eq!(ids, [c[0], c[2], c[1]], "by change, those without one last");
    let paged = s
        .durations(
            p,
            durations_query(Some("main"), 3, DurationSort::Slowest),
            page(2, 2),
        )
        .await
        .expect("page");
    assert_eq!(paged.total, 3);
    assert_eq!(
        paged.items.iter().map(|d| d.case_id).collect::<Vec<_>>(),
        [c[1]]
    );
    let wide = s
        .durations(
            p,
            durations_query(Some("main"), 30, DurationSort::Slowest),
            page(1, 10),
        )
        .await
        .expect("wide");
    assert_eq!(wide.total, 4);
    let first = wide.items.iter().find(|d| d.case_id == c[0]).expect("c0");
    assert_eq!(
        (
            first.runs,
            first.p50_ms,
            first.p95_ms,
            first.last_ms,
            first.previous_p50_ms,
            first.change
        ),
        (6, 300, 600, 500, None, None)
    );
    let on_x = s
        .durations(
            p,
            durations_query(Some("x"), 3, DurationSort::Slowest),
            page(1, 10),
        )
        .await
        .expect("x");
    let rows: Vec<(CaseId, i64, Option<i64>)> = on_x
        .items
        .iter()
        .map(|d| (d.case_id, d.p50_ms, d.previous_p50_ms))
        .collect();
    assert_eq!(rows, [(c[1], 5000, None)]);
    let everywhere = s
        .durations(
            p,
            durations_query(None, 2, DurationSort::Slowest),
            page(1, 10),
        )
        .await
        .expect("all branches");
    let c1 = everywhere
        .items
        .iter()
        .find(|d| d.case_id == c[1])
        .expect("c1");
    assert_eq!((c1.runs, c1.last_ms, c1.previous_p50_ms), (2, 5000, None));
}

pub async fn trends_count_runs_oldest_first(s: Arc<dyn Store>) {
    let s = s.as_ref();
    let (owner, p, c) = project_with_cases(s, 3).await;
    let main = || meta(Some("main"), None);
    let r1 = run_with(s, p, "r1", main(), None).await;
    play(
        s,
        owner,
        r1.id,
        &[
            (c[0], Passed, Some(40), None),
            (c[0], Passed, Some(100), None),
            (c[1], Failed, Some(200), Some("x")),
            (c[2], Blocked, None, None),
        ],
    )
    .await;
    let r2 = run_with(s, p, "r2", main(), None).await;
    let r3 = run_with(s, p, "r3", meta(Some("dev"), None), None).await;
    play(s, owner, r3.id, &[(c[0], Passed, Some(9), None)]).await;
    let r4 = run_with(s, p, "r4", main(), None).await;
    let results = everything(s, r4.id).await;
    let timed = |status, ms| Execution {
        step_results: Vec::new(),
        defects: Vec::new(),
        status,
        note: None,
        elapsed_ms: ms,
        output: None,
    };
    s.record_result(r4.id, results[0].id, timed(Passed, Some(50)), owner, t(3))
        .await
        .expect("patch");
    s.record_result(r4.id, results[0].id, timed(Passed, Some(70)), owner, t(3))
        .await
        .expect("patch again");
    s.record_result(r4.id, results[2].id, timed(Failed, Some(10)), owner, t(3))
        .await
        .expect("patch c2");
    s.record_result(r4.id, results[2].id, timed(NotTested, None), owner, t(3))
        .await
        .expect("clear c2");
    let import = ImportRequest {
        run: r4.id,
        actor: owner,
        now: t(4),
        entries: vec![KeyedEntry {
            details: Default::default(),
            index: 0,
            key: "k1".into(),
            title: "case 1".into(),
            suite: None,
            execution: timed(Failed, Some(30)),
        }],
        create_missing: false,
        dry_run: false,
        partial: false,
        idempotency: None,
    };
    s.import_results(import).await.expect("import");

    let trend = s.trends(p, Some("main".into()), 30).await.expect("trends");
    let ids: Vec<RunId> = trend.iter().map(|r| r.run_id).collect();
    assert_eq!(
        ids,
        [r1.id, r2.id, r4.id],
        "oldest first, untested runs too"
    );
    assert_eq!(
        trend[0],
        TrendRow {
            run_id: r1.id,
            name: "r1".into(),
            created_at: r1.created_at,
            branch: Some("main".into()),
            counts: Counts {
                passed: 1,
                failed: 1,
                blocked: 1,
                ..Counts::default()
            },
            pass_rate: Some(1.0 / 3.0),
            elapsed_ms: 300,
        },
        "the current elapsed times, none as 0"
    );
    assert_eq!(
        (
            trend[1].counts.not_tested,
            trend[1].pass_rate,
            trend[1].elapsed_ms
        ),
        (3, None, 0)
    );
    assert_eq!(
        (
            trend[2].counts.passed,
            trend[2].counts.failed,
            trend[2].pass_rate
        ),
        (1, 1, Some(0.5))
    );
    assert_eq!(trend[2].elapsed_ms, 100, "PATCH and import keep the sum");
    let latest = s.trends(p, None, 2).await.expect("latest two");
    let ids: Vec<RunId> = latest.iter().map(|r| r.run_id).collect();
    assert_eq!(ids, [r3.id, r4.id]);
    assert_eq!(
        (latest[0].branch.as_deref(), latest[0].elapsed_ms),
        (Some("dev"), 9)
    );
    let none = s.trends(p, Some("nowhere".into()), 30).await.expect("none");
    assert!(none.is_empty());
}

pub async fn a_case_across_runs_newest_first(s: Arc<dyn Store>) {
    let s = s.as_ref();
    let (owner, p, c) = project_with_cases(s, 2).await;
    let with_commit = |branch: &str| RunMeta {
        branch: Some(branch.into()),
        commit: Some("abcd1234".into()),
        ..RunMeta::default()
    };
    let r1 = run_with(s, p, "r1", with_commit("main"), None).await.id;
    play(s, owner, r1, &[(c[0], Failed, Some(12), Some("boom"))]).await;
    let r2 = run_with(s, p, "r2", meta(Some("dev"), None), None).await.id;
    play(s, owner, r2, &[(c[0], Passed, Some(8), None)]).await;
    let r3 = run_with(s, p, "r3", meta(Some("main"), None), None)
        .await
        .id;
    let _without = run_with(s, p, "r4", meta(Some("main"), None), Some(vec![c[1]])).await;
    let listing = s
        .case_results(c[0], None, page(1, 10))
        .await
        .expect("case results");
    assert_eq!(listing.total, 3, "every run that holds it");
    let ids: Vec<RunId> = listing.items.iter().map(|r| r.run_id).collect();
    assert_eq!(ids, [r3, r2, r1]);
    assert_eq!(
        listing.items[2],
        CaseRunResult {
            run_id: r1,
            run_name: "r1".into(),
            branch: Some("main".into()),
            commit: Some("abcd1234".into()),
            result_id: result_of(s, r1, c[0]).await,
            status: Failed,
            note: Some("boom".into()),
            elapsed_ms: Some(12),
            tested_by: Some(owner),
            tested_at: Some(t(10)),
        }
    );
    let untested = &listing.items[0];
    assert_eq!(
        (
            untested.status,
            untested.tested_by,
            untested.elapsed_ms,
            untested.commit.as_deref()
        ),
        (NotTested, None, None, None)
    );
    let main = s
        .case_results(c[0], Some("main".into()), page(1, 10))
        .await
        .expect("main");
    let ids: Vec<RunId> = main.items.iter().map(|r| r.run_id).collect();
    assert_eq!((main.total, ids), (2, vec![r3, r1]));
    let paged = s.case_results(c[0], None, page(2, 2)).await.expect("page");
    let ids: Vec<RunId> = paged.items.iter().map(|r| r.run_id).collect();
    assert_eq!((paged.total, ids), (3, vec![r1]));
}

pub async fn quarantine_sets_replaces_releases_and_filters(s: Arc<dyn Store>) {
    let s = s.as_ref();
    let (owner, p, c) = project_with_cases(s, 3).await;
    let other = user(s, "other").await;
    assert_eq!(s.get_case(c[0]).await.expect("case").quarantine, None);
    let first = Quarantine {
        reason: "flaky on CI".into(),
        by: owner,
        at: t(5),
    };
    let case = s
        .set_quarantine(c[0], Some(first.clone()))
        .await
        .expect("quarantine");
    assert_eq!(
        (case.id, case.quarantine.clone()),
        (c[0], Some(first.clone()))
    );
    assert_eq!(s.get_case(c[0]).await.expect("get"), case);
    let second = Quarantine {
        reason: "still flaky".into(),
        by: other,
        at: t(6),
    };
    let replaced = s
        .set_quarantine(c[0], Some(second.clone()))
        .await
        .expect("replace");
    assert_eq!(replaced.quarantine, Some(second.clone()));
    s.set_quarantine(c[2], Some(first.clone()))
        .await
        .expect("c2");
    let only = s
        .list_cases(p, quarantined(Some(true)), page(1, 10))
        .await
        .expect("quarantined");
    let ids: Vec<CaseId> = only.items.iter().map(|k| k.id).collect();
    assert_eq!((only.total, ids), (2, vec![c[0], c[2]]));
    assert_eq!(only.items[0].quarantine, Some(second));
    let rest = s
        .list_cases(p, quarantined(Some(false)), page(1, 10))
        .await
        .expect("the others");
    let ids: Vec<CaseId> = rest.items.iter().map(|k| k.id).collect();
    assert_eq!((rest.total, ids), (1, vec![c[1]]));
    let all = s
        .list_cases(p, quarantined(None), page(1, 10))
        .await
        .expect("all");
    assert_eq!(all.total, 3);
    let released = s.set_quarantine(c[0], None).await.expect("release");
    assert_eq!(released.quarantine, None);
    let again = s.set_quarantine(c[0], None).await.expect("release again");
    assert_eq!(again.quarantine, None);
    assert_eq!(s.get_case(c[0]).await.expect("get").quarantine, None);
    let only = s
        .list_cases(p, quarantined(Some(true)), page(1, 10))
        .await
        .expect("quarantined");
    assert_eq!(only.total, 1);
    let updated = s
        .update_case(
            c[2],
            CasePatch {
                title: Some("renamed".into()),
                ..CasePatch::default()
            },
        )
        .await
        .expect("update");
    assert_eq!(
        updated.quarantine,
        Some(first),
        "an edit keeps the quarantine"
    );
    assert_not_found(s.set_quarantine(CaseId::from_db(UNKNOWN), None).await);
}

pub async fn triage_of_unknown_ids_is_not_found(s: Arc<dyn Store>) {
    let s = s.as_ref();
    let run = RunId::from_db(UNKNOWN);
    let project = ProjectId::from_db(UNKNOWN);
    let case = CaseId::from_db(UNKNOWN);
    assert_not_found(
        s.compare_runs(run, BaselineChoice::Auto, vec![], page(1, 10))
            .await,
    );
    assert_not_found(
        s.run_failures(run, BaselineChoice::Auto, 20, page(1, 10))
            .await,
    );
    assert_not_found(s.gate_facts(run, BaselineChoice::Auto, true).await);
    assert_not_found(
        s.flaky_cases(project, flaky_query(None, 30, 0.1), page(1, 10))
            .await,
    );
    assert_not_found(
        s.durations(
            project,
            durations_query(None, 30, DurationSort::Slowest),
            page(1, 10),
        )
        .await,
    );
    assert_not_found(s.trends(project, None, 30).await);
    assert_not_found(s.case_results(case, None, page(1, 10)).await);
    let q = Quarantine {
        reason: "r".into(),
        by: UserId::from_db(1),
        at: t(1),
    };
    assert_not_found(s.set_quarantine(case, Some(q)).await);
}
