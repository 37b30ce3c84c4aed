//! GET one result, and PATCH/PUT of one result that succeed: the shape, who
//! and when, fields that are not given, elapsed ↔ elapsed_ms, not_tested.

use crate::common;

use axum::http::StatusCode;
use common::{TestApp, is_utc_instant, results_path};
use serde_json::{Value, json};
use verdict_store::Timestamp;

/// A project of `n` cases with a run, a tester in it, and the first result:
/// (run, cases, first result id, tester's user id, tester's token).
async fn arrange(app: &TestApp, n: usize) -> (String, Vec<String>, String, String, String) {
    let (project, cases, run) = app.seeded(n).await;
    let (uid, token) = app.member_with_id(&project, "tess", "tester").await;
    let res = app.result_of(&run, &cases[0]).await;
    (run, cases, res, uid, token)
}

fn one(run: &str, res: &str) -> String {
    results_path(run, &format!("/{res}"))
}

#[tokio::test]
async fn get_untested_result_has_not_tested_and_null_fields() {
    let app = TestApp::new().await;
    let (run, cases, res, _, _) = arrange(&app, 2).await;
    let r = app.get(&one(&run, &res), &app.admin).await;
    assert_eq!(
        r.data(),
        &json!({"id": res, "test_case_id": cases[0], "test_case_title": "Case 1",
                "status": "not_tested", "note": null, "elapsed": null, "elapsed_ms": null,
                "tested_by": null, "tested_at": null,
        "step_results": [], "defects": [], "assigned_to": null})
    );
}

#[tokio::test]
async fn patch_with_the_contract_example_records_the_caller_and_time() {
    let app = TestApp::new().await;
    let (run, cases, res, uid, token) = arrange(&app, 2).await;
    let before = Timestamp::now().to_string();
    let r = app
        .patch(
            &one(&run, &res),
            &token,
            json!({"status": "failed", "note": "…", "elapsed": 120}),
        )
        .await;
    let after = Timestamp::now().to_string();
    let data = r.data().clone();
    let at = data["tested_at"].as_str().expect("tested_at").to_string();
    assert!(is_utc_instant(&at), "{at}");
    assert!(before <= at && at <= after, "{before} <= {at} <= {after}");
    assert_eq!(
        data,
        json!({"id": res, "test_case_id": cases[0], "test_case_title": "Case 1",
               "status": "failed", "note": "…", "elapsed": 120, "elapsed_ms": 120_000,
               "tested_by": uid, "tested_at": at,
               "step_results": [], "defects": [], "assigned_to": null})
    );
    // GET answers exactly what the PATCH did, and the run counts it.
    assert_eq!(app.get(&one(&run, &res), &app.admin).await.data(), &data);
    let history = app.history(&run, &res).await;
    assert_eq!(
        history,
        [
            json!({"result_id": res, "status": "failed", "note": "…", "elapsed": 120,
                "elapsed_ms": 120_000, "tested_by": uid, "tested_at": at,
               "step_results": [], "defects": []})
        ]
    );
    assert_eq!(
        app.counts(&run).await,
        json!({"passed": 0, "failed": 1, "blocked": 0, "retest": 0, "not_tested": 1, "total": 2})
    );
}

#[tokio::test]
async fn put_is_accepted_as_patch() {
    let app = TestApp::new().await;
    let (run, _, res, uid, token) = arrange(&app, 1).await;
    let r = app
        .put(
            &one(&run, &res),
            &token,
            json!({"status": "blocked", "note": "env down"}),
        )
        .await;
    assert_eq!(r.data()["status"], "blocked");
    assert_eq!(r.data()["note"], "env down");
    assert_eq!(r.data()["tested_by"], uid);
    assert_eq!(app.history(&run, &res).await.len(), 1);
    assert_eq!(app.counts(&run).await["blocked"], 1);
}

#[tokio::test]
async fn get_result_of_another_run_is_not_found() {
    let app = TestApp::new().await;
    let (project, cases, run) = app.seeded(2).await;
    let other = app.run(&project, "Other").await;
    let theirs = app.result_of(&other, &cases[0]).await;
    assert_ne!(theirs, app.result_of(&run, &cases[0]).await);
    let r = app.get(&one(&run, &theirs), &app.admin).await;
    r.assert_error(StatusCode::NOT_FOUND, "not_found");
    let r = app
        .patch(&one(&run, &theirs), &app.admin, json!({"status": "passed"}))
        .await;
    r.assert_error(StatusCode::NOT_FOUND, "not_found");
    assert_eq!(app.counts(&other).await["passed"], 0);
    assert_eq!(app.counts(&run).await["passed"], 0);
}

