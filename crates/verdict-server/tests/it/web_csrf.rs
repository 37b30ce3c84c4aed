//! Every form the web UI accepts carries the session's CSRF token: without
//! it, or with another session's, the post is refused (403) and nothing is
//! written — results, run state, tokens, the session itself.

use crate::common;

use axum::http::StatusCode;
use common::{TestApp, csrf, html};

#[tokio::test]
async fn a_result_form_without_the_right_token_writes_nothing() {
    let app = TestApp::new().await;
    let (project, _, run) = app.seeded(3).await;
    let (_, session) = app.web_member(&project, "tess", "tester").await;
    let (_, other) = app.web_member(&project, "otto", "tester").await;
    let result = app.all_results(&run).await[0]["id"]
        .as_str()
        .expect("id")
        .to_string();
    let path = format!("/runs/{run}/results/{result}");
    let before = app.snapshot(&run).await;

    let wrong = csrf(&other);
    for fields in [
        vec![("status", "failed")],
        vec![("status", "failed"), ("csrf", "")],
        vec![("status", "failed"), ("csrf", wrong.as_str())],
        vec![("status", "failed"), ("csrf", "0123")],
    ] {
        let r = app.form(&path, Some(&session), &fields, &[]).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{fields:?}");
        assert!(html(&r).contains("Form expired"), "an HTML page explains");
        let r = app
            .form(
                &path,
                Some(&session),
                &fields,
                &[("accept", "application/json")],
            )
            .await;
        r.assert_error(StatusCode::FORBIDDEN, "forbidden");
    }
    assert_eq!(app.snapshot(&run).await, before, "nothing was written");

    // The control: the same post with the right token is recorded.
    let token = csrf(&session);
    let r = app
        .form(
            &path,
            Some(&session),
            &[("status", "failed"), ("csrf", &token)],
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_ne!(app.snapshot(&run).await, before);
}

#[tokio::test]
async fn other_forms_without_the_token_change_nothing() {
    let app = TestApp::new().await;
    let (project, _, run) = app.seeded(2).await;
    let (uid, session) = app.web_member(&project, "max", "manager").await;
    let tokens_before = app
        .store
        .list_tokens(uid.parse().expect("id"))
        .await
        .expect("tokens");

    let r = app
        .form(&format!("/runs/{run}/close"), Some(&session), &[], &[])
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(
        app.get(&format!("/v1/runs/{run}"), &app.admin).await.data()["state"],
        "open"
    );

    let r = app
        .form("/tokens", Some(&session), &[("name", "sneaky")], &[])
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let some = tokens_before.first().expect("a token").id.to_string();
    let r = app
        .form(&format!("/tokens/{some}/revoke"), Some(&session), &[], &[])
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = app
        .form(
            "/password",
            Some(&session),
            &[
                ("new_password", "pwned pwned"),
                ("confirm_password", "pwned pwned"),
            ],
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let tokens_after = app
        .store
        .list_tokens(uid.parse().expect("id"))
        .await
        .expect("tokens");
    // Compared by id and name: using a token notes its last use meanwhile.
    let ids = |ts: &[verdict_store::Token]| {
        ts.iter()
            .map(|t| (t.id, t.name.clone()))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        ids(&tokens_after),
        ids(&tokens_before),
        "no token made or revoked"
    );
    let (_, still) = app
        .sign_in("max@example.com", "correct horse battery")
        .await;
    assert!(still.is_some(), "the password is unchanged");

    // Signing out needs the token too (so another site cannot sign you out).
    let r = app.form("/logout", Some(&session), &[], &[]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(
        app.page("/projects", Some(&session)).await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn a_form_that_is_not_urlencoded_is_refused() {
    let app = TestApp::new().await;
    let (project, _, run) = app.seeded(1).await;
    let (_, session) = app.web_member(&project, "tess", "tester").await;
    let result = app.all_results(&run).await[0]["id"]
        .as_str()
        .expect("id")
        .to_string();
    let req = axum::http::Request::builder()
        .method("POST")
        .uri(format!("/runs/{run}/results/{result}"))
        .header("cookie", format!("verdict_session={session}"))
        .header("content-type", "application/json")
        .body(axum::body::Body::from(format!(
            r#"{{"status":"passed","csrf":"{}"}}"#,
            csrf(&session)
        )))
        .expect("request");
    let before = app.snapshot(&run).await;
    assert_eq!(
        app.send(req).await.status,
        StatusCode::UNSUPPORTED_MEDIA_TYPE
    );
    assert_eq!(app.snapshot(&run).await, before);
}
