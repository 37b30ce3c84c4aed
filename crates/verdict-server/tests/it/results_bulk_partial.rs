//! Bulk uploads that apply: `?partial=true`, the order entries apply in, and
//! the answer's `results` in request order.

use crate::common;

use axum::http::StatusCode;
use common::{TestApp, results_path};
use serde_json::{Value, json};

#[tokio::test]
async fn partial_applies_valid_entries_and_rejects_the_rest_in_index_order() {
    let app = TestApp::new().await;
    let (_, cases, run) = app.seeded(4).await;
    let body = json!({"results": [
        {"test_case_id": cases[0], "status": "passed", "elapsed": 4},
        {"test_case_id": cases[1], "status": "exploded"},
        {"test_case_id": "tc_999", "status": "failed"},
        {"test_case_id": cases[2], "status": "failed", "note": "boom"},
        {"test_case_id": "case-4", "status": "passed"},
        "not an entry",
        {"test_case_id": cases[3], "status": "blocked", "elapsed": -1},
    ]});
    let r = app
        .post(&results_path(&run, "/bulk?partial=true"), &app.admin, body)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let data = r.data();
    assert_eq!(data["updated"], 2);
    let res0 = app.result_of(&run, &cases[0]).await;
    let res2 = app.result_of(&run, &cases[2]).await;
    assert_eq!(
        data["results"],
        json!([{"id": res0, "test_case_id": cases[0], "status": "passed"},
               {"id": res2, "test_case_id": cases[2], "status": "failed"}])
    );
    let rejected = data["rejected"].as_array().expect("rejected");
    let summary: Vec<Value> = rejected
        .iter()
        .map(|r| json!([r["index"], r["test_case_id"], r["code"]]))
        .collect();
    assert_eq!(
        summary,
        [
            json!([1, cases[1], "validation_failed"]),
            json!([2, "tc_999", "case_not_in_run"]),
            json!([4, "case-4", "validation_failed"]),
            json!([5, null, "validation_failed"]),
            json!([6, cases[3], "validation_failed"]),
        ]
    );
    // Each message says what was wrong with that entry.
    for (r, needle) in rejected.iter().zip([
        "results[1].status",
        "not in this run",
        "results[4].test_case_id",
        "results[5]",
        "results[6].elapsed",
    ]) {
        let message = r["message"].as_str().expect("message");
        assert!(message.contains(needle), "{message} lacks {needle}");
    }
    assert_eq!(
        app.counts(&run).await,
        json!({"passed": 1, "failed": 1, "blocked": 0, "retest": 0, "not_tested": 2, "total": 4})
    );
    let res1 = app.result_of(&run, &cases[1]).await;
    assert!(app.history(&run, &res1).await.is_empty());
    assert_eq!(app.history(&run, &res2).await[0]["note"], "boom");
}

#[tokio::test]
async fn partial_with_everything_valid_answers_an_empty_rejected_list() {
    let app = TestApp::new().await;
    let (_, cases, run) = app.seeded(2).await;
    let r = app
        .post(
            &results_path(&run, "/bulk?partial=true"),
            &app.admin,
            json!({"results": [{"test_case_id": cases[1], "status": "retest"}]}),
        )
        .await;
    assert_eq!(r.data()["updated"], 1);
    assert_eq!(r.data()["rejected"], json!([]));
}

#[tokio::test]
async fn partial_with_nothing_valid_writes_nothing_and_answers_200() {
    let app = TestApp::new().await;
    let (_, _, run) = app.seeded(2).await;
    let before = app.snapshot(&run).await;
    let r = app
        .post(
            &results_path(&run, "/bulk?partial=true"),
            &app.admin,
            json!({"results": [{"test_case_id": "tc_777", "status": "passed"},
                               {"test_case_id": "tc_001", "status": "meh"}]}),
        )
        .await;
    assert_eq!(r.data()["updated"], 0);
    assert_eq!(r.data()["results"], json!([]));
    assert_eq!(r.data()["rejected"].as_array().expect("rejected").len(), 2);
    assert_eq!(app.snapshot(&run).await, before);
}

#[tokio::test]
async fn partial_false_is_atomic_and_answers_without_rejected() {
    let app = TestApp::new().await;
    let (_, cases, run) = app.seeded(2).await;
    let before = app.snapshot(&run).await;
    let bad = json!({"results": [{"test_case_id": cases[0], "status": "passed"},
                                 {"test_case_id": "tc_999", "status": "passed"}]});
    let r = app
        .post(&results_path(&run, "/bulk?partial=false"), &app.admin, bad)
        .await;
    r.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    assert_eq!(app.snapshot(&run).await, before);
    let good = json!({"results": [{"test_case_id": cases[0], "status": "passed"}]});
    let r = app.bulk(&run, &app.admin, good).await;
    assert_eq!(r.data()["updated"], 1);
    assert!(
        r.data().get("rejected").is_none(),
        "atomic answers have no rejected: {}",
        r.body
    );
}

