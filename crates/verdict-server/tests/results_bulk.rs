//! POST /v1/runs/:rid/results/bulk — the contract's bulk upload.

mod common;

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
