//! Part seven: attachments, output and retention. Attachment rows on each
//! execution (idempotent re-adds, closed runs, unknown ids), output on
//! every execution path and in listings when asked, the result of a key,
//! digests still named, and prunes (dry, one project, none left).

use verdict_store::*;

use super::helpers::*;

fn file(name: &str, sha: char, size: u64) -> NewAttachment {
    NewAttachment {
        name: name.into(),
        content_type: "image/png".into(),
        size,
        sha256: std::iter::repeat_n(sha, 64).collect(),
    }
}

fn digest(sha: char) -> String {
    std::iter::repeat_n(sha, 64).collect()
}

fn printed(status: Status, output: Option<&str>) -> Execution {
    Execution {
        output: output.map(Into::into),
        ..exec(status, Some("ci"), Some(5))
    }
}

fn listing(key: Option<&str>, output: bool, statuses: Vec<Status>) -> ResultQuery {
    ResultQuery {
        statuses,
        after: None,
        q: None,
        assignee: None,
        key: key.map(Into::into),
        output,
        page: page(1, 50),
    }
}

pub async fn run(s: &dyn Store, log: &mut Log) {
    let owner = ok(&s
        .create_user(
            NewUser {
                name: "Files".into(),
                email: "files@attachments.example".into(),
                password_hash: None,
                admin: false,
            },
            at(0),
        )
        .await);
    let p = ok(&s.create_project("Files".into(), owner.id, at(0)).await).id;
    let q = ok(&s
        .create_project("Other files".into(), owner.id, at(0))
        .await)
    .id;
    let cases: Vec<CaseId> = ok(&s
        .upsert_cases(
            p,
            (0..3)
                .map(|i| case(&format!("file case {i}"), Some(&format!("f{i}")), None))
                .collect(),
            at(0),
        )
        .await)
    .into_iter()
    .map(|u| u.case.id)
    .collect();
    ok(&s
        .upsert_cases(q, vec![case("q", Some("f0"), None)], at(0))
        .await);
    let new_run = |name: &str| NewRun {
        name: name.into(),
        description: None,
        key: None,
        meta: RunMeta::default(),
        case_ids: None,
    };
    let run = ok(&s.create_run(p, new_run("files"), at(1)).await).0.id;
    let other = ok(&s.create_run(q, new_run("other files"), at(1)).await)
        .0
        .id;
    let results = ok(&s.list_results(run, listing(None, false, vec![])).await).items;
    let (a, b) = (results[0].id, results[1].id);
    let elsewhere = ok(&s.list_results(other, listing(None, false, vec![])).await).items[0].id;

    // Attachments before any execution, a retry, other bytes.
    let r = s
        .add_attachments(
            run,
            a,
            vec![file("shot.png", 'a', 10), file("log.txt", 'b', 20)],
            owner.id,
            at(2),
        )
        .await;
    log.note("add_attachments before an execution", &r);
    let first = ok(&r);
    let r = s
        .add_attachments(run, a, vec![file("shot.png", 'a', 10)], owner.id, at(3))
        .await;
    log.note("add_attachments retried", &r);
    let r = s
        .add_attachments(run, a, vec![file("shot.png", 'c', 11)], owner.id, at(3))
        .await;
    log.note("add_attachments other bytes", &r);
    let r = s.get_attachment(first[0].id).await;
    log.note("get_attachment", &r);

    // Output through each execution path, and executions numbered.
    let r = s
        .record_result(
            run,
            a,
            printed(Status::Failed, Some("stack trace ✗")),
            owner.id,
            at(4),
        )
        .await;
    log.note("record_result with output", &r);
    let r = s
        .add_attachments(run, a, vec![file("shot.png", 'a', 10)], owner.id, at(5))
        .await;
    log.note("add_attachments on execution 1", &r);
    let entries = vec![
        BulkEntry {
            index: 0,
            case_id: cases[1],
            execution: printed(Status::Failed, Some("first try")),
        },
        BulkEntry {
            index: 1,
            case_id: cases[1],
            execution: printed(Status::Passed, Some("second try")),
        },
        BulkEntry {
            index: 2,
            case_id: cases[0],
            execution: printed(Status::Passed, None),
        },
    ];
    let r = s
        .record_bulk(BulkRequest {
            run,
            actor: owner.id,
            now: at(6),
            entries,
            partial: false,
            refused: vec![],
            idempotency: None,
        })
        .await;
    log.note("record_bulk with output", &r);
    let mut report = keyed(0, "f2", Status::Failed);
    report.execution.output = Some("from the report".into());
    let r = s
        .import_results(ImportRequest {
            run,
            actor: owner.id,
            now: at(7),
            entries: vec![report, keyed(1, "f1", Status::Passed)],
            create_missing: false,
            dry_run: false,
            partial: false,
            idempotency: None,
        })
        .await;
    log.note("import_results with output", &r);
    let r = s
        .add_attachments(run, a, vec![file("trace.zip", 'd', 30)], owner.id, at(8))
        .await;
    log.note("add_attachments on execution 2", &r);
    for id in [a, b, results[2].id] {
        let r = s.get_result(run, id).await;
        log.note("get_result output", &r);
        let r = s.result_history(run, id, page(1, 10)).await;
        log.note("result_history output", &r);
    }
    for (what, query) in [
        ("list_results without output", listing(None, false, vec![])),
        ("list_results with output", listing(None, true, vec![])),
        (
            "list_results failed with output",
            listing(None, true, vec![Status::Failed]),
        ),
        ("list_results by key", listing(Some("f1"), true, vec![])),
        (
            "list_results by key and status",
            listing(Some("f1"), false, vec![Status::Failed]),
        ),
        (
            "list_results by unknown key",
            listing(Some("f"), false, vec![]),
        ),
    ] {
        let r = s.list_results(run, query).await;
        log.note(what, &r);
    }
    let r = s.list_attachments(run, a).await;
    log.note("list_attachments", &r);

    // Unknown ids and results of other runs.
    let unknown_run = RunId::from_db(999_999);
    let r = s
        .add_attachments(unknown_run, a, vec![file("x", 'e', 1)], owner.id, at(9))
        .await;
    log.note("add_attachments unknown run", &r);
    let r = s
        .add_attachments(run, elsewhere, vec![file("x", 'e', 1)], owner.id, at(9))
        .await;
    log.note("add_attachments result of another run", &r);
    let r = s.list_attachments(run, elsewhere).await;
    log.note("list_attachments result of another run", &r);
    let r = s.list_attachments(unknown_run, a).await;
    log.note("list_attachments unknown run", &r);
    let r = s.get_attachment(AttachmentId::from_db(999_999)).await;
    log.note("get_attachment unknown", &r);
    let r = s.delete_attachment(AttachmentId::from_db(999_999)).await;
    log.note("delete_attachment unknown", &r);

    // Closed: no adding, deleting is fine.
    ok(&s
        .add_attachments(
            other,
            elsewhere,
            vec![file("q.png", 'a', 10)],
            owner.id,
            at(9),
        )
        .await);
    let r = s.close_run(run, at(10)).await;
    log.note("close_run", &r);
    let r = s
        .add_attachments(run, a, vec![file("late.png", 'f', 1)], owner.id, at(11))
        .await;
    log.note("add_attachments closed run", &r);
    let r = s.delete_attachment(first[1].id).await;
    log.note("delete_attachment in a closed run", &r);
    let r = s.list_attachments(run, a).await;
    log.note("list_attachments after delete", &r);
    let r = s
        .referenced_digests(vec![
            digest('a'),
            digest('b'),
            digest('f'),
            digest('d'),
            digest('a'),
        ])
        .await;
    log.note("referenced_digests", &r);

    // Prunes: dry over every project (the earlier parts' closed runs
    // too), then this project only, then again.
    let request = |project: Option<ProjectId>, dry_run: bool| PruneRequest {
        closed_before: at(100),
        project,
        dry_run,
    };
    let r = s.prune(request(None, true)).await;
    log.note("prune dry run", &r);
    let r = s.prune(request(Some(p), false)).await;
    log.note("prune one project", &r);
    let r = s.prune(request(Some(p), false)).await;
    log.note("prune again", &r);
    let r = s.get_run(run).await;
    log.note("get_run pruned", &r);
    let r = s.get_attachment(first[0].id).await;
    log.note("get_attachment pruned", &r);
    let r = s.list_attachments(other, elsewhere).await;
    log.note("list_attachments of the open run", &r);
    let r = s
        .referenced_digests(vec![digest('a'), digest('c'), digest('d')])
        .await;
    log.note("referenced_digests after prune", &r);
    let r = s.reclaim().await;
    log.note("reclaim", &r);
    let r = s.database_bytes().await.map(|n| n > 0);
    log.note("database_bytes", &r);
}
