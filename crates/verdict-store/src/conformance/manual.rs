//! Manual testing: step results and defects on every execution path,
//! assignment, a tester's work list, sections, case and result filters,
//! a run's export, project and user changes, and case fields from imports.

use std::sync::Arc;

use super::support::*;
use crate::*;

fn step(status: Status, actual: Option<&str>) -> StepResult {
    StepResult {
        status,
        actual: actual.map(str::to_string),
    }
}

/// A failed execution with two step results and two defects.
fn manual_exec() -> Execution {
    Execution {
        status: Status::Failed,
        note: Some("broken".into()),
        elapsed_ms: Some(10),
        step_results: vec![
            step(Status::Passed, None),
            step(Status::Failed, Some("500 error")),
        ],
        defects: vec!["SHOP-1".into(), "SHOP-2".into()],
        output: None,
    }
}

fn with_suite(title: &str, key: &str, suite: Option<&str>) -> NewCase {
    NewCase {
        title: title.into(),
        key: Some(key.into()),
        suite: suite.map(Into::into),
        details: Default::default(),
    }
}

fn keyed(index: usize, key: &str, execution: Execution, details: DetailsPatch) -> KeyedEntry {
    KeyedEntry {
        index,
        key: key.into(),
        title: format!("case {key}"),
        suite: None,
        execution,
        details,
    }
}

fn import(run: RunId, actor: UserId, entries: Vec<KeyedEntry>) -> ImportRequest {
    ImportRequest {
        run,
        actor,
        now: t(20),
        entries,
        create_missing: true,
        dry_run: false,
        partial: false,
        idempotency: None,
    }
}

fn assigned(who: Option<Assignee>, p: Page) -> ResultQuery {
    ResultQuery {
        assignee: who,
        ..query(vec![], None, p)
    }
}

fn cases_query() -> CaseQuery {
    CaseQuery::default()
}

async fn ids_of(s: &dyn Store, run: RunId) -> Vec<ResultId> {
    everything(s, run).await.iter().map(|r| r.id).collect()
}

pub async fn step_results_and_defects_on_every_execution_path(s: Arc<dyn Store>) {
    let s = &*s;
    let (owner, p, _) = project_with_cases(s, 3).await;
    let run = run_over_all(s, p, "r").await;
    let ids = ids_of(s, run.id).await;
    let m = manual_exec();

    // A single execution: on the answer, the result and its history row.
    let r = s
        .record_result(run.id, ids[0], m.clone(), owner, t(1))
        .await
        .expect("record");
    assert_eq!((&r.step_results, &r.defects), (&m.step_results, &m.defects));
    let got = s.get_result(run.id, ids[0]).await.expect("get");
    assert_eq!(
        (&got.step_results, &got.defects),
        (&m.step_results, &m.defects)
    );
    let h = history(s, run.id, ids[0]).await;
    assert_eq!(
        (&h[0].step_results, &h[0].defects),
        (&m.step_results, &m.defects)
    );

    // NotTested stores none, even when given some, and the older history
    // row keeps its own.
    let untested = Execution {
        status: Status::NotTested,
        ..m.clone()
    };
    let r = s
        .record_result(run.id, ids[0], untested, owner, t(2))
        .await
        .expect("record");
    assert_eq!((r.step_results.len(), r.defects.len()), (0, 0));
    let got = s.get_result(run.id, ids[0]).await.expect("get");
    assert_eq!((got.step_results.len(), got.defects.len()), (0, 0));
    let h = history(s, run.id, ids[0]).await;
    assert_eq!((h[0].step_results.len(), h[0].defects.len()), (0, 0));
    assert_eq!(h[1].defects, m.defects, "the older execution keeps its own");

    // Bulk: an execution with them keeps them; a later one without (a CI
    // upload) clears the result's, not the history's.
    let results = everything(s, run.id).await;
    let entries = vec![
        BulkEntry {
            index: 0,
            case_id: results[1].case_id,
            execution: m.clone(),
        },
        BulkEntry {
            index: 1,
            case_id: results[2].case_id,
            execution: m.clone(),
        },
    ];
    s.record_bulk(bulk(run.id, owner, entries, false))
        .await
        .expect("bulk");
    for id in [ids[1], ids[2]] {
        let got = s.get_result(run.id, id).await.expect("get");
        assert_eq!(
            (&got.step_results, &got.defects),
            (&m.step_results, &m.defects)
        );
        let h = history(s, run.id, id).await;
        assert_eq!(
            (&h[0].step_results, &h[0].defects),
            (&m.step_results, &m.defects)
        );
    }
    let plain = vec![entry(0, results[1].case_id, Status::Passed, "ci")];
    s.record_bulk(bulk(run.id, owner, plain, false))
        .await
        .expect("bulk");
    let got = s.get_result(run.id, ids[1]).await.expect("get");
    assert_eq!((got.step_results.len(), got.defects.len()), (0, 0));
    let h = history(s, run.id, ids[1]).await;
    assert_eq!((h[0].defects.len(), &h[1].defects), (0, &m.defects));
    let listed = everything(s, run.id).await;
    assert_eq!(listed[2].defects, m.defects, "listings carry them too");

    // Import: the same, by key (and a created case).
    let entries = vec![
        keyed(0, "k0", m.clone(), DetailsPatch::default()),
        keyed(1, "new", m.clone(), DetailsPatch::default()),
    ];
    s.import_results(import(run.id, owner, entries))
        .await
        .expect("import");
    for r in everything(s, run.id)
        .await
        .iter()
        .filter(|r| r.id == ids[0] || !ids.contains(&r.id))
    {
        assert_eq!((&r.step_results, &r.defects), (&m.step_results, &m.defects));
        let h = history(s, run.id, r.id).await;
        assert_eq!(
            (&h[0].step_results, &h[0].defects),
            (&m.step_results, &m.defects)
        );
    }
}