#[tokio::test]
async fn get_malformed_or_unknown_result_is_not_found() {
    let app = TestApp::new().await;
    let (_, _, run) = app.seeded(2).await;
    for id in ["res_999", "res_0", "res_", "abc", "tc_001", "res_1.5"] {
        let r = app.get(&one(&run, id), &app.admin).await;
        r.assert_error(StatusCode::NOT_FOUND, "not_found");
        let r = app
            .patch(&one(&run, id), &app.admin, json!({"status": "passed"}))
            .await;
        r.assert_error(StatusCode::NOT_FOUND, "not_found");
    }
    assert_eq!(app.counts(&run).await["not_tested"], 2);
}

#[tokio::test]
async fn get_result_with_query_parameter_is_refused() {
    let app = TestApp::new().await;
    let (run, _, res, _, _) = arrange(&app, 1).await;
    let r = app
        .get(&one(&run, &format!("{res}?verbose=1")), &app.admin)
        .await;
    r.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    assert_eq!(r.fields(), ["verbose"]);
}

#[tokio::test]
async fn patch_without_note_or_elapsed_clears_them() {
    let app = TestApp::new().await;
    let (run, _, res, _, token) = arrange(&app, 1).await;
    let r = app
        .patch(
            &one(&run, &res),
            &token,
            json!({"status": "failed", "note": "boom", "elapsed": 7}),
        )
        .await;
    assert_eq!(r.data()["note"], "boom");
    let r = app
        .patch(&one(&run, &res), &token, json!({"status": "passed"}))
        .await;
    let data = r.data();
    assert_eq!(data["status"], "passed");
    assert_eq!(data["note"], Value::Null);
    assert_eq!(data["elapsed"], Value::Null);
    assert_eq!(data["elapsed_ms"], Value::Null);
    // Explicit nulls mean the same as leaving the fields out.
    let r = app
        .patch(
            &one(&run, &res),
            &token,
            json!({"status": "retest", "note": null, "elapsed": null}),
        )
        .await;
    assert_eq!(r.data()["note"], Value::Null);
    assert_eq!(app.history(&run, &res).await.len(), 3);
}

async fn elapsed_of(body: Value) -> Value {
    let app = TestApp::new().await;
    let (run, _, res, _, token) = arrange(&app, 1).await;
    let r = app.patch(&one(&run, &res), &token, body).await;
    let data = r.data();
    let got = json!({"elapsed": data["elapsed"], "elapsed_ms": data["elapsed_ms"]});
    let stored = app.get(&one(&run, &res), &app.admin).await;
    assert_eq!(stored.data()["elapsed_ms"], data["elapsed_ms"]);
    got
}

#[tokio::test]
async fn elapsed_in_seconds_is_kept_in_milliseconds_too() {
    let got = elapsed_of(json!({"status": "passed", "elapsed": 2})).await;
    assert_eq!(got, json!({"elapsed": 2, "elapsed_ms": 2000}));
}

#[tokio::test]
async fn elapsed_ms_is_shown_in_whole_seconds_rounded_down() {
    let got = elapsed_of(json!({"status": "passed", "elapsed_ms": 1234})).await;
    assert_eq!(got, json!({"elapsed": 1, "elapsed_ms": 1234}));
    let got = elapsed_of(json!({"status": "passed", "elapsed_ms": 999})).await;
    assert_eq!(got, json!({"elapsed": 0, "elapsed_ms": 999}));
}

#[tokio::test]
async fn elapsed_zero_is_accepted() {
    let got = elapsed_of(json!({"status": "passed", "elapsed": 0})).await;
    assert_eq!(got, json!({"elapsed": 0, "elapsed_ms": 0}));
}

