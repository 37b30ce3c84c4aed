//! TestRail API v2: runs and users, checked against TestRail's documented
//! shapes and against Verdict's own v1 API.

use axum::http::StatusCode;
use serde_json::{Value, json};

use crate::common::{Resp, TestApp};
use crate::testrail::{admin_auth, admin_email, assert_tr_error, basic, tr};
use crate::testrail_cases::num;

#[track_caller]
fn ok(r: &Resp) -> &Value {
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    &r.body
}

/// A project with three cases: (project, its number, case numbers).
async fn shop(app: &TestApp) -> (String, i64, Vec<i64>) {
    let project = app.project("Shop").await;
    let cases = app
        .bulk_cases(
            &project,
            (0..3)
                .map(|i| json!({"title": format!("c{i}"), "key": format!("k{i}"), "suite": "S"}))
                .collect(),
        )
        .await;
    let pid = num(&project);
    (project, pid, cases.iter().map(|c| num(c)).collect())
}

#[tokio::test]
async fn runs_add_get_update_close_and_delete() {
    let app = TestApp::new().await;
    let (project, pid, cases) = shop(&app).await;
    let tester = app.member(&project, "tess", "tester").await;
    let auth = basic("tess@example.com", &tester);
    let add = tr(
        &app,
        "POST",
        &format!("add_run/{pid}"),
        Some(&auth),
        Some(json!({"suite_id": pid, "name": "nightly", "description": "", "include_all": false, "case_ids": [cases[0], cases[1]]})),
    )
    .await;
    let run = ok(&add).clone();
    assert_eq!(run["name"], "nightly");
    assert_eq!(run["suite_id"], pid);
    assert_eq!(run["project_id"], pid);
    assert_eq!(run["is_completed"], false);
    assert_eq!(run["completed_on"], Value::Null);
    assert_eq!(run["untested_count"], 2);
    for f in [
        "passed_count",
        "blocked_count",
        "retest_count",
        "failed_count",
        "custom_status1_count",
    ] {
        assert_eq!(run[f], 0, "{f}");
    }
    assert_eq!(run["plan_id"], Value::Null);
    assert_eq!(run["config_ids"], json!([]));
    assert_eq!(run["include_all"], false);
    assert!(run["created_on"].is_i64() && run["url"].is_string());
    let rid = run["id"].as_i64().unwrap();
    let v1 = app.get(&format!("/v1/runs/run_{rid}"), &app.admin).await;
    assert_eq!(v1.body["data"]["name"], "nightly");
    assert_eq!(v1.body["data"]["counts"]["total"], 2);
    let got = tr(&app, "GET", &format!("get_run/{rid}"), Some(&auth), None).await;
    assert_eq!(ok(&got), &run);

    // update_run as trcli sends it: existing description and refs, the
    // union of case ids; cases are added, none removed.
    let up = tr(
        &app,
        "POST",
        &format!("update_run/{rid}"),
        Some(&auth),
        Some(json!({"suite_id": pid, "description": null, "refs": null, "include_all": false, "case_ids": [cases[2]]})),
    )
    .await;
    assert_eq!(ok(&up)["untested_count"], 3);
    // Renaming takes a manager.
    let r = tr(
        &app,
        "POST",
        &format!("update_run/{rid}"),
        Some(&auth),
        Some(json!({"name": "other"})),
    )
    .await;
    assert_tr_error(&r, StatusCode::FORBIDDEN);
    let admin = admin_auth(&app).await;
    let r = tr(
        &app,
        "POST",
        &format!("update_run/{rid}"),
        Some(&admin),
        Some(json!({"name": "renamed", "description": "d"})),
    )
    .await;
    assert_eq!(ok(&r)["name"], "renamed");
    assert_eq!(ok(&r)["description"], "d");

    // Bad inputs change nothing.
    for (call, body) in [
        (format!("add_run/{pid}"), json!({})),
        (
            format!("add_run/{pid}"),
            json!({"name": "x", "suite_id": pid + 7}),
        ),
        (
            format!("add_run/{pid}"),
            json!({"name": "x", "include_all": false, "case_ids": [999]}),
        ),
        (
            format!("add_run/{pid}"),
            json!({"name": "x", "include_all": "maybe"}),
        ),
        (
            format!("add_run/{pid}"),
            json!({"name": "x", "include_all": false, "case_ids": "1,2"}),
        ),
        ("add_run/999".to_string(), json!({"name": "x"})),
        (format!("update_run/{rid}"), json!({"case_ids": [999]})),
        ("update_run/999".to_string(), json!({})),
    ] {
        let r = tr(&app, "POST", &call, Some(&admin), Some(body.clone())).await;
        assert_tr_error(&r, StatusCode::BAD_REQUEST);
    }
    assert_eq!(app.total(&format!("/v1/projects/{project}/runs")).await, 1);

    // close_run takes a manager; a closed run refuses new cases.
    let r = tr(
        &app,
        "POST",
        &format!("close_run/{rid}"),
        Some(&auth),
        Some(json!({"run_id": rid})),
    )
    .await;
    assert_tr_error(&r, StatusCode::FORBIDDEN);
    let r = tr(
        &app,
        "POST",
        &format!("close_run/{rid}"),
        Some(&admin),
        Some(json!({"run_id": rid})),
    )
    .await;
    assert_eq!(ok(&r)["is_completed"], true);
    assert!(ok(&r)["completed_on"].is_i64());
    let r = tr(
        &app,
        "POST",
        &format!("update_run/{rid}"),
        Some(&admin),
        Some(json!({"include_all": true})),
    )
    .await;
    assert_tr_error(&r, StatusCode::BAD_REQUEST);

    // include_all (the default) takes every case.
    let all = tr(
        &app,
        "POST",
        &format!("add_run/{pid}"),
        Some(&auth),
        Some(json!({"name": "all"})),
    )
    .await;
    let all_id = ok(&all)["id"].as_i64().unwrap();
    assert_eq!(ok(&all)["untested_count"], 3);

    // get_runs: newest first, is_completed filters, paged by links.
    let r = tr(&app, "GET", &format!("get_runs/{pid}"), Some(&auth), None).await;
    let ids: Vec<i64> = ok(&r)["runs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, [all_id, rid]);
    let r = tr(
        &app,
        "GET",
        &format!("get_runs/{pid}&is_completed=1"),
        Some(&auth),
        None,
    )
    .await;
    assert_eq!(ok(&r)["size"], 1);
    assert_eq!(ok(&r)["runs"][0]["id"], rid);
    let r = tr(
        &app,
        "GET",
        &format!("get_runs/{pid}&is_completed=0&limit=1"),
        Some(&auth),
        None,
    )
    .await;
    assert_eq!(ok(&r)["_links"]["next"], Value::Null);
    let r = tr(
        &app,
        "GET",
        &format!("get_runs/{pid}&limit=1"),
        Some(&auth),
        None,
    )
    .await;
    let next = ok(&r)["_links"]["next"].as_str().unwrap().to_string();
    assert_eq!(next, format!("/api/v2/get_runs/{pid}&limit=1&offset=1"));
    let r = tr(
        &app,
        "GET",
        next.strip_prefix("/api/v2/").unwrap(),
        Some(&auth),
        None,
    )
    .await;
    assert_eq!(ok(&r)["runs"][0]["id"], rid);
    assert_eq!(ok(&r)["_links"]["next"], Value::Null);

    // delete_run takes a manager; then the run is gone everywhere.
    let r = tr(
        &app,
        "POST",
        &format!("delete_run/{all_id}"),
        Some(&auth),
        Some(json!({})),
    )
    .await;
    assert_tr_error(&r, StatusCode::FORBIDDEN);
    let r = tr(
        &app,
        "POST",
        &format!("delete_run/{all_id}"),
        Some(&admin),
        Some(json!({})),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let r = tr(
        &app,
        "GET",
        &format!("get_run/{all_id}"),
        Some(&admin),
        None,
    )
    .await;
    assert_tr_error(&r, StatusCode::BAD_REQUEST);
    let v1 = app.get(&format!("/v1/runs/run_{all_id}"), &app.admin).await;
    assert_eq!(v1.status, StatusCode::NOT_FOUND);
    // A viewer may read runs but not add one.
    let viewer = app.member(&project, "vera", "viewer").await;
    let vauth = basic("vera@example.com", &viewer);
    ok(&tr(&app, "GET", &format!("get_run/{rid}"), Some(&vauth), None).await);
    let r = tr(
        &app,
        "POST",
        &format!("add_run/{pid}"),
        Some(&vauth),
        Some(json!({"name": "v"})),
    )
    .await;
    assert_tr_error(&r, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn users_with_testrail_shapes() {
    let app = TestApp::new().await;
    let (project, pid, _) = shop(&app).await;
    let token = app.member(&project, "tess", "tester").await;
    let auth = basic("TESS@example.com", &token);
    let me = tr(&app, "GET", "get_current_user", Some(&auth), None).await;
    let me = ok(&me).clone();
    assert_eq!(me["name"], "tess");
    assert_eq!(me["email"], "tess@example.com");
    assert_eq!(me["is_active"], true);
    assert!(me["id"].is_i64() && me["role_id"].is_i64() && me["role"].is_string());
    let uid = me["id"].as_i64().unwrap();
    let by_id = tr(&app, "GET", &format!("get_user/{uid}"), Some(&auth), None).await;
    assert_eq!(ok(&by_id), &me);
    let by_email = tr(
        &app,
        "GET",
        "get_user_by_email&email=tess%40example.com",
        Some(&auth),
        None,
    )
    .await;
    assert_eq!(ok(&by_email), &me);
    let members = tr(&app, "GET", &format!("get_users/{pid}"), Some(&auth), None).await;
    let emails: Vec<&str> = ok(&members)
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["email"].as_str().unwrap())
        .collect();
    assert!(emails.contains(&"tess@example.com"), "{emails:?}");
    let tess = ok(&members)
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["email"] == "tess@example.com")
        .unwrap()
        .clone();
    assert_eq!(tess["role"], "Tester");
    // Another user's details, or every user, are an admin's.
    let admin = admin_auth(&app).await;
    let admin_me = ok(&tr(&app, "GET", "get_current_user", Some(&admin), None).await).clone();
    let r = tr(
        &app,
        "GET",
        &format!("get_user/{}", admin_me["id"]),
        Some(&auth),
        None,
    )
    .await;
    assert_tr_error(&r, StatusCode::BAD_REQUEST);
    let r = tr(
        &app,
        "GET",
        &format!("get_user_by_email&email={}", admin_email(&app).await),
        Some(&auth),
        None,
    )
    .await;
    assert_tr_error(&r, StatusCode::BAD_REQUEST);
    let r = tr(&app, "GET", "get_users", Some(&auth), None).await;
    assert_tr_error(&r, StatusCode::FORBIDDEN);
    let all = tr(&app, "GET", "get_users", Some(&admin), None).await;
    assert_eq!(ok(&all).as_array().unwrap().len(), 2);
    let r = tr(&app, "GET", &format!("get_user/{uid}"), Some(&admin), None).await;
    assert_eq!(ok(&r)["email"], "tess@example.com");
    for call in [
        "get_user_by_email",
        "get_user_by_email&email=nobody%40example.com",
        "get_user/0",
        "get_users/999",
    ] {
        let r = tr(&app, "GET", call, Some(&admin), None).await;
        assert_tr_error(&r, StatusCode::BAD_REQUEST);
    }
}
