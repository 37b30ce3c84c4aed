//! Users (POST/GET /v1/users, GET /v1/users/:uid, GET /v1/me), API tokens
//! (POST/GET /v1/tokens, DELETE /v1/tokens/:id) and the start-up bootstrap.

use crate::common;

use axum::http::StatusCode;
use common::{ADMIN, Resp, TestApp, is_utc_instant, keys};
use serde_json::{Value, json};

/// A token secret as minted: `vdt_` and 64 lowercase hex digits.
fn is_secret(s: &str) -> bool {
    s.strip_prefix("vdt_").is_some_and(|hex| {
        hex.len() == 64
            && hex
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    })
}

async fn mint(app: &TestApp, token: &str, body: Value) -> Resp {
    app.post("/v1/tokens", token, body).await
}

/// The caller's tokens.
async fn tokens(app: &TestApp, token: &str) -> Vec<Value> {
    let r = app.get("/v1/tokens?per_page=1000", token).await;
    r.ok().as_array().expect("tokens").clone()
}

async fn create_user(app: &TestApp, token: &str, body: Value) -> Resp {
    app.post("/v1/users", token, body).await
}

fn unauthorized(r: &Resp) {
    r.assert_error(StatusCode::UNAUTHORIZED, "unauthorized");
}

#[tokio::test]
async fn an_admin_creates_users_with_trimmed_fields_and_no_password_echoed() {
    let app = TestApp::new().await;
    let body = json!({"name": " Bob ", "email": " bob@example.com ", "password": "12345678"});
    let r = app.post("/v1/users", &app.admin, body).await;
    let user = r.created().clone();
    assert!(user["id"].as_str().unwrap().starts_with("user_"));
    assert!(is_utc_instant(user["created_at"].as_str().unwrap()));
    let expected = json!({"id": user["id"], "name": "Bob", "email": "bob@example.com",
        "admin": false, "created_at": user["created_at"]});
    assert_eq!(user, expected);
    let path = format!("/v1/users/{}", r.id());
    assert_eq!(app.get(&path, &app.admin).await.body, r.body);
    let body = json!({"name": "Root", "email": "root@example.com", "admin": true});
    let root = app.post("/v1/users", &app.admin, body).await;
    assert_eq!(root.created()["admin"], true);
}

#[tokio::test]
async fn creating_a_user_refuses_bad_input_duplicates_and_non_admins() {
    let app = TestApp::new().await;
    let (_, token) = app.user("bob").await;
    let total = app.total("/v1/users").await;
    let user = |email: &str| json!({"name": "N", "email": email});
    let long = format!("{}@example.com", "a".repeat(243));
    for email in ["", "bob", "@x.io", "bob@", "b ob@x.io", "a@b@c", &long] {
        create_user(&app, &app.admin, user(email))
            .await
            .invalid(&["email"]);
    }
    for (body, fields) in [
        (
            json!({"name": "N", "email": "n@x.io", "password": "1234567"}),
            &["password"][..],
        ),
        (json!({"name": " ", "email": "n@x.io"}), &["name"]),
        (json!({"name": "", "email": "nope"}), &["name", "email"]),
        (
            json!({"name": "N", "email": "n@x.io", "admin": "yes"}),
            &["admin"],
        ),
        (
            json!({"name": "N", "email": "n@x.io", "role": "x"}),
            &["role"],
        ),
        (json!({"name": "N"}), &["body"]),
    ] {
        create_user(&app, &app.admin, body).await.invalid(fields);
    }
    for email in ["bob@example.com", "BOB@Example.COM", " Bob@example.com "] {
        let r = app.post("/v1/users", &app.admin, user(email)).await;
        r.assert_error(StatusCode::CONFLICT, "duplicate_email");
    }
    create_user(&app, &token, user("eve@x.io"))
        .await
        .forbidden();
    let body = json!({"name": "E", "email": "e@x.io", "admin": true});
    create_user(&app, &token, body).await.forbidden();
    assert_eq!(app.total("/v1/users").await, total, "nothing written");
    let body = json!({"name": "N", "email": "n@x.io", "password": "12345678"});
    app.post("/v1/users", &app.admin, body).await.created();
}

