//! POST /v1/runs/:rid/results/bulk — the contract's bulk upload.

use crate::common;

use axum::http::StatusCode;
use common::TestApp;
use serde_json::json;

#[tokio::test]
async fn the_contract_example_body_works_verbatim() {
    let app = TestApp::new().await;
    let (_, cases, run) = app.seeded(2).await;
    assert_eq!(cases, ["tc_001", "tc_002"]);
    let body = r#"{ "results": [ { "test_case_id": "tc_001", "status": "passed", "elapsed": 12 },
               { "test_case_id": "tc_002", "status": "failed",
                 "note": "AssertionError: expected 200 but got 500", "elapsed": 8 } ] }"#;
    let r = app
        .raw(
            "POST",
            &format!("/v1/runs/{run}/results/bulk"),
            &app.admin,
            Some("application/json"),
            body,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["data"]["updated"], 2);
    let results = r.body["data"]["results"].as_array().unwrap();
    assert_eq!(results[0]["test_case_id"], "tc_001");
    assert_eq!(results[0]["status"], "passed");
    assert_eq!(results[1]["test_case_id"], "tc_002");
    assert_eq!(results[1]["status"], "failed");
    assert!(results[0]["id"].as_str().unwrap().starts_with("res_"));
    let counts = app.counts(&run).await;
    assert_eq!(
        counts,
        json!({"passed": 1, "failed": 1, "blocked": 0, "retest": 0, "not_tested": 0, "total": 2})
    );
}

#[tokio::test]
async fn bulk_with_unknown_case_rejects_everything() {
    let app = TestApp::new().await;
    let (_, cases, run) = app.seeded(2).await;
    let r = app
        .post(
            &format!("/v1/runs/{run}/results/bulk"),
            &app.admin,
            json!({"results": [
                {"test_case_id": cases[0], "status": "passed"},
                {"test_case_id": "tc_999", "status": "failed"},
            ]}),
        )
        .await;
    r.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    assert_eq!(r.fields(), ["results[1].test_case_id"]);
    let counts = app.counts(&run).await;
    assert_eq!(counts["not_tested"], 2);
    let first = app.result_of(&run, &cases[0]).await;
    assert!(app.history(&run, &first).await.is_empty());
}

// --- atomic by default: one bad entry and nothing is written ----------------

/// A run of five cases whose first result already holds an execution:
/// (app, cases, run).
async fn arrange() -> (TestApp, Vec<String>, String) {
    let app = TestApp::new().await;
    let (_, cases, run) = app.seeded(5).await;
    let r = app
        .bulk(
            &run,
            &app.admin,
            json!({"results": [{"test_case_id": cases[0], "status": "retest"}]}),
        )
        .await;
    assert_eq!(r.data()["updated"], 1);
    (app, cases, run)
}

/// Sends `body` to the bulk endpoint, asserts a 422 naming exactly `fields`
/// and that the run is as it was.
async fn refused(body: serde_json::Value, fields: &[&str]) {
    let (app, _, run) = arrange().await;
    let before = app.snapshot(&run).await;
    let r = app.bulk(&run, &app.admin, body).await;
    r.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    assert_eq!(r.fields(), fields, "{}", r.body);
    assert_eq!(app.snapshot(&run).await, before);
}

fn entries(cases: usize, bad: &[(usize, serde_json::Value)]) -> serde_json::Value {
    let mut list: Vec<serde_json::Value> = (1..=cases)
        .map(|i| json!({"test_case_id": format!("tc_{i:03}"), "status": "passed", "elapsed": i}))
        .collect();
    for (i, entry) in bad {
        list[*i] = entry.clone();
    }
    json!({"results": list})
}

#[tokio::test]
async fn bulk_with_one_bad_status_writes_nothing_and_names_its_index() {
    let body = entries(
        5,
        &[(3, json!({"test_case_id": "tc_004", "status": "skipped"}))],
    );
    refused(body.clone(), &["results[3].status"]).await;
    // The message is the contract's own example, word for word.
    let (app, _, run) = arrange().await;
    let r = app.bulk(&run, &app.admin, body).await;
    assert_eq!(
        r.body["error"]["message"],
        "results[3].status: must be one of passed, failed, blocked, retest, not_tested"
    );
}

#[tokio::test]
async fn bulk_lists_every_bad_entry_in_index_order() {
    let body = entries(
        5,
        &[
            (
                1,
                json!({"test_case_id": "tc_002", "status": "passed", "elapsed": -3}),
            ),
            (2, json!({"test_case_id": "tc_999", "status": "passed"})),
            (3, json!({"test_case_id": "tc_004"})),
            (
                4,
                json!({"test_case_id": "tc_005", "status": "failed", "elapsed": 1.5, "colour": 1}),
            ),
        ],
    );
    refused(
        body,
        &[
            "results[1].elapsed",
            "results[2].test_case_id",
            "results[3].status",
            "results[4].colour",
            "results[4].elapsed",
        ],
    )
    .await;
}

