//! Authentication (Bearer tokens, 401 with `WWW-Authenticate`) and the role
//! rules: viewer reads; tester also records results and creates runs;
//! manager also edits cases, runs and members; admins act as managers
//! everywhere; non-members get 404, members lacking the role 403.

use crate::common;

use axum::http::StatusCode;
use common::{Resp, TestApp};
use serde_json::{Value, json};

fn unauthorized(r: &Resp, what: &str) {
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{what}: {}", r.body);
    assert_eq!(r.body["error"]["code"], "unauthorized", "{what}");
    assert!(r.body["error"]["message"].is_string(), "{what}");
    let challenge = r
        .headers
        .get("www-authenticate")
        .map(|v| v.to_str().unwrap());
    assert_eq!(challenge, Some("Bearer"), "{what}");
}

#[tokio::test]
async fn every_api_endpoint_wants_a_token() {
    let app = TestApp::new().await;
    let (pid, cases, run) = app.seeded(1).await;
    let result = app.result_of(&run, &cases[0]).await;
    let me = app.admin_id().await;
    let ids = [
        ("pid", pid.as_str()),
        ("cid", cases[0].as_str()),
        ("rid", run.as_str()),
        ("id", result.as_str()),
        ("uid", me.as_str()),
        ("tid", "tok_001"),
        ("aid", "att_001"),
        ("wid", "whk_001"),
        ("event_id", "evt_001"),
    ];
    let mut checked = 0;
    for (method, template, op) in app.documented_operations().await {
        if !common::wants_token(&op) {
            continue;
        }
        let path = common::fill_path(&template, &ids);
        let r = app.call(&method, &path, None, None).await;
        unauthorized(&r, &format!("{method} {path}"));
        // With a body, valid or not: still 401 first.
        if common::takes_json(&op) {
            let r = app
                .call(&method, &path, None, Some(json!({"bogus": 1})))
                .await;
            unauthorized(&r, &format!("{method} {path} with a body"));
        }
        checked += 1;
    }
    assert!(checked >= 30, "only {checked} operations want a token");
    // Unknown ids: 401 before anything is looked up.
    for path in ["/v1/runs/run_999", "/v1/cases/nonsense"] {
        unauthorized(&app.call("GET", path, None, None).await, path);
    }
    assert_eq!(app.total("/v1/projects").await, 1, "nothing written");
    assert_eq!(app.counts(&run).await["not_tested"], 1);
}

#[tokio::test]
async fn only_a_live_bearer_vdt_token_authenticates() {
    let app = TestApp::new().await;
    let (_, token) = app.user("bob").await;
    let revoked = app.post("/v1/tokens", &token, json!({"name": "old"})).await;
    let revoked_secret = revoked.created()["token"].as_str().unwrap().to_string();
    let path = format!("/v1/tokens/{}", revoked.id());
    app.delete(&path, &token)
        .await
        .status_is(StatusCode::NO_CONTENT);
    let unknown = format!("vdt_{}", "0".repeat(64));
    let bad = [
        "Basic Ym9iOnBhc3N3b3Jk".to_string(),
        format!("Basic {token}"),
        format!("Token {token}"),
        token.clone(),
        "Bearer".into(),
        "Bearer ".into(),
        "Bearer abc".into(),
        format!("Bearer {}", token.trim_start_matches("vdt_")),
        format!("Bearer {unknown}"),
        format!("Bearer {token}x"),
        format!("Bearer {}", &token[..token.len() - 1]),
        format!("Bearer {}", token.to_uppercase()),
        format!("Bearer {revoked_secret}"),
    ];
    for header in bad {
        let r = app.with_authorization("/v1/me", Some(&header)).await;
        unauthorized(&r, &header);
    }
    unauthorized(&app.with_authorization("/v1/me", None).await, "no header");
    // The scheme is case-insensitive (RFC 9110).
    for scheme in ["Bearer", "bearer", "BEARER"] {
        let r = app
            .with_authorization("/v1/me", Some(&format!("{scheme} {token}")))
            .await;
        assert_eq!(r.ok()["name"], "bob", "{scheme}");
    }
}

/// What a caller may try in a project, and the role it needs.
#[derive(Clone, Copy, PartialEq, PartialOrd, Debug)]
enum Need {
    Viewer,
    Tester,
    Manager,
}

