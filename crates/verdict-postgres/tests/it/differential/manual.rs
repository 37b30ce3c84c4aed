//! Part six: manual testing. Step results and defects through every
//! execution path, assignment (each target, its errors), a tester's work,
//! sections (wildcards in names), case and result filters, the export,
//! project and user changes, and case fields from an import.

use verdict_store::*;

use super::helpers::*;

fn manual(status: Status) -> Execution {
    Execution {
        step_results: vec![
            StepResult {
                status: Status::Passed,
                actual: None,
            },
            StepResult {
                status,
                actual: Some("the page is blank".into()),
            },
        ],
        defects: vec!["SHOP-7".into(), "SHOP-8".into()],
        ..exec(status, Some("by hand"), Some(90))
    }
}

pub async fn run(s: &dyn Store, log: &mut Log) {
    let lead = ok(&s
        .create_user(
            NewUser {
                name: "Lead".into(),
                email: "lead@manual.example".into(),
                password_hash: None,
                admin: false,
            },
            at(0),
        )
        .await);
    let tester = ok(&s
        .create_user(
            NewUser {
                name: "Tess".into(),
                email: "tess@manual.example".into(),
                password_hash: None,
                admin: false,
            },
            at(0),
        )
        .await);
    let r = s
        .create_project(
            NewProject {
                name: "Manual".into(),
                defect_url_template: Some("https://jira.example/browse/{id}".into()),
            },
            lead.id,
            at(0),
        )
        .await;
    log.note("create_project template", &r);
    let p = ok(&r).id;
    let r = s.set_member(p, tester.id, Role::Tester).await;
    log.note("set_member", &r);
    let suites = [
        Some("Checkout"),
        Some("Checkout / Payments"),
        Some("Checkout2"),
        None,
        Some("50%_off"),
        Some("50%_off / x"),
        Some("50ab_off / x"),
        Some("checkout / lower"),
    ];
    let new: Vec<NewCase> = suites
        .iter()
        .enumerate()
        .map(|(i, suite)| {
            let mut c = case(&format!("manual {i}"), Some(&format!("m{i}")), *suite);
            if i % 2 == 0 {
                c.details.priority = Some(Some(Priority::High));
            }
            c
        })
        .collect();
    let r = s.upsert_cases(p, new, at(1)).await;
    log.note("upsert_cases", &r);
    let r = s.list_sections(p).await;
    log.note("list_sections", &r);
    for section in ["Checkout", "50%_off", "Check", "nothing"] {
        let r = s.section_case_ids(p, section.into()).await;
        log.note(&format!("section_case_ids {section}"), &r);
    }
    let r = s
        .section_case_ids(ProjectId::from_db(999_999), "x".into())
        .await;
    log.note("section_case_ids unknown project", &r);
    for (suite, priority) in [
        (Some("Checkout"), None),
        (None, Some(Priority::High)),
        (Some("50%_off"), Some(Priority::High)),
    ] {
        let q = CaseQuery {
            suite: suite.map(Into::into),
            priority,
            ..CaseQuery::default()
        };
        let r = s.list_cases(p, q, page(1, 2)).await;
        log.note(&format!("list_cases {suite:?} {priority:?}"), &r);
    }

    let (run, _) = ok(&s
        .create_run(
            p,
            NewRun {
                name: "manual run".into(),
                description: None,
                key: None,
                meta: RunMeta::default(),
                case_ids: None,
            },
            at(2),
        )
        .await);
    let all = ok(&s
        .list_results(
            run.id,
            ResultQuery {
                statuses: vec![],
                after: None,
                q: None,
                assignee: None,
                page: page(1, 100),
                key: None,
                output: false,
            },
        )
        .await)
    .items;
    let ids: Vec<ResultId> = all.iter().map(|r| r.id).collect();

    // Executions: one by one, in bulk (with and without), by import.
    let r = s
        .record_result(run.id, ids[0], manual(Status::Failed), tester.id, at(3))
        .await;
    log.note("record_result manual", &r);
    let r = s
        .record_result(
            run.id,
            ids[1],
            Execution {
                status: Status::NotTested,
                ..manual(Status::Failed)
            },
            tester.id,
            at(3),
        )
        .await;
    log.note("record_result not_tested", &r);
    let r = s
        .record_bulk(BulkRequest {
            run: run.id,
            actor: tester.id,
            now: at(4),
            entries: vec![
                BulkEntry {
                    index: 0,
                    case_id: all[2].case_id,
                    execution: manual(Status::Blocked),
                },
                entry(1, all[3].case_id, Status::Passed, None),
                BulkEntry {
                    index: 2,
                    case_id: all[4].case_id,
                    execution: manual(Status::Retest),
                },
            ],
            partial: false,
            refused: vec![],
            idempotency: None,
        })
        .await;
    log.note("record_bulk mixed", &r);
    let r = s
        .record_bulk(BulkRequest {
            run: run.id,
            actor: tester.id,
            now: at(5),
            entries: vec![entry(0, all[4].case_id, Status::Passed, None)],
            partial: false,
            refused: vec![],
            idempotency: None,
        })
        .await;
    log.note("record_bulk plain over manual", &r);
    let mut details = keyed(0, "m5", Status::Failed);
    details.execution = manual(Status::Failed);
    details.details = DetailsPatch {
        preconditions: Some(Some("signed in".into())),
        refs: Some(vec!["REQ-9".into()]),
        ..DetailsPatch::default()
    };
    let mut created = keyed(1, "m-new", Status::Passed);
    created.details.priority = Some(Some(Priority::Critical));
    let import = |dry_run: bool| ImportRequest {
        run: run.id,
        actor: tester.id,
        now: at(6),
        entries: vec![details.clone(), created.clone()],
        create_missing: true,
        dry_run,
        partial: false,
        idempotency: None,
    };
    let r = s.import_results(import(true)).await;
    log.note("import dry run with details", &r);
    let r = s.get_case(all[5].case_id).await;
    log.note("case after dry run", &r);
    let r = s.import_results(import(false)).await;
    log.note("import with details", &r);
    let r = s.get_case(all[5].case_id).await;
    log.note("case after import", &r);
    for id in &ids[..6] {
        let r = s.result_history(run.id, *id, page(1, 10)).await;
        log.note("result_history", &r);
    }

    // Assignment.
    let targets = [
        AssignTarget::Results(vec![ids[0], ids[3]]),
        AssignTarget::Results(vec![ids[0], ResultId::from_db(999_999)]),
        AssignTarget::Suite("Checkout".into()),
        AssignTarget::Suite("50%_off".into()),
    ];
    for target in targets {
        let r = s
            .assign_results(run.id, target.clone(), Some(tester.id))
            .await;
        log.note(&format!("assign_results {target:?}"), &r);
    }
    let r = s
        .assign_results(run.id, AssignTarget::Unassigned, Some(lead.id))
        .await;
    log.note("assign_results unassigned", &r);
    let r = s
        .assign_results(run.id, AssignTarget::Results(vec![ids[1]]), None)
        .await;
    log.note("assign_results nobody", &r);
    let r = s
        .assign_results(
            RunId::from_db(999_999),
            AssignTarget::Unassigned,
            Some(lead.id),
        )
        .await;
    log.note("assign_results unknown run", &r);
    for assignee in [
        Some(Assignee::User(tester.id)),
        Some(Assignee::User(lead.id)),
        Some(Assignee::Nobody),
    ] {
        let q = ResultQuery {
            statuses: vec![],
            after: None,
            q: None,
            assignee,
            page: page(1, 3),
            key: None,
            output: false,
        };
        let r = s.list_results(run.id, q).await;
        log.note(&format!("list_results {assignee:?}"), &r);
    }
    let q = ResultQuery {
        statuses: vec![Status::Failed, Status::NotTested],
        after: Some(ids[0]),
        q: Some("MANUAL".into()),
        assignee: Some(Assignee::User(tester.id)),
        page: page(1, 10),
        key: None,
        output: false,
    };
    let r = s.list_results(run.id, q).await;
    log.note("list_results filtered", &r);
    for who in [tester.id, lead.id] {
        let r = s.my_work(who, page(1, 4)).await;
        log.note("my_work", &r);
        let r = s.my_work(who, page(2, 4)).await;
        log.note("my_work page 2", &r);
    }
    let r = s.export_rows(run.id).await;
    log.note("export_rows", &r);
    let r = s.export_rows(RunId::from_db(999_999)).await;
    log.note("export_rows unknown", &r);
    let r = s.close_run(run.id, at(7)).await;
    log.note("close_run", &r);
    let r = s
        .assign_results(run.id, AssignTarget::Unassigned, Some(lead.id))
        .await;
    log.note("assign_results closed", &r);
    let r = s.my_work(tester.id, page(1, 10)).await;
    log.note("my_work after close", &r);

    // Project and user changes.
    let patches = [
        ProjectPatch {
            name: Some("Manual QA".into()),
            defect_url_template: None,
        },
        ProjectPatch {
            name: None,
            defect_url_template: Some(None),
        },
    ];
    for patch in patches {
        let r = s.update_project(p, patch).await;
        log.note("update_project", &r);
    }
    let r = s
        .update_project(ProjectId::from_db(999_999), ProjectPatch::default())
        .await;
    log.note("update_project unknown", &r);
    let r = s.get_project(p).await;
    log.note("get_project", &r);
    let r = s
        .update_user(
            tester.id,
            UserPatch {
                name: Some("Tessa".into()),
                admin: Some(true),
            },
        )
        .await;
    log.note("update_user", &r);
    let r = s
        .update_user(UserId::from_db(999_999), UserPatch::default())
        .await;
    log.note("update_user unknown", &r);
    for n in [201, 202] {
        let r = s
            .create_token(tester.id, format!("t{n}"), hash(n), at(8))
            .await;
        log.note("create_token", &r);
    }
    let r = s.delete_user_tokens(tester.id).await;
    log.note("delete_user_tokens", &r);
    let r = s.delete_user_tokens(tester.id).await;
    log.note("delete_user_tokens again", &r);
}
