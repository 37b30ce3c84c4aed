//! PATCHes written together (group commit): one statement for the PATCHes
//! that queue while the store's workers are busy. Each must answer what it
//! would answer alone, PATCHes of one result keep their order, and many
//! writers on two stores lose nothing, count exactly and never deadlock.

use crate::common;

use std::sync::Arc;

use common::{all_results, deadlocks, setup, t};
use verdict_postgres::testing::record_together;
use verdict_store::*;

fn exec(status: Status, note: &str, ms: i64) -> Execution {
    Execution {
        status,
        note: Some(note.to_string()),
        elapsed_ms: Some(ms),
        step_results: vec![],
        defects: vec![],
        output: Some(format!("out {note}")),
    }
}

fn recount(results: &[TestResult]) -> Counts {
    let mut counts = Counts::default();
    for r in results {
        counts.add(r.status, 1);
    }
    counts
}

fn new_run(name: &str) -> NewRun {
    NewRun {
        name: name.into(),
        description: None,
        key: None,
        meta: RunMeta::default(),
        case_ids: None,
    }
}

async fn result_ids(store: &impl Store, run: RunId) -> Vec<ResultId> {
    store
        .list_results(run, all_results())
        .await
        .unwrap()
        .items
        .iter()
        .map(|r| r.id)
        .collect()
}

