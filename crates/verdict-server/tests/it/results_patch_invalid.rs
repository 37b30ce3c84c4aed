//! PATCH/PUT of one result that must be refused: each answers the right
//! status and code, and the result, the run counts and the history are
//! exactly as before. A closed run refuses every result change.

use crate::common;

use axum::http::StatusCode;
use common::{Resp, TestApp, results_path};
use serde_json::{Value, json};

/// A run of two cases whose first result already holds an execution, so a
/// refused write that still touched it would show: (app, run, result).
async fn arrange() -> (TestApp, String, String) {
    let app = TestApp::new().await;
    let (_, cases, run) = app.seeded(2).await;
    let res = app.result_of(&run, &cases[0]).await;
    let r = app
        .patch(
            &results_path(&run, &format!("/{res}")),
            &app.admin,
            json!({"status": "passed", "note": "first", "elapsed_ms": 1500}),
        )
        .await;
    assert_eq!(r.data()["status"], "passed");
    (app, run, res)
}

/// Sends a raw PATCH with `content_type` and asserts nothing changed.
async fn raw_patch(content_type: Option<&str>, body: &str) -> Resp {
    let (app, run, res) = arrange().await;
    let before = app.snapshot(&run).await;
    let r = app
        .raw(
            "PATCH",
            &results_path(&run, &format!("/{res}")),
            &app.admin,
            content_type,
            body.to_string(),
        )
        .await;
    assert_eq!(app.snapshot(&run).await, before, "{}", r.body);
    r
}

/// PATCHes `body` as JSON, asserts a 422 naming exactly `fields`, and that
/// nothing changed.
async fn refused(body: Value, fields: &[&str]) {
    let r = raw_patch(Some("application/json"), &body.to_string()).await;
    r.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    assert_eq!(r.fields(), fields, "{}", r.body);
    let message = r.body["error"]["message"].as_str().expect("message");
    assert!(message.starts_with(fields[0]), "{message}");
}

#[tokio::test]
async fn malformed_json_is_400_with_the_position() {
    let r = raw_patch(
        Some("application/json"),
        "{\"status\": \"passed\",\n  \"note\": }",
    )
    .await;
    r.assert_error(StatusCode::BAD_REQUEST, "malformed_request");
    let message = r.body["error"]["message"].as_str().expect("message");
    assert!(message.contains("line 2 column"), "{message}");
}

#[tokio::test]
async fn truncated_json_is_400() {
    let r = raw_patch(Some("application/json"), "{\"status\": \"pass").await;
    r.assert_error(StatusCode::BAD_REQUEST, "malformed_request");
    assert!(
        r.body["error"]["message"]
            .as_str()
            .expect("message")
            .contains("line 1 column")
    );
}

#[tokio::test]
async fn trailing_garbage_after_the_document_is_400() {
    let r = raw_patch(Some("application/json"), "{\"status\": \"passed\"} x").await;
    r.assert_error(StatusCode::BAD_REQUEST, "malformed_request");
}

#[tokio::test]
async fn empty_body_is_400() {
    let r = raw_patch(Some("application/json"), "").await;
    r.assert_error(StatusCode::BAD_REQUEST, "malformed_request");
}