#[tokio::test]
async fn elapsed_and_elapsed_ms_that_agree_are_accepted() {
    let got = elapsed_of(json!({"status": "passed", "elapsed": 1, "elapsed_ms": 1999})).await;
    assert_eq!(got, json!({"elapsed": 1, "elapsed_ms": 1999}));
    let got = elapsed_of(json!({"status": "passed", "elapsed": 3, "elapsed_ms": 3000})).await;
    assert_eq!(got, json!({"elapsed": 3, "elapsed_ms": 3000}));
}

#[tokio::test]
async fn elapsed_and_elapsed_ms_that_disagree_are_refused() {
    let app = TestApp::new().await;
    let (run, _, res, _, token) = arrange(&app, 1).await;
    let before = app.snapshot(&run).await;
    let r = app
        .patch(
            &one(&run, &res),
            &token,
            json!({"status": "passed", "elapsed": 2, "elapsed_ms": 1234}),
        )
        .await;
    r.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    assert_eq!(r.fields(), ["elapsed"]);
    assert_eq!(app.snapshot(&run).await, before);
}

#[tokio::test]
async fn not_tested_clears_the_result_and_is_kept_in_history() {
    let app = TestApp::new().await;
    let (run, cases, res, uid, token) = arrange(&app, 2).await;
    let r = app
        .patch(
            &one(&run, &res),
            &token,
            json!({"status": "failed", "note": "x", "elapsed": 3}),
        )
        .await;
    assert_eq!(r.data()["status"], "failed");
    let r = app
        .patch(&one(&run, &res), &token, json!({"status": "not_tested"}))
        .await;
    let cleared = json!({"id": res, "test_case_id": cases[0], "test_case_title": "Case 1",
        "status": "not_tested", "note": null, "elapsed": null, "elapsed_ms": null,
        "tested_by": null, "tested_at": null,
        "step_results": [], "defects": [], "assigned_to": null});
    assert_eq!(r.data(), &cleared);
    assert_eq!(app.get(&one(&run, &res), &app.admin).await.data(), &cleared);
    assert_eq!(app.counts(&run).await["not_tested"], 2);
    assert_eq!(app.counts(&run).await["failed"], 0);
    let history = app.history(&run, &res).await;
    assert_eq!(history.len(), 2);
    assert_eq!(history[0]["status"], "not_tested");
    assert_eq!(history[0]["tested_by"], uid);
    assert!(is_utc_instant(
        history[0]["tested_at"].as_str().expect("at")
    ));
    assert_eq!(history[1]["status"], "failed");
}

#[tokio::test]
async fn not_tested_with_a_note_is_refused() {
    let app = TestApp::new().await;
    let (run, _, res, _, token) = arrange(&app, 1).await;
    app.patch(&one(&run, &res), &token, json!({"status": "passed"}))
        .await
        .data();
    let before = app.snapshot(&run).await;
    let r = app
        .patch(
            &one(&run, &res),
            &token,
            json!({"status": "not_tested", "note": "why"}),
        )
        .await;
    r.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    assert_eq!(r.fields(), ["note"]);
    assert_eq!(app.snapshot(&run).await, before);
}

#[tokio::test]
async fn not_tested_with_elapsed_is_refused() {
    let app = TestApp::new().await;
    let (run, _, res, _, token) = arrange(&app, 1).await;
    app.patch(&one(&run, &res), &token, json!({"status": "passed"}))
        .await
        .data();
    let before = app.snapshot(&run).await;
    for body in [
        json!({"status": "not_tested", "elapsed": 0}),
        json!({"status": "not_tested", "elapsed_ms": 5}),
    ] {
        let r = app.patch(&one(&run, &res), &token, body).await;
        r.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
        assert_eq!(r.fields(), ["elapsed"]);
    }
    assert_eq!(app.snapshot(&run).await, before);
}

#[tokio::test]
async fn patch_by_another_user_becomes_tested_by_them() {
    let app = TestApp::new().await;
    let (run, _, res, uid, token) = arrange(&app, 1).await;
    app.patch(&one(&run, &res), &token, json!({"status": "failed"}))
        .await
        .data();
    let admin = app.admin_id().await;
    let r = app
        .patch(&one(&run, &res), &app.admin, json!({"status": "passed"}))
        .await;
    assert_eq!(r.data()["tested_by"], admin);
    let history = app.history(&run, &res).await;
    let by: Vec<&Value> = history.iter().map(|h| &h["tested_by"]).collect();
    assert_eq!(by, [&json!(admin), &json!(uid)]);
}
