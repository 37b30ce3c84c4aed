//! Sessions end a fixed time after sign-in: the next request deletes the
//! session's token, clears the cookie and sends the browser to sign in
//! again (the run page's script gets a 401 instead), and nothing it posts
//! is written. A changed password signs out the other sessions.

use crate::common;

use std::time::Duration;

use axum::http::StatusCode;
use common::{TestApp, csrf, html, session_cookie};
use serde_json::json;
use verdict_server::WebConfig;

const LIFETIME: Duration = Duration::from_millis(400);

#[tokio::test]
async fn an_expired_session_is_deleted_and_sent_to_sign_in() {
    let app = TestApp::with_web(WebConfig {
        session_lifetime: LIFETIME,
        ..WebConfig::default()
    })
    .await;
    let (project, _, run) = app.seeded(2).await;
    let (uid, session) = app.web_member(&project, "tess", "tester").await;
    let uid = uid.parse().expect("user id");
    assert_eq!(
        app.page("/projects", Some(&session)).await.status,
        StatusCode::OK
    );
    assert_eq!(app.store.list_tokens(uid).await.expect("tokens").len(), 2);

    tokio::time::sleep(LIFETIME + Duration::from_millis(100)).await;
    let result = app.all_results(&run).await[0]["id"]
        .as_str()
        .expect("id")
        .to_string();
    let before = app.snapshot(&run).await;
    let r = app
        .form(
            &format!("/runs/{run}/results/{result}"),
            Some(&session),
            &[("status", "passed"), ("csrf", &csrf(&session))],
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(r.headers["location"], "/login?expired=1");
    assert_eq!(
        session_cookie(&r).as_deref(),
        Some(""),
        "the cookie is cleared"
    );
    assert_eq!(app.snapshot(&run).await, before, "nothing was written");

    // Only the API token the test made is left: the session is gone.
    let left = app.store.list_tokens(uid).await.expect("tokens");
    assert!(left.iter().all(|t| t.name != "web session"), "{left:?}");
    let r = app.page("/projects", Some(&session)).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert!(
        r.headers["location"]
            .to_str()
            .expect("ascii")
            .starts_with("/login?next=")
    );
    assert!(html(&app.page("/login?expired=1", None).await).contains("Your session has expired"));

    // A fresh sign-in works again, until it too expires.
    let (_, again) = app
        .sign_in("tess@example.com", "correct horse battery")
        .await;
    assert_eq!(
        app.page("/projects", again.as_deref()).await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn the_run_page_script_gets_a_401_when_the_session_is_over() {
    let app = TestApp::with_web(WebConfig {
        session_lifetime: LIFETIME,
        ..WebConfig::default()
    })
    .await;
    let (project, _, run) = app.seeded(1).await;
    let (_, session) = app.web_member(&project, "tess", "tester").await;
    tokio::time::sleep(LIFETIME + Duration::from_millis(100)).await;
    let result = app.all_results(&run).await[0]["id"]
        .as_str()
        .expect("id")
        .to_string();
    let r = app
        .form(
            &format!("/runs/{run}/results/{result}"),
            Some(&session),
            &[("status", "passed"), ("csrf", &csrf(&session))],
            &[("accept", "application/json")],
        )
        .await;
    r.assert_error(StatusCode::UNAUTHORIZED, "unauthorized");
}

#[tokio::test]
async fn a_changed_password_signs_out_the_other_sessions() {
    let app = TestApp::new().await;
    let (_, token) = app.user_with_password("ann", "correct horse battery").await;
    let (_, first) = app
        .sign_in("ann@example.com", "correct horse battery")
        .await;
    let (_, second) = app
        .sign_in("ann@example.com", "correct horse battery")
        .await;
    let (first, second) = (first.expect("session"), second.expect("session"));

    // Through the web form, from the second browser: the first is signed out.
    let r = app
        .form(
            "/password",
            Some(&second),
            &[
                ("csrf", &csrf(&second)),
                ("current_password", "correct horse battery"),
                ("new_password", "a new horse battery"),
                ("confirm_password", "a new horse battery"),
            ],
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", html(&r));
    assert_eq!(r.headers["location"], "/tokens");
    assert_eq!(
        app.page("/projects", Some(&first)).await.status,
        StatusCode::SEE_OTHER
    );
    assert_eq!(
        app.page("/projects", Some(&second)).await.status,
        StatusCode::OK
    );

    // Through the API: every web session is signed out; API tokens stay.
    let r = app
        .put(
            "/v1/me/password",
            &token,
            json!({"current_password": "a new horse battery", "new_password": "third horse battery"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.body);
    assert_eq!(
        app.page("/projects", Some(&second)).await.status,
        StatusCode::SEE_OTHER
    );
    assert_eq!(app.get("/v1/me", &token).await.status, StatusCode::OK);
    let (_, old) = app.sign_in("ann@example.com", "a new horse battery").await;
    assert!(old.is_none());
    let (_, new) = app.sign_in("ann@example.com", "third horse battery").await;
    assert!(new.is_some());
}

#[tokio::test]
async fn the_web_form_refuses_a_mistyped_new_password() {
    let app = TestApp::new().await;
    app.user_with_password("ann", "correct horse battery").await;
    let (_, s) = app
        .sign_in("ann@example.com", "correct horse battery")
        .await;
    let s = s.expect("session");
    let post = |fields: Vec<(&'static str, &'static str)>| {
        let app = &app;
        let s = s.clone();
        async move {
            let token = csrf(&s);
            let mut all = vec![("csrf", token.as_str())];
            all.extend(fields);
            app.form("/password", Some(&s), &all, &[]).await
        }
    };
    let r = post(vec![
        ("current_password", "correct horse battery"),
        ("new_password", "a new horse battery"),
        ("confirm_password", "a new horse batery"),
    ])
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html(&r).contains("The two new passwords differ"));
    let r = post(vec![
        ("current_password", "wrong horse battery"),
        ("new_password", "a new horse battery"),
        ("confirm_password", "a new horse battery"),
    ])
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        html(&r).contains("Current password: is not the account"),
        "{}",
        html(&r)
    );
    let r = post(vec![
        ("current_password", "correct horse battery"),
        ("new_password", "short"),
        ("confirm_password", "short"),
    ])
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html(&r).contains("New password: must be at least 8 characters"));
    let (_, still) = app
        .sign_in("ann@example.com", "correct horse battery")
        .await;
    assert!(still.is_some(), "unchanged");
}
