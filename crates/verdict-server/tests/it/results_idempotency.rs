//! Bulk `Idempotency-Key` retries, and the limits on one bulk request
//! (entries and body size).

use crate::common;

use axum::http::StatusCode;
use common::{Resp, TestApp, results_path};
use serde_json::{Value, json};
use verdict_server::Limits;

fn body(cases: &[String]) -> Value {
    json!({"results": [
        {"test_case_id": cases[0], "status": "failed", "note": "E1", "elapsed": 2},
        {"test_case_id": cases[1], "status": "passed"},
    ]})
}

fn replayed(r: &Resp) -> Option<&str> {
    r.headers
        .get("idempotent-replayed")
        .map(|v| v.to_str().expect("header"))
}

/// Each result of the run has exactly `n` executions in its history.
async fn assert_history_lengths(app: &TestApp, run: &str, n: &[usize]) {
    let mut got = Vec::new();
    for r in app.all_results(run).await {
        got.push(app.history(run, r["id"].as_str().expect("id")).await.len());
    }
    assert_eq!(got, n);
}

#[tokio::test]
async fn retry_with_the_same_key_and_body_replays_the_first_answer_once() {
    let app = TestApp::new().await;
    let (_, cases, run) = app.seeded(3).await;
    let first = app
        .bulk_with_key(&run, &app.admin, "upload-1", &body(&cases))
        .await;
    assert_eq!(first.data()["updated"], 2);
    assert_eq!(replayed(&first), None);
    let after_first = app.snapshot(&run).await;
    let retry = app
        .bulk_with_key(&run, &app.admin, "upload-1", &body(&cases))
        .await;
    assert_eq!(retry.status, StatusCode::OK);
    assert_eq!(replayed(&retry), Some("true"));
    assert_eq!(retry.body, first.body);
    assert_eq!(app.snapshot(&run).await, after_first);
    assert_history_lengths(&app, &run, &[1, 1, 0]).await;
    assert_eq!(
        app.counts(&run).await,
        json!({"passed": 1, "failed": 1, "blocked": 0, "retest": 0, "not_tested": 1, "total": 3})
    );
}

#[tokio::test]
async fn replay_does_not_overwrite_a_later_change() {
    let app = TestApp::new().await;
    let (_, cases, run) = app.seeded(2).await;
    let first = app
        .bulk_with_key(&run, &app.admin, "k", &body(&cases))
        .await;
    let res0 = first.data()["results"][0]["id"]
        .as_str()
        .expect("id")
        .to_string();
    let r = app
        .patch(
            &results_path(&run, &format!("/{res0}")),
            &app.admin,
            json!({"status": "retest"}),
        )
        .await;
    assert_eq!(r.data()["status"], "retest");
    let retry = app
        .bulk_with_key(&run, &app.admin, "k", &body(&cases))
        .await;
    assert_eq!(retry.body, first.body);
    let now = app
        .get(&results_path(&run, &format!("/{res0}")), &app.admin)
        .await;
    assert_eq!(now.data()["status"], "retest");
    assert_history_lengths(&app, &run, &[2, 1]).await;
}

#[tokio::test]
async fn partial_retry_replays_the_rejections_too() {
    let app = TestApp::new().await;
    let (_, cases, run) = app.seeded(2).await;
    let b = json!({"results": [{"test_case_id": cases[0], "status": "passed"},
                              {"test_case_id": "tc_404", "status": "passed"},
                              {"test_case_id": cases[1], "status": "nope"}]});
    let send = || async {
        let req = axum::http::Request::builder()
            .method("POST")
            .uri(results_path(&run, "/bulk?partial=true"))
            .header("authorization", format!("Bearer {}", app.admin))
            .header("content-type", "application/json")
            .header("idempotency-key", "p-1")
            .body(axum::body::Body::from(b.to_string()))
            .expect("request");
        app.send(req).await
    };
    let first = send().await;
    assert_eq!(
        first.data()["rejected"].as_array().expect("rejected").len(),
        2
    );
    let retry = send().await;
    assert_eq!(replayed(&retry), Some("true"));
    assert_eq!(retry.body, first.body);
    assert_history_lengths(&app, &run, &[1, 0]).await;
}