const ACTIONS: &[(&str, Need, StatusCode)] = &[
    ("read project", Need::Viewer, StatusCode::OK),
    ("list members", Need::Viewer, StatusCode::OK),
    ("list cases", Need::Viewer, StatusCode::OK),
    ("read case", Need::Viewer, StatusCode::OK),
    ("list runs", Need::Viewer, StatusCode::OK),
    ("read run", Need::Viewer, StatusCode::OK),
    ("list results", Need::Viewer, StatusCode::OK),
    ("read history", Need::Viewer, StatusCode::OK),
    ("create run", Need::Tester, StatusCode::CREATED),
    ("record result", Need::Tester, StatusCode::OK),
    ("bulk results", Need::Tester, StatusCode::OK),
    ("create case", Need::Manager, StatusCode::CREATED),
    ("bulk cases", Need::Manager, StatusCode::OK),
    ("edit case", Need::Manager, StatusCode::OK),
    ("delete case", Need::Manager, StatusCode::NO_CONTENT),
    ("edit run", Need::Manager, StatusCode::OK),
    ("add cases", Need::Manager, StatusCode::OK),
    ("close run", Need::Manager, StatusCode::OK),
    ("set member", Need::Manager, StatusCode::OK),
    ("remove member", Need::Manager, StatusCode::NO_CONTENT),
];

/// Tries `action` in project `pid` as `token`, on resources made for it.
async fn attempt(app: &TestApp, pid: &str, action: &str, token: &str) -> Resp {
    let (cases, runs) = (
        format!("/v1/projects/{pid}/cases"),
        format!("/v1/projects/{pid}/runs"),
    );
    let case = app
        .post(&cases, &app.admin, json!({"title": "C"}))
        .await
        .id();
    let run = app.post(&runs, &app.admin, json!({"name": "R"})).await.id();
    let result = app.result_of(&run, &case).await;
    let (uid, _) = app
        .member_with_id(
            pid,
            &format!("m{}", case.trim_start_matches("tc_")),
            "viewer",
        )
        .await;
    let (method, path, body): (&str, String, Option<Value>) = match action {
        "read project" => ("GET", format!("/v1/projects/{pid}"), None),
        "list members" => ("GET", format!("/v1/projects/{pid}/members"), None),
        "list cases" => ("GET", format!("/v1/projects/{pid}/cases"), None),
        "read case" => ("GET", format!("/v1/cases/{case}"), None),
        "list runs" => ("GET", format!("/v1/projects/{pid}/runs"), None),
        "read run" => ("GET", format!("/v1/runs/{run}"), None),
        "list results" => ("GET", format!("/v1/runs/{run}/results"), None),
        "read history" => (
            "GET",
            format!("/v1/runs/{run}/results/{result}/history"),
            None,
        ),
        "create run" => (
            "POST",
            format!("/v1/projects/{pid}/runs"),
            Some(json!({"name": "N"})),
        ),
        "record result" => (
            "PATCH",
            format!("/v1/runs/{run}/results/{result}"),
            Some(json!({"status": "passed"})),
        ),
        "bulk results" => (
            "POST",
            format!("/v1/runs/{run}/results/bulk"),
            Some(json!({"results": [{"test_case_id": case, "status": "failed"}]})),
        ),
        "create case" => (
            "POST",
            format!("/v1/projects/{pid}/cases"),
            Some(json!({"title": "T"})),
        ),
        "bulk cases" => (
            "POST",
            format!("/v1/projects/{pid}/cases/bulk"),
            Some(json!({"cases": [{"title": "T"}]})),
        ),
        "edit case" => (
            "PATCH",
            format!("/v1/cases/{case}"),
            Some(json!({"title": "T2"})),
        ),
        "delete case" => ("DELETE", format!("/v1/cases/{case}"), None),
        "edit run" => (
            "PATCH",
            format!("/v1/runs/{run}"),
            Some(json!({"name": "R2"})),
        ),
        "add cases" => (
            "POST",
            format!("/v1/runs/{run}/cases"),
            Some(json!({"case_ids": [case]})),
        ),
        "close run" => ("POST", format!("/v1/runs/{run}/close"), None),
        "set member" => (
            "PUT",
            format!("/v1/projects/{pid}/members/{uid}"),
            Some(json!({"role": "tester"})),
        ),
        "remove member" => ("DELETE", format!("/v1/projects/{pid}/members/{uid}"), None),
        other => panic!("no action {other}"),
    };
    app.call(method, &path, Some(token), body).await
}