#[tokio::test]
async fn bulk_with_several_cases_not_in_the_run_names_each() {
    let (app, _, run) = arrange().await;
    let other = app.project("Other").await;
    let foreign = app.cases(&other, 1).await;
    let before = app.snapshot(&run).await;
    let body = entries(
        5,
        &[
            (0, json!({"test_case_id": foreign[0], "status": "passed"})),
            (4, json!({"test_case_id": "tc_999", "status": "passed"})),
        ],
    );
    let r = app.bulk(&run, &app.admin, body).await;
    r.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    assert_eq!(
        r.fields(),
        ["results[0].test_case_id", "results[4].test_case_id"]
    );
    assert_eq!(app.snapshot(&run).await, before);
}

#[tokio::test]
async fn bulk_entry_that_is_not_an_object_is_named_by_index() {
    refused(entries(3, &[(1, json!("tc_002 passed"))]), &["results[1]"]).await;
    refused(entries(3, &[(2, json!(null))]), &["results[2]"]).await;
}

#[tokio::test]
async fn bulk_with_malformed_test_case_id_names_it() {
    refused(
        entries(
            2,
            &[(1, json!({"test_case_id": "case-2", "status": "passed"}))],
        ),
        &["results[1].test_case_id"],
    )
    .await;
    refused(
        entries(2, &[(0, json!({"test_case_id": 2, "status": "passed"}))]),
        &["results[0].test_case_id"],
    )
    .await;
}

#[tokio::test]
async fn bulk_entry_without_test_case_id_names_it() {
    refused(
        entries(2, &[(1, json!({"status": "passed"}))]),
        &["results[1].test_case_id"],
    )
    .await;
}

#[tokio::test]
async fn bulk_entry_with_not_tested_and_a_note_is_refused() {
    refused(
        entries(
            2,
            &[(
                0,
                json!({"test_case_id": "tc_001", "status": "not_tested", "note": "x"}),
            )],
        ),
        &["results[0].note"],
    )
    .await;
}

#[tokio::test]
async fn bulk_entry_with_disagreeing_elapsed_is_refused() {
    refused(entries(2, &[(1, json!({"test_case_id": "tc_002", "status": "passed", "elapsed": 9, "elapsed_ms": 1000}))]), &["results[1].elapsed"]).await;
}

#[tokio::test]
async fn bulk_entry_with_a_note_over_64_kib_is_refused() {
    let note = "n".repeat(65_537);
    refused(
        entries(
            2,
            &[(
                1,
                json!({"test_case_id": "tc_002", "status": "failed", "note": note}),
            )],
        ),
        &["results[1].note"],
    )
    .await;
}

#[tokio::test]
async fn bulk_without_results_is_refused() {
    let (app, _, run) = arrange().await;
    let before = app.snapshot(&run).await;
    let r = app.bulk(&run, &app.admin, json!({})).await;
    r.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    let message = r.body["error"]["message"].as_str().expect("message");
    assert!(message.contains("`results`"), "{message}");
    assert_eq!(app.snapshot(&run).await, before);
}

#[tokio::test]
async fn bulk_with_results_not_a_list_is_refused() {
    refused(
        json!({"results": {"test_case_id": "tc_001", "status": "passed"}}),
        &["results"],
    )
    .await;
    refused(json!({"results": null}), &["results"]).await;
}

#[tokio::test]
async fn bulk_with_unknown_top_level_field_is_refused() {
    refused(
        json!({"results": [{"test_case_id": "tc_001", "status": "passed"}], "run": "x"}),
        &["run"],
    )
    .await;
}

#[tokio::test]
async fn bulk_body_that_is_not_an_object_is_refused() {
    let entry = json!({"test_case_id": "tc_001", "status": "passed"});
    refused(json!([[entry]]), &["body"]).await;
    refused(json!([entry]), &["body"]).await;
    refused(json!("results"), &["body"]).await;
}

#[tokio::test]
async fn bulk_with_malformed_json_is_400_and_writes_nothing() {
    let (app, _, run) = arrange().await;
    let before = app.snapshot(&run).await;
    let body = r#"{"results": [{"test_case_id": "tc_001", "status": "passed"},"#;
    let r = app
        .raw(
            "POST",
            &format!("/v1/runs/{run}/results/bulk"),
            &app.admin,
            Some("application/json"),
            body,
        )
        .await;
    r.assert_error(StatusCode::BAD_REQUEST, "malformed_request");
    assert!(
        r.body["error"]["message"]
            .as_str()
            .expect("message")
            .contains("line 1 column")
    );
    let r = app
        .raw(
            "POST",
            &format!("/v1/runs/{run}/results/bulk"),
            &app.admin,
            Some("text/csv"),
            "tc_001,passed",
        )
        .await;
    r.assert_error(StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type");
    assert_eq!(app.snapshot(&run).await, before);
}

#[tokio::test]
async fn bulk_with_an_empty_list_updates_nothing() {
    let (app, _, run) = arrange().await;
    let before = app.snapshot(&run).await;
    let r = app.bulk(&run, &app.admin, json!({"results": []})).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body, json!({"data": {"updated": 0, "results": []}}));
    assert_eq!(app.snapshot(&run).await, before);
}

#[tokio::test]
async fn bulk_to_unknown_or_malformed_run_is_not_found() {
    let app = TestApp::new().await;
    app.seeded(1).await;
    for run in ["run_999", "run_x", "tc_001"] {
        let r = app.bulk(run, &app.admin, json!({"results": []})).await;
        r.assert_error(StatusCode::NOT_FOUND, "not_found");
    }
}