pub async fn assignment_targets_and_rules(s: Arc<dyn Store>) {
    let s = &*s;
    let owner = user(s, "owner").await;
    let tester = user(s, "tester").await;
    let p = s
        .create_project("P".into(), owner, t(0))
        .await
        .expect("project")
        .id;
    let cases = vec![
        with_suite("a", "a", Some("Checkout")),
        with_suite("b", "b", Some("Checkout / Payments")),
        with_suite("c", "c", Some("Checkout2")),
        with_suite("d", "d", None),
        with_suite("e", "e", Some("checkout / lower")),
    ];
    s.upsert_cases(p, cases, t(0)).await.expect("cases");
    let run = run_over_all(s, p, "r").await;
    let other = run_over_all(s, p, "other").await;
    let ids = ids_of(s, run.id).await;
    let others = ids_of(s, other.id).await;

    // Named results; unknown ones and another run's write nothing.
    let n = s
        .assign_results(run.id, AssignTarget::Results(vec![ids[3]]), Some(tester))
        .await
        .expect("assign");
    assert_eq!(n, 1);
    let bad = AssignTarget::Results(vec![ids[0], others[0], ResultId::from_db(UNKNOWN)]);
    assert_invalid(
        s.assign_results(run.id, bad, Some(owner)).await,
        &["result_ids[1]", "result_ids[2]"],
    );
    let now: Vec<Option<UserId>> = everything(s, run.id)
        .await
        .iter()
        .map(|r| r.assigned_to)
        .collect();
    assert_eq!(
        now,
        [None, None, None, Some(tester), None],
        "nothing written"
    );

    // A section and what it nests, case-sensitively.
    let n = s
        .assign_results(run.id, AssignTarget::Suite("Checkout".into()), Some(owner))
        .await
        .expect("assign");
    assert_eq!(n, 2);
    // Everyone left.
    let n = s
        .assign_results(run.id, AssignTarget::Unassigned, Some(tester))
        .await
        .expect("assign");
    assert_eq!(n, 2, "c and e");
    let now: Vec<Option<UserId>> = everything(s, run.id)
        .await
        .iter()
        .map(|r| r.assigned_to)
        .collect();
    assert_eq!(
        now,
        [
            Some(owner),
            Some(owner),
            Some(tester),
            Some(tester),
            Some(tester)
        ]
    );
    assert!(
        everything(s, other.id)
            .await
            .iter()
            .all(|r| r.assigned_to.is_none()),
        "another run is untouched"
    );

    // Assignment is not an execution; an execution keeps the assignment.
    assert_eq!(history_len(s, run.id).await, 0);
    let got = s.get_result(run.id, ids[0]).await.expect("get");
    assert_eq!(
        (got.status, got.tested_by, got.tested_at),
        (Status::NotTested, None, None)
    );
    assert_eq!(s.get_run(run.id).await.expect("run").counts.not_tested, 5);
    let r = s
        .record_result(run.id, ids[0], exec(Status::Passed, None), tester, t(1))
        .await
        .expect("record");
    assert_eq!(r.assigned_to, Some(owner), "on the answer");
    let plain = vec![entry(0, got.case_id, Status::Failed, "ci")];
    s.record_bulk(bulk(run.id, owner, plain, false))
        .await
        .expect("bulk");
    let got = s.get_result(run.id, ids[0]).await.expect("get");
    assert_eq!((got.status, got.assigned_to), (Status::Failed, Some(owner)));

    // Nobody, then a closed run refuses; an unknown run is not found.
    let n = s
        .assign_results(run.id, AssignTarget::Results(vec![ids[0], ids[1]]), None)
        .await
        .expect("unassign");
    assert_eq!(n, 2);
    let got = s.get_result(run.id, ids[0]).await.expect("get");
    assert_eq!(got.assigned_to, None);
    s.close_run(run.id, t(5)).await.expect("close");
    for target in [
        AssignTarget::Results(vec![ids[0]]),
        AssignTarget::Suite("Checkout".into()),
        AssignTarget::Unassigned,
    ] {
        assert_conflict(
            s.assign_results(run.id, target, Some(owner)).await,
            "run_closed",
        );
    }
    assert_not_found(
        s.assign_results(
            RunId::from_db(UNKNOWN),
            AssignTarget::Unassigned,
            Some(owner),
        )
        .await,
    );
}

