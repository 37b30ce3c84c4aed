//! Projects, members, cases, runs, users and tokens: each endpoint's
//! success path and its bad inputs, each refusal checked to change nothing.

use crate::common;

use axum::http::StatusCode;
use common::TestApp;
use serde_json::json;

const UNPROCESSABLE: StatusCode = StatusCode::UNPROCESSABLE_ENTITY;

#[tokio::test]
async fn projects_are_created_listed_and_hidden_from_non_members() {
    let app = TestApp::new().await;
    let r = app
        .post("/v1/projects", &app.admin, json!({"name": "  Web shop  "}))
        .await;
    assert_eq!(r.status, StatusCode::CREATED);
    assert_eq!(r.data()["name"], "Web shop", "trimmed");
    let pid = r.id();
    let (_, stranger) = app.user("stranger").await;
    let mine = app
        .post("/v1/projects", &stranger, json!({"name": "Mine"}))
        .await
        .id();
    let listed = app.get("/v1/projects", &stranger).await;
    assert_eq!(listed.body["meta"]["total"], 1);
    assert_eq!(listed.data()[0]["id"], mine.as_str());
    assert_eq!(
        app.get("/v1/projects", &app.admin).await.body["meta"]["total"],
        2,
        "admins see all"
    );
    app.get(&format!("/v1/projects/{pid}"), &stranger)
        .await
        .assert_error(StatusCode::NOT_FOUND, "not_found");
    for bad in [
        json!({"name": ""}),
        json!({"name": "   "}),
        json!({"name": 5}),
        json!({}),
        json!({"name": "x", "owner": 1}),
        json!({"name": "x".repeat(1001)}),
    ] {
        app.post("/v1/projects", &app.admin, bad.clone())
            .await
            .assert_error(UNPROCESSABLE, "validation_failed");
    }
    app.get("/v1/projects/prj_999", &app.admin)
        .await
        .assert_error(StatusCode::NOT_FOUND, "not_found");
    app.get("/v1/projects/nonsense", &app.admin)
        .await
        .assert_error(StatusCode::NOT_FOUND, "not_found");
    assert_eq!(
        app.get("/v1/projects", &app.admin).await.body["meta"]["total"],
        2,
        "nothing written"
    );
}

#[tokio::test]
async fn members_are_set_listed_and_removed_by_managers() {
    let app = TestApp::new().await;
    let pid = app.project("P").await;
    let (uid, token) = app.user("vic").await;
    let path = format!("/v1/projects/{pid}/members/{uid}");
    let r = app.put(&path, &app.admin, json!({"role": "viewer"})).await;
    assert_eq!(r.data()["role"], "viewer");
    assert_eq!(
        app.put(&path, &app.admin, json!({"role": "tester"}))
            .await
            .data()["role"],
        "tester"
    );
    let members = app
        .get(&format!("/v1/projects/{pid}/members"), &token)
        .await;
    assert_eq!(members.body["meta"]["total"], 2);
    app.put(&path, &token, json!({"role": "manager"}))
        .await
        .assert_error(StatusCode::FORBIDDEN, "forbidden");
    app.put(&path, &app.admin, json!({"role": "owner"}))
        .await
        .assert_error(UNPROCESSABLE, "validation_failed");
    app.put(
        &format!("/v1/projects/{pid}/members/user_999"),
        &app.admin,
        json!({"role": "viewer"}),
    )
    .await
    .assert_error(StatusCode::NOT_FOUND, "not_found");
    assert_eq!(
        app.delete(&path, &app.admin).await.status,
        StatusCode::NO_CONTENT
    );
    app.delete(&path, &app.admin)
        .await
        .assert_error(StatusCode::NOT_FOUND, "not_found");
    app.get(&format!("/v1/projects/{pid}"), &token)
        .await
        .assert_error(StatusCode::NOT_FOUND, "not_found");
}

