//! `Idempotency-Key` on every single write (bulk uploads have their own
//! tests): a retry with the same key and body answers the first answer with
//! `Idempotent-Replayed: true` and applies nothing; another body is a 422
//! `idempotency_key_reused`; keys are the caller's own; a bad key is a 422
//! naming the header; without a key nothing changes.

use crate::common;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use common::{Resp, TestApp, results_path};
use serde_json::{Value, json};

/// A request with an `Idempotency-Key` (and a JSON body, if any).
async fn keyed(
    app: &TestApp,
    method: &str,
    path: &str,
    token: &str,
    key: &str,
    body: Option<&Value>,
) -> Resp {
    let req = Request::builder()
        .method(Method::from_bytes(method.as_bytes()).expect("method"))
        .uri(path)
        .header("authorization", format!("Bearer {token}"))
        .header("idempotency-key", key);
    let req = match body {
        Some(b) => req
            .header("content-type", "application/json")
            .body(Body::from(b.to_string())),
        None => req.body(Body::empty()),
    };
    app.send(req.expect("request")).await
}

fn replayed(r: &Resp) -> bool {
    match r.headers.get("idempotent-replayed") {
        Some(v) => v == "true",
        None => false,
    }
}

/// Sends the same keyed request twice as the admin: the first applies (no replay
/// header), the second is its replay (same status, same body).
async fn twice(app: &TestApp, method: &str, path: &str, key: &str, body: Option<Value>) -> Resp {
    let (token, body) = (&app.admin, body.as_ref());
    let first = keyed(app, method, path, token, key, body).await;
    assert!(first.status.is_success(), "{} {}", first.status, first.body);
    assert!(!replayed(&first), "a first answer is not a replay");
    let again = keyed(app, method, path, token, key, body).await;
    assert!(replayed(&again), "{method} {path}: the retry is a replay");
    assert_eq!(
        (again.status, &again.body),
        (first.status, &first.body),
        "{method} {path}: the first answer"
    );
    first
}

#[tokio::test]
async fn a_retried_patch_is_recorded_once_and_answers_the_first_answer() {
    let app = TestApp::new().await;
    let (project, cases, run) = app.seeded(1).await;
    let id = app.result_of(&run, &cases[0]).await;
    let path = results_path(&run, &format!("/{id}"));
    let failed = json!({"status": "failed", "note": "boom", "elapsed": 3});

    let first = twice(&app, "PATCH", &path, "p-1", Some(failed.clone())).await;
    assert_eq!(first.status, StatusCode::OK);
    assert_eq!(first.data()["status"], "failed");
    assert_eq!(app.history(&run, &id).await.len(), 1, "one history row");

    // A later change is not undone by a late retry.
    let passed = app
        .patch(&path, &app.admin, json!({"status": "passed"}))
        .await;
    assert!(!replayed(&passed), "no key, no replay header");
    let late = keyed(&app, "PATCH", &path, &app.admin, "p-1", Some(&failed)).await;
    assert!(replayed(&late));
    assert_eq!(late.body, first.body);
    assert_eq!(app.history(&run, &id).await.len(), 2);
    let now = app.get(&path, &app.admin).await;
    assert_eq!(now.data()["status"], "passed");

    // Another body (or method) under the key is refused, writing nothing.
    let other = json!({"status": "blocked"});
    keyed(&app, "PATCH", &path, &app.admin, "p-1", Some(&other))
        .await
        .assert_error(StatusCode::UNPROCESSABLE_ENTITY, "idempotency_key_reused");
    keyed(&app, "PUT", &path, &app.admin, "p-1", Some(&failed))
        .await
        .assert_error(StatusCode::UNPROCESSABLE_ENTITY, "idempotency_key_reused");
    assert_eq!(app.history(&run, &id).await.len(), 2, "nothing written");

    // Another caller's key of the same name is their own.
    let tester = app.member(&project, "tina", "tester").await;
    let theirs = keyed(&app, "PATCH", &path, &tester, "p-1", Some(&failed)).await;
    assert_eq!(theirs.status, StatusCode::OK);
    assert!(!replayed(&theirs));
    assert_eq!(app.history(&run, &id).await.len(), 3);
}

#[tokio::test]
async fn a_failed_write_keeps_no_answer_and_its_retry_runs_again() {
    let app = TestApp::new().await;
    let project = app.project("P").await;
    let taken = app.cases(&project, 1).await;
    let path = format!("/v1/projects/{project}/cases");
    let body = json!({"title": "again", "key": "k1"});
    keyed(&app, "POST", &path, &app.admin, "c-1", Some(&body))
        .await
        .assert_error(StatusCode::CONFLICT, "duplicate_key");
    let r = app
        .delete(&format!("/v1/cases/{}", taken[0]), &app.admin)
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    let retried = keyed(&app, "POST", &path, &app.admin, "c-1", Some(&body)).await;
    assert_eq!(retried.status, StatusCode::CREATED, "{}", retried.body);
    assert!(!replayed(&retried));
}

