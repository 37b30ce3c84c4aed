//! The error envelope (API §6) at the edges: unknown routes, wrong
//! methods, content types, broken JSON, bodies that are not objects, unknown
//! query parameters, body limits, ids in paths and bodies; and the health
//! endpoints, which need no token.

use crate::common;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use common::{Resp, TestApp, keys};
use serde_json::{Value, json};
use verdict_server::Limits;

/// Asserts the envelope: only `error`, holding `code`, `message` and, when
/// given, `details` of `{field, message}`.
fn envelope(r: &Resp, status: StatusCode, code: &str) {
    r.assert_error(status, code);
    assert_eq!(keys(&r.body), ["error"], "{}", r.body);
    let error = &r.body["error"];
    let expected: &[&str] = if error.get("details").is_some() {
        &["code", "details", "message"]
    } else {
        &["code", "message"]
    };
    assert_eq!(keys(error), expected, "{}", r.body);
    assert!(!error["message"].as_str().unwrap().is_empty());
    for d in error["details"].as_array().into_iter().flatten() {
        assert_eq!(keys(d), ["field", "message"], "{}", r.body);
    }
    let ct = r.headers.get("content-type").map(|v| v.to_str().unwrap());
    assert_eq!(ct, Some("application/json"), "{}", r.body);
}

/// A POST with a raw body; `content_type` None sends none.
async fn post_raw(app: &TestApp, path: &str, ct: Option<&str>, body: &str) -> Resp {
    app.raw("POST", path, &app.admin, ct, body.to_string())
        .await
}

#[tokio::test]
async fn unknown_routes_are_a_json_404() {
    let app = TestApp::new().await;
    let (pid, _, run) = app.seeded(1).await;
    for (method, path) in [
        ("GET", "/v1/nope".to_string()),
        ("GET", "/v1".into()),
        ("GET", "/v2/projects".into()),
        ("POST", "/v1/project".into()),
        ("GET", format!("/v1/projects/{pid}/nope")),
        ("GET", format!("/v1/runs/{run}/results/x/y/z")),
        ("DELETE", "/nope".into()),
    ] {
        for token in [Some(app.admin.as_str()), None] {
            let r = app.call(method, &path, token, None).await;
            envelope(&r, StatusCode::NOT_FOUND, "not_found");
        }
    }
}

