//! TestRail API v2 (`/index.php?/api/v2/…`) through HTTP with Basic auth:
//! the shapes TestRail documents, its errors and paging, and that what a
//! TestRail client writes is what Verdict's own API shows.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use base64::Engine as _;
use serde_json::{Value, json};

use crate::common::{Resp, TestApp};

/// `Authorization: Basic` of `login:secret`.
pub fn basic(login: &str, secret: &str) -> String {
    let raw = format!("{login}:{secret}");
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(raw)
    )
}

/// A TestRail call: `call` is what follows `/api/v2/` (`get_case/1&x=y`).
pub async fn tr(
    app: &TestApp,
    method: &str,
    call: &str,
    auth: Option<&str>,
    body: Option<Value>,
) -> Resp {
    let mut req = Request::builder()
        .method(method)
        .uri(format!("/index.php?/api/v2/{call}"));
    if let Some(a) = auth {
        req = req.header("authorization", a);
    }
    let req = match body {
        Some(b) => req
            .header("content-type", "application/json")
            .body(Body::from(b.to_string())),
        None => req.body(Body::empty()),
    };
    app.send(req.expect("request")).await
}

/// The admin's email (for Basic auth with the admin token).
pub async fn admin_email(app: &TestApp) -> String {
    let users = app.get("/v1/users", &app.admin).await;
    users.body["data"]
        .as_array()
        .and_then(|a| a.iter().find(|u| u["admin"] == json!(true)))
        .and_then(|u| u["email"].as_str())
        .expect("an admin")
        .to_string()
}

/// Basic auth for the admin.
pub async fn admin_auth(app: &TestApp) -> String {
    basic(&admin_email(app).await, &app.admin)
}

/// A TestRail error: the status and `{"error": "…"}` only.
#[track_caller]
pub fn assert_tr_error(r: &Resp, status: StatusCode) {
    assert_eq!(r.status, status, "{}", r.body);
    let obj = r.body.as_object().expect("an object");
    assert_eq!(obj.len(), 1, "{}", r.body);
    assert!(
        obj["error"].as_str().is_some_and(|m| !m.is_empty()),
        "{}",
        r.body
    );
}

#[tokio::test]
async fn statuses_have_testrail_ids() {
    let app = TestApp::new().await;
    let auth = admin_auth(&app).await;
    let r = tr(&app, "GET", "get_statuses", Some(&auth), None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let by_id: Vec<(i64, String)> = r
        .body
        .as_array()
        .expect("a list")
        .iter()
        .map(|s| {
            for f in ["color_dark", "color_medium", "color_bright"] {
                assert!(s[f].is_i64(), "{s}");
            }
            for f in ["is_system", "is_untested", "is_final"] {
                assert!(s[f].is_boolean(), "{s}");
            }
            assert!(s["label"].is_string(), "{s}");
            (
                s["id"].as_i64().expect("id"),
                s["name"].as_str().expect("name").to_string(),
            )
        })
        .collect();
    let expected = [
        (1, "passed"),
        (2, "blocked"),
        (3, "untested"),
        (4, "retest"),
        (5, "failed"),
    ];
    assert_eq!(by_id, expected.map(|(i, n)| (i, n.to_string())).to_vec());
}

#[tokio::test]
async fn unknown_endpoint_and_bad_route_answer_testrail_errors() {
    let app = TestApp::new().await;
    let auth = admin_auth(&app).await;
    let r = tr(&app, "GET", "get_everything", Some(&auth), None).await;
    assert_tr_error(&r, StatusCode::BAD_REQUEST);
    assert!(r.body["error"].as_str().unwrap().contains("get_everything"));
    let r = app
        .send(
            Request::builder()
                .uri("/index.php?/api/v1/get_cases/1")
                .header("authorization", &auth)
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_tr_error(&r, StatusCode::NOT_FOUND);
    // A write endpoint wants POST; a read, GET.
    let r = tr(&app, "GET", "add_case/1", Some(&auth), None).await;
    assert_tr_error(&r, StatusCode::BAD_REQUEST);
    let r = tr(&app, "POST", "get_project/1", Some(&auth), Some(json!({}))).await;
    assert_tr_error(&r, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn wrong_credentials_are_401() {
    let app = TestApp::new().await;
    let email = admin_email(&app).await;
    let (_, token) = app.user("tess").await;
    for auth in [
        None,
        Some(format!("Bearer {}", app.admin)),
        Some("Basic !!!".to_string()),
        Some(basic(&email, "vdt_not_a_token_at_all_0000")),
        // Another user's token under the admin's email.
        Some(basic(&email, &token)),
        Some(basic(&email, "a wrong password")),
    ] {
        let r = tr(&app, "GET", "get_current_user", auth.as_deref(), None).await;
        assert_tr_error(&r, StatusCode::UNAUTHORIZED);
    }
    // The user's name works as the login too.
    let r = tr(
        &app,
        "GET",
        "get_current_user",
        Some(&basic("tess", &token)),
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["email"], "tess@example.com");
}

#[tokio::test]
async fn a_spent_rate_limit_is_a_testrail_429_with_retry_after() {
    let app = TestApp::with_limits(verdict_server::Limits {
        rate_limit_per_minute: 1,
        rate_limit_burst: 1,
        ..verdict_server::Limits::default()
    })
    .await;
    let auth = admin_auth(&app).await;
    let first = tr(&app, "GET", "get_statuses", Some(&auth), None).await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.body);
    let second = tr(&app, "GET", "get_statuses", Some(&auth), None).await;
    assert_tr_error(&second, StatusCode::TOO_MANY_REQUESTS);
    let retry: u64 = second.headers["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(retry >= 1, "{retry}");
}
