//! Migration 4 (triage) on a database that already holds results: what it
//! backfills (each run's elapsed sum, each result's flags from its history)
//! is what the write path keeps for the same executions.

use crate::common;

use common::{all_results, ci_user, fresh, t};
use verdict_store::*;

/// `(result id, flags)` by result id and `(run id, elapsed sum)` by run id.
async fn kept(client: &tokio_postgres::Client) -> (Vec<(i64, i16)>, Vec<(i64, i64)>) {
    let flags = client
        .query("SELECT id, flags FROM results ORDER BY id", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    let elapsed = client
        .query(
            "SELECT id, elapsed_ms + (SELECT coalesce(sum(s.elapsed_ms), 0)::bigint
                 FROM run_count_stripes s WHERE s.run_id = runs.id)
             FROM runs ORDER BY id",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    (flags, elapsed)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migration_4_backfills_what_writes_keep() {
    let Some((db, store)) = fresh().await else {
        return;
    };
    use Status::*;
    let user = ci_user(&store).await;
    let project = store
        .create_project("p".into(), user.id, t(0))
        .await
        .unwrap();
    let cases: Vec<CaseId> = store
        .upsert_cases(
            project.id,
            (0..4)
                .map(|i| NewCase {
                    title: format!("case {i}"),
                    key: Some(format!("k{i}")),
                    suite: None,
                    details: Default::default(),
                })
                .collect(),
            t(0),
        )
        .await
        .unwrap()
        .into_iter()
        .map(|u| u.case.id)
        .collect();
    let new_run = |name: &str| NewRun {
        name: name.into(),
        description: None,
        key: None,
        meta: RunMeta::default(),
        case_ids: None,
    };
    let exec = |status: Status, ms: Option<i64>| Execution {
        step_results: Vec::new(),
        defects: Vec::new(),
        status,
        note: None,
        elapsed_ms: ms,
        output: None,
    };
    for (n, plays) in [
        // Failed then passed (a retried pass), passed then failed, failed
        // only, passed only.
        vec![
            (0, Failed, Some(10)),
            (0, Passed, Some(12)),
            (1, Passed, Some(5)),
            (1, Failed, Some(7)),
            (2, Failed, None),
            (3, Passed, Some(100)),
        ],
        // Passed, then failed, blocked and passed again; a run with nothing.
        vec![
            (0, Passed, Some(1)),
            (0, Failed, Some(2)),
            (0, Blocked, None),
            (0, Passed, Some(3)),
        ],
        vec![],
    ]
    .into_iter()
    .enumerate()
    {
        let run = store
            .create_run(project.id, new_run(&format!("r{n}")), t(1))
            .await
            .unwrap()
            .0
            .id;
        let entries = plays
            .iter()
            .enumerate()
            .map(|(index, (case, status, ms))| BulkEntry {
                index,
                case_id: cases[*case],
                execution: exec(*status, *ms),
            })
            .collect();
        store
            .record_bulk(BulkRequest {
                run,
                actor: user.id,
                now: t(2),
                entries,
                partial: false,
                refused: vec![],
                idempotency: None,
            })
            .await
            .unwrap();
        // And a PATCH after them: a fail then a pass on the last case.
        let last = store.list_results(run, all_results()).await.unwrap().items[3].id;
        for status in [Failed, Passed] {
            store
                .record_result(run, last, exec(status, Some(40)), user.id, t(3))
                .await
                .unwrap();
        }
    }
    let client = db.client().await.unwrap();
    let written = kept(&client).await;
    assert!(
        written.0.iter().any(|(_, f)| *f == 3) && written.0.iter().any(|(_, f)| *f == 1),
        "the writes kept both flags: {written:?}"
    );
    assert!(written.1.iter().all(|(_, ms)| *ms > 0), "{written:?}");

    // Back to the schema before migration 4, the rows kept, and up again.
    client
        .batch_execute(
            "ALTER TABLE runs DROP COLUMN branch, DROP COLUMN commit, DROP COLUMN build_url,
                 DROP COLUMN environment, DROP COLUMN elapsed_ms;
             ALTER TABLE cases DROP COLUMN quarantine_reason, DROP COLUMN quarantined_by,
                 DROP COLUMN quarantined_at;
             ALTER TABLE results DROP COLUMN flags;
             DROP INDEX results_case;
             DELETE FROM run_count_stripes;
             DELETE FROM verdict_migrations WHERE version = 4;",
        )
        .await
        .unwrap();
    drop(store);
    let again = db.connect().await.unwrap();
    assert_eq!(kept(&client).await, written, "backfilled as written");
    drop(again);
    db.drop_database().await.unwrap();
}

/// Migration 6 (manual testing) on a database that already holds results
/// and history: they read back with no step results, defects or assignee,
/// the project with no defect template, and take them from there.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migration_6_adds_manual_testing_to_what_is_there() {
    let Some((db, store)) = fresh().await else {
        return;
    };
    let user = ci_user(&store).await;
    let project = store
        .create_project("p".into(), user.id, t(0))
        .await
        .unwrap();
    store
        .create_case(
            project.id,
            NewCase {
                title: "a".into(),
                key: Some("a".into()),
                suite: Some("Cart".into()),
                details: Default::default(),
            },
            t(0),
        )
        .await
        .unwrap();
    let run = store
        .create_run(
            project.id,
            NewRun {
                name: "r".into(),
                description: None,
                key: None,
                meta: RunMeta::default(),
                case_ids: None,
            },
            t(1),
        )
        .await
        .unwrap()
        .0
        .id;
    let id = store.list_results(run, all_results()).await.unwrap().items[0].id;
    store
        .record_result(
            run,
            id,
            Execution::new(Status::Failed, Some("old".into()), None),
            user.id,
            t(2),
        )
        .await
        .unwrap();
    let client = db.client().await.unwrap();
    client
        .batch_execute(
            "ALTER TABLE results DROP COLUMN step_results, DROP COLUMN defects,
                 DROP COLUMN assigned_to;
             ALTER TABLE history DROP COLUMN step_results, DROP COLUMN defects;
             ALTER TABLE projects DROP COLUMN defect_url_template;
             DELETE FROM verdict_migrations WHERE version = 6;",
        )
        .await
        .unwrap();
    drop(store);
    let store = db.connect().await.unwrap();
    assert_eq!(
        store
            .get_project(project.id)
            .await
            .unwrap()
            .defect_url_template,
        None
    );
    let old = store.get_result(run, id).await.unwrap();
    assert_eq!(
        (old.step_results.len(), old.defects.len(), old.assigned_to),
        (0, 0, None)
    );
    store
        .assign_results(run, AssignTarget::Unassigned, Some(user.id))
        .await
        .unwrap();
    let mut again = Execution::new(Status::Failed, Some("new".into()), None);
    again.defects = vec!["A-1".into()];
    store
        .record_result(run, id, again, user.id, t(3))
        .await
        .unwrap();
    let now = store.get_result(run, id).await.unwrap();
    assert_eq!(
        (now.defects, now.assigned_to),
        (vec!["A-1".to_string()], Some(user.id))
    );
    let page = Page {
        page: 1,
        per_page: 10,
    };
    let h = store.result_history(run, id, page).await.unwrap().items;
    assert_eq!(
        h.iter().map(|e| e.defects.len()).collect::<Vec<_>>(),
        [1, 0]
    );
    drop(store);
    db.drop_database().await.unwrap();
}