#[tokio::test]
async fn only_admins_list_users_oldest_first_and_paged() {
    let app = TestApp::new().await;
    let (bob, token) = app.user("bob").await;
    let (carol, _) = app.user("carol").await;
    let admin = app.admin_id().await;
    let r = app.get("/v1/users", &app.admin).await;
    let ids: Vec<&Value> = r
        .ok()
        .as_array()
        .unwrap()
        .iter()
        .map(|u| &u["id"])
        .collect();
    assert_eq!(ids, [&json!(admin), &json!(bob), &json!(carol)]);
    assert_eq!(
        r.body["meta"],
        json!({"total": 3, "page": 1, "per_page": 20})
    );
    let r = app.get("/v1/users?page=2&per_page=2", &app.admin).await;
    assert_eq!(r.ok().as_array().unwrap().len(), 1);
    assert_eq!(
        (&r.ok()[0]["id"], &r.body["meta"]["page"]),
        (&json!(carol), &json!(2))
    );
    app.get("/v1/users?per_page=0", &app.admin)
        .await
        .invalid(&["per_page"]);
    app.get("/v1/users", &token).await.forbidden();
}

#[tokio::test]
async fn a_user_is_visible_to_admins_and_themself_only() {
    let app = TestApp::new().await;
    let (bob, bob_token) = app.user("bob").await;
    let (carol, _) = app.user("carol").await;
    let admin = app.admin_id().await;
    let me = app.get(&format!("/v1/users/{bob}"), &bob_token).await;
    assert_eq!(me.ok()["email"], "bob@example.com");
    assert_eq!(
        app.get(&format!("/v1/users/{bob}"), &app.admin).await.body,
        me.body
    );
    for other in [&carol, &admin, "user_999", "usr_1", "bob"] {
        app.get(&format!("/v1/users/{other}"), &bob_token)
            .await
            .not_found();
    }
    for bad in ["user_999", "user_x", "prj_001"] {
        app.get(&format!("/v1/users/{bad}"), &app.admin)
            .await
            .not_found();
    }
}

#[tokio::test]
async fn me_is_the_caller() {
    let app = TestApp::new().await;
    let (bob, token) = app.user("bob").await;
    let r = app.get("/v1/me", &token).await;
    assert_eq!(r.ok()["id"], bob.as_str());
    assert_eq!(
        app.get(&format!("/v1/users/{bob}"), &token).await.body,
        r.body
    );
    let admin = app.get("/v1/me", &app.admin).await;
    let expected = json!({"id": admin.ok()["id"], "name": "admin", "email": "admin@localhost",
        "admin": true, "created_at": admin.ok()["created_at"]});
    assert_eq!(*admin.ok(), expected);
    app.get("/v1/me?verbose=1", &token)
        .await
        .invalid(&["verbose"]);
}

#[tokio::test]
async fn a_minted_token_is_shown_once_works_and_is_listed_without_its_secret() {
    let app = TestApp::new().await;
    let (bob, token) = app.user("bob").await;
    let r = mint(&app, &token, json!({"name": " laptop "})).await;
    let minted = r.created().clone();
    let secret = minted["token"].as_str().unwrap().to_string();
    assert!(is_secret(&secret), "{secret}");
    assert!(minted["id"].as_str().unwrap().starts_with("tok_"));
    let expected = json!({"id": minted["id"], "name": "laptop", "user_id": bob,
        "created_at": minted["created_at"], "token": secret});
    assert_eq!(minted, expected);
    assert!(is_utc_instant(minted["created_at"].as_str().unwrap()));
    assert_eq!(app.get("/v1/me", &secret).await.ok()["id"], bob.as_str());

    let r = app.get("/v1/tokens", &token).await;
    assert!(
        !r.body.to_string().contains(&secret),
        "the secret is never listed"
    );
    assert!(!r.body.to_string().contains(&token));
    let listed = r.ok().as_array().unwrap();
    assert_eq!(listed.len(), 2, "bob's two tokens, not the admin's");
    assert_eq!(
        keys(&listed[1]),
        ["created_at", "id", "last_used_at", "name", "user_id"]
    );
    assert_eq!(listed[1]["id"], minted["id"]);
    assert_eq!(listed[1]["name"], "laptop");
    assert_eq!(
        r.body["meta"],
        json!({"total": 2, "page": 1, "per_page": 20})
    );
    let r = app.get("/v1/tokens?page=2&per_page=1", &token).await;
    assert_eq!(r.ok()[0]["id"], minted["id"]);
    // The user may name themself.
    let r = mint(&app, &token, json!({"name": "ci", "user_id": bob})).await;
    assert_eq!(r.created()["user_id"], bob.as_str());
}