pub async fn my_work_lists_open_runs_of_member_projects(s: Arc<dyn Store>) {
    let s = &*s;
    let (owner, p, _) = project_with_cases(s, 3).await;
    let tester = user(s, "tester").await;
    s.set_member(p, tester, Role::Tester).await.expect("member");
    // A project the tester is not a member of.
    let q = s
        .create_project("Q".into(), owner, t(0))
        .await
        .expect("project")
        .id;
    s.create_case(q, new_case("q0", None), t(0))
        .await
        .expect("case");
    let r1 = run_over_all(s, p, "one").await;
    let r2 = run_over_all(s, p, "two").await;
    let closed = run_over_all(s, p, "closed").await;
    let elsewhere = run_over_all(s, q, "elsewhere").await;
    for run in [&r1, &r2, &closed, &elsewhere] {
        s.assign_results(run.id, AssignTarget::Unassigned, Some(tester))
            .await
            .expect("assign");
    }
    s.close_run(closed.id, t(1)).await.expect("close");
    let one = ids_of(s, r1.id).await;
    let two = ids_of(s, r2.id).await;
    // Tested: r1's second, r2's first.
    s.record_result(r1.id, one[1], exec(Status::Passed, None), tester, t(2))
        .await
        .expect("record");
    s.record_result(r2.id, two[0], exec(Status::Failed, None), tester, t(2))
        .await
        .expect("record");
    // Someone else's result in r2 is not the tester's work.
    s.assign_results(r2.id, AssignTarget::Results(vec![two[2]]), Some(owner))
        .await
        .expect("assign");

    let work = s.my_work(tester, page(1, 100)).await.expect("work");
    let got: Vec<(RunId, ResultId)> = work
        .items
        .iter()
        .map(|w| (w.result.run_id, w.result.id))
        .collect();
    assert_eq!(
        got,
        [
            (r1.id, one[0]),
            (r1.id, one[2]),
            (r2.id, two[1]),
            (r1.id, one[1]),
            (r2.id, two[0]),
        ],
        "untested first, then by run, then by result"
    );
    assert_eq!(work.total, 5);
    let first = &work.items[0];
    assert_eq!(
        (
            first.run_name.as_str(),
            first.project_id,
            first.project_name.as_str()
        ),
        ("one", p, "P")
    );
    assert_eq!(first.result.assigned_to, Some(tester));
    let page2 = s.my_work(tester, page(2, 2)).await.expect("work");
    assert_eq!(page2.total, 5);
    assert_eq!(
        page2.items.iter().map(|w| w.result.id).collect::<Vec<_>>(),
        [two[1], one[1]]
    );
    // Membership is what counts: removed, the list is empty.
    s.remove_member(p, tester).await.expect("remove");
    let work = s.my_work(tester, page(1, 100)).await.expect("work");
    assert_eq!((work.total, work.items.len()), (0, 0));
    // The owner is a member of both: only the one in r2 is theirs.
    let work = s.my_work(owner, page(1, 100)).await.expect("work");
    assert_eq!(
        work.items.iter().map(|w| w.result.id).collect::<Vec<_>>(),
        [two[2]]
    );
}

