//! Attachments, test output and retention: attachment rows on the
//! executions they belong to (idempotent re-adds, closed runs, unknown
//! ids), output on every execution path and in listings on request, the
//! result of one key, and prunes that take old closed runs with everything
//! hanging off them and give the space back.

use std::sync::Arc;

use super::support::*;
use crate::*;

/// A digest made of one repeated hex digit.
fn digest(c: char) -> String {
    std::iter::repeat_n(c, 64).collect()
}

fn file(name: &str, sha: char, size: u64) -> NewAttachment {
    NewAttachment {
        name: name.into(),
        content_type: "text/plain".into(),
        size,
        sha256: digest(sha),
    }
}

fn with_output(status: Status, output: Option<&str>) -> Execution {
    Execution {
        output: output.map(str::to_string),
        ..exec(status, None)
    }
}

fn keyed(index: usize, key: &str, execution: Execution) -> KeyedEntry {
    KeyedEntry {
        index,
        key: key.into(),
        title: format!("case {key}"),
        suite: None,
        execution,
        details: DetailsPatch::default(),
    }
}

fn by_key(key: &str, output: bool) -> ResultQuery {
    ResultQuery {
        key: Some(key.into()),
        output,
        ..query(vec![], None, page(1, 50))
    }
}

pub async fn attachments_add_list_get_and_delete(s: Arc<dyn Store>) {
    let s = s.as_ref();
    let (owner, p, _) = project_with_cases(s, 2).await;
    let run = run_over_all(s, p, "r").await;
    let results = everything(s, run.id).await;
    let (first, second) = (results[0].id, results[1].id);

    let added = s
        .add_attachments(
            run.id,
            first,
            vec![file("shot.png", 'a', 10), file("log.txt", 'b', 20)],
            owner,
            t(5),
        )
        .await
        .expect("add");
    assert_eq!(added.len(), 2);
    let shot = &added[0];
    assert_eq!(
        (
            shot.project_id,
            shot.run_id,
            shot.result_id,
            shot.execution,
            shot.name.as_str(),
            shot.content_type.as_str(),
            shot.size,
            shot.sha256.clone(),
            shot.created_by,
            shot.created_at,
        ),
        (
            p,
            run.id,
            first,
            0,
            "shot.png",
            "text/plain",
            10,
            digest('a'),
            owner,
            t(5)
        ),
        "no execution yet: execution 0"
    );
    assert!(added[1].id > shot.id, "ids increase in the order given");
    assert_eq!(s.get_attachment(shot.id).await.expect("get"), *shot);
    assert_eq!(
        s.list_attachments(run.id, first).await.expect("list"),
        added
    );
    assert_eq!(
        s.list_attachments(run.id, second).await.expect("list"),
        vec![]
    );

    let named = s
        .referenced_digests(vec![digest('a'), digest('c'), digest('b'), digest('a')])
        .await
        .expect("digests");
    let mut named = named;
    named.sort();
    assert_eq!(named, vec![digest('a'), digest('b')]);

    s.delete_attachment(shot.id).await.expect("delete");
    assert_not_found(s.get_attachment(shot.id).await);
    assert_not_found(s.delete_attachment(shot.id).await);
    assert_eq!(
        s.list_attachments(run.id, first).await.expect("list"),
        vec![added[1].clone()]
    );
    assert_eq!(
        s.referenced_digests(vec![digest('a')])
            .await
            .expect("digests"),
        Vec::<String>::new(),
        "no row names a deleted attachment's digest"
    );
    // An id is never given again, even after its row is gone.
    let again = s
        .add_attachments(run.id, first, vec![file("shot.png", 'a', 10)], owner, t(6))
        .await
        .expect("add again");
    assert!(again[0].id > added[1].id, "{again:?}");
}