#[tokio::test]
async fn partial_must_be_true_or_false() {
    let app = TestApp::new().await;
    let (_, cases, run) = app.seeded(1).await;
    let before = app.snapshot(&run).await;
    for query in [
        "?partial=yes",
        "?partial=1",
        "?partial=",
        "?partial=true&partial=true",
    ] {
        let r = app
            .post(
                &results_path(&run, &format!("/bulk{query}")),
                &app.admin,
                json!({"results": [{"test_case_id": cases[0], "status": "passed"}]}),
            )
            .await;
        r.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
        assert_eq!(r.fields(), ["partial"], "{query}");
    }
    let r = app
        .post(
            &results_path(&run, "/bulk?dry=1"),
            &app.admin,
            json!({"results": []}),
        )
        .await;
    r.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    assert_eq!(r.fields(), ["dry"]);
    assert_eq!(app.snapshot(&run).await, before);
}

#[tokio::test]
async fn same_case_twice_is_two_executions_and_the_last_is_current() {
    let app = TestApp::new().await;
    let (_, cases, run) = app.seeded(2).await;
    let r = app
        .bulk(
            &run,
            &app.admin,
            json!({"results": [
                {"test_case_id": cases[0], "status": "failed", "note": "first try", "elapsed": 3},
                {"test_case_id": cases[1], "status": "blocked"},
                {"test_case_id": cases[0], "status": "passed", "elapsed_ms": 2500},
            ]}),
        )
        .await;
    assert_eq!(r.data()["updated"], 3);
    let res0 = app.result_of(&run, &cases[0]).await;
    let statuses: Vec<&Value> = r.data()["results"]
        .as_array()
        .expect("results")
        .iter()
        .map(|x| &x["status"])
        .collect();
    assert_eq!(statuses, ["failed", "blocked", "passed"]);
    assert_eq!(r.data()["results"][0]["id"], res0);
    assert_eq!(r.data()["results"][2]["id"], res0);
    let current = app
        .get(&results_path(&run, &format!("/{res0}")), &app.admin)
        .await;
    assert_eq!(current.data()["status"], "passed");
    assert_eq!(current.data()["note"], Value::Null);
    assert_eq!(current.data()["elapsed_ms"], 2500);
    let history = app.history(&run, &res0).await;
    let got: Vec<Value> = history
        .iter()
        .map(|h| json!([h["status"], h["note"], h["elapsed_ms"]]))
        .collect();
    assert_eq!(
        got,
        [
            json!(["passed", null, 2500]),
            json!(["failed", "first try", 3000])
        ]
    );
    assert_eq!(
        app.counts(&run).await,
        json!({"passed": 1, "failed": 0, "blocked": 1, "retest": 0, "not_tested": 0, "total": 2})
    );
}

#[tokio::test]
async fn bulk_answers_results_in_request_order_with_their_ids() {
    let app = TestApp::new().await;
    let (_, cases, run) = app.seeded(4).await;
    let order = [3, 0, 2, 1];
    let statuses = ["retest", "passed", "blocked", "failed"];
    let list: Vec<Value> = order
        .iter()
        .zip(statuses)
        .map(|(i, s)| json!({"test_case_id": cases[*i], "status": s}))
        .collect();
    let r = app.bulk(&run, &app.admin, json!({"results": list})).await;
    let mut expected = Vec::new();
    for (i, s) in order.iter().zip(statuses) {
        let id = app.result_of(&run, &cases[*i]).await;
        expected.push(json!({"id": id, "test_case_id": cases[*i], "status": s}));
    }
    assert_eq!(r.data(), &json!({"updated": 4, "results": expected}));
    for e in &expected {
        let got = app
            .get(
                &results_path(&run, &format!("/{}", e["id"].as_str().expect("id"))),
                &app.admin,
            )
            .await;
        assert_eq!(got.data()["status"], e["status"]);
        assert_eq!(got.data()["test_case_id"], e["test_case_id"]);
    }
}

#[tokio::test]
async fn bulk_not_tested_entry_clears_a_result() {
    let app = TestApp::new().await;
    let (_, cases, run) = app.seeded(1).await;
    let admin = app.admin_id().await;
    let r = app
        .bulk(
            &run,
            &app.admin,
            json!({"results": [
                {"test_case_id": cases[0], "status": "failed", "note": "x"},
                {"test_case_id": cases[0], "status": "not_tested"},
            ]}),
        )
        .await;
    assert_eq!(r.data()["updated"], 2);
    let res = app.result_of(&run, &cases[0]).await;
    let current = app
        .get(&results_path(&run, &format!("/{res}")), &app.admin)
        .await;
    assert_eq!(current.data()["status"], "not_tested");
    assert_eq!(current.data()["note"], Value::Null);
    assert_eq!(current.data()["tested_by"], Value::Null);
    assert_eq!(current.data()["tested_at"], Value::Null);
    let history = app.history(&run, &res).await;
    assert_eq!(history[0]["status"], "not_tested");
    assert_eq!(history[0]["tested_by"], admin);
    assert_eq!(app.counts(&run).await["not_tested"], 1);
    assert_eq!(app.counts(&run).await["failed"], 0);
}
