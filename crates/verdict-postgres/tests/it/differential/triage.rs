use verdict_store::*;

use super::helpers::*;
use super::people::People;

fn meta(
    branch: Option<&str>,
    commit: Option<&str>,
    build_url: Option<&str>,
    environment: Option<&str>,
) -> RunMeta {
    RunMeta {
        branch: branch.map(Into::into),
        commit: commit.map(Into::into),
        build_url: build_url.map(Into::into),
        environment: environment.map(Into::into),
    }
}

fn new_run(name: &str, meta: RunMeta, case_ids: Option<Vec<CaseId>>) -> NewRun {
    NewRun {
        name: name.into(),
        description: None,
        key: None,
        meta,
        case_ids,
    }
}

/// One execution per (case, status, note, elapsed), in order.
fn plays(
    run: RunId,
    actor: UserId,
    s: i64,
    plays: &[(CaseId, Status, Option<&str>, Option<i64>)],
) -> BulkRequest {
    BulkRequest {
        run,
        actor,
        now: at(s),
        entries: plays
            .iter()
            .enumerate()
            .map(|(index, (case_id, status, note, ms))| BulkEntry {
                index,
                case_id: *case_id,
                execution: exec(*status, *note, *ms),
            })
            .collect(),
        partial: false,
        refused: vec![],
        idempotency: None,
    }
}

fn flaky(branch: Option<&str>, window: u32, threshold: f64) -> FlakyQuery {
    FlakyQuery {
        branch: branch.map(Into::into),
        window,
        threshold,
    }
}

fn durations(branch: Option<&str>, window: u32, sort: DurationSort) -> DurationQuery {
    DurationQuery {
        branch: branch.map(Into::into),
        window,
        sort,
    }
}

fn quarantined(yes: Option<bool>) -> CaseQuery {
    CaseQuery {
        suite: None,
        priority: None,
        key: None,
        q: None,
        quarantined: yes,
    }
}