#[tokio::test]
async fn retried_creates_make_one_object_each() {
    let app = TestApp::new().await;
    let project = twice(
        &app,
        "POST",
        "/v1/projects",
        "proj",
        Some(json!({"name": "P"})),
    )
    .await;
    assert_eq!(project.status, StatusCode::CREATED);
    let pid = project.id();
    assert_eq!(app.total("/v1/projects").await, 1, "one project");

    let cases = format!("/v1/projects/{pid}/cases");
    let case = twice(
        &app,
        "POST",
        &cases,
        "case",
        Some(json!({"title": "T", "key": "a.b"})),
    )
    .await;
    assert_eq!(case.status, StatusCode::CREATED);
    assert_eq!(app.total(&cases).await, 1, "one case");

    let runs = format!("/v1/projects/{pid}/runs");
    let run = twice(&app, "POST", &runs, "run", Some(json!({"name": "R"}))).await;
    assert_eq!(run.status, StatusCode::CREATED);
    assert_eq!(app.total(&runs).await, 1, "one run");

    let alice =
        json!({"name": "Alice", "email": "alice@example.com", "password": "correct horse battery"});
    let user = twice(&app, "POST", "/v1/users", "user", Some(alice)).await;
    assert_eq!(user.status, StatusCode::CREATED);
    assert_eq!(app.total("/v1/users").await, 2, "one user more");
    let other_password = json!({"name": "Alice", "email": "alice@example.com", "password": "another battery staple"});
    keyed(
        &app,
        "POST",
        "/v1/users",
        &app.admin,
        "user",
        Some(&other_password),
    )
    .await
    .assert_error(StatusCode::UNPROCESSABLE_ENTITY, "idempotency_key_reused");

    let token = twice(
        &app,
        "POST",
        "/v1/tokens",
        "tok",
        Some(json!({"name": "ci"})),
    )
    .await;
    assert_eq!(token.status, StatusCode::CREATED);
    let secret = token.data()["token"].as_str().expect("secret");
    let me = app.get("/v1/me", secret).await;
    assert_eq!(
        me.status,
        StatusCode::OK,
        "the replayed secret is the token's"
    );
    let tokens = app.get("/v1/tokens", &app.admin).await;
    let names: Vec<&Value> = tokens
        .data()
        .as_array()
        .expect("tokens")
        .iter()
        .map(|t| &t["name"])
        .collect();
    assert_eq!(names.iter().filter(|n| **n == "ci").count(), 1, "one token");
}

#[tokio::test]
async fn retried_edits_closes_and_deletes_apply_once() {
    let app = TestApp::new().await;
    let (_, cases, run) = app.seeded(2).await;
    let case = format!("/v1/cases/{}", cases[0]);
    let renamed = twice(&app, "PATCH", &case, "edit", Some(json!({"title": "New"}))).await;
    assert_eq!(renamed.data()["title"], "New");

    let run_path = format!("/v1/runs/{run}");
    let edited = twice(
        &app,
        "PATCH",
        &run_path,
        "run-edit",
        Some(json!({"name": "Nightly"})),
    )
    .await;
    assert_eq!(edited.data()["name"], "Nightly");

    let close = format!("/v1/runs/{run}/close");
    let closed = twice(&app, "POST", &close, "close", None).await;
    assert_eq!(closed.data()["state"], "closed");
    assert_eq!(
        closed.data()["closed_at"],
        app.get(&run_path, &app.admin).await.data()["closed_at"]
    );

    let deleted = twice(&app, "DELETE", &case, "delete", None).await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
    assert_eq!(
        app.get(&case, &app.admin).await.status,
        StatusCode::NOT_FOUND
    );
    // Without the key's answer, deleting what is gone is still a 404.
    keyed(&app, "DELETE", &case, &app.admin, "delete-again", None)
        .await
        .not_found();
}

#[tokio::test]
async fn bad_keys_are_refused_on_every_write() {
    let app = TestApp::new().await;
    let (project, cases, run) = app.seeded(1).await;
    let id = app.result_of(&run, &cases[0]).await;
    let writes: Vec<(&str, String, Option<Value>)> = vec![
        (
            "PATCH",
            results_path(&run, &format!("/{id}")),
            Some(json!({"status": "passed"})),
        ),
        ("POST", "/v1/projects".into(), Some(json!({"name": "P"}))),
        (
            "POST",
            format!("/v1/projects/{project}/cases"),
            Some(json!({"title": "T"})),
        ),
        (
            "POST",
            format!("/v1/projects/{project}/runs"),
            Some(json!({"name": "R"})),
        ),
        ("POST", format!("/v1/runs/{run}/close"), None),
        (
            "POST",
            "/v1/users".into(),
            Some(json!({"name": "U", "email": "u@example.com"})),
        ),
        ("POST", "/v1/tokens".into(), Some(json!({"name": "t"}))),
    ];
    let long = "k".repeat(256);
    for (method, path, body) in &writes {
        for key in ["", long.as_str(), "two words", "tab\tin"] {
            let r = keyed(&app, method, path, &app.admin, key, body.as_ref()).await;
            r.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
            assert_eq!(r.fields(), ["Idempotency-Key"], "{method} {path} {key:?}");
        }
    }
    assert_eq!(app.total("/v1/projects").await, 1, "nothing created");
    assert_eq!(app.history(&run, &id).await.len(), 0, "nothing recorded");
    assert_eq!(
        app.get(&format!("/v1/runs/{run}"), &app.admin).await.data()["state"],
        "open"
    );
}
