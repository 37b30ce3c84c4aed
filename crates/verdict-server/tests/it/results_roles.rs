//! Who may do what on the results endpoints (API §5): non-members see
//! nothing (404), viewers read, testers also record; no or a bad token is
//! a 401.

use crate::common;

use axum::http::StatusCode;
use common::{Resp, TestApp, results_path};
use serde_json::{Value, json};

/// A project of two cases with a run; the first result already has one
/// execution: (app, project, cases, run, result).
async fn arrange() -> (TestApp, String, Vec<String>, String, String) {
    let app = TestApp::new().await;
    let (project, cases, run) = app.seeded(2).await;
    let res = app.result_of(&run, &cases[0]).await;
    let r = app
        .patch(
            &results_path(&run, &format!("/{res}")),
            &app.admin,
            json!({"status": "failed", "note": "seed"}),
        )
        .await;
    assert_eq!(r.data()["status"], "failed");
    (app, project, cases, run, res)
}

fn bulk_body(cases: &[String]) -> Value {
    json!({"results": [{"test_case_id": cases[0], "status": "passed"},
                       {"test_case_id": cases[1], "status": "blocked"}]})
}

/// Every results endpoint, called with `token` (or none).
async fn every_endpoint(
    app: &TestApp,
    token: Option<&str>,
    run: &str,
    res: &str,
    cases: &[String],
) -> Vec<(&'static str, Resp)> {
    let one = results_path(run, &format!("/{res}"));
    let patch = json!({"status": "passed"});
    vec![
        (
            "list",
            app.call("GET", &results_path(run, ""), token, None).await,
        ),
        ("get", app.call("GET", &one, token, None).await),
        (
            "history",
            app.call("GET", &format!("{one}/history"), token, None)
                .await,
        ),
        (
            "patch",
            app.call("PATCH", &one, token, Some(patch.clone())).await,
        ),
        ("put", app.call("PUT", &one, token, Some(patch)).await),
        (
            "bulk",
            app.call(
                "POST",
                &results_path(run, "/bulk"),
                token,
                Some(bulk_body(cases)),
            )
            .await,
        ),
        (
            "partial bulk",
            app.call(
                "POST",
                &results_path(run, "/bulk?partial=true"),
                token,
                Some(bulk_body(cases)),
            )
            .await,
        ),
    ]
}

#[tokio::test]
async fn non_member_gets_404_on_every_results_endpoint() {
    let (app, _, cases, run, res) = arrange().await;
    let (_, outsider) = app.user("outsider").await;
    let before = app.snapshot(&run).await;
    for (name, r) in every_endpoint(&app, Some(&outsider), &run, &res, &cases).await {
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{name}: {}", r.body);
        r.assert_error(StatusCode::NOT_FOUND, "not_found");
    }
    assert_eq!(app.snapshot(&run).await, before);
}

#[tokio::test]
async fn member_of_another_project_gets_404() {
    let (app, _, cases, run, res) = arrange().await;
    let elsewhere = app.project("Elsewhere").await;
    let manager = app.member(&elsewhere, "mgr", "manager").await;
    let before = app.snapshot(&run).await;
    for (name, r) in every_endpoint(&app, Some(&manager), &run, &res, &cases).await {
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{name}: {}", r.body);
    }
    assert_eq!(app.snapshot(&run).await, before);
}

#[tokio::test]
async fn viewer_can_list_get_and_read_history() {
    let (app, project, _, run, res) = arrange().await;
    let viewer = app.member(&project, "vic", "viewer").await;
    let r = app.get(&results_path(&run, ""), &viewer).await;
    assert_eq!(r.data().as_array().expect("list").len(), 2);
    assert_eq!(r.body["meta"]["total"], 2);
    let r = app
        .get(&results_path(&run, &format!("/{res}")), &viewer)
        .await;
    assert_eq!(r.data()["note"], "seed");
    let r = app
        .get(&results_path(&run, &format!("/{res}/history")), &viewer)
        .await;
    assert_eq!(r.data().as_array().expect("history").len(), 1);
}

#[tokio::test]
async fn viewer_cannot_patch_and_nothing_is_written() {
    let (app, project, _, run, res) = arrange().await;
    let viewer = app.member(&project, "vic", "viewer").await;
    let before = app.snapshot(&run).await;
    for method in ["PATCH", "PUT"] {
        let r = app
            .call(
                method,
                &results_path(&run, &format!("/{res}")),
                Some(&viewer),
                Some(json!({"status": "passed"})),
            )
            .await;
        r.assert_error(StatusCode::FORBIDDEN, "forbidden");
    }
    assert_eq!(app.snapshot(&run).await, before);
}