pub async fn sections_and_nested_suites(s: Arc<dyn Store>) {
    let s = &*s;
    let owner = user(s, "owner").await;
    let p = s
        .create_project("P".into(), owner, t(0))
        .await
        .expect("project")
        .id;
    let suites = [
        Some("Checkout"),
        Some("Checkout / Payments"),
        Some("Checkout / Payments / Cards"),
        Some("Checkout2"),
        Some("checkout / lower"),
        None,
        Some("50%_off"),
        Some("50%_off / Coupons"),
        Some("50XYoff / Coupons"),
        Some("50%_offer"),
        Some("Checkout"),
        Some("Deleted"),
    ];
    let new: Vec<NewCase> = suites
        .iter()
        .enumerate()
        .map(|(i, s)| with_suite(&format!("c{i}"), &format!("k{i}"), *s))
        .collect();
    let ids: Vec<CaseId> = s
        .upsert_cases(p, new, t(0))
        .await
        .expect("cases")
        .into_iter()
        .map(|u| u.case.id)
        .collect();
    s.delete_case(ids[11]).await.expect("delete");

    let sections = s.list_sections(p).await.expect("sections");
    let got: Vec<(Option<&str>, i64)> = sections
        .iter()
        .map(|x| (x.suite.as_deref(), x.cases))
        .collect();
    assert_eq!(
        got,
        [
            (None, 1),
            (Some("50%_off"), 1),
            (Some("50%_off / Coupons"), 1),
            (Some("50%_offer"), 1),
            (Some("50XYoff / Coupons"), 1),
            (Some("Checkout"), 2),
            (Some("Checkout / Payments"), 1),
            (Some("Checkout / Payments / Cards"), 1),
            (Some("Checkout2"), 1),
            (Some("checkout / lower"), 1),
        ],
        "no suite first, then by name (byte order); deleted cases left out"
    );

    let section = |name: &str| s.section_case_ids(p, name.into());
    assert_eq!(
        section("Checkout").await.expect("section"),
        [ids[0], ids[1], ids[2], ids[10]]
    );
    assert_eq!(
        section("Checkout / Payments").await.expect("section"),
        [ids[1], ids[2]]
    );
    assert_eq!(
        section("50%_off").await.expect("section"),
        [ids[6], ids[7]],
        "% and _ are themselves"
    );
    assert_eq!(section("Check").await.expect("section"), []);
    assert_eq!(section("Deleted").await.expect("section"), []);
    assert_not_found(
        s.section_case_ids(ProjectId::from_db(UNKNOWN), "x".into())
            .await,
    );
    assert_not_found(s.list_sections(ProjectId::from_db(UNKNOWN)).await);

    // The same rule filters cases, with a total, and assigns a run's.
    let by_suite = CaseQuery {
        suite: Some("50%_off".into()),
        ..cases_query()
    };
    let listed = s.list_cases(p, by_suite, page(1, 1)).await.expect("cases");
    assert_eq!(
        (listed.total, listed.items[0].id),
        (2, ids[6]),
        "a page of one of two"
    );
    let run = run_over_all(s, p, "r").await;
    let n = s
        .assign_results(run.id, AssignTarget::Suite("50%_off".into()), Some(owner))
        .await
        .expect("assign");
    assert_eq!(n, 2);
}