#[tokio::test]
async fn a_known_path_with_another_method_is_a_json_405() {
    let app = TestApp::new().await;
    let (pid, cases, run) = app.seeded(1).await;
    // With the methods the path takes in `Allow` (RFC 9110 §15.5.6).
    for (method, path, allow) in [
        ("DELETE", "/v1/projects".to_string(), "POST,GET,HEAD"),
        ("PUT", format!("/v1/projects/{pid}"), "GET,HEAD,PATCH"),
        ("PUT", "/v1/me".into(), "GET,HEAD"),
        (
            "POST",
            format!("/v1/cases/{}", cases[0]),
            "GET,HEAD,PATCH,DELETE",
        ),
        ("DELETE", format!("/v1/runs/{run}"), "GET,HEAD,PATCH"),
        ("GET", format!("/v1/runs/{run}/close"), "POST"),
        ("GET", format!("/v1/runs/{run}/results/bulk"), "POST"),
        ("POST", "/healthz".into(), "GET,HEAD"),
    ] {
        for token in [Some(app.admin.as_str()), None] {
            let r = app.call(method, &path, token, None).await;
            envelope(&r, StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed");
            let got = r.headers.get("allow").map(|v| v.to_str().unwrap());
            assert_eq!(got, Some(allow), "{method} {path}");
        }
    }
    assert_eq!(app.total("/v1/projects").await, 1, "nothing changed");
    assert_eq!(
        app.get(&format!("/v1/runs/{run}"), &app.admin).await.ok()["state"],
        "open"
    );
}

#[tokio::test]
async fn a_body_that_is_not_json_is_a_415_and_writes_nothing() {
    let app = TestApp::new().await;
    let body = r#"{"name": "P"}"#;
    for ct in [
        None,
        Some("text/plain"),
        Some("application/xml"),
        Some("application/x-www-form-urlencoded"),
        Some("json"),
    ] {
        let r = post_raw(&app, "/v1/projects", ct, body).await;
        envelope(
            &r,
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
        );
    }
    assert_eq!(app.total("/v1/projects").await, 0, "nothing written");
    for ct in [
        "application/json",
        "application/json; charset=utf-8",
        "Application/JSON",
        "application/vnd.verdict+json",
    ] {
        post_raw(&app, "/v1/projects", Some(ct), body)
            .await
            .created();
    }
}

#[tokio::test]
async fn malformed_json_is_a_400_with_the_position_and_writes_nothing() {
    let app = TestApp::new().await;
    let pid = app.project("P").await;
    let cases = format!("/v1/projects/{pid}/cases");
    let json = Some("application/json");
    for (body, position) in [
        (r#"{"title": "#, "line 1 column 10"),
        ("{\n  \"title\": \"A\",\n  oops\n}", "line 3 column 3"),
        (r#"{"title": "A"} trailing"#, "line 1 column 16"),
        (r#"{"title": 'A'}"#, "line 1 column 11"),
        ("", "line 1 column 0"),
    ] {
        let r = post_raw(&app, &cases, json, body).await;
        envelope(&r, StatusCode::BAD_REQUEST, "malformed_request");
        let message = r.body["error"]["message"].as_str().unwrap();
        assert!(message.contains(position), "{body:?}: {message}");
    }
    assert_eq!(app.total(&cases).await, 0, "nothing written");
}

#[tokio::test]
async fn a_body_must_be_a_json_object() {
    let app = TestApp::new().await;
    for body in ["[]", r#"["P"]"#, r#""P""#, "5", "null", "true"] {
        let r = post_raw(&app, "/v1/projects", Some("application/json"), body).await;
        envelope(&r, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
        assert_eq!(r.fields(), ["body"], "{body}");
    }
    assert_eq!(app.total("/v1/projects").await, 0, "nothing written");
}

#[tokio::test]
async fn unknown_or_repeated_query_parameters_are_a_422_naming_each() {
    let app = TestApp::new().await;
    let (pid, cases, run) = app.seeded(1).await;
    for path in [
        "/v1/me?x=1".to_string(),
        "/v1/users?x=1".into(),
        "/v1/tokens?x=1".into(),
        "/v1/projects?x=1".into(),
        format!("/v1/projects/{pid}?x=1"),
        format!("/v1/projects/{pid}/members?x=1"),
        format!("/v1/projects/{pid}/cases?x=1"),
        format!("/v1/cases/{}?x=1", cases[0]),
        format!("/v1/projects/{pid}/runs?x=1"),
        format!("/v1/runs/{run}?x=1"),
    ] {
        let r = app.get(&path, &app.admin).await;
        envelope(&r, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
        assert_eq!(r.fields(), ["x"], "{path}");
    }
    let r = app
        .get("/v1/projects?per_pge=5&sort=id&page=1", &app.admin)
        .await;
    assert_eq!(r.fields(), ["per_pge", "sort"]);
    assert_eq!(
        r.body["error"]["message"],
        "per_pge: unknown query parameter (and 1 more)"
    );
    app.get("/v1/projects?page=1&page=2", &app.admin)
        .await
        .invalid(&["page"]);
    // Writes too: refused before anything is written.
    let r = app
        .post(
            "/v1/projects?dry_run=true",
            &app.admin,
            json!({"name": "Q"}),
        )
        .await;
    r.invalid(&["dry_run"]);
    let close = format!("/v1/runs/{run}/close?force=1");
    app.call("POST", &close, Some(&app.admin), None)
        .await
        .invalid(&["force"]);
    assert_eq!(app.total("/v1/projects").await, 1);
    assert_eq!(
        app.get(&format!("/v1/runs/{run}"), &app.admin).await.ok()["state"],
        "open"
    );
}

#[tokio::test]
async fn query_values_are_refused_with_what_they_must_be_first_problem_first() {
    let app = TestApp::with_limits(Limits {
        max_per_page: 50,
        ..Limits::default()
    })
    .await;
    let (pid, _, run) = app.seeded(1).await;
    let message = |r: &Resp| {
        r.body["error"]["message"]
            .as_str()
            .unwrap_or("")
            .to_string()
    };
    for (path, expected) in [
        (
            "/v1/projects?per_page=51".to_string(),
            "per_page: must be a whole number from 1 to 50",
        ),
        (
            "/v1/projects?per_page=x".into(),
            "per_page: must be a whole number from 1 to 50",
        ),
        (
            "/v1/projects?page=0".into(),
            "page: must be a whole number from 1 to 4294967295",
        ),
        (
            format!("/v1/projects/{pid}/runs?state=done"),
            "state: must be open or closed",
        ),
        (
            format!("/v1/runs/{run}/results?status=passed,done"),
            "status: \"done\" is not a status: use one or more of passed, failed, blocked, retest, not_tested (comma-separated)",
        ),
        // In the order the parameters are read: the page before the
        // filters, a known parameter before an unknown one, and a repeated
        // one when its turn comes.
        (
            "/v1/projects?x=1&page=0".into(),
            "page: must be a whole number from 1 to 4294967295",
        ),
        (
            "/v1/projects?per_page=0&page=1&page=2".into(),
            "page: given more than once",
        ),
        (
            "/v1/projects?page=0&per_page=1&per_page=2".into(),
            "page: must be a whole number from 1 to 4294967295",
        ),
        (
            format!("/v1/runs/{run}/results?status=done&per_page=0"),
            "per_page: must be a whole number from 1 to 50",
        ),
    ] {
        let r = app.get(&path, &app.admin).await;
        envelope(&r, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
        assert_eq!(message(&r), expected, "{path}");
    }
    let r = app
        .post(
            &format!("/v1/runs/{run}/results/bulk?partial=yes"),
            &app.admin,
            json!({"results": []}),
        )
        .await;
    assert_eq!(message(&r), "partial: must be true or false");
    // The path comes first: a malformed id is a 404 whatever the query.
    let r = app.get("/v1/runs/run_x/results?x=1", &app.admin).await;
    envelope(&r, StatusCode::NOT_FOUND, "not_found");
}

#[tokio::test]
async fn ids_are_404_in_paths_and_422_naming_the_field_in_bodies() {
    let app = TestApp::new().await;
    let (pid, _, run) = app.seeded(1).await;
    for path in [
        "/v1/projects/prj_999",
        "/v1/projects/1",
        "/v1/projects/prj_abc",
        "/v1/projects/run_001",
        "/v1/cases/tc_999",
        "/v1/cases/tc_",
        "/v1/runs/run_999",
        "/v1/runs/run_1.5",
        "/v1/users/user_999",
        "/v1/users/user_%20",
    ] {
        envelope(
            &app.get(path, &app.admin).await,
            StatusCode::NOT_FOUND,
            "not_found",
        );
    }
    let runs = format!("/v1/projects/{pid}/runs");
    for (path, body, field) in [
        (
            runs.as_str(),
            json!({"name": "R", "case_ids": ["tc_999"]}),
            "case_ids[0]",
        ),
        (
            runs.as_str(),
            json!({"name": "R", "case_ids": ["nonsense"]}),
            "case_ids[0]",
        ),
        (
            "/v1/tokens",
            json!({"name": "t", "user_id": "user_999"}),
            "user_id",
        ),
        (
            "/v1/tokens",
            json!({"name": "t", "user_id": "nonsense"}),
            "user_id",
        ),
    ] {
        let r = app.post(path, &app.admin, body).await;
        envelope(&r, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
        assert_eq!(r.fields(), [field], "{path}");
    }
    let bulk = json!({"results": [{"test_case_id": "tc_999", "status": "passed"}]});
    app.bulk(&run, &app.admin, bulk)
        .await
        .invalid(&["results[0].test_case_id"]);
    assert_eq!(app.total(&runs).await, 1, "nothing created");
}

#[tokio::test]
async fn a_body_over_the_limit_is_a_413_and_writes_nothing() {
    let limits = Limits {
        max_body_bytes: 64,
        ..Limits::default()
    };
    let app = TestApp::with_limits(limits).await;
    let r = app
        .post("/v1/projects", &app.admin, json!({"name": "x".repeat(100)}))
        .await;
    envelope(&r, StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large");
    assert_eq!(app.total("/v1/projects").await, 0);
    app.post("/v1/projects", &app.admin, json!({"name": "small"}))
        .await
        .created();
}

#[tokio::test]
async fn health_and_readiness_need_no_token() {
    let app = TestApp::new().await;
    for path in ["/healthz", "/readyz"] {
        let req = Request::get(path).body(Body::empty()).unwrap();
        let r = app.send(req).await;
        assert_eq!(r.status, StatusCode::OK, "{path}");
        assert_eq!(r.body, json!({"data": {"status": "ok"}}), "{path}");
        // A token, even a bad one, changes nothing.
        let r = app
            .with_authorization(path, Some("Bearer vdt_nonsense"))
            .await;
        assert_eq!(
            (r.status, r.body),
            (StatusCode::OK, json!({"data": {"status": "ok"}}))
        );
    }
}

#[tokio::test]
async fn validation_details_name_every_bad_field_in_order() {
    let app = TestApp::new().await;
    let body = json!({"name": " ", "email": "nope", "password": "short"});
    let r = app.post("/v1/users", &app.admin, body).await;
    envelope(&r, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    assert_eq!(r.fields(), ["name", "email", "password"]);
    let message = r.body["error"]["message"].as_str().unwrap();
    assert!(
        message.starts_with("name: ") && message.ends_with(" (and 2 more)"),
        "{message}"
    );
    let details: Vec<&Value> = r.body["error"]["details"]
        .as_array()
        .unwrap()
        .iter()
        .collect();
    assert!(
        details
            .iter()
            .all(|d| !d["message"].as_str().unwrap().is_empty())
    );
}

#[tokio::test]
async fn extreme_pages_and_ids_are_answered_and_never_a_500() {
    let app = TestApp::new().await;
    let (pid, _, _) = app.seeded(1).await;
    let project = format!("/v1/projects/{pid}");
    let lists = [
        "/v1/projects".to_string(),
        "/v1/users".into(),
        "/v1/tokens".into(),
    ];
    let lists = lists
        .into_iter()
        .chain(["members", "cases", "runs"].map(|l| format!("{project}/{l}")));
    for list in lists {
        let r = app
            .get(&format!("{list}?page=4294967295&per_page=1000"), &app.admin)
            .await;
        assert_eq!(r.ok(), &json!([]), "{list}");
        assert_eq!(r.body["meta"]["page"], 4_294_967_295_u32, "{list}");
        let r = app
            .get(&format!("{list}?page=4294967296"), &app.admin)
            .await;
        r.invalid(&["page"]);
    }
    for id in [
        "run_9223372036854775807",
        "run_9223372036854775808",
        "run_99999999999999999999",
        "run_0",
        "run_-1",
        "run_+1",
        "run_1e3",
        "run_%E2%82%AC",
        "run_%00",
    ] {
        let r = app.get(&format!("/v1/runs/{id}"), &app.admin).await;
        envelope(&r, StatusCode::NOT_FOUND, "not_found");
    }
}