#[tokio::test]
async fn viewer_cannot_bulk_and_nothing_is_written() {
    let (app, project, cases, run, _) = arrange().await;
    let viewer = app.member(&project, "vic", "viewer").await;
    let before = app.snapshot(&run).await;
    let r = app.bulk(&run, &viewer, bulk_body(&cases)).await;
    r.assert_error(StatusCode::FORBIDDEN, "forbidden");
    let r = app
        .post(
            &results_path(&run, "/bulk?partial=true"),
            &viewer,
            bulk_body(&cases),
        )
        .await;
    r.assert_error(StatusCode::FORBIDDEN, "forbidden");
    let r = app
        .bulk_with_key(&run, &viewer, "v-1", &bulk_body(&cases))
        .await;
    r.assert_error(StatusCode::FORBIDDEN, "forbidden");
    assert_eq!(app.snapshot(&run).await, before);
}

#[tokio::test]
async fn tester_can_patch_and_bulk() {
    let (app, project, cases, run, res) = arrange().await;
    let (uid, tester) = app.member_with_id(&project, "tess", "tester").await;
    let r = app
        .patch(
            &results_path(&run, &format!("/{res}")),
            &tester,
            json!({"status": "retest"}),
        )
        .await;
    assert_eq!(r.data()["tested_by"], uid);
    let r = app.bulk(&run, &tester, bulk_body(&cases)).await;
    assert_eq!(r.data()["updated"], 2);
    let second = app.result_of(&run, &cases[1]).await;
    let got = app
        .get(&results_path(&run, &format!("/{second}")), &tester)
        .await;
    assert_eq!(got.data()["status"], "blocked");
    assert_eq!(got.data()["tested_by"], uid);
    assert_eq!(app.history(&run, &res).await.len(), 3);
}

#[tokio::test]
async fn manager_can_patch_and_bulk() {
    let (app, project, cases, run, res) = arrange().await;
    let manager = app.member(&project, "mia", "manager").await;
    let r = app
        .patch(
            &results_path(&run, &format!("/{res}")),
            &manager,
            json!({"status": "passed"}),
        )
        .await;
    assert_eq!(r.data()["status"], "passed");
    assert_eq!(
        app.bulk(&run, &manager, bulk_body(&cases)).await.data()["updated"],
        2
    );
}

#[tokio::test]
async fn no_token_is_401_everywhere_and_nothing_is_written() {
    let (app, _, cases, run, res) = arrange().await;
    let before = app.snapshot(&run).await;
    for (name, r) in every_endpoint(&app, None, &run, &res, &cases).await {
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{name}: {}", r.body);
        r.assert_error(StatusCode::UNAUTHORIZED, "unauthorized");
        assert_eq!(
            r.headers.get("www-authenticate").map(|v| v.as_bytes()),
            Some(&b"Bearer"[..])
        );
    }
    assert_eq!(app.snapshot(&run).await, before);
}

#[tokio::test]
async fn unknown_token_is_401_everywhere() {
    let (app, _, cases, run, res) = arrange().await;
    let before = app.snapshot(&run).await;
    let fake = format!("vdt_{}", "0".repeat(64));
    for (name, r) in every_endpoint(&app, Some(&fake), &run, &res, &cases).await {
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{name}: {}", r.body);
        r.assert_error(StatusCode::UNAUTHORIZED, "unauthorized");
    }
    assert_eq!(app.snapshot(&run).await, before);
}

#[tokio::test]
async fn malformed_authorization_is_401() {
    let (app, _, _, run, _) = arrange().await;
    for header in [
        "Basic dXNlcjpwYXNz",
        "Bearer",
        "Bearer not-a-token",
        "vdt_test_admin_token_0123456789",
    ] {
        let req = axum::http::Request::builder()
            .method("GET")
            .uri(results_path(&run, ""))
            .header("authorization", header)
            .body(axum::body::Body::empty())
            .expect("request");
        let r = app.send(req).await;
        r.assert_error(StatusCode::UNAUTHORIZED, "unauthorized");
    }
}

#[tokio::test]
async fn a_removed_member_loses_access() {
    let (app, project, _, run, res) = arrange().await;
    let (uid, tester) = app.member_with_id(&project, "tess", "tester").await;
    assert_eq!(
        app.get(&results_path(&run, ""), &tester).await.status,
        StatusCode::OK
    );
    let r = app
        .delete(&format!("/v1/projects/{project}/members/{uid}"), &app.admin)
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.body);
    let before = app.snapshot(&run).await;
    let r = app
        .patch(
            &results_path(&run, &format!("/{res}")),
            &tester,
            json!({"status": "passed"}),
        )
        .await;
    r.assert_error(StatusCode::NOT_FOUND, "not_found");
    assert_eq!(app.snapshot(&run).await, before);
}