#[tokio::test]
async fn same_key_with_another_body_is_refused_and_writes_nothing() {
    let app = TestApp::new().await;
    let (_, cases, run) = app.seeded(2).await;
    app.bulk_with_key(&run, &app.admin, "k", &body(&cases))
        .await
        .data();
    let before = app.snapshot(&run).await;
    let other = json!({"results": [{"test_case_id": cases[0], "status": "blocked"}]});
    let r = app.bulk_with_key(&run, &app.admin, "k", &other).await;
    r.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "idempotency_key_reused");
    assert_eq!(replayed(&r), None);
    assert_eq!(app.snapshot(&run).await, before);
}

#[tokio::test]
async fn same_key_for_another_run_is_refused() {
    let app = TestApp::new().await;
    let (project, cases, run) = app.seeded(2).await;
    let other = app.run(&project, "Other").await;
    app.bulk_with_key(&run, &app.admin, "k", &body(&cases))
        .await
        .data();
    let before = app.snapshot(&other).await;
    let r = app
        .bulk_with_key(&other, &app.admin, "k", &body(&cases))
        .await;
    r.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "idempotency_key_reused");
    assert_eq!(app.snapshot(&other).await, before);
}

#[tokio::test]
async fn the_same_key_of_another_user_is_independent() {
    let app = TestApp::new().await;
    let (project, cases, run) = app.seeded(2).await;
    let (uid, tester) = app.member_with_id(&project, "ci", "tester").await;
    let first = app
        .bulk_with_key(&run, &app.admin, "shared", &body(&cases))
        .await;
    assert_eq!(first.data()["updated"], 2);
    let theirs = app
        .bulk_with_key(&run, &tester, "shared", &body(&cases))
        .await;
    assert_eq!(theirs.data()["updated"], 2);
    assert_eq!(replayed(&theirs), None);
    assert_history_lengths(&app, &run, &[2, 2]).await;
    let res0 = theirs.data()["results"][0]["id"]
        .as_str()
        .expect("id")
        .to_string();
    assert_eq!(app.history(&run, &res0).await[0]["tested_by"], uid);
    // And a different body under that key is theirs to send too.
    let other = json!({"results": [{"test_case_id": cases[0], "status": "blocked"}]});
    let r = app.bulk_with_key(&run, &tester, "mine", &other).await;
    assert_eq!(r.data()["updated"], 1);
}

#[tokio::test]
async fn key_longer_than_255_characters_is_refused() {
    let app = TestApp::new().await;
    let (_, cases, run) = app.seeded(2).await;
    let before = app.snapshot(&run).await;
    let r = app
        .bulk_with_key(&run, &app.admin, &"k".repeat(256), &body(&cases))
        .await;
    r.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    assert_eq!(r.fields(), ["Idempotency-Key"]);
    assert_eq!(app.snapshot(&run).await, before);
    let r = app
        .bulk_with_key(&run, &app.admin, &"k".repeat(255), &body(&cases))
        .await;
    assert_eq!(r.data()["updated"], 2);
}

#[tokio::test]
async fn empty_key_is_refused() {
    let app = TestApp::new().await;
    let (_, cases, run) = app.seeded(2).await;
    let r = app.bulk_with_key(&run, &app.admin, "", &body(&cases)).await;
    r.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    assert_eq!(r.fields(), ["Idempotency-Key"]);
    assert_history_lengths(&app, &run, &[0, 0]).await;
}

#[tokio::test]
async fn a_refused_first_attempt_stores_nothing_so_a_corrected_retry_applies() {
    let app = TestApp::new().await;
    let (_, cases, run) = app.seeded(2).await;
    // Refused by validation, then by the store (a case not in the run).
    let bad_status = json!({"results": [{"test_case_id": cases[0], "status": "oops"}]});
    let r = app
        .bulk_with_key(&run, &app.admin, "retry-me", &bad_status)
        .await;
    r.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    let bad_case = json!({"results": [{"test_case_id": "tc_999", "status": "passed"}]});
    let r = app
        .bulk_with_key(&run, &app.admin, "retry-me", &bad_case)
        .await;
    r.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    assert_history_lengths(&app, &run, &[0, 0]).await;
    let r = app
        .bulk_with_key(&run, &app.admin, "retry-me", &body(&cases))
        .await;
    assert_eq!(r.data()["updated"], 2);
    assert_eq!(replayed(&r), None);
    assert_history_lengths(&app, &run, &[1, 1]).await;
}