#[tokio::test]
async fn an_admin_mints_for_others_and_nobody_else_may() {
    let app = TestApp::new().await;
    let (bot, bot_token) = app.user("bot").await;
    let (_, eve) = app.user("eve").await;
    let r = mint(&app, &app.admin, json!({"name": "CI", "user_id": bot})).await;
    let secret = r.created()["token"].as_str().unwrap().to_string();
    assert_eq!(r.created()["user_id"], bot.as_str());
    assert_eq!(app.get("/v1/me", &secret).await.ok()["id"], bot.as_str());
    assert_eq!(tokens(&app, &bot_token).await.len(), 2);
    assert_eq!(
        tokens(&app, &app.admin).await.len(),
        1,
        "not the admin's token"
    );

    // Ids only: last_used_at changes as the tokens are used.
    let ids = |list: Vec<Value>| list.iter().map(|t| t["id"].clone()).collect::<Vec<_>>();
    let before = (
        ids(tokens(&app, &bot_token).await),
        ids(tokens(&app, &eve).await),
    );
    mint(&app, &eve, json!({"name": "x", "user_id": bot}))
        .await
        .forbidden();
    mint(&app, &eve, json!({"name": "x", "user_id": "user_999"}))
        .await
        .forbidden();
    for (token, body, field) in [
        (
            &app.admin,
            json!({"name": "x", "user_id": "user_999"}),
            "user_id",
        ),
        (
            &app.admin,
            json!({"name": "x", "user_id": "bot"}),
            "user_id",
        ),
        (&eve, json!({"name": "x", "user_id": "tok_001"}), "user_id"),
        (&eve, json!({"name": "  "}), "name"),
        (&eve, json!({"name": "n".repeat(1001)}), "name"),
        (&eve, json!({"name": "x", "scopes": []}), "scopes"),
        (&eve, json!({}), "body"),
    ] {
        mint(&app, token, body).await.invalid(&[field]);
    }
    let after = (
        ids(tokens(&app, &bot_token).await),
        ids(tokens(&app, &eve).await),
    );
    assert_eq!(after, before, "nothing minted");
    assert_eq!(tokens(&app, &app.admin).await.len(), 1);
}