pub async fn attachments_belong_to_the_latest_execution_and_re_adds_are_idempotent(
    s: Arc<dyn Store>,
) {
    let s = s.as_ref();
    let (owner, p, _) = project_with_cases(s, 1).await;
    let run = run_over_all(s, p, "r").await;
    let id = everything(s, run.id).await[0].id;
    let add = |files: Vec<NewAttachment>| s.add_attachments(run.id, id, files, owner, t(5));

    let before = add(vec![file("a.txt", 'a', 1)]).await.expect("add")[0].clone();
    assert_eq!(before.execution, 0);
    // A retry, and the same file twice in one request: the existing row.
    let retried = add(vec![file("a.txt", 'a', 1), file("a.txt", 'a', 1)])
        .await
        .expect("retry");
    assert_eq!(retried, vec![before.clone(), before.clone()]);
    // Same name, other bytes: another file.
    let other = add(vec![file("a.txt", 'b', 1)]).await.expect("other")[0].clone();
    assert_ne!(other.id, before.id);

    for (n, status) in [(1, Status::Failed), (2, Status::Passed)] {
        s.record_result(run.id, id, exec(status, None), owner, t(10))
            .await
            .expect("record");
        let now = add(vec![file("a.txt", 'a', 1)]).await.expect("add")[0].clone();
        assert_eq!(now.execution, n, "the result's {n}th execution");
        assert_ne!(now.id, before.id, "a new execution gets its own row");
        assert_eq!(
            add(vec![file("a.txt", 'a', 1)]).await.expect("retry"),
            vec![now]
        );
    }
    let executions: Vec<u32> = s
        .list_attachments(run.id, id)
        .await
        .expect("list")
        .iter()
        .map(|a| a.execution)
        .collect();
    assert_eq!(executions, [0, 0, 1, 2]);
    // A bulk execution counts too.
    s.record_bulk(bulk(
        run.id,
        owner,
        vec![entry(
            0,
            everything(s, run.id).await[0].case_id,
            Status::Passed,
            "",
        )],
        false,
    ))
    .await
    .expect("bulk");
    assert_eq!(
        add(vec![file("b", 'c', 1)]).await.expect("add")[0].execution,
        3
    );
}

pub async fn attachments_refuse_closed_runs_and_unknown_ids(s: Arc<dyn Store>) {
    let s = s.as_ref();
    let (owner, p, _) = project_with_cases(s, 1).await;
    let run = run_over_all(s, p, "r").await;
    let other = run_over_all(s, p, "other").await;
    let id = everything(s, run.id).await[0].id;
    let elsewhere = everything(s, other.id).await[0].id;
    let files = || vec![file("a.txt", 'a', 1)];

    let unknown_run = RunId::from_db(UNKNOWN);
    assert_not_found(
        s.add_attachments(unknown_run, id, files(), owner, t(1))
            .await,
    );
    assert_not_found(
        s.add_attachments(run.id, elsewhere, files(), owner, t(1))
            .await,
    );
    let unknown_result = ResultId::from_db(UNKNOWN);
    assert_not_found(
        s.add_attachments(run.id, unknown_result, files(), owner, t(1))
            .await,
    );
    assert_not_found(s.list_attachments(unknown_run, id).await);
    assert_not_found(s.list_attachments(run.id, elsewhere).await);
    assert_not_found(s.get_attachment(AttachmentId::from_db(UNKNOWN)).await);
    assert_not_found(s.delete_attachment(AttachmentId::from_db(UNKNOWN)).await);

    let kept = s
        .add_attachments(run.id, id, files(), owner, t(1))
        .await
        .expect("add")[0]
        .clone();
    s.close_run(run.id, t(2)).await.expect("close");
    assert_conflict(
        s.add_attachments(run.id, id, vec![file("b.txt", 'b', 1)], owner, t(3))
            .await,
        "run_closed",
    );
    assert_conflict(
        s.add_attachments(run.id, id, files(), owner, t(3)).await,
        "run_closed",
    );
    assert_eq!(
        s.list_attachments(run.id, id).await.expect("list"),
        vec![kept.clone()],
        "a closed run's attachments are still listed"
    );
    // Deleting frees space, so it is allowed in a closed run.
    s.delete_attachment(kept.id).await.expect("delete");
    assert_eq!(s.list_attachments(run.id, id).await.expect("list"), vec![]);
}