/// Notes of a result's history rows, oldest first.
async fn history_notes(db: &verdict_postgres::testing::TestDatabase, id: ResultId) -> Vec<String> {
    let client = db.client().await.unwrap();
    client
        .query(
            "SELECT coalesce(note, '-') FROM history WHERE result_id = $1 ORDER BY id",
            &[&id.get()],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn patches_written_together_answer_as_each_would_alone() {
    let Some((db, stores, user, project, _cases)) = setup(6).await else {
        return;
    };
    let s: &verdict_postgres::PgStore = &stores[0];
    let outsider = s
        .create_user(
            NewUser {
                name: "outsider".into(),
                email: "outsider@example.com".into(),
                password_hash: None,
                admin: false,
            },
            t(0),
        )
        .await
        .unwrap();
    let open = s
        .create_run(project.id, new_run("open"), t(1))
        .await
        .unwrap()
        .0;
    let closed = s
        .create_run(project.id, new_run("closed"), t(1))
        .await
        .unwrap()
        .0;
    let (a, b) = (result_ids(s, open.id).await, result_ids(s, closed.id).await);
    s.close_run(closed.id, t(2)).await.unwrap();
    let missing_result = ResultId::from_db(999_999);
    let missing_run = RunId::from_db(999_999);

    let batch = vec![
        (
            open.id,
            a[0],
            exec(Status::Passed, "a0 first", 10),
            user.id,
            false,
            t(3),
        ),
        (
            open.id,
            a[1],
            exec(Status::Failed, "a1", 20),
            user.id,
            false,
            t(3),
        ),
        (
            open.id,
            a[0],
            exec(Status::Failed, "a0 second", 30),
            user.id,
            false,
            t(3),
        ),
        (
            closed.id,
            b[0],
            exec(Status::Passed, "closed", 1),
            user.id,
            false,
            t(3),
        ),
        (
            open.id,
            missing_result,
            exec(Status::Passed, "none", 1),
            user.id,
            false,
            t(3),
        ),
        (
            open.id,
            b[1],
            exec(Status::Passed, "other run's", 1),
            user.id,
            false,
            t(3),
        ),
        (
            open.id,
            a[2],
            exec(Status::Passed, "outsider", 1),
            outsider.id,
            false,
            t(3),
        ),
        (
            open.id,
            a[3],
            exec(Status::Blocked, "admin", 40),
            outsider.id,
            true,
            t(3),
        ),
        (
            missing_run,
            a[4],
            exec(Status::Passed, "no run", 1),
            user.id,
            false,
            t(3),
        ),
        (
            open.id,
            a[0],
            Execution::new(Status::NotTested, None, None),
            user.id,
            false,
            t(4),
        ),
        (
            open.id,
            a[5],
            exec(Status::Retest, "a5", 50),
            user.id,
            false,
            t(3),
        ),
    ];
    let answers = record_together(s, batch).await;
    assert_eq!(answers.len(), 11);

    let written = |i: usize| -> TestResult {
        match &answers[i] {
            Ok(Some(r)) => r.clone(),
            other => panic!("PATCH {i} was not written: {other:?}"),
        }
    };
    let (first, second, third) = (written(0), written(2), written(9));
    assert_eq!(
        (first.status, first.note.as_deref()),
        (Status::Passed, Some("a0 first"))
    );
    assert_eq!(first.output.as_deref(), Some("out a0 first"));
    assert_eq!(
        (second.status, second.note.as_deref()),
        (Status::Failed, Some("a0 second"))
    );
    assert_eq!(third.status, Status::NotTested);
    assert_eq!((third.tested_by, third.tested_at), (None, None));
    assert_eq!(written(1).status, Status::Failed);
    assert_eq!(written(1).tested_by, Some(user.id));
    assert_eq!(written(1).case_title, "case 1");
    assert_eq!(
        written(7).tested_by,
        Some(outsider.id),
        "an admin may write anywhere"
    );
    assert_eq!(written(10).elapsed_ms, Some(50));

    assert_eq!(
        answers[3],
        Err(StoreError::run_closed()),
        "a closed run: 409"
    );
    assert_eq!(answers[4], Err(StoreError::NotFound), "no such result");
    assert_eq!(
        answers[5],
        Err(StoreError::NotFound),
        "a result of another run"
    );
    assert_eq!(answers[6], Ok(None), "not a member: refused");
    assert_eq!(answers[8], Err(StoreError::NotFound), "no such run");

    // What is stored is what the answers say, in the order they were sent.
    assert_eq!(
        history_notes(&db, a[0]).await,
        ["a0 first", "a0 second", "-"],
        "a result PATCHed three times in a batch keeps the order"
    );
    assert!(
        history_notes(&db, a[2]).await.is_empty(),
        "the refused PATCH left nothing"
    );
    assert!(history_notes(&db, b[0]).await.is_empty());
    assert!(history_notes(&db, b[1]).await.is_empty());
    let results = s.list_results(open.id, all_results()).await.unwrap().items;
    let counts = recount(&results);
    assert_eq!(s.get_run(open.id).await.unwrap().counts, counts);
    assert_eq!((counts.failed, counts.blocked, counts.retest), (1, 1, 1));
    let stored = s.get_result(open.id, a[3]).await.unwrap();
    assert_eq!(
        (stored.status, stored.elapsed_ms),
        (Status::Blocked, Some(40))
    );
    assert_eq!(stored.output.as_deref(), Some("out admin"));
    let trends = s.trends(project.id, None, 10).await.unwrap();
    let open_trend = trends.iter().find(|r| r.run_id == open.id).unwrap();
    assert_eq!(
        open_trend.elapsed_ms,
        20 + 40 + 50,
        "the elapsed sum follows"
    );
    assert_eq!(
        s.get_run(closed.id).await.unwrap().counts.not_tested,
        6,
        "the closed run is untouched"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn many_writers_on_two_stores_lose_nothing_count_exactly_and_never_deadlock() {
    let Some((db, stores, user, project, _cases)) = setup(30).await else {
        return;
    };
    let mut runs = Vec::new();
    for name in ["one", "two", "three"] {
        let run = stores[0]
            .create_run(project.id, new_run(name), t(1))
            .await
            .unwrap()
            .0;
        runs.push((run.id, result_ids(&*stores[0], run.id).await));
    }
    let runs = Arc::new(runs);
    let statuses = Status::ALL;
    const WRITERS: usize = 24;
    const EACH: usize = 40;
    let mut tasks = Vec::new();
    for i in 0..WRITERS {
        let store = Arc::clone(&stores[i % 2]);
        let runs = Arc::clone(&runs);
        tasks.push(tokio::spawn(async move {
            for k in 0..EACH {
                // Scrambled over the runs and results, so writers collide
                // on results and batches hold several runs.
                let (run, ids) = &runs[(i + k * 7) % runs.len()];
                let id = ids[(i * 7 + k * 13) % ids.len()];
                let status = statuses[(i + k) % statuses.len()];
                let answer = store
                    .record_result_as(
                        *run,
                        id,
                        exec(status, &format!("w{i}-{k}"), (i + k) as i64),
                        user.id,
                        false,
                        t(2),
                    )
                    .await;
                assert!(matches!(answer, Ok(Some(_))), "PATCH w{i}-{k}: {answer:?}");
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }

    let client = db.client().await.unwrap();
    let notes: Vec<(String, i64)> = client
        .query(
            "SELECT note, count(*) FROM history GROUP BY note HAVING count(*) <> 1",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    assert!(notes.is_empty(), "every PATCH stored once: {notes:?}");
    let total: i64 = client
        .query_one("SELECT count(*) FROM history", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(total, (WRITERS * EACH) as i64);
    let stale: i64 = client
        .query_one(
            "SELECT count(*) FROM results r
             JOIN LATERAL (SELECT status, note FROM history h WHERE h.result_id = r.id
                 ORDER BY h.id DESC LIMIT 1) last ON true
             WHERE last.status <> r.status OR last.note IS DISTINCT FROM r.note",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(stale, 0, "each result is its newest history row");
    for (run, _) in runs.iter() {
        let results = stores[1].list_results(*run, all_results()).await.unwrap();
        let expected = recount(&results.items);
        for store in &stores {
            assert_eq!(store.get_run(*run).await.unwrap().counts, expected);
        }
        let elapsed: i64 = results.items.iter().filter_map(|r| r.elapsed_ms).sum();
        let trends = stores[0].trends(project.id, None, 10).await.unwrap();
        let row = trends.iter().find(|r| r.run_id == *run).unwrap();
        assert_eq!(row.elapsed_ms, elapsed, "the elapsed sum of run {run:?}");
    }
    assert_eq!(deadlocks(&db, stores).await, 0, "no deadlock");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_run_held_locked_does_not_hold_up_patches_of_other_runs() {
    let Some((db, stores, user, project, _cases)) = setup(4).await else {
        return;
    };
    let s = Arc::clone(&stores[0]);
    let held = s
        .create_run(project.id, new_run("held"), t(1))
        .await
        .unwrap()
        .0;
    let free = s
        .create_run(project.id, new_run("free"), t(1))
        .await
        .unwrap()
        .0;
    let (h, f) = (
        result_ids(&*s, held.id).await,
        result_ids(&*s, free.id).await,
    );

    // What a long bulk upload or a close does: the run locked FOR UPDATE.
    let mut locker = db.client().await.unwrap();
    let tx = locker.transaction().await.unwrap();
    tx.execute(
        "SELECT 1 FROM runs WHERE id = $1 FOR UPDATE",
        &[&held.id.get()],
    )
    .await
    .unwrap();
    // More PATCHes of the locked run than the store has workers.
    let mut waiting = Vec::new();
    for (k, id) in h.iter().enumerate() {
        let s = Arc::clone(&s);
        let (run, id) = (held.id, *id);
        waiting.push(tokio::spawn(async move {
            let e = exec(Status::Failed, &format!("held {k}"), 1);
            s.record_result_as(run, id, e, user.id, false, t(2)).await
        }));
    }
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let e = exec(Status::Passed, "free", 1);
    let answer = tokio::time::timeout(
        std::time::Duration::from_secs(5),
        s.record_result_as(free.id, f[0], e, user.id, false, t(2)),
    )
    .await
    .expect("a PATCH of another run answers while the first run is locked");
    assert!(matches!(answer, Ok(Some(_))), "{answer:?}");
    assert!(
        waiting.iter().all(|w| !w.is_finished()),
        "the locked run's PATCHes wait for its lock"
    );
    tx.commit().await.unwrap();
    for w in waiting {
        let answer = w.await.unwrap();
        assert!(matches!(answer, Ok(Some(_))), "{answer:?}");
    }
    let run = s.get_run(held.id).await.unwrap();
    assert_eq!(run.counts.failed, h.len() as i64);
}