/// Migration 7 (attachments and output) on a database that already holds
/// results and history: they read back with no output and no attachments,
/// and take both from there.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migration_7_adds_output_and_attachments_to_what_is_there() {
    let Some((db, store)) = fresh().await else {
        return;
    };
    let user = ci_user(&store).await;
    let project = store
        .create_project("p".into(), user.id, t(0))
        .await
        .unwrap();
    store
        .create_case(
            project.id,
            NewCase {
                title: "a".into(),
                key: Some("a".into()),
                suite: None,
                details: Default::default(),
            },
            t(0),
        )
        .await
        .unwrap();
    let run = store
        .create_run(
            project.id,
            NewRun {
                name: "r".into(),
                description: None,
                key: None,
                meta: RunMeta::default(),
                case_ids: None,
            },
            t(1),
        )
        .await
        .unwrap()
        .0
        .id;
    let id = store.list_results(run, all_results()).await.unwrap().items[0].id;
    store
        .record_result(
            run,
            id,
            Execution::new(Status::Failed, Some("old".into()), None),
            user.id,
            t(2),
        )
        .await
        .unwrap();
    let client = db.client().await.unwrap();
    client
        .batch_execute(
            "DROP TABLE attachments;
             ALTER TABLE results DROP COLUMN output;
             ALTER TABLE history DROP COLUMN output;
             DELETE FROM verdict_migrations WHERE version = 7;",
        )
        .await
        .unwrap();
    drop(store);
    let store = db.connect().await.unwrap();
    assert_eq!(store.get_result(run, id).await.unwrap().output, None);
    assert_eq!(store.list_attachments(run, id).await.unwrap(), vec![]);
    let mut again = Execution::new(Status::Failed, Some("new".into()), None);
    again.output = Some("printed".into());
    store
        .record_result(run, id, again, user.id, t(3))
        .await
        .unwrap();
    let file = NewAttachment {
        name: "log.txt".into(),
        content_type: "text/plain".into(),
        size: 3,
        sha256: "a".repeat(64),
    };
    let added = store
        .add_attachments(run, id, vec![file], user.id, t(4))
        .await
        .unwrap();
    assert_eq!(added[0].execution, 2, "the old execution counts");
    let page = Page {
        page: 1,
        per_page: 10,
    };
    let h = store.result_history(run, id, page).await.unwrap().items;
    assert_eq!(
        h.iter().map(|e| e.output.as_deref()).collect::<Vec<_>>(),
        [Some("printed"), None]
    );
    drop(store);
    db.drop_database().await.unwrap();
}