#[tokio::test]
async fn a_deleted_token_stops_working_and_only_its_owner_or_an_admin_deletes() {
    let app = TestApp::new().await;
    let (_, bob) = app.user("bob").await;
    let (_, eve) = app.user("eve").await;
    let spare = mint(&app, &bob, json!({"name": "spare"})).await;
    let (spare_id, spare_secret) = (spare.id(), spare.created()["token"].clone());
    let spare_secret = spare_secret.as_str().unwrap();
    let path = format!("/v1/tokens/{spare_id}");
    app.delete(&path, &eve).await.not_found();
    assert_eq!(app.get("/v1/me", spare_secret).await.status, StatusCode::OK);
    let r = app.delete(&path, &bob).await;
    assert_eq!((r.status, &r.body), (StatusCode::NO_CONTENT, &Value::Null));
    unauthorized(&app.get("/v1/me", spare_secret).await);
    assert_eq!(tokens(&app, &bob).await.len(), 1);
    app.delete(&path, &bob).await.not_found();
    for bad in ["tok_999", "tok_x", "user_001"] {
        app.delete(&format!("/v1/tokens/{bad}"), &app.admin)
            .await
            .not_found();
    }
    // An admin revokes anyone's token; a token may revoke itself.
    let eve_id = tokens(&app, &eve).await[0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let r = app
        .delete(&format!("/v1/tokens/{eve_id}"), &app.admin)
        .await;
    r.status_is(StatusCode::NO_CONTENT);
    unauthorized(&app.get("/v1/me", &eve).await);
    let bob_id = tokens(&app, &bob).await[0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let r = app.delete(&format!("/v1/tokens/{bob_id}"), &bob).await;
    r.status_is(StatusCode::NO_CONTENT);
    unauthorized(&app.get("/v1/tokens", &bob).await);
}

#[tokio::test]
async fn last_used_at_is_set_once_a_token_is_used() {
    let app = TestApp::new().await;
    let (_, bob) = app.user("bob").await;
    let fresh = mint(&app, &bob, json!({"name": "fresh"})).await;
    let (id, secret) = (
        fresh.id(),
        fresh.created()["token"].as_str().unwrap().to_string(),
    );
    let find = |list: Vec<Value>| list.into_iter().find(|t| t["id"] == id.as_str()).unwrap();
    assert_eq!(find(tokens(&app, &bob).await)["last_used_at"], Value::Null);
    app.get("/v1/me", &secret).await.ok();
    // Noted off the request path: poll for up to ~2 s.
    let mut last_used = Value::Null;
    for _ in 0..200 {
        last_used = find(tokens(&app, &bob).await)["last_used_at"].clone();
        if !last_used.is_null() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert!(
        is_utc_instant(last_used.as_str().expect("last_used_at set")),
        "{last_used}"
    );
}

#[tokio::test]
async fn bootstrap_with_a_token_is_idempotent_and_makes_one_admin() {
    let app = TestApp::empty().await;
    let token = "vdt_0123456789abcdef";
    for _ in 0..2 {
        let fresh = verdict_server::bootstrap(app.store.as_ref(), Some(token)).await;
        assert!(
            fresh.expect("bootstrap").is_none(),
            "a given token is never printed"
        );
    }
    let r = app.get("/v1/users", token).await;
    assert_eq!(r.body["meta"]["total"], 1, "one admin");
    assert_eq!(
        (&r.ok()[0]["email"], &r.ok()[0]["admin"]),
        (&json!("admin@localhost"), &json!(true))
    );
    assert_eq!(tokens(&app, token).await.len(), 1, "one token");
    // Another token later (rotated): still the one admin, who now holds
    // it instead of the one given before.
    let rotated = "vdt_fedcba9876543210";
    let fresh = verdict_server::bootstrap(app.store.as_ref(), Some(rotated)).await;
    assert!(fresh.expect("bootstrap").is_none());
    let me = app.get("/v1/me", rotated).await;
    assert_eq!(me.ok()["id"], r.ok()[0]["id"]);
    assert_eq!(app.get("/v1/users", rotated).await.body["meta"]["total"], 1);
    unauthorized(&app.get("/v1/me", token).await);
}

#[tokio::test]
async fn bootstrap_without_a_token_mints_one_only_for_an_empty_database() {
    let app = TestApp::empty().await;
    let fresh = verdict_server::bootstrap(app.store.as_ref(), None)
        .await
        .expect("bootstrap");
    let secret = fresh.expect("a fresh secret for an empty database");
    assert!(is_secret(secret.expose()));
    let me = app.get("/v1/me", secret.expose()).await;
    assert_eq!(
        (&me.ok()["admin"], &me.ok()["email"]),
        (&json!(true), &json!("admin@localhost"))
    );
    let again = verdict_server::bootstrap(app.store.as_ref(), None).await;
    assert!(again.expect("bootstrap").is_none(), "not empty any more");
    assert_eq!(
        app.get("/v1/users", secret.expose()).await.body["meta"]["total"],
        1
    );

    // A start without the token it was last given: no new token, and the
    // given one is revoked (it was valid only while starts gave it).
    let seeded = TestApp::new().await;
    let (_, token) = seeded.user("ann").await;
    let none = verdict_server::bootstrap(seeded.store.as_ref(), None).await;
    assert!(none.expect("bootstrap").is_none());
    unauthorized(&seeded.get("/v1/me", ADMIN).await);
    assert_eq!(seeded.get("/v1/me", &token).await.ok()["name"], "ann");
    let again = verdict_server::bootstrap(seeded.store.as_ref(), Some(ADMIN)).await;
    assert!(again.expect("bootstrap").is_none());
    assert_eq!(seeded.total("/v1/users").await, 2);
    assert_eq!(seeded.get("/v1/me", ADMIN).await.ok()["admin"], true);
}

#[tokio::test]
async fn bootstrap_refuses_a_weak_admin_token_and_writes_nothing() {
    let app = TestApp::empty().await;
    for weak in [
        "",
        "secret",
        "vdt_",
        "vdt_0123456789abcde",
        "VDT_0123456789abcdef",
        "0123456789abcdefghij",
    ] {
        let r = verdict_server::bootstrap(app.store.as_ref(), Some(weak)).await;
        let message = r.expect_err(weak);
        assert!(message.contains("VERDICT_ADMIN_TOKEN"), "{message}");
        unauthorized(&app.get("/v1/me", weak).await);
    }
    let fresh = verdict_server::bootstrap(app.store.as_ref(), None)
        .await
        .expect("bootstrap");
    assert!(fresh.is_some(), "the database is still empty");
}
