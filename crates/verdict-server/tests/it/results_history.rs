//! GET /v1/runs/:rid/results/:id/history (API §4).

use crate::common;

use axum::http::StatusCode;
use common::{TestApp, is_utc_instant, results_path};
use serde_json::{Value, json};

fn history_path(run: &str, res: &str, query: &str) -> String {
    results_path(run, &format!("/{res}/history{query}"))
}

/// A run of two cases and its first result: (app, run, result).
async fn arrange() -> (TestApp, String, String) {
    let app = TestApp::new().await;
    let (_, cases, run) = app.seeded(2).await;
    let res = app.result_of(&run, &cases[0]).await;
    (app, run, res)
}

async fn record(app: &TestApp, run: &str, res: &str, token: &str, body: Value) {
    let r = app
        .patch(&results_path(run, &format!("/{res}")), token, body)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
}

#[tokio::test]
async fn history_lists_every_execution_newest_first() {
    let (app, run, res) = arrange().await;
    let admin = app.admin_id().await;
    record(
        &app,
        &run,
        &res,
        &app.admin,
        json!({"status": "passed", "elapsed_ms": 1500}),
    )
    .await;
    record(
        &app,
        &run,
        &res,
        &app.admin,
        json!({"status": "failed", "note": "second"}),
    )
    .await;
    record(
        &app,
        &run,
        &res,
        &app.admin,
        json!({"status": "blocked", "elapsed": 4}),
    )
    .await;
    let r = app.get(&history_path(&run, &res, ""), &app.admin).await;
    let data = r.data().as_array().expect("history").clone();
    assert_eq!(
        r.body["meta"],
        json!({"total": 3, "page": 1, "per_page": 20})
    );
    let mut times = Vec::new();
    let mut rest = Vec::new();
    for entry in &data {
        let at = entry["tested_at"].as_str().expect("tested_at").to_string();
        assert!(is_utc_instant(&at), "{at}");
        times.push(at);
        let mut entry = entry.clone();
        entry.as_object_mut().expect("object").remove("tested_at");
        rest.push(entry);
    }
    assert!(times.windows(2).all(|w| w[0] >= w[1]), "{times:?}");
    assert_eq!(
        rest,
        [
            json!({"result_id": res, "status": "blocked", "note": null, "elapsed": 4, "elapsed_ms": 4000, "tested_by": admin, "step_results": [], "defects": []}),
            json!({"result_id": res, "status": "failed", "note": "second", "elapsed": null, "elapsed_ms": null, "tested_by": admin, "step_results": [], "defects": []}),
            json!({"result_id": res, "status": "passed", "note": null, "elapsed": 1, "elapsed_ms": 1500, "tested_by": admin, "step_results": [], "defects": []}),
        ]
    );
}

#[tokio::test]
async fn history_is_paged_with_the_true_total() {
    let (app, run, res) = arrange().await;
    for i in 0..5 {
        record(
            &app,
            &run,
            &res,
            &app.admin,
            json!({"status": "failed", "note": format!("n{i}")}),
        )
        .await;
    }
    let notes = |r: &common::Resp| -> Vec<Value> {
        r.data()
            .as_array()
            .expect("history")
            .iter()
            .map(|h| h["note"].clone())
            .collect()
    };
    let r = app
        .get(&history_path(&run, &res, "?per_page=2"), &app.admin)
        .await;
    assert_eq!(notes(&r), ["n4", "n3"]);
    assert_eq!(
        r.body["meta"],
        json!({"total": 5, "page": 1, "per_page": 2})
    );
    let r = app
        .get(&history_path(&run, &res, "?per_page=2&page=3"), &app.admin)
        .await;
    assert_eq!(notes(&r), ["n0"]);
    assert_eq!(
        r.body["meta"],
        json!({"total": 5, "page": 3, "per_page": 2})
    );
    let r = app
        .get(&history_path(&run, &res, "?per_page=2&page=4"), &app.admin)
        .await;
    assert_eq!(notes(&r), Vec::<Value>::new());
    assert_eq!(r.body["meta"]["total"], 5);
    let r = app
        .get(&history_path(&run, &res, "?per_page=1000"), &app.admin)
        .await;
    assert_eq!(notes(&r), ["n4", "n3", "n2", "n1", "n0"]);
}

#[tokio::test]
async fn history_refuses_bad_paging_and_unknown_parameters() {
    let (app, run, res) = arrange().await;
    for (query, field) in [
        ("?per_page=1001", "per_page"),
        ("?per_page=0", "per_page"),
        ("?page=0", "page"),
        ("?page=x", "page"),
        ("?status=passed", "status"),
    ] {
        let r = app.get(&history_path(&run, &res, query), &app.admin).await;
        r.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
        assert_eq!(r.fields(), [field], "{query}");
    }
}

#[tokio::test]
async fn history_of_an_untested_result_is_empty() {
    let (app, run, res) = arrange().await;
    let r = app.get(&history_path(&run, &res, ""), &app.admin).await;
    assert_eq!(r.data(), &json!([]));
    assert_eq!(r.body["meta"]["total"], 0);
}

#[tokio::test]
async fn history_keeps_a_not_tested_execution_with_who_did_it() {
    let app = TestApp::new().await;
    let (project, cases, run) = app.seeded(1).await;
    let (uid, tester) = app.member_with_id(&project, "tess", "tester").await;
    let res = app.result_of(&run, &cases[0]).await;
    record(
        &app,
        &run,
        &res,
        &app.admin,
        json!({"status": "failed", "note": "bad"}),
    )
    .await;
    record(&app, &run, &res, &tester, json!({"status": "not_tested"})).await;
    let history = app.history(&run, &res).await;
    assert_eq!(history.len(), 2);
    assert_eq!(history[0]["status"], "not_tested");
    assert_eq!(history[0]["tested_by"], uid);
    assert_eq!(history[0]["note"], Value::Null);
    assert!(is_utc_instant(
        history[0]["tested_at"].as_str().expect("at")
    ));
    assert_eq!(history[1]["note"], "bad");
    let current = app
        .get(&results_path(&run, &format!("/{res}")), &app.admin)
        .await;
    assert_eq!(current.data()["status"], "not_tested");
    assert_eq!(current.data()["tested_by"], Value::Null);
    assert_eq!(current.data()["tested_at"], Value::Null);
}

#[tokio::test]
async fn history_of_unknown_malformed_or_foreign_result_is_not_found() {
    let app = TestApp::new().await;
    let (project, cases, run) = app.seeded(1).await;
    let other = app.run(&project, "Other").await;
    let theirs = app.result_of(&other, &cases[0]).await;
    for (r, res) in [
        (&run, "res_999"),
        (&run, "res_x"),
        (&run, theirs.as_str()),
        (&"run_999".to_string(), "res_001"),
    ] {
        let got = app.get(&history_path(r, res, ""), &app.admin).await;
        got.assert_error(StatusCode::NOT_FOUND, "not_found");
    }
}
