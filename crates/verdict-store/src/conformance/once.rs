//! Single writes retried under an `Idempotency-Key`: applied once, the
//! first answer replayed byte for byte, keys scoped to their actor and
//! forgotten after their lifetime, a failed write keeping nothing.

use std::sync::Arc;

use super::support::*;
use crate::backend::idempotency::TTL_MS;
use crate::*;

/// Renders what the write did as the answer's body (status 201 when it
/// created something), so a replay can be compared with the first answer.
fn render() -> Render {
    Box::new(|w| {
        Ok(Rendered {
            status: match w {
                Written::Run(_, true)
                | Written::Project(_)
                | Written::User(_)
                | Written::Token(_) => 201,
                _ => 200,
            },
            bytes: format!("{w:?}").into_bytes(),
        })
    })
}

fn once(
    write: Write,
    actor: UserId,
    key: &str,
    fingerprint: u8,
    now: Timestamp,
) -> IdempotentWrite {
    IdempotentWrite {
        write,
        actor,
        key: IdempotencyKey {
            key: key.into(),
            fingerprint: [fingerprint; 32],
        },
        now,
        render: render(),
    }
}

fn record(run: RunId, id: ResultId, status: Status, note: &str) -> Write {
    Write::RecordResult {
        run,
        id,
        execution: exec(status, Some(note)),
    }
}

pub async fn retried_writes_apply_once_and_replay_the_first_answer(s: Arc<dyn Store>) {
    let s = s.as_ref();
    let (owner, p, _) = project_with_cases(s, 2).await;
    let other = user(s, "other").await;
    let run = run_over_all(s, p, "r").await.id;
    let id = everything(s, run).await[0].id;
    let write = || {
        once(
            record(run, id, Status::Failed, "first"),
            owner,
            "k",
            1,
            t(10),
        )
    };

    let first = s.write_idempotent(write()).await.expect("first");
    assert!(!first.replayed);
    assert_eq!(first.status, 200);
    let body = String::from_utf8(first.bytes.clone()).expect("utf-8");
    assert!(body.contains("first"), "rendered from the write: {body}");
    s.record_result(run, id, exec(Status::Passed, Some("later")), owner, t(11))
        .await
        .expect("a later write");

    let again = s.write_idempotent(write()).await.expect("replay");
    assert!(again.replayed);
    assert_eq!((again.status, &again.bytes), (first.status, &first.bytes));
    assert_eq!(history(s, run, id).await.len(), 2, "applied once");
    let current = s.get_result(run, id).await.expect("result");
    assert_eq!(current.note.as_deref(), Some("later"), "not re-applied");

    let reused = once(record(run, id, Status::Blocked, "x"), owner, "k", 2, t(12));
    assert_eq!(
        s.write_idempotent(reused).await.map(|_| ()),
        Err(StoreError::IdempotencyKeyReused)
    );
    assert_eq!(history(s, run, id).await.len(), 2, "nothing written");

    let theirs = once(
        record(run, id, Status::Failed, "first"),
        other,
        "k",
        1,
        t(13),
    );
    let theirs = s.write_idempotent(theirs).await.expect("another actor");
    assert!(!theirs.replayed, "keys are scoped to their actor");
    assert_eq!(history(s, run, id).await.len(), 3);

    // A key used by a bulk upload is that bulk's: another request with it
    // is refused, whichever kind it is.
    let mut upload = bulk(run, owner, Vec::new(), false);
    upload.idempotency = idempotency("bulk-key", 7);
    s.record_bulk(upload).await.expect("bulk");
    let single = once(
        record(run, id, Status::Failed, "y"),
        owner,
        "bulk-key",
        8,
        t(14),
    );
    assert_eq!(
        s.write_idempotent(single).await.map(|_| ()),
        Err(StoreError::IdempotencyKeyReused)
    );

    // Once the key's lifetime is over, the same request is a new one.
    let late = once(
        record(run, id, Status::Failed, "first"),
        owner,
        "k",
        1,
        Timestamp::from_millis(t(10).millis() + TTL_MS + 1),
    );
    let late = s.write_idempotent(late).await.expect("after the lifetime");
    assert!(!late.replayed);
    assert_eq!(history(s, run, id).await.len(), 4);
}