#[tokio::test]
async fn every_project_action_answers_each_role_as_the_rules_say() {
    let app = TestApp::new().await;
    // A project the admin is not a member of.
    let (_, owner) = app.user("owner").await;
    let pid = app
        .post("/v1/projects", &owner, json!({"name": "P"}))
        .await
        .id();
    let admin_membership = format!("/v1/projects/{pid}/members/{}", app.admin_id().await);
    app.delete(&admin_membership, &owner).await.not_found();
    let viewer = app.member(&pid, "vera", "viewer").await;
    let tester = app.member(&pid, "tess", "tester").await;
    let manager = app.member(&pid, "mona", "manager").await;
    let (_, stranger) = app.user("stranger").await;
    let callers: [(&str, &str, Option<Need>); 5] = [
        ("viewer", &viewer, Some(Need::Viewer)),
        ("tester", &tester, Some(Need::Tester)),
        ("manager", &manager, Some(Need::Manager)),
        ("admin", &app.admin, Some(Need::Manager)),
        ("stranger", &stranger, None),
    ];
    for &(action, need, success) in ACTIONS {
        for (who, token, role) in &callers {
            let r = attempt(&app, &pid, action, token).await;
            let what = format!("{who} may {action}? {}", r.body);
            match role {
                None => assert_eq!(r.status, StatusCode::NOT_FOUND, "{what}"),
                Some(role) if *role < need => {
                    assert_eq!(r.status, StatusCode::FORBIDDEN, "{what}");
                    assert_eq!(r.body["error"]["code"], "forbidden", "{what}");
                }
                Some(_) => assert_eq!(r.status, success, "{what}"),
            }
            if !r.status.is_success() {
                assert!(r.body["error"]["code"].is_string(), "{what}");
            }
        }
    }
}

#[tokio::test]
async fn a_role_change_applies_to_the_next_request() {
    let app = TestApp::new().await;
    let pid = app.project("P").await;
    let (uid, token) = app.member_with_id(&pid, "vic", "tester").await;
    let member = format!("/v1/projects/{pid}/members/{uid}");
    let cases = format!("/v1/projects/{pid}/cases");
    let runs = format!("/v1/projects/{pid}/runs");
    app.post(&cases, &token, json!({"title": "T"}))
        .await
        .forbidden();
    app.put(&member, &app.admin, json!({"role": "manager"}))
        .await
        .ok();
    app.post(&cases, &token, json!({"title": "T"}))
        .await
        .created();
    app.put(&member, &app.admin, json!({"role": "viewer"}))
        .await
        .ok();
    app.post(&runs, &token, json!({"name": "R"}))
        .await
        .forbidden();
    assert_eq!(
        app.get(&cases, &token).await.ok().as_array().unwrap().len(),
        1
    );
    app.delete(&member, &app.admin)
        .await
        .status_is(StatusCode::NO_CONTENT);
    app.get(&cases, &token).await.not_found();
    app.get(&format!("/v1/projects/{pid}"), &token)
        .await
        .not_found();
    assert_eq!(app.total(&runs).await, 0, "the refused run was not created");
}

#[tokio::test]
async fn a_non_member_cannot_tell_a_hidden_project_from_a_missing_one() {
    let app = TestApp::new().await;
    let (pid, cases, run) = app.seeded(1).await;
    let (_, stranger) = app.user("stranger").await;
    let pairs = [
        (
            format!("/v1/projects/{pid}"),
            "/v1/projects/prj_999".to_string(),
        ),
        (format!("/v1/cases/{}", cases[0]), "/v1/cases/tc_999".into()),
        (format!("/v1/runs/{run}"), "/v1/runs/run_999".into()),
        (
            format!("/v1/runs/{run}/results"),
            "/v1/runs/run_999/results".into(),
        ),
    ];
    for (hidden, missing) in pairs {
        let (a, b) = (
            app.get(&hidden, &stranger).await,
            app.get(&missing, &stranger).await,
        );
        a.not_found();
        assert_eq!(
            (a.status, &a.body),
            (b.status, &b.body),
            "{hidden} vs {missing}"
        );
    }
}