pub async fn output_round_trips_on_every_execution_path(s: Arc<dyn Store>) {
    let s = s.as_ref();
    let (owner, p, cases) = project_with_cases(s, 3).await;
    let run = run_over_all(s, p, "r").await;
    let results = everything(s, run.id).await;
    let (a, b) = (results[0].id, results[1].id);

    // A single execution.
    let text = "line 1\nline 2 ✓\n";
    let recorded = s
        .record_result(
            run.id,
            a,
            with_output(Status::Failed, Some(text)),
            owner,
            t(1),
        )
        .await
        .expect("record");
    assert_eq!(recorded.output.as_deref(), Some(text));
    assert_eq!(
        s.get_result(run.id, a)
            .await
            .expect("get")
            .output
            .as_deref(),
        Some(text)
    );
    // A bulk of two executions of b (only the last is the result's) and
    // one of a without output, which clears the result's output.
    let entries = vec![
        BulkEntry {
            index: 0,
            case_id: cases[1],
            execution: with_output(Status::Failed, Some("first")),
        },
        BulkEntry {
            index: 1,
            case_id: cases[1],
            execution: with_output(Status::Passed, Some("second")),
        },
        BulkEntry {
            index: 2,
            case_id: cases[0],
            execution: with_output(Status::Passed, None),
        },
    ];
    s.record_bulk(bulk(run.id, owner, entries, false))
        .await
        .expect("bulk");
    assert_eq!(
        s.get_result(run.id, b)
            .await
            .expect("get")
            .output
            .as_deref(),
        Some("second")
    );
    assert_eq!(s.get_result(run.id, a).await.expect("get").output, None);
    let outputs =
        |h: Vec<HistoryEntry>| -> Vec<Option<String>> { h.into_iter().map(|e| e.output).collect() };
    assert_eq!(
        outputs(history(s, run.id, b).await),
        [Some("second".into()), Some("first".into())]
    );
    assert_eq!(
        outputs(history(s, run.id, a).await),
        [None, Some(text.into())],
        "the history keeps each execution's own output"
    );
    // An import, by key, with and without output.
    let import = ImportRequest {
        run: run.id,
        actor: owner,
        now: t(20),
        entries: vec![
            keyed(
                0,
                "k2",
                with_output(Status::Failed, Some("from the report")),
            ),
            keyed(1, "k1", with_output(Status::Passed, None)),
        ],
        create_missing: false,
        dry_run: false,
        partial: false,
        idempotency: None,
    };
    s.import_results(import).await.expect("import");
    let c = results[2].id;
    assert_eq!(
        s.get_result(run.id, c)
            .await
            .expect("get")
            .output
            .as_deref(),
        Some("from the report")
    );
    assert_eq!(s.get_result(run.id, b).await.expect("get").output, None);
    assert_eq!(
        outputs(history(s, run.id, c).await),
        [Some("from the report".into())]
    );

    // Listings read output only when asked, on every listing path.
    let plain = everything(s, run.id).await;
    assert!(plain.iter().all(|r| r.output.is_none()), "{plain:?}");
    let asked = ResultQuery {
        output: true,
        ..query(vec![], None, page(1, 50))
    };
    let listed = s.list_results(run.id, asked.clone()).await.expect("list");
    let got: Vec<Option<&str>> = listed.items.iter().map(|r| r.output.as_deref()).collect();
    assert_eq!(got, [None, None, Some("from the report")]);
    let failed = ResultQuery {
        statuses: vec![Status::Failed],
        ..asked.clone()
    };
    let listed = s.list_results(run.id, failed).await.expect("list");
    assert_eq!(listed.items.len(), 1);
    assert_eq!(listed.items[0].output.as_deref(), Some("from the report"));
    let searched = ResultQuery {
        q: Some("case 2".into()),
        ..asked
    };
    let listed = s.list_results(run.id, searched).await.expect("search");
    assert_eq!(listed.items[0].output.as_deref(), Some("from the report"));
}