/// Triage: run metadata, the write path's flags and elapsed sums, compare
/// (with every kind of baseline), failures, the gate's facts, quarantine,
/// flaky cases, durations, trends and a case across runs.
#[allow(unused_must_use)]
pub async fn run(s: &dyn Store, log: &mut Log, people: &People) {
    use Status::*;
    let People { alice, bob, p2, .. } = people;
    let (alice, bob) = (alice.id, bob.id);
    macro_rules! call {
        ($what:literal, $e:expr) => {{
            let r = $e.await;
            log.note($what, &r);
            r
        }};
    }

    // --- a project, its cases, runs with metadata
    let p = ok(&call!(
        "triage project",
        s.create_project("Triage".into(), alice, at(100))
    ))
    .id;
    let up = ok(&call!(
        "triage cases",
        s.upsert_cases(
            p,
            (0..8)
                .map(|i| case(&format!("case {i}"), Some(&format!("t{i}")), Some("S")))
                .collect(),
            at(101)
        )
    ));
    let c: Vec<CaseId> = up.iter().map(|u| u.case.id).collect();
    let linux = "linux / chromium 131";
    let main_linux = || {
        meta(
            Some("main"),
            Some("ABCDEF12"),
            Some("https://ci.example.com/1"),
            Some(linux),
        )
    };
    let _r0 = ok(&call!(
        "run untested",
        s.create_run(p, new_run("r0", main_linux(), None), at(102))
    ))
    .0
    .id;
    let r1 = ok(&call!(
        "run r1",
        s.create_run(p, new_run("r1", main_linux(), None), at(103))
    ))
    .0
    .id;
    let r2 = ok(&call!(
        "run r2",
        s.create_run(p, new_run("r2", main_linux(), None), at(104))
    ))
    .0
    .id;
    let r3 = ok(&call!(
        "run r3 dev",
        s.create_run(
            p,
            new_run("r3", meta(Some("dev"), None, None, None), None),
            at(105)
        )
    ))
    .0
    .id;
    let r4 = ok(&call!(
        "run r4 mac",
        s.create_run(
            p,
            new_run(
                "r4",
                meta(Some("main"), Some("0123abcd"), None, Some("mac")),
                None
            ),
            at(106)
        )
    ))
    .0
    .id;
    let r5 = ok(&call!(
        "run r5 no branch",
        s.create_run(p, new_run("r5", RunMeta::default(), None), at(107))
    ))
    .0
    .id;
    let r6 = ok(&call!(
        "run r6 subset",
        s.create_run(
            p,
            new_run("r6", main_linux(), Some(c[..4].to_vec())),
            at(108)
        )
    ))
    .0
    .id;
    let elsewhere = ok(&call!(
        "run of another project",
        s.create_run(p2.id, new_run("x", main_linux(), None), at(108))
    ))
    .0
    .id;
    call!(
        "runs on main",
        s.list_runs(
            p,
            RunFilter {
                state: None,
                branch: Some("main".into())
            },
            page(1, 10)
        )
    );
    call!(
        "runs on main page 2",
        s.list_runs(
            p,
            RunFilter {
                state: None,
                branch: Some("main".into())
            },
            page(2, 2)
        )
    );
    call!(
        "open runs on dev",
        s.list_runs(
            p,
            RunFilter {
                state: Some(RunState::Open),
                branch: Some("dev".into())
            },
            page(1, 10)
        )
    );
    call!(
        "runs on no such branch",
        s.list_runs(
            p,
            RunFilter {
                state: None,
                branch: Some("nope".into())
            },
            page(1, 10)
        )
    );
    call!(
        "patch run meta",
        s.update_run(
            r5,
            RunPatch {
                meta: RunMetaPatch {
                    branch: Some(Some("tmp".into())),
                    commit: Some(Some("FFFF00".into())),
                    build_url: Some(Some("http://ci.local/5".into())),
                    environment: None,
                },
                ..RunPatch::default()
            }
        )
    );
    call!(
        "patch run meta clears",
        s.update_run(
            r5,
            RunPatch {
                meta: RunMetaPatch {
                    branch: Some(None),
                    commit: Some(None),
                    build_url: None,
                    environment: Some(Some("ci".into())),
                },
                ..RunPatch::default()
            }
        )
    );
    call!("get run with meta", s.get_run(r1));

    // --- results: bulks, a PATCH and an import, with retries
    call!(
        "triage bulk r1",
        s.record_bulk(plays(
            r1,
            alice,
            110,
            &[
                (c[0], Passed, None, Some(100)),
                (c[1], Failed, Some("expected 3 but got 4"), Some(250)),
                (
                    c[2],
                    Failed,
                    Some("NullPointerException at Foo.java:12"),
                    Some(40)
                ),
                (c[3], Passed, None, Some(10)),
                (c[4], Blocked, None, None),
                (c[5], Passed, None, Some(70)),
                (c[6], Failed, Some("timeout after 1.5s"), Some(1500)),
            ]
        ))
    );
    call!(
        "triage bulk r2",
        s.record_bulk(plays(
            r2,
            bob,
            111,
            &[
                (c[0], Failed, Some("expected 7 but got 9"), Some(120)),
                (c[1], Failed, Some("expected 1 but got 2"), Some(260)),
                (c[2], Passed, None, Some(35)),
                (c[3], Retest, None, Some(12)),
                (c[5], Failed, Some("flaky socket 0x7ffe12ab"), Some(80)),
                (c[5], Passed, None, Some(75)),
                (c[7], Passed, None, Some(5)),
                (
                    c[6],
                    Failed,
                    Some("user 123e4567-e89b-12d3-a456-426614174000 not found"),
                    None
                ),
            ]
        ))
    );
    let r2_results = ok(&call!(
        "r2 results",
        s.list_results(
            r2,
            ResultQuery {
                assignee: None,
                statuses: vec![],
                after: None,
                q: None,
                page: page(1, 20),
                key: None,
                output: false,
            }
        )
    ));
    let of = |case: CaseId| {
        r2_results
            .items
            .iter()
            .find(|r| r.case_id == case)
            .map(|r| r.id)
    };
    if let Some(res) = of(c[3]) {
        call!(
            "r2 patch failed",
            s.record_result(
                r2,
                res,
                exec(Failed, Some("oops"), Some(30)),
                alice,
                at(112)
            )
        );
        call!(
            "r2 patch passed",
            s.record_result(r2, res, exec(Passed, None, Some(25)), alice, at(113))
        );
    }
    call!("r2 after patches", s.get_run(r2));
    call!(
        "triage import r3",
        s.import_results(ImportRequest {
            run: r3,
            actor: alice,
            now: at(114),
            entries: vec![
                KeyedEntry {
                    index: 0,
                    ..keyed(0, "t0", Failed)
                },
                KeyedEntry {
                    index: 0,
                    ..keyed(0, "t0", Passed)
                },
                keyed(1, "t1", Failed),
                keyed(2, "t-new", Passed),
            ],
            create_missing: true,
            dry_run: false,
            partial: false,
            idempotency: None,
        })
    );
    call!(
        "triage bulk r4",
        s.record_bulk(plays(
            r4,
            alice,
            115,
            &[
                (c[0], Passed, None, Some(90)),
                (c[1], Passed, None, Some(240)),
            ]
        ))
    );
    call!(
        "triage bulk r5",
        s.record_bulk(plays(
            r5,
            alice,
            116,
            &[(c[0], Failed, Some("boom"), Some(1))]
        ))
    );
    call!(
        "triage bulk r6",
        s.record_bulk(plays(
            r6,
            alice,
            117,
            &[
                (c[0], Passed, None, Some(110)),
                (c[1], Failed, Some("expected 5 but got 6"), Some(300)),
                (c[2], NotTested, None, None),
            ]
        ))
    );
    call!(
        "runs after writes",
        s.list_runs(p, RunFilter::default(), page(1, 20))
    );

    // --- compare
    call!(
        "compare r2 auto",
        s.compare_runs(r2, BaselineChoice::Auto, vec![], page(1, 50))
    );
    call!(
        "compare r2 filtered",
        s.compare_runs(
            r2,
            BaselineChoice::Auto,
            vec![Category::NewFailure, Category::Fixed, Category::Unchanged],
            page(1, 50)
        )
    );
    call!(
        "compare r2 page 2",
        s.compare_runs(r2, BaselineChoice::Auto, vec![], page(2, 2))
    );
    call!(
        "compare r1 after untested r0",
        s.compare_runs(r1, BaselineChoice::Auto, vec![], page(1, 50))
    );
    call!(
        "compare r6 subset",
        s.compare_runs(r6, BaselineChoice::Auto, vec![], page(1, 50))
    );
    call!(
        "compare r4 other environment",
        s.compare_runs(r4, BaselineChoice::Auto, vec![], page(1, 50))
    );
    call!(
        "compare r3 dev",
        s.compare_runs(r3, BaselineChoice::Auto, vec![], page(1, 50))
    );
    call!(
        "compare r5 no branch",
        s.compare_runs(r5, BaselineChoice::Auto, vec![], page(1, 50))
    );
    call!(
        "compare r2 with r3",
        s.compare_runs(r2, BaselineChoice::Run(r3), vec![], page(1, 50))
    );
    call!(
        "compare r1 with later r6",
        s.compare_runs(r1, BaselineChoice::Run(r6), vec![], page(1, 50))
    );
    call!(
        "compare r2 with itself",
        s.compare_runs(r2, BaselineChoice::Run(r2), vec![], page(1, 50))
    );
    call!(
        "compare r2 with another project's",
        s.compare_runs(r2, BaselineChoice::Run(elsewhere), vec![], page(1, 50))
    );
    call!(
        "compare r2 with no such run",
        s.compare_runs(
            r2,
            BaselineChoice::Run(RunId::from_db(99_999)),
            vec![],
            page(1, 50)
        )
    );
    call!(
        "compare no such run",
        s.compare_runs(
            RunId::from_db(99_999),
            BaselineChoice::Auto,
            vec![],
            page(1, 50)
        )
    );

    // --- failures
    call!(
        "failures r2",
        s.run_failures(r2, BaselineChoice::Auto, 20, page(1, 10))
    );
    call!(
        "failures r2 one per group",
        s.run_failures(r2, BaselineChoice::Auto, 1, page(1, 10))
    );
    call!(
        "failures r2 page 2",
        s.run_failures(r2, BaselineChoice::Auto, 20, page(2, 1))
    );
    call!(
        "failures r2 against r5",
        s.run_failures(r2, BaselineChoice::Run(r5), 20, page(1, 10))
    );
    call!(
        "failures r1 no baseline",
        s.run_failures(r1, BaselineChoice::Auto, 20, page(1, 10))
    );
    call!(
        "failures bad baseline",
        s.run_failures(r2, BaselineChoice::Run(elsewhere), 20, page(1, 10))
    );
    call!(
        "failures no such run",
        s.run_failures(
            RunId::from_db(99_999),
            BaselineChoice::Auto,
            20,
            page(1, 10)
        )
    );

    // --- quarantine and the gate
    call!("gate r2", s.gate_facts(r2, BaselineChoice::Auto, true));
    call!(
        "quarantine c1",
        s.set_quarantine(
            c[1],
            Some(Quarantine {
                reason: "flaky on CI".into(),
                by: alice,
                at: at(120)
            })
        )
    );
    call!(
        "quarantine c0",
        s.set_quarantine(
            c[0],
            Some(Quarantine {
                reason: "known".into(),
                by: alice,
                at: at(121)
            })
        )
    );
    call!(
        "quarantine c1 again",
        s.set_quarantine(
            c[1],
            Some(Quarantine {
                reason: "still flaky".into(),
                by: bob,
                at: at(122)
            })
        )
    );
    call!("get quarantined case", s.get_case(c[1]));
    call!(
        "quarantined cases",
        s.list_cases(p, quarantined(Some(true)), page(1, 10))
    );
    call!(
        "cases not quarantined",
        s.list_cases(p, quarantined(Some(false)), page(1, 10))
    );
    call!(
        "gate r2 ignoring quarantined",
        s.gate_facts(r2, BaselineChoice::Auto, true)
    );
    call!(
        "gate r2 counting quarantined",
        s.gate_facts(r2, BaselineChoice::Auto, false)
    );
    call!(
        "gate r2 against r4",
        s.gate_facts(r2, BaselineChoice::Run(r4), true)
    );
    call!(
        "gate bad baseline",
        s.gate_facts(r2, BaselineChoice::Run(r2), true)
    );
    call!(
        "gate no such run",
        s.gate_facts(RunId::from_db(99_999), BaselineChoice::Auto, true)
    );
    call!("release c0", s.set_quarantine(c[0], None));
    call!("release c0 again", s.set_quarantine(c[0], None));
    call!(
        "quarantine no such case",
        s.set_quarantine(
            CaseId::from_db(99_999),
            Some(Quarantine {
                reason: "x".into(),
                by: alice,
                at: at(123)
            })
        )
    );
    call!(
        "quarantined after release",
        s.list_cases(p, quarantined(Some(true)), page(1, 10))
    );

    // --- more history on main: flips, retries, durations
    let statuses = [Failed, Passed, Failed, Passed, Passed];
    for (i, st) in statuses.iter().enumerate() {
        let i = i as i64;
        let r = ok(&call!(
            "history run",
            s.create_run(
                p,
                new_run(&format!("h{i}"), main_linux(), None),
                at(130 + i)
            )
        ))
        .0
        .id;
        call!(
            "history bulk",
            s.record_bulk(plays(
                r,
                alice,
                131 + i,
                &[
                    (c[0], *st, Some("flip"), Some(100 + 10 * i)),
                    (c[1], Failed, Some("always"), Some(200 - i)),
                    (c[2], Passed, None, Some(50 + i * i)),
                    (c[3], Failed, Some("retry"), None),
                    (c[3], Passed, None, Some(20)),
                    (
                        c[4],
                        if i % 2 == 0 { Blocked } else { Passed },
                        None,
                        Some(7)
                    ),
                ]
            ))
        );
    }
    call!("flaky", s.flaky_cases(p, flaky(None, 30, 0.1), page(1, 50)));
    call!(
        "flaky on main",
        s.flaky_cases(p, flaky(Some("main"), 30, 0.1), page(1, 50))
    );
    call!(
        "flaky window 3",
        s.flaky_cases(p, flaky(Some("main"), 3, 0.1), page(1, 50))
    );
    call!(
        "flaky threshold 0.9",
        s.flaky_cases(p, flaky(None, 30, 0.9), page(1, 50))
    );
    call!(
        "flaky page 2",
        s.flaky_cases(p, flaky(None, 30, 0.0), page(2, 1))
    );
    call!(
        "flaky on dev",
        s.flaky_cases(p, flaky(Some("dev"), 30, 0.1), page(1, 50))
    );
    call!(
        "flaky no such project",
        s.flaky_cases(
            ProjectId::from_db(99_999),
            flaky(None, 30, 0.1),
            page(1, 50)
        )
    );
    call!(
        "durations slowest",
        s.durations(p, durations(None, 30, DurationSort::Slowest), page(1, 50))
    );
    call!(
        "durations regressed window 3",
        s.durations(p, durations(None, 3, DurationSort::Regressed), page(1, 50))
    );
    call!(
        "durations on main window 2",
        s.durations(
            p,
            durations(Some("main"), 2, DurationSort::Slowest),
            page(1, 3)
        )
    );
    call!(
        "durations page 2",
        s.durations(
            p,
            durations(Some("main"), 2, DurationSort::Regressed),
            page(2, 3)
        )
    );
    call!(
        "durations no such project",
        s.durations(
            ProjectId::from_db(99_999),
            durations(None, 30, DurationSort::Slowest),
            page(1, 50)
        )
    );
    call!("trends", s.trends(p, None, 30));
    call!("trends on main", s.trends(p, Some("main".into()), 4));
    call!("trends on nothing", s.trends(p, Some("nope".into()), 30));
    call!(
        "trends no such project",
        s.trends(ProjectId::from_db(99_999), None, 30)
    );
    call!("case across runs", s.case_results(c[0], None, page(1, 50)));
    call!(
        "case across runs on main",
        s.case_results(c[0], Some("main".into()), page(1, 3))
    );
    call!(
        "case across runs page 2",
        s.case_results(c[3], Some("main".into()), page(2, 3))
    );
    call!(
        "case across runs no such case",
        s.case_results(CaseId::from_db(99_999), None, page(1, 50))
    );

    // --- a deleted case: runs keep it
    call!("delete triage case", s.delete_case(c[6]));
    call!(
        "compare after delete",
        s.compare_runs(r2, BaselineChoice::Auto, vec![], page(1, 50))
    );
    call!(
        "failures after delete",
        s.run_failures(r2, BaselineChoice::Auto, 20, page(1, 10))
    );
    call!(
        "case across runs deleted",
        s.case_results(c[6], None, page(1, 50))
    );
    call!(
        "quarantine deleted case",
        s.set_quarantine(
            c[6],
            Some(Quarantine {
                reason: "gone".into(),
                by: alice,
                at: at(140)
            })
        )
    );
}