pub async fn case_filters_by_suite_and_priority(s: Arc<dyn Store>) {
    let s = &*s;
    let owner = user(s, "owner").await;
    let p = s
        .create_project("P".into(), owner, t(0))
        .await
        .expect("project")
        .id;
    let prio = |priority: Option<Priority>| DetailsPatch {
        priority: Some(priority),
        ..DetailsPatch::default()
    };
    let new = vec![
        NewCase {
            details: prio(Some(Priority::High)),
            ..with_suite("a", "a", Some("Cart"))
        },
        NewCase {
            details: prio(Some(Priority::Low)),
            ..with_suite("b", "b", Some("Cart / Promo"))
        },
        NewCase {
            details: prio(Some(Priority::High)),
            ..with_suite("c", "c", Some("Search"))
        },
        with_suite("d", "d", Some("Cart")),
    ];
    let ids: Vec<CaseId> = s
        .upsert_cases(p, new, t(0))
        .await
        .expect("cases")
        .into_iter()
        .map(|u| u.case.id)
        .collect();
    let listed = |suite: Option<&str>, priority: Option<Priority>| {
        let q = CaseQuery {
            suite: suite.map(Into::into),
            priority,
            ..cases_query()
        };
        s.list_cases(p, q, page(1, 100))
    };
    let ids_total = |l: Listing<Case>| (l.total, l.items.iter().map(|c| c.id).collect::<Vec<_>>());
    assert_eq!(
        ids_total(listed(Some("Cart"), None).await.expect("list")),
        (3, vec![ids[0], ids[1], ids[3]])
    );
    assert_eq!(
        ids_total(listed(None, Some(Priority::High)).await.expect("list")),
        (2, vec![ids[0], ids[2]])
    );
    assert_eq!(
        ids_total(
            listed(Some("Cart"), Some(Priority::High))
                .await
                .expect("list")
        ),
        (1, vec![ids[0]])
    );
    assert_eq!(
        ids_total(
            listed(Some("Cart / Promo"), Some(Priority::High))
                .await
                .expect("list")
        ),
        (0, vec![])
    );
    assert_eq!(
        ids_total(listed(None, Some(Priority::Critical)).await.expect("list")),
        (0, vec![])
    );
}

pub async fn results_filter_by_assignee(s: Arc<dyn Store>) {
    let s = &*s;
    let (owner, p, _) = project_with_cases(s, 6).await;
    let tester = user(s, "tester").await;
    let run = run_over_all(s, p, "r").await;
    let ids = ids_of(s, run.id).await;
    s.assign_results(
        run.id,
        AssignTarget::Results(vec![ids[1], ids[3], ids[4]]),
        Some(tester),
    )
    .await
    .expect("assign");
    s.assign_results(run.id, AssignTarget::Results(vec![ids[5]]), Some(owner))
        .await
        .expect("assign");
    s.record_result(run.id, ids[3], exec(Status::Failed, None), owner, t(1))
        .await
        .expect("record");
    let listed = |q: ResultQuery| s.list_results(run.id, q);
    let got = listed(assigned(Some(Assignee::User(tester)), page(1, 2)))
        .await
        .expect("list");
    assert_eq!(
        (
            got.total,
            got.items.iter().map(|r| r.id).collect::<Vec<_>>()
        ),
        (3, vec![ids[1], ids[3]])
    );
    let got = listed(assigned(Some(Assignee::User(tester)), page(2, 2)))
        .await
        .expect("list");
    assert_eq!(
        (
            got.total,
            got.items.iter().map(|r| r.id).collect::<Vec<_>>()
        ),
        (3, vec![ids[4]])
    );
    let got = listed(assigned(Some(Assignee::Nobody), page(1, 100)))
        .await
        .expect("list");
    assert_eq!(
        (
            got.total,
            got.items.iter().map(|r| r.id).collect::<Vec<_>>()
        ),
        (2, vec![ids[0], ids[2]])
    );
    // With a status filter, a title search and keyset paging.
    let q = ResultQuery {
        statuses: vec![Status::NotTested],
        ..assigned(Some(Assignee::User(tester)), page(1, 100))
    };
    let got = listed(q).await.expect("list");
    assert_eq!(
        (
            got.total,
            got.items.iter().map(|r| r.id).collect::<Vec<_>>()
        ),
        (2, vec![ids[1], ids[4]])
    );
    let q = ResultQuery {
        q: Some("CASE 4".into()),
        ..assigned(Some(Assignee::User(tester)), page(1, 100))
    };
    let got = listed(q).await.expect("list");
    assert_eq!((got.total, got.items.len()), (1, 1));
    let q = ResultQuery {
        after: Some(ids[1]),
        ..assigned(Some(Assignee::User(tester)), page(1, 100))
    };
    let got = listed(q).await.expect("list");
    assert_eq!(
        got.items.iter().map(|r| r.id).collect::<Vec<_>>(),
        [ids[3], ids[4]]
    );
    let stranger = UserId::from_db(UNKNOWN);
    let got = listed(assigned(Some(Assignee::User(stranger)), page(1, 100)))
        .await
        .expect("list");
    assert_eq!((got.total, got.items.len()), (0, 0));
}