pub async fn results_filter_by_key(s: Arc<dyn Store>) {
    let s = s.as_ref();
    let (owner, p, cases) = project_with_cases(s, 3).await;
    let run = run_over_all(s, p, "r").await;
    let results = everything(s, run.id).await;
    s.record_result(
        run.id,
        results[1].id,
        with_output(Status::Failed, Some("out")),
        owner,
        t(1),
    )
    .await
    .expect("record");

    let found = s
        .list_results(run.id, by_key("k1", false))
        .await
        .expect("key");
    assert_eq!((found.total, found.items.len()), (1, 1));
    assert_eq!(found.items[0].id, results[1].id);
    assert_eq!(found.items[0].output, None);
    let found = s
        .list_results(run.id, by_key("k1", true))
        .await
        .expect("key");
    assert_eq!(found.items[0].output.as_deref(), Some("out"));
    // Exactly that key: not a prefix, not a title, not another case's.
    for key in ["k", "K1", "k1 ", "case 1", "nope"] {
        let none = s
            .list_results(run.id, by_key(key, false))
            .await
            .expect("key");
        assert_eq!((none.total, none.items.len()), (0, 0), "{key:?}");
    }
    // With a status filter: the key's result only if it matches.
    let passed = ResultQuery {
        statuses: vec![Status::Passed],
        ..by_key("k1", false)
    };
    assert_eq!(s.list_results(run.id, passed).await.expect("key").total, 0);
    // A deleted case no longer answers to its key, and a new case with
    // the key (not in this run) is not this run's.
    s.delete_case(cases[2]).await.expect("delete");
    let none = s
        .list_results(run.id, by_key("k2", false))
        .await
        .expect("key");
    assert_eq!(none.total, 0);
    s.create_case(p, new_case("again", Some("k2")), t(2))
        .await
        .expect("case");
    let none = s
        .list_results(run.id, by_key("k2", false))
        .await
        .expect("key");
    assert_eq!(none.total, 0);
    // Another project's case with the same key is not this run's either.
    let other = s
        .create_project("Q".into(), owner, t(0))
        .await
        .expect("project")
        .id;
    s.create_case(other, new_case("q", Some("k0")), t(0))
        .await
        .expect("case");
    let one = s
        .list_results(run.id, by_key("k0", false))
        .await
        .expect("key");
    assert_eq!(
        one.items.iter().map(|r| r.id).collect::<Vec<_>>(),
        [results[0].id]
    );
}

/// A run of `p` over every case, with one execution per result and the
/// given attachments on its first result; closed at `closed` when given.
async fn run_with_files(
    s: &dyn Store,
    owner: UserId,
    p: ProjectId,
    name: &str,
    files: Vec<NewAttachment>,
    closed: Option<Timestamp>,
) -> (RunId, Vec<Attachment>) {
    let run = run_over_all(s, p, name).await;
    let results = everything(s, run.id).await;
    let entries = results
        .iter()
        .enumerate()
        .map(|(i, r)| entry(i, r.case_id, Status::Passed, "ok"))
        .collect();
    s.record_bulk(bulk(run.id, owner, entries, false))
        .await
        .expect("bulk");
    let added = s
        .add_attachments(run.id, results[0].id, files, owner, t(3))
        .await
        .expect("attach");
    if let Some(at) = closed {
        s.close_run(run.id, at).await.expect("close");
    }
    (run.id, added)
}

fn prune_request(project: Option<ProjectId>, dry_run: bool) -> PruneRequest {
    PruneRequest {
        closed_before: t(100),
        project,
        dry_run,
    }
}