#[tokio::test]
async fn a_key_refused_on_a_closed_run_stores_nothing() {
    let app = TestApp::new().await;
    let (project, cases, run) = app.seeded(2).await;
    app.close_run(&run).await;
    let r = app
        .bulk_with_key(&run, &app.admin, "k", &body(&cases))
        .await;
    r.assert_error(StatusCode::CONFLICT, "run_closed");
    // The key is still free: the same request to an open run applies.
    let open = app.run(&project, "Open").await;
    let other = app
        .bulk_with_key(&open, &app.admin, "k", &body(&cases))
        .await;
    assert_eq!(other.data()["updated"], 2);
}

// --- limits -------------------------------------------------------------------

/// An app with `limits` and a run of `n` cases, made in batches of at most
/// ten so the setup itself stays within the limits under test.
async fn limited(limits: Limits, n: usize) -> (TestApp, Vec<String>, String) {
    let app = TestApp::with_limits(limits).await;
    let project = app.project("Limited").await;
    let mut cases = app.cases(&project, n.min(10)).await;
    for i in cases.len()..n {
        let r = app
            .post(
                &format!("/v1/projects/{project}/cases"),
                &app.admin,
                json!({"title": format!("Extra {i}")}),
            )
            .await;
        cases.push(r.id());
    }
    let run = app.run(&project, "Run").await;
    assert_eq!(app.counts(&run).await["total"], n);
    (app, cases, run)
}

fn passing(cases: &[String], n: usize) -> Value {
    let list: Vec<Value> = cases[..n]
        .iter()
        .map(|c| json!({"test_case_id": c, "status": "passed"}))
        .collect();
    json!({"results": list})
}

#[tokio::test]
async fn more_entries_than_the_limit_is_413_saying_how_to_split() {
    let limits = Limits {
        max_bulk_results: 10,
        ..Limits::default()
    };
    let (app, cases, run) = limited(limits, 11).await;
    let before = app.snapshot(&run).await;
    let r = app.bulk(&run, &app.admin, passing(&cases, 11)).await;
    r.assert_error(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large");
    let message = r.body["error"]["message"].as_str().expect("message");
    assert!(
        message.contains("split") && message.contains("10"),
        "{message}"
    );
    assert_eq!(app.snapshot(&run).await, before);
    let r = app
        .post(
            &results_path(&run, "/bulk?partial=true"),
            &app.admin,
            passing(&cases, 11),
        )
        .await;
    r.assert_error(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large");
    assert_eq!(app.snapshot(&run).await, before);
}

#[tokio::test]
async fn exactly_the_entry_limit_is_accepted() {
    let limits = Limits {
        max_bulk_results: 10,
        ..Limits::default()
    };
    let (app, cases, run) = limited(limits, 11).await;
    let r = app.bulk(&run, &app.admin, passing(&cases, 10)).await;
    assert_eq!(r.data()["updated"], 10);
    assert_eq!(app.counts(&run).await["passed"], 10);
}

#[tokio::test]
async fn a_body_over_the_byte_limit_is_413_and_writes_nothing() {
    let limits = Limits {
        max_body_bytes: 1024,
        ..Limits::default()
    };
    let (app, cases, run) = limited(limits, 2).await;
    let before = app.snapshot(&run).await;
    let note = "x".repeat(1100);
    let big = json!({"results": [{"test_case_id": cases[0], "status": "failed", "note": note}]});
    let r = app.bulk(&run, &app.admin, big).await;
    r.assert_error(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large");
    let res = app.result_of(&run, &cases[0]).await;
    let r = app
        .patch(
            &results_path(&run, &format!("/{res}")),
            &app.admin,
            json!({"status": "failed", "note": note}),
        )
        .await;
    r.assert_error(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large");
    assert_eq!(app.snapshot(&run).await, before);
    // Under the limit, the same endpoint accepts it.
    let r = app.bulk(&run, &app.admin, passing(&cases, 2)).await;
    assert_eq!(r.data()["updated"], 2);
}