pub async fn export_rows_hold_every_result_with_its_case(s: Arc<dyn Store>) {
    let s = &*s;
    let owner = user(s, "owner").await;
    let p = s
        .create_project("P".into(), owner, t(0))
        .await
        .expect("project")
        .id;
    let new = vec![
        with_suite("a", "a", Some("Cart")),
        NewCase {
            key: None,
            ..with_suite("b", "b", None)
        },
    ];
    let cases: Vec<CaseId> = s
        .upsert_cases(p, new, t(0))
        .await
        .expect("cases")
        .into_iter()
        .map(|u| u.case.id)
        .collect();
    let run = run_over_all(s, p, "r").await;
    let ids = ids_of(s, run.id).await;
    s.record_result(run.id, ids[0], manual_exec(), owner, t(1))
        .await
        .expect("record");
    s.assign_results(run.id, AssignTarget::Results(vec![ids[1]]), Some(owner))
        .await
        .expect("assign");
    let rows = s.export_rows(run.id).await.expect("export");
    assert_eq!(rows.len(), 2);
    assert_eq!(
        (
            rows[0].result.id,
            rows[0].result.case_id,
            rows[0].case_key.as_deref(),
            rows[0].suite.as_deref()
        ),
        (ids[0], cases[0], Some("a"), Some("Cart"))
    );
    assert_eq!(
        rows[0].result,
        s.get_result(run.id, ids[0]).await.expect("get")
    );
    assert_eq!(rows[0].result.defects, manual_exec().defects);
    assert_eq!(
        (
            rows[1].result.id,
            rows[1].case_key.as_deref(),
            rows[1].suite.as_deref(),
            rows[1].result.assigned_to
        ),
        (ids[1], None, None, Some(owner))
    );
    // A deleted case's result stays in its run, and in the export.
    s.delete_case(cases[1]).await.expect("delete");
    assert_eq!(s.export_rows(run.id).await.expect("export").len(), 2);
    assert_not_found(s.export_rows(RunId::from_db(UNKNOWN)).await);
}

pub async fn project_and_user_changes(s: Arc<dyn Store>) {
    let s = &*s;
    let owner = user(s, "owner").await;
    let template = "https://tracker.example.com/browse/{id}";
    let created = s
        .create_project(
            NewProject {
                name: "P".into(),
                defect_url_template: Some(template.into()),
            },
            owner,
            t(0),
        )
        .await
        .expect("project");
    assert_eq!(created.defect_url_template.as_deref(), Some(template));
    assert_eq!(s.get_project(created.id).await.expect("get"), created);
    let renamed = s
        .update_project(
            created.id,
            ProjectPatch {
                name: Some("Shop".into()),
                ..ProjectPatch::default()
            },
        )
        .await
        .expect("rename");
    assert_eq!(
        (
            renamed.name.as_str(),
            renamed.defect_url_template.as_deref()
        ),
        ("Shop", Some(template))
    );
    let cleared = s
        .update_project(
            created.id,
            ProjectPatch {
                name: None,
                defect_url_template: Some(None),
            },
        )
        .await
        .expect("clear");
    assert_eq!(
        (
            cleared.name.as_str(),
            cleared.defect_url_template.as_deref()
        ),
        ("Shop", None)
    );
    assert_eq!(s.get_project(created.id).await.expect("get"), cleared);
    let listed = s.list_projects(None, page(1, 10)).await.expect("list");
    assert_eq!(listed.items, [cleared]);
    let other = s
        .update_project(
            created.id,
            ProjectPatch {
                name: None,
                defect_url_template: Some(Some("https://x.example/{id}".into())),
            },
        )
        .await
        .expect("set");
    let mine = s
        .list_projects(Some(owner), page(1, 10))
        .await
        .expect("list");
    assert_eq!(mine.items, [other]);
    assert_not_found(
        s.update_project(ProjectId::from_db(UNKNOWN), ProjectPatch::default())
            .await,
    );

    // Users: name and admin flag, each alone.
    let u = s.update_user(
        owner,
        UserPatch {
            name: Some("Olga".into()),
            admin: None,
        },
    );
    let u = u.await.expect("rename");
    assert_eq!((u.name.as_str(), u.admin), ("Olga", false));
    let u = s
        .update_user(
            owner,
            UserPatch {
                name: None,
                admin: Some(true),
            },
        )
        .await
        .expect("admin");
    assert_eq!((u.name.as_str(), u.admin), ("Olga", true));
    assert_eq!(s.get_user(owner).await.expect("get"), u);
    assert_not_found(
        s.update_user(UserId::from_db(UNKNOWN), UserPatch::default())
            .await,
    );

    // Tokens: all of one user's, nobody else's.
    let other = user(s, "other").await;
    for (who, b) in [(owner, 1u8), (owner, 2), (other, 3)] {
        s.create_token(who, format!("t{b}"), TokenHash([b; 32]), t(1))
            .await
            .expect("token");
    }
    assert_eq!(s.delete_user_tokens(owner).await.expect("revoke"), 2);
    assert!(s.list_tokens(owner).await.expect("tokens").is_empty());
    assert_eq!(
        s.authenticate(TokenHash([1; 32]), t(2))
            .await
            .expect("auth")
            .map(|(u, _)| u.id),
        None
    );
    assert_eq!(s.list_tokens(other).await.expect("tokens").len(), 1);
    assert_eq!(s.delete_user_tokens(owner).await.expect("revoke"), 0);
}