pub async fn prune_takes_old_closed_runs_with_everything(s: Arc<dyn Store>) {
    let s = s.as_ref();
    let (owner, p, _) = project_with_cases(s, 3).await;
    let q = s
        .create_project("Q".into(), owner, t(0))
        .await
        .expect("project")
        .id;
    s.upsert_cases(q, vec![new_case("q", Some("q"))], t(0))
        .await
        .expect("cases");
    // p: an old closed run (files a, shared; b, its own), an old open run
    // and a recently closed run (file a again); q: an old closed run (c).
    let (old, old_files) = run_with_files(
        s,
        owner,
        p,
        "old",
        vec![file("a", 'a', 100), file("b", 'b', 50)],
        Some(t(10)),
    )
    .await;
    let (open, _) = run_with_files(s, owner, p, "open", vec![file("a", 'a', 100)], None).await;
    let (recent, recent_files) = run_with_files(
        s,
        owner,
        p,
        "recent",
        vec![file("a", 'a', 100)],
        Some(t(100)),
    )
    .await;
    let (other, _) = run_with_files(s, owner, q, "q", vec![file("c", 'c', 7)], Some(t(10))).await;

    // Dry: counted, nothing changed.
    let dry = s
        .prune(prune_request(Some(p), true))
        .await
        .expect("dry run");
    let expected = PruneOutcome {
        runs: 1,
        results: 3,
        executions: 3,
        attachments: 2,
        attachment_bytes: 150,
        unreferenced: Vec::new(),
    };
    assert_eq!(dry, expected);
    assert_eq!(s.get_run(old).await.expect("still there").id, old);
    assert_eq!(everything(s, old).await.len(), 3);
    assert_eq!(
        s.get_attachment(old_files[1].id).await.expect("kept"),
        old_files[1]
    );
    let all_dry = s.prune(prune_request(None, true)).await.expect("dry run");
    assert_eq!(
        (
            all_dry.runs,
            all_dry.results,
            all_dry.attachments,
            all_dry.attachment_bytes
        ),
        (2, 4, 3, 157)
    );

    // One project: its old closed run goes, with its results, history and
    // files; digest a is still named by the other runs, b by nobody.
    let pruned = s.prune(prune_request(Some(p), false)).await.expect("prune");
    assert_eq!(
        pruned,
        PruneOutcome {
            unreferenced: vec![digest('b')],
            ..expected
        }
    );
    assert_not_found(s.get_run(old).await);
    for f in &old_files {
        assert_not_found(s.get_attachment(f.id).await);
    }
    let first = old_files[0].result_id;
    assert_not_found(s.get_result(old, first).await);
    assert_not_found(s.result_history(old, first, page(1, 10)).await);
    assert_not_found(s.list_attachments(old, first).await);
    // What stays is whole.
    for run in [open, recent, other] {
        assert_eq!(
            everything(s, run).await.len(),
            if run == other { 1 } else { 3 }
        );
        assert_eq!(history_len(s, run).await, if run == other { 1 } else { 3 });
    }
    assert_eq!(
        s.get_attachment(recent_files[0].id).await.expect("kept"),
        recent_files[0]
    );
    let mut named = s
        .referenced_digests(vec![digest('a'), digest('b'), digest('c')])
        .await
        .expect("digests");
    named.sort();
    assert_eq!(named, [digest('a'), digest('c')]);
    let listed = s
        .list_runs(p, RunFilter::default(), page(1, 10))
        .await
        .expect("runs");
    let mut names: Vec<String> = listed.items.into_iter().map(|r| r.name).collect();
    names.sort();
    assert_eq!(names, ["open", "recent"]);

    // Again: nothing more in p; then every project: q's old run.
    let again = s.prune(prune_request(Some(p), false)).await.expect("prune");
    assert_eq!(again, PruneOutcome::default());
    let rest = s.prune(prune_request(None, false)).await.expect("prune");
    assert_eq!(
        rest,
        PruneOutcome {
            runs: 1,
            results: 1,
            executions: 1,
            attachments: 1,
            attachment_bytes: 7,
            unreferenced: vec![digest('c')],
        }
    );
    assert_not_found(s.get_run(other).await);
    // Open runs are never pruned, however old; the recent one once it is
    // past the instant.
    let late = PruneRequest {
        closed_before: t(1_000_000),
        project: None,
        dry_run: false,
    };
    let last = s.prune(late).await.expect("prune");
    assert_eq!(
        (last.runs, last.unreferenced),
        (1, vec![]),
        "a is still on the open run"
    );
    assert_eq!(s.get_run(open).await.expect("open").id, open);
}

pub async fn reclaim_gives_pruned_space_back(s: Arc<dyn Store>) {
    let s = s.as_ref();
    let (owner, p, cases) = project_with_cases(s, 1500).await;
    let run = run_over_all(s, p, "big").await;
    // About 12 MB: each execution's output (4 KiB that do not compress,
    // as PostgreSQL would otherwise store them in a few bytes) on its
    // result and its history row.
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut noise = |n: usize| -> String {
        (0..n)
            .map(|_| {
                seed = seed
                    .wrapping_mul(6_364_136_223_846_793_005)
                    .wrapping_add(1_442_695_040_888_963_407);
                char::from(b'!' + ((seed >> 33) % 94) as u8)
            })
            .collect()
    };
    for _ in 0..2 {
        let entries = cases
            .iter()
            .enumerate()
            .map(|(i, c)| BulkEntry {
                index: i,
                case_id: *c,
                execution: with_output(Status::Passed, Some(&noise(4096))),
            })
            .collect();
        s.record_bulk(bulk(run.id, owner, entries, false))
            .await
            .expect("bulk");
    }
    s.close_run(run.id, t(10)).await.expect("close");
    s.reclaim().await.expect("reclaim before");
    let before = s.database_bytes().await.expect("bytes");
    let pruned = s.prune(prune_request(None, false)).await.expect("prune");
    assert_eq!((pruned.runs, pruned.executions), (1, 3000));
    s.reclaim().await.expect("reclaim");
    let after = s.database_bytes().await.expect("bytes");
    assert!(
        after + 8_000_000 < before,
        "pruning about 12 MB of output frees it: {before} bytes before, {after} after"
    );
    // Reclaiming again is harmless, and the store still works.
    s.reclaim().await.expect("reclaim again");
    let run = run_over_all(s, p, "next").await;
    assert_eq!(everything(s, run.id).await.len(), 1500);
}