#[tokio::test]
async fn missing_content_type_is_415() {
    let r = raw_patch(None, "{\"status\": \"failed\"}").await;
    r.assert_error(StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type");
}

#[tokio::test]
async fn wrong_content_type_is_415() {
    for ct in [
        "text/plain",
        "application/x-www-form-urlencoded",
        "application/xml",
    ] {
        let r = raw_patch(Some(ct), "{\"status\": \"failed\"}").await;
        r.assert_error(StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type");
    }
}

#[tokio::test]
async fn json_content_type_with_charset_is_accepted() {
    let (app, run, res) = arrange().await;
    let r = app
        .raw(
            "PATCH",
            &results_path(&run, &format!("/{res}")),
            &app.admin,
            Some("application/json; charset=utf-8"),
            "{\"status\": \"failed\"}",
        )
        .await;
    assert_eq!(r.data()["status"], "failed");
}

#[tokio::test]
async fn unknown_field_is_refused_by_name() {
    refused(json!({"status": "passed", "colour": "red"}), &["colour"]).await;
}

#[tokio::test]
async fn missing_status_is_refused() {
    refused(json!({"note": "no status"}), &["status"]).await;
}

#[tokio::test]
async fn null_status_is_refused() {
    refused(json!({"status": null}), &["status"]).await;
}

#[tokio::test]
async fn unknown_status_is_refused() {
    refused(json!({"status": "skipped"}), &["status"]).await;
}

#[tokio::test]
async fn status_in_another_case_is_refused() {
    refused(json!({"status": "PASSED"}), &["status"]).await;
}

#[tokio::test]
async fn non_string_status_is_refused() {
    refused(json!({"status": 1}), &["status"]).await;
}

#[tokio::test]
async fn negative_elapsed_is_refused() {
    refused(json!({"status": "passed", "elapsed": -1}), &["elapsed"]).await;
}

#[tokio::test]
async fn negative_elapsed_ms_is_refused() {
    refused(
        json!({"status": "passed", "elapsed_ms": -5}),
        &["elapsed_ms"],
    )
    .await;
}

#[tokio::test]
async fn fractional_elapsed_is_refused() {
    refused(json!({"status": "passed", "elapsed": 1.5}), &["elapsed"]).await;
}

#[tokio::test]
async fn string_elapsed_is_refused() {
    refused(json!({"status": "passed", "elapsed": "12"}), &["elapsed"]).await;
}

#[tokio::test]
async fn huge_elapsed_is_refused() {
    refused(
        json!({"status": "passed", "elapsed": u64::MAX}),
        &["elapsed"],
    )
    .await;
    refused(
        json!({"status": "passed", "elapsed_ms": i64::MAX}),
        &["elapsed_ms"],
    )
    .await;
}

#[tokio::test]
async fn non_string_note_is_refused() {
    refused(json!({"status": "passed", "note": 42}), &["note"]).await;
}

#[tokio::test]
async fn note_over_64_kib_is_refused() {
    refused(
        json!({"status": "failed", "note": "a".repeat(65_537)}),
        &["note"],
    )
    .await;
}

#[tokio::test]
async fn note_over_64_kib_in_bytes_but_not_characters_is_refused() {
    // 32,768 two-byte characters are exactly 64 KiB; one more byte is over.
    let note = format!("{}a", "é".repeat(32_768));
    refused(json!({"status": "failed", "note": note}), &["note"]).await;
}

#[tokio::test]
async fn note_of_exactly_64_kib_is_accepted() {
    let (app, run, res) = arrange().await;
    for note in ["a".repeat(65_536), "é".repeat(32_768)] {
        let r = app
            .patch(
                &results_path(&run, &format!("/{res}")),
                &app.admin,
                json!({"status": "failed", "note": note}),
            )
            .await;
        assert_eq!(r.data()["note"], note);
    }
    assert_eq!(app.history(&run, &res).await.len(), 3);
}

#[tokio::test]
async fn body_that_is_an_array_is_refused() {
    refused(json!([{"status": "passed"}]), &["body"]).await;
}

#[tokio::test]
async fn body_that_is_a_number_is_refused() {
    refused(json!(42), &["body"]).await;
}

#[tokio::test]
async fn body_that_is_null_is_refused() {
    refused(Value::Null, &["body"]).await;
}

#[tokio::test]
async fn test_case_id_in_a_patch_is_refused() {
    refused(
        json!({"test_case_id": "tc_001", "status": "passed"}),
        &["test_case_id"],
    )
    .await;
}

#[tokio::test]
async fn repeated_field_is_refused() {
    let r = raw_patch(
        Some("application/json"),
        r#"{"status": "passed", "status": "failed"}"#,
    )
    .await;
    r.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    assert_eq!(r.fields(), ["status"]);
}

#[tokio::test]
async fn every_bad_field_is_listed_at_once() {
    let r = raw_patch(
        Some("application/json"),
        &json!({"status": "nope", "elapsed": -1, "colour": 1}).to_string(),
    )
    .await;
    r.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    let mut fields = r.fields();
    fields.sort();
    assert_eq!(fields, ["colour", "elapsed", "status"]);
    assert!(
        r.body["error"]["message"]
            .as_str()
            .expect("message")
            .contains("(and 2 more)")
    );
}

#[tokio::test]
async fn patch_on_a_closed_run_is_409_and_changes_nothing() {
    let (app, run, res) = arrange().await;
    app.close_run(&run).await;
    let before = app.snapshot(&run).await;
    for method in ["PATCH", "PUT"] {
        let r = app
            .call(
                method,
                &results_path(&run, &format!("/{res}")),
                Some(&app.admin),
                Some(json!({"status": "failed"})),
            )
            .await;
        r.assert_error(StatusCode::CONFLICT, "run_closed");
    }
    assert_eq!(app.snapshot(&run).await, before);
}

#[tokio::test]
async fn bulk_on_a_closed_run_is_409_and_changes_nothing() {
    let (app, run, _) = arrange().await;
    app.close_run(&run).await;
    let before = app.snapshot(&run).await;
    let body = json!({"results": [{"test_case_id": "tc_001", "status": "failed"},
                                  {"test_case_id": "tc_002", "status": "passed"}]});
    let r = app.bulk(&run, &app.admin, body.clone()).await;
    r.assert_error(StatusCode::CONFLICT, "run_closed");
    let r = app
        .post(&results_path(&run, "/bulk?partial=true"), &app.admin, body)
        .await;
    r.assert_error(StatusCode::CONFLICT, "run_closed");
    assert_eq!(app.snapshot(&run).await, before);
}