pub async fn imports_apply_case_details(s: Arc<dyn Store>) {
    let s = &*s;
    let (owner, p, cases) = project_with_cases(s, 2).await;
    // k0 has refs and a priority the report leaves alone.
    let start = DetailsPatch {
        refs: Some(vec!["REQ-1".into()]),
        priority: Some(Some(Priority::Low)),
        ..DetailsPatch::default()
    };
    s.update_case(
        cases[0],
        CasePatch {
            details: start,
            ..CasePatch::default()
        },
    )
    .await
    .expect("update");
    let run = run_over_all(s, p, "r").await;
    let pre = |text: &str| DetailsPatch {
        preconditions: Some(Some(text.into())),
        ..DetailsPatch::default()
    };
    let steps = vec![Step {
        action: "open".into(),
        expected: Some("shown".into()),
    }];
    let entries = |dry: bool| ImportRequest {
        dry_run: dry,
        ..import(
            run.id,
            owner,
            vec![
                // Two attempts: the later one's fields win, the earlier
                // one's others stay.
                keyed(
                    0,
                    "k0",
                    exec(Status::Failed, None),
                    DetailsPatch {
                        priority: Some(Some(Priority::High)),
                        ..pre("first")
                    },
                ),
                keyed(1, "k0", exec(Status::Passed, None), pre("logged in")),
                keyed(
                    2,
                    "fresh",
                    exec(Status::Passed, None),
                    DetailsPatch {
                        steps: Some(steps.clone()),
                        ..DetailsPatch::default()
                    },
                ),
                keyed(3, "k1", exec(Status::Passed, None), DetailsPatch::default()),
            ],
        )
    };
    let before = s.get_case(cases[0]).await.expect("case");
    let dry = s.import_results(entries(true)).await.expect("dry run");
    assert_eq!((dry.matched, dry.created), (2, 1));
    assert_eq!(s.get_case(cases[0]).await.expect("case"), before, "dry run");
    s.import_results(entries(false)).await.expect("import");

    let k0 = s.get_case(cases[0]).await.expect("case");
    assert_eq!(
        k0.details,
        CaseDetails {
            preconditions: Some("logged in".into()),
            steps: vec![],
            priority: Some(Priority::High),
            refs: vec!["REQ-1".into()],
        }
    );
    let k1 = s.get_case(cases[1]).await.expect("case");
    assert_eq!(k1.details, CaseDetails::default(), "no details, no change");
    let by_key = CaseQuery {
        key: Some("fresh".into()),
        ..cases_query()
    };
    let fresh = s.list_cases(p, by_key, page(1, 1)).await.expect("list");
    assert_eq!(fresh.items[0].details.steps, steps);
    assert_eq!(fresh.items[0].details.priority, None);
}