#[tokio::test]
async fn cases_keys_searches_patches_and_deletes() {
    let app = TestApp::new().await;
    let pid = app.project("P").await;
    let cases = format!("/v1/projects/{pid}/cases");
    let c = app
        .post(
            &cases,
            &app.admin,
            json!({"title": "Login works", "key": "a.Login", "suite": "auth"}),
        )
        .await;
    assert_eq!(c.status, StatusCode::CREATED);
    let cid = c.id();
    app.post(
        &cases,
        &app.admin,
        json!({"title": "Dup", "key": "a.Login"}),
    )
    .await
    .assert_error(StatusCode::CONFLICT, "duplicate_key");
    for bad in [
        json!({"title": ""}),
        json!({"key": "k"}),
        json!({"title": "t", "key": 3}),
        json!({"title": "t", "colour": "red"}),
    ] {
        app.post(&cases, &app.admin, bad)
            .await
            .assert_error(UNPROCESSABLE, "validation_failed");
    }
    app.post(&cases, &app.admin, json!({"title": "Checkout"}))
        .await;
    assert_eq!(
        app.get(&format!("{cases}?q=LOGIN"), &app.admin).await.body["meta"]["total"],
        1
    );
    assert_eq!(
        app.get(&format!("{cases}?key=a.Login"), &app.admin)
            .await
            .data()[0]["id"],
        cid.as_str()
    );
    app.get(&format!("{cases}?sort=title"), &app.admin)
        .await
        .assert_error(UNPROCESSABLE, "validation_failed");
    let patched = app
        .patch(
            &format!("/v1/cases/{cid}"),
            &app.admin,
            json!({"suite": null, "title": "Login still works"}),
        )
        .await;
    assert_eq!(
        (
            patched.data()["suite"].clone(),
            patched.data()["key"].clone()
        ),
        (json!(null), json!("a.Login"))
    );
    app.patch(
        &format!("/v1/cases/{cid}"),
        &app.admin,
        json!({"title": ""}),
    )
    .await
    .assert_error(UNPROCESSABLE, "validation_failed");
    let bulk = app
        .post(&format!("{cases}/bulk"), &app.admin, json!({"cases": [{"title": "Login v3", "key": "a.Login"}, {"title": "New", "key": "b"}]}))
        .await;
    assert_eq!(
        (
            bulk.data()["created"].clone(),
            bulk.data()["updated"].clone()
        ),
        (json!(1), json!(1))
    );
    let bad_bulk = app
        .post(
            &format!("{cases}/bulk"),
            &app.admin,
            json!({"cases": [{"title": "ok"}, {"title": ""}]}),
        )
        .await;
    bad_bulk.assert_error(UNPROCESSABLE, "validation_failed");
    assert_eq!(bad_bulk.fields(), ["cases[1].title"]);
    assert_eq!(
        app.get(&cases, &app.admin).await.body["meta"]["total"],
        3,
        "the refused bulk wrote nothing"
    );
    assert_eq!(
        app.delete(&format!("/v1/cases/{cid}"), &app.admin)
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    app.get(&format!("/v1/cases/{cid}"), &app.admin)
        .await
        .assert_error(StatusCode::NOT_FOUND, "not_found");
    app.delete(&format!("/v1/cases/{cid}"), &app.admin)
        .await
        .assert_error(StatusCode::NOT_FOUND, "not_found");
}

#[tokio::test]
async fn runs_take_cases_find_by_key_and_close() {
    let app = TestApp::new().await;
    let pid = app.project("P").await;
    let ids = app.cases(&pid, 3).await;
    let runs = format!("/v1/projects/{pid}/runs");
    let chosen = app
        .post(
            &runs,
            &app.admin,
            json!({"name": "Two", "case_ids": [ids[0], ids[2], ids[0]]}),
        )
        .await;
    assert_eq!(chosen.status, StatusCode::CREATED);
    assert_eq!(chosen.data()["counts"]["total"], 2, "duplicates count once");
    let keyed = app
        .post(&runs, &app.admin, json!({"name": "CI", "key": "pipe-9"}))
        .await;
    assert_eq!(keyed.status, StatusCode::CREATED);
    let again = app
        .post(
            &runs,
            &app.admin,
            json!({"name": "ignored", "key": "pipe-9"}),
        )
        .await;
    assert_eq!((again.status, again.id()), (StatusCode::OK, keyed.id()));
    let bad = app
        .post(
            &runs,
            &app.admin,
            json!({"name": "x", "case_ids": ["tc_999", "nonsense"]}),
        )
        .await;
    bad.assert_error(UNPROCESSABLE, "validation_failed");
    assert_eq!(bad.fields(), ["case_ids[1]"]);
    let unknown = app
        .post(
            &runs,
            &app.admin,
            json!({"name": "x", "case_ids": ["tc_999"]}),
        )
        .await;
    assert_eq!(unknown.fields(), ["case_ids[0]"]);
    app.post(&runs, &app.admin, json!({"name": ""}))
        .await
        .assert_error(UNPROCESSABLE, "validation_failed");
    assert_eq!(
        app.get(&runs, &app.admin).await.body["meta"]["total"],
        2,
        "refused runs wrote nothing"
    );
    app.get(&format!("{runs}?state=done"), &app.admin)
        .await
        .assert_error(UNPROCESSABLE, "validation_failed");
    let rid = chosen.id();
    let grown = app
        .post(
            &format!("/v1/runs/{rid}/cases"),
            &app.admin,
            json!({"case_ids": [ids[1], ids[0]]}),
        )
        .await;
    assert_eq!(grown.data()["counts"]["total"], 3);
    let renamed = app
        .patch(
            &format!("/v1/runs/{rid}"),
            &app.admin,
            json!({"description": "nightly"}),
        )
        .await;
    assert_eq!(renamed.data()["description"], "nightly");
    let closed = app
        .post(&format!("/v1/runs/{rid}/close"), &app.admin, json!({}))
        .await;
    assert_eq!(closed.data()["state"], "closed");
    assert!(closed.data()["closed_at"].is_string());
    assert_eq!(
        app.post(&format!("/v1/runs/{rid}/close"), &app.admin, json!({}))
            .await
            .status,
        StatusCode::OK
    );
    app.post(
        &format!("/v1/runs/{rid}/cases"),
        &app.admin,
        json!({"case_ids": [ids[2]]}),
    )
    .await
    .assert_error(StatusCode::CONFLICT, "run_closed");
    assert_eq!(
        app.get(&format!("{runs}?state=closed"), &app.admin)
            .await
            .body["meta"]["total"],
        1
    );
}

#[tokio::test]
async fn users_and_tokens() {
    let app = TestApp::new().await;
    let r = app
        .post(
            "/v1/users",
            &app.admin,
            json!({"name": "Ann", "email": "ann@example.com", "password": "long enough"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED);
    assert!(
        r.body.to_string().find("long enough").is_none(),
        "no password in answers"
    );
    app.post(
        "/v1/users",
        &app.admin,
        json!({"name": "Dup", "email": "ANN@example.com"}),
    )
    .await
    .assert_error(StatusCode::CONFLICT, "duplicate_email");
    for bad in [
        json!({"name": "x", "email": "not-an-email"}),
        json!({"name": "x", "email": "x@y.z", "password": "short"}),
        json!({"email": "x@y.z"}),
    ] {
        app.post("/v1/users", &app.admin, bad)
            .await
            .assert_error(UNPROCESSABLE, "validation_failed");
    }
    let (uid, token) = app.user("bo").await;
    app.post("/v1/users", &token, json!({"name": "x", "email": "x@y.z"}))
        .await
        .assert_error(StatusCode::FORBIDDEN, "forbidden");
    assert_eq!(app.get("/v1/me", &token).await.id(), uid);
    assert_eq!(app.get(&format!("/v1/users/{uid}"), &token).await.id(), uid);
    app.get("/v1/users/user_001", &token)
        .await
        .assert_error(StatusCode::NOT_FOUND, "not_found");
    let minted = app
        .post("/v1/tokens", &token, json!({"name": "laptop"}))
        .await;
    let secret = minted.data()["token"].as_str().unwrap().to_string();
    assert!(secret.starts_with("vdt_") && secret.len() == 68);
    let listed = app.get("/v1/tokens", &token).await;
    assert_eq!(listed.body["meta"]["total"], 2);
    assert!(
        !listed.body.to_string().contains(&secret),
        "secrets are shown once"
    );
    app.post(
        "/v1/tokens",
        &token,
        json!({"name": "x", "user_id": "user_001"}),
    )
    .await
    .assert_error(StatusCode::FORBIDDEN, "forbidden");
    app.post(
        "/v1/tokens",
        &app.admin,
        json!({"name": "x", "user_id": "user_999"}),
    )
    .await
    .assert_error(UNPROCESSABLE, "validation_failed");
    app.post("/v1/tokens", &token, json!({"name": ""}))
        .await
        .assert_error(UNPROCESSABLE, "validation_failed");
    let tid = minted.id();
    assert_eq!(
        app.delete(&format!("/v1/tokens/{tid}"), &token)
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    app.get("/v1/me", &secret)
        .await
        .assert_error(StatusCode::UNAUTHORIZED, "unauthorized");
    app.delete("/v1/tokens/tok_999", &token)
        .await
        .assert_error(StatusCode::NOT_FOUND, "not_found");
}
