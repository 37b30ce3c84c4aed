//! The password endpoints behind the web UI's sign-in: `PUT
//! /v1/me/password` (the current password when there is one; a missing or
//! wrong one is a 422 naming `current_password`, one sent when there is
//! none a 409 `password_not_set`) and the admin's `PUT
//! /v1/users/:uid/password`, with every bad input refused.

use crate::common;

use axum::http::StatusCode;
use common::TestApp;
use serde_json::json;

#[tokio::test]
async fn a_user_sets_a_first_password_then_changes_it_with_the_current_one() {
    let app = TestApp::new().await;
    let (_, token) = app.user("ann").await;
    let r = app
        .put(
            "/v1/me/password",
            &token,
            json!({"new_password": "first horse battery"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.body);
    assert!(r.body.is_null(), "no body");
    assert!(
        app.sign_in("ann@example.com", "first horse battery")
            .await
            .1
            .is_some()
    );

    let r = app
        .put(
            "/v1/me/password",
            &token,
            json!({"new_password": "second horse battery"}),
        )
        .await;
    r.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    assert_eq!(r.fields(), ["current_password"]);
    let r = app
        .put("/v1/me/password", &token, json!({"current_password": "wrong horse battery", "new_password": "second horse battery"}))
        .await;
    r.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    assert_eq!(r.fields(), ["current_password"]);
    assert!(
        app.sign_in("ann@example.com", "second horse battery")
            .await
            .1
            .is_none(),
        "unchanged"
    );

    let r = app
        .put("/v1/me/password", &token, json!({"current_password": "first horse battery", "new_password": "second horse battery"}))
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.body);
    assert!(
        app.sign_in("ann@example.com", "first horse battery")
            .await
            .1
            .is_none()
    );
    assert!(
        app.sign_in("ann@example.com", "second horse battery")
            .await
            .1
            .is_some()
    );
}

#[tokio::test]
async fn every_bad_change_is_refused_and_changes_nothing() {
    let app = TestApp::new().await;
    let (_, token) = app.user_with_password("ann", "first horse battery").await;
    let long = "x".repeat(1025);
    for (body, field) in [
        (
            json!({"current_password": "first horse battery", "new_password": "short"}),
            "new_password",
        ),
        (
            json!({"current_password": "first horse battery", "new_password": long}),
            "new_password",
        ),
        // serde names a missing field in the message, on `body`.
        (json!({"current_password": "first horse battery"}), "body"),
        (
            json!({"current_password": "first horse battery", "new_password": 12345678}),
            "new_password",
        ),
        (
            json!({"current_password": "first horse battery", "new_password": "second horse battery", "admin": true}),
            "admin",
        ),
        (
            json!({"current_password": "x".repeat(2000), "new_password": "second horse battery"}),
            "current_password",
        ),
    ] {
        let r = app.put("/v1/me/password", &token, body.clone()).await;
        r.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
        assert!(
            r.fields().iter().any(|f| f.starts_with(field)),
            "{body}: {:?}",
            r.fields()
        );
    }
    let r = app
        .put("/v1/me/password", &token, json!(["second horse battery"]))
        .await;
    r.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    let r = app
        .raw(
            "PUT",
            "/v1/me/password",
            &token,
            Some("application/json"),
            "{\"new_password\": ",
        )
        .await;
    r.assert_error(StatusCode::BAD_REQUEST, "malformed_request");
    let r = app
        .raw(
            "PUT",
            "/v1/me/password",
            &token,
            Some("text/plain"),
            "second horse battery",
        )
        .await;
    r.assert_error(StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type");
    let r = app
        .call(
            "PUT",
            "/v1/me/password",
            None,
            Some(json!({"new_password": "second horse battery"})),
        )
        .await;
    r.assert_error(StatusCode::UNAUTHORIZED, "unauthorized");
    let r = app.put("/v1/me/password?force=1", &token, json!({"current_password": "first horse battery", "new_password": "second horse battery"})).await;
    r.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    // A user without a password yet may not send a current one: a
    // well-formed request the account's state contradicts, so a 409 (the
    // body's own faults are still a 422, named first).
    let (_, fresh) = app.user("bob").await;
    let r = app
        .put(
            "/v1/me/password",
            &fresh,
            json!({"current_password": "anything at all", "new_password": "second horse battery"}),
        )
        .await;
    r.assert_error(StatusCode::CONFLICT, "password_not_set");
    assert!(
        r.body["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("current_password"))
    );
    let r = app
        .put(
            "/v1/me/password",
            &fresh,
            json!({"current_password": "anything at all", "new_password": "short"}),
        )
        .await;
    r.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    assert_eq!(r.fields(), ["new_password"]);
    let r = app
        .put(
            "/v1/me/password",
            &fresh,
            json!({"current_password": "x".repeat(1025), "new_password": "second horse battery"}),
        )
        .await;
    r.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    assert_eq!(r.fields(), ["current_password"]);
    // Nothing was set: the first password still goes in without one.
    let r = app
        .put(
            "/v1/me/password",
            &fresh,
            json!({"new_password": "bob's first battery"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.body);
    assert!(
        app.sign_in("ann@example.com", "first horse battery")
            .await
            .1
            .is_some(),
        "unchanged"
    );
}

#[tokio::test]
async fn an_admin_sets_anyones_password() {
    let app = TestApp::new().await;
    let (uid, token) = app.user("ann").await;
    let r = app
        .put(
            &format!("/v1/users/{uid}/password"),
            &app.admin,
            json!({"new_password": "set by the admin"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.body);
    assert!(
        app.sign_in("ann@example.com", "set by the admin")
            .await
            .1
            .is_some()
    );

    // Only admins; a non-admin learns nothing about which users exist.
    let (other, _) = app.user("bob").await;
    for target in [other.as_str(), "user_999", uid.as_str()] {
        let r = app
            .put(
                &format!("/v1/users/{target}/password"),
                &token,
                json!({"new_password": "set by ann now"}),
            )
            .await;
        r.assert_error(StatusCode::FORBIDDEN, "forbidden");
    }
    for path in ["/v1/users/user_999/password", "/v1/users/nobody/password"] {
        let r = app
            .put(
                path,
                &app.admin,
                json!({"new_password": "set by the admin"}),
            )
            .await;
        r.assert_error(StatusCode::NOT_FOUND, "not_found");
    }
    for body in [
        json!({"new_password": "short"}),
        json!({"new_password": "x".repeat(1025)}),
        json!({}),
        json!({"new_password": "long enough now", "current_password": "not taken here"}),
    ] {
        let r = app
            .put(
                &format!("/v1/users/{uid}/password"),
                &app.admin,
                body.clone(),
            )
            .await;
        r.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    }
    let r = app
        .call(
            "PUT",
            &format!("/v1/users/{uid}/password"),
            None,
            Some(json!({"new_password": "set by nobody"})),
        )
        .await;
    r.assert_error(StatusCode::UNAUTHORIZED, "unauthorized");
    assert!(
        app.sign_in("ann@example.com", "set by the admin")
            .await
            .1
            .is_some(),
        "unchanged"
    );
}

#[tokio::test]
async fn the_bootstrap_admin_can_get_a_password_and_sign_in() {
    let app = TestApp::new().await;
    let r = app
        .put(
            "/v1/me/password",
            &app.admin,
            json!({"new_password": "admin horse battery"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    let (_, s) = app.sign_in("admin@localhost", "admin horse battery").await;
    assert!(s.is_some(), "the documented fresh-install path works");
}