pub async fn every_kind_of_write_is_kept_with_its_answer(s: Arc<dyn Store>) {
    let s = s.as_ref();
    let admin = s
        .create_user(new_user("admin", "admin@example.com", true), t(0))
        .await
        .expect("admin")
        .id;
    let twice = |write: Write, key: &'static str| async move {
        let first = s
            .write_idempotent(once(write.clone(), admin, key, 1, t(10)))
            .await
            .expect("first");
        let again = s
            .write_idempotent(once(write, admin, key, 1, t(20)))
            .await
            .expect("replay");
        assert!(!first.replayed && again.replayed, "{key}");
        assert_eq!((&first.status, &first.bytes), (&again.status, &again.bytes));
        first
    };

    let project = NewProject {
        name: "P".into(),
        defect_url_template: None,
    };
    let made = twice(Write::CreateProject { project }, "project").await;
    assert_eq!(made.status, 201);
    let projects = s.list_projects(None, page(1, 10)).await.expect("projects");
    assert_eq!(projects.total, 1, "one project");
    let p = projects.items[0].id;
    assert_eq!(s.role(p, admin).await.expect("role"), Some(Role::Manager));

    let case = new_case("c", Some("c.key"));
    twice(Write::CreateCase { project: p, case }, "case").await;
    let cases = s
        .list_cases(p, CaseQuery::default(), page(1, 10))
        .await
        .expect("cases");
    assert_eq!(cases.total, 1, "one case");
    let c = cases.items[0].id;
    let patch = CasePatch {
        title: Some("renamed".into()),
        ..Default::default()
    };
    twice(Write::UpdateCase { id: c, patch }, "case-edit").await;
    assert_eq!(s.get_case(c).await.expect("case").title, "renamed");

    let run = new_run("r", None, None);
    let made = twice(Write::CreateRun { project: p, run }, "run").await;
    assert_eq!(made.status, 201);
    let runs = s
        .list_runs(p, RunFilter::default(), page(1, 10))
        .await
        .expect("runs");
    assert_eq!(runs.total, 1, "one run");
    let r = runs.items[0].id;
    let patch = RunPatch {
        name: Some("renamed".into()),
        ..Default::default()
    };
    twice(Write::UpdateRun { id: r, patch }, "run-edit").await;
    twice(Write::CloseRun { id: r }, "close").await;
    assert!(s.get_run(r).await.expect("run").closed_at.is_some());
    twice(Write::DeleteCase { id: c }, "case-delete").await;
    assert_not_found(s.get_case(c).await);

    let user = new_user("u", "u@example.com", false);
    twice(Write::CreateUser { user }, "user").await;
    let users = s.list_users(page(1, 10)).await.expect("users");
    assert_eq!(users.total, 2, "one user more");
    let token = Write::CreateToken {
        user: admin,
        name: "ci".into(),
        hash: TokenHash([9; 32]),
    };
    twice(token, "token").await;
    assert_eq!(s.list_tokens(admin).await.expect("tokens").len(), 1);
}

pub async fn failed_writes_keep_no_answer(s: Arc<dyn Store>) {
    let s = s.as_ref();
    let (owner, p, cases) = project_with_cases(s, 1).await;
    let taken = Write::CreateCase {
        project: p,
        case: new_case("again", Some("k0")),
    };
    assert_conflict(
        s.write_idempotent(once(taken.clone(), owner, "k", 1, t(10)))
            .await,
        "duplicate_key",
    );
    s.delete_case(cases[0]).await.expect("delete");
    let retried = s
        .write_idempotent(once(taken, owner, "k", 1, t(11)))
        .await
        .expect("the retry runs again");
    assert!(!retried.replayed);
}

pub async fn concurrent_retried_writes_apply_once(s: Arc<dyn Store>) {
    let (owner, p, _) = project_with_cases(s.as_ref(), 1).await;
    let run = run_over_all(s.as_ref(), p, "r").await.id;
    let id = everything(s.as_ref(), run).await[0].id;
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let s = Arc::clone(&s);
            tokio::spawn(async move {
                let write = once(
                    record(run, id, Status::Failed, "storm"),
                    owner,
                    "k",
                    1,
                    t(10),
                );
                s.write_idempotent(write).await.expect("write or replay")
            })
        })
        .collect();
    let mut answers = Vec::new();
    for task in tasks {
        answers.push(task.await.expect("task"));
    }
    assert_eq!(answers.iter().filter(|a| !a.replayed).count(), 1);
    assert!(answers.iter().all(|a| a.bytes == answers[0].bytes));
    assert_eq!(history(s.as_ref(), run, id).await.len(), 1, "written once");
}
