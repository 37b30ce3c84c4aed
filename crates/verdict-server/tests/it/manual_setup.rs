//! Setting a team up for manual testing over HTTP: a project's settings
//! (name, defect link template), an admin's changes to users and revoking
//! their tokens, sections, the case list's section and priority filters,
//! and runs over a section. Every success path, every bad input (a clear
//! error and nothing changed) and every role.

use crate::common;

use axum::http::StatusCode;
use common::{TestApp, html};
use serde_json::{Value, json};

const TEMPLATE: &str = "https://tracker.example.com/browse/{id}";

/// Templates the API refuses, each with why.
fn bad_templates() -> Vec<(String, &'static str)> {
    vec![
        ("tracker.example.com/{id}".into(), "no scheme"),
        ("ftp://tracker.example.com/{id}".into(), "not http(s)"),
        ("https:///{id}".into(), "no host"),
        ("https://".into(), "nothing at all"),
        ("https://tracker.example.com/browse/".into(), "no {id}"),
        (
            "https://tracker.example.com/browse/{ID}".into(),
            "{ID} is not {id}",
        ),
        ("https://tracker.example.com/browse/ {id}".into(), "a space"),
        (
            " https://tracker.example.com/{id}".into(),
            "a leading space",
        ),
        ("https://tracker.example.com/\t{id}".into(), "a tab"),
        (
            "https://tracker.example.com/\u{7}{id}".into(),
            "a control character",
        ),
        (
            "https://tracker.example.com/\u{85}{id}".into(),
            "a C1 control character",
        ),
        ("".into(), "empty"),
        (
            format!("https://tracker.example.com/{{id}}/{}", "a".repeat(2048)),
            "too long",
        ),
    ]
}

/// Projects the caller sees, by name.
async fn project_names(app: &TestApp) -> Vec<String> {
    let r = app.get("/v1/projects?per_page=100", &app.admin).await;
    r.ok()
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap().to_string())
        .collect()
}

// --- projects: the defect link template on create --------------------------

#[tokio::test]
async fn a_project_is_created_with_a_defect_link_template_or_without() {
    let app = TestApp::new().await;
    let r = app
        .post(
            "/v1/projects",
            &app.admin,
            json!({"name": "Shop", "defect_url_template": TEMPLATE}),
        )
        .await;
    let created = r.created().clone();
    assert_eq!(created["defect_url_template"], TEMPLATE);
    let id = created["id"].as_str().unwrap();
    let got = app.get(&format!("/v1/projects/{id}"), &app.admin).await;
    assert_eq!(got.ok()["defect_url_template"], TEMPLATE);
    assert_eq!(got.ok()["name"], "Shop");

    // Without one (left out or null) the field is there, null.
    let plain = app
        .post("/v1/projects", &app.admin, json!({"name": "Plain"}))
        .await;
    assert!(plain.created()["defect_url_template"].is_null());
    assert!(
        plain
            .created()
            .as_object()
            .unwrap()
            .contains_key("defect_url_template"),
        "the field is always present: {}",
        plain.body
    );
    let null = app
        .post(
            "/v1/projects",
            &app.admin,
            json!({"name": "Null", "defect_url_template": null}),
        )
        .await;
    assert!(null.created()["defect_url_template"].is_null());

    // Other accepted forms: http, upper-case scheme, {id} in the query or
    // the host, more than one {id}, exactly 2048 characters.
    let long = format!("https://t.example.com/{{id}}/{}", "a".repeat(2048 - 27));
    assert_eq!(long.chars().count(), 2048);
    for ok in [
        "http://bugs.local/{id}",
        "HTTPS://bugs.example.com/?q={id}",
        "https://{id}.bugs.example.com/",
        "https://bugs.example.com/{id}#{id}",
        long.as_str(),
    ] {
        let r = app
            .post(
                "/v1/projects",
                &app.admin,
                json!({"name": "ok", "defect_url_template": ok}),
            )
            .await;
        assert_eq!(r.created()["defect_url_template"], ok);
    }

    // The list carries the field too.
    let list = app.get("/v1/projects", &app.admin).await;
    let shop = list
        .ok()
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "Shop")
        .cloned()
        .unwrap();
    assert_eq!(shop["defect_url_template"], TEMPLATE);
}

#[tokio::test]
async fn a_project_with_a_bad_template_is_not_created() {
    let app = TestApp::new().await;
    for (template, why) in bad_templates() {
        let r = app
            .post(
                "/v1/projects",
                &app.admin,
                json!({"name": "Shop", "defect_url_template": template}),
            )
            .await;
        assert_eq!(
            r.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{why}: {}",
            r.body
        );
        r.invalid(&["defect_url_template"]);
    }
    // Not a string.
    for wrong in [json!(42), json!(["https://x.example.com/{id}"]), json!({})] {
        let r = app
            .post(
                "/v1/projects",
                &app.admin,
                json!({"name": "Shop", "defect_url_template": wrong}),
            )
            .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    }
    // A bad name and a bad template: both named.
    let r = app
        .post(
            "/v1/projects",
            &app.admin,
            json!({"name": "  ", "defect_url_template": "nope"}),
        )
        .await;
    r.invalid(&["name", "defect_url_template"]);
    assert!(project_names(&app).await.is_empty(), "nothing was created");
}

// --- projects: PATCH --------------------------------------------------------

#[tokio::test]
async fn a_manager_renames_a_project_and_sets_and_clears_its_template() {
    let app = TestApp::new().await;
    let project = app.project("Shop").await;
    let manager = app.member(&project, "mia", "manager").await;
    let path = format!("/v1/projects/{project}");

    let r = app
        .patch(&path, &manager, json!({"name": "  Web shop  "}))
        .await;
    assert_eq!(r.ok()["name"], "Web shop", "trimmed");
    assert!(r.ok()["defect_url_template"].is_null());

    let r = app
        .patch(&path, &manager, json!({"defect_url_template": TEMPLATE}))
        .await;
    assert_eq!(r.ok()["defect_url_template"], TEMPLATE);
    assert_eq!(r.ok()["name"], "Web shop", "a field left out is left alone");

    // An empty body changes nothing.
    let r = app.patch(&path, &manager, json!({})).await;
    assert_eq!(r.ok()["defect_url_template"], TEMPLATE);
    assert_eq!(r.ok()["name"], "Web shop");

    // Both at once.
    let other = "https://jira.example.com/browse/{id}";
    let r = app
        .patch(
            &path,
            &manager,
            json!({"name": "Shop", "defect_url_template": other}),
        )
        .await;
    assert_eq!(r.ok()["name"], "Shop");
    assert_eq!(r.ok()["defect_url_template"], other);

    // null clears it; the name stays.
    let r = app
        .patch(&path, &manager, json!({"defect_url_template": null}))
        .await;
    assert!(r.ok()["defect_url_template"].is_null());
    assert_eq!(r.ok()["name"], "Shop");

    // What GET answers is what PATCH answered.
    let got = app.get(&path, &manager).await;
    assert_eq!(got.ok()["name"], "Shop");
    assert!(got.ok()["defect_url_template"].is_null());
    assert_eq!(got.ok()["id"], project);
}

#[tokio::test]
async fn a_bad_project_change_is_refused_and_changes_nothing() {
    let app = TestApp::new().await;
    let project = app
        .post(
            "/v1/projects",
            &app.admin,
            json!({"name": "Shop", "defect_url_template": TEMPLATE}),
        )
        .await
        .id();
    let path = format!("/v1/projects/{project}");
    let before = app.get(&path, &app.admin).await.ok().clone();

    for (template, why) in bad_templates() {
        let r = app
            .patch(&path, &app.admin, json!({"defect_url_template": template}))
            .await;
        assert_eq!(
            r.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{why}: {}",
            r.body
        );
        r.invalid(&["defect_url_template"]);
    }
    for name in [json!(""), json!("   "), json!("n".repeat(1001))] {
        app.patch(&path, &app.admin, json!({"name": name}))
            .await
            .invalid(&["name"]);
    }
    // A good name with a bad template: nothing is written.
    app.patch(
        &path,
        &app.admin,
        json!({"name": "Renamed", "defect_url_template": "https://x.example.com/"}),
    )
    .await
    .invalid(&["defect_url_template"]);
    app.patch(
        &path,
        &app.admin,
        json!({"name": "", "defect_url_template": "nope"}),
    )
    .await
    .invalid(&["name", "defect_url_template"]);
    for body in [
        json!({"name": 7}),
        json!({"defect_url_template": 7}),
        json!({"owner": "me"}),
        json!([]),
        json!("Shop"),
    ] {
        let r = app.patch(&path, &app.admin, body.clone()).await;
        assert_eq!(
            r.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{body}: {}",
            r.body
        );
    }
    // Not JSON at all.
    let r = app
        .raw("PATCH", &path, &app.admin, Some("application/json"), "{")
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.body);

    assert_eq!(app.get(&path, &app.admin).await.ok(), &before);
}

#[tokio::test]
async fn only_managers_and_admins_change_a_project() {
    let app = TestApp::new().await;
    let project = app.project("Shop").await;
    let viewer = app.member(&project, "vic", "viewer").await;
    let tester = app.member(&project, "tess", "tester").await;
    let manager = app.member(&project, "mia", "manager").await;
    let (_, stranger) = app.user("stranger").await;
    let other = app.project("Other").await;
    let other_manager = app.member(&other, "olga", "manager").await;
    let path = format!("/v1/projects/{project}");
    let body = json!({"name": "Renamed"});

    app.patch(&path, &viewer, body.clone()).await.forbidden();
    app.patch(&path, &tester, body.clone()).await.forbidden();
    app.patch(&path, &stranger, body.clone()).await.not_found();
    app.patch(&path, &other_manager, body.clone())
        .await
        .not_found();
    let anonymous = app.call("PATCH", &path, None, Some(body.clone())).await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
    assert_eq!(app.get(&path, &app.admin).await.ok()["name"], "Shop");

    assert_eq!(
        app.patch(&path, &manager, body.clone()).await.ok()["name"],
        "Renamed"
    );
    assert_eq!(
        app.patch(&path, &app.admin, json!({"name": "By admin"}))
            .await
            .ok()["name"],
        "By admin"
    );
    // Unknown and malformed projects: 404, even for an admin.
    app.patch("/v1/projects/prj_999999", &app.admin, body.clone())
        .await
        .not_found();
    app.patch("/v1/projects/nope", &app.admin, body.clone())
        .await
        .not_found();
    // A bad body from someone who may not change the project: the role
    // decides first (403, not 422).
    app.patch(&path, &viewer, json!({"defect_url_template": "nope"}))
        .await
        .forbidden();
}

// --- users: PATCH and revoking tokens ----------------------------------------

#[tokio::test]
async fn an_admin_renames_a_user_and_grants_and_takes_back_admin_rights() {
    let app = TestApp::new().await;
    let (uid, token) = app.user("uma").await;
    let path = format!("/v1/users/{uid}");

    let r = app
        .patch(&path, &app.admin, json!({"name": " Uma Q. "}))
        .await;
    assert_eq!(r.ok()["name"], "Uma Q.");
    assert_eq!(r.ok()["admin"], false);
    assert_eq!(r.ok()["email"], "uma@example.com");

    // Not an admin yet: the user list is not theirs.
    app.get("/v1/users", &token).await.forbidden();
    let r = app.patch(&path, &app.admin, json!({"admin": true})).await;
    assert_eq!(r.ok()["admin"], true);
    assert_eq!(r.ok()["name"], "Uma Q.", "a field left out is left alone");
    assert_eq!(app.get("/v1/users", &token).await.status, StatusCode::OK);
    assert_eq!(app.get("/v1/me", &token).await.ok()["admin"], true);

    // The new admin may take the old one's rights (not their own).
    let first = app.admin_id().await;
    let r = app
        .patch(
            &format!("/v1/users/{first}"),
            &token,
            json!({"admin": false}),
        )
        .await;
    assert_eq!(r.ok()["admin"], false);
    app.get("/v1/users", &app.admin).await.forbidden();
    let r = app
        .patch(
            &format!("/v1/users/{first}"),
            &token,
            json!({"admin": true}),
        )
        .await;
    assert_eq!(r.ok()["admin"], true);

    let r = app
        .patch(&path, &app.admin, json!({"admin": false, "name": "Uma"}))
        .await;
    assert_eq!(r.ok()["admin"], false);
    assert_eq!(r.ok()["name"], "Uma");
    app.get("/v1/users", &token).await.forbidden();

    // {} changes nothing.
    let r = app.patch(&path, &app.admin, json!({})).await;
    assert_eq!(r.ok()["name"], "Uma");
    assert_eq!(app.get(&path, &app.admin).await.ok(), r.ok());
}

#[tokio::test]
async fn an_admin_cannot_take_their_own_admin_rights() {
    let app = TestApp::new().await;
    let me = app.admin_id().await;
    let path = format!("/v1/users/{me}");
    let r = app.patch(&path, &app.admin, json!({"admin": false})).await;
    r.assert_error(StatusCode::CONFLICT, "own_admin");
    assert!(
        r.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("another admin"),
        "{}",
        r.body
    );
    // Nothing changed, not even a name sent along.
    app.patch(&path, &app.admin, json!({"admin": false, "name": "Gone"}))
        .await
        .assert_error(StatusCode::CONFLICT, "own_admin");
    let got = app.get("/v1/me", &app.admin).await;
    assert_eq!(got.ok()["admin"], true);
    assert_ne!(got.ok()["name"], "Gone");

    // Keeping it, or renaming oneself, is fine.
    let r = app
        .patch(&path, &app.admin, json!({"admin": true, "name": "Root"}))
        .await;
    assert_eq!(r.ok()["admin"], true);
    assert_eq!(r.ok()["name"], "Root");
}

#[tokio::test]
async fn a_bad_user_change_is_refused_and_changes_nothing() {
    let app = TestApp::new().await;
    let (uid, token) = app.user("uma").await;
    let path = format!("/v1/users/{uid}");
    let before = app.get(&path, &app.admin).await.ok().clone();

    for name in [json!(""), json!("  "), json!("n".repeat(1001))] {
        app.patch(&path, &app.admin, json!({"name": name, "admin": true}))
            .await
            .invalid(&["name"]);
    }
    for body in [
        json!({"admin": "yes"}),
        json!({"admin": 1}),
        json!({"name": 5}),
        json!({"email": "new@example.com"}),
        json!({"password": "a long enough password"}),
        json!([]),
    ] {
        let r = app.patch(&path, &app.admin, body.clone()).await;
        assert_eq!(
            r.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{body}: {}",
            r.body
        );
    }
    assert_eq!(app.get(&path, &app.admin).await.ok(), &before);

    // Unknown or malformed users: 404.
    app.patch("/v1/users/user_999999", &app.admin, json!({"name": "x"}))
        .await
        .not_found();
    app.patch("/v1/users/nope", &app.admin, json!({"name": "x"}))
        .await
        .not_found();

    // Non-admins: 403, on others and on themselves alike.
    app.patch(&path, &token, json!({"name": "Me"}))
        .await
        .forbidden();
    app.patch(&path, &token, json!({"admin": true}))
        .await
        .forbidden();
    let admin = app.admin_id().await;
    app.patch(
        &format!("/v1/users/{admin}"),
        &token,
        json!({"admin": false}),
    )
    .await
    .forbidden();
    let anonymous = app
        .call("PATCH", &path, None, Some(json!({"name": "x"})))
        .await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
    assert_eq!(app.get(&path, &app.admin).await.ok(), &before);
}

#[tokio::test]
async fn revoking_a_users_tokens_signs_them_out_everywhere() {
    let app = TestApp::new().await;
    let project = app.project("Shop").await;
    let (uid, session) = app.web_member(&project, "tess", "tester").await;
    assert_eq!(
        app.page("/projects", Some(&session)).await.status,
        StatusCode::OK
    );
    let api_token = app
        .post(
            "/v1/tokens",
            &app.admin,
            json!({"name": "ci", "user_id": uid}),
        )
        .await
        .data()["token"]
        .as_str()
        .unwrap()
        .to_string();
    let (bystander, bystander_token) = app.user("bob").await;
    assert_eq!(app.get("/v1/me", &api_token).await.status, StatusCode::OK);

    let path = format!("/v1/users/{uid}/tokens");
    let r = app.delete(&path, &app.admin).await;
    // The token web_member minted, the one above and the browser session.
    assert_eq!(r.ok()["revoked"], 3, "{}", r.body);
    assert_eq!(
        app.get("/v1/me", &api_token).await.status,
        StatusCode::UNAUTHORIZED
    );
    let page = app.page("/projects", Some(&session)).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", html(&page));

    // The account stays, and others keep theirs.
    assert_eq!(
        app.get(&format!("/v1/users/{uid}"), &app.admin)
            .await
            .status,
        StatusCode::OK
    );
    assert_eq!(
        app.get("/v1/me", &bystander_token).await.ok()["id"],
        bystander
    );
    assert_eq!(app.get("/v1/me", &app.admin).await.status, StatusCode::OK);

    // Again: nothing left.
    assert_eq!(app.delete(&path, &app.admin).await.ok()["revoked"], 0);
    // A new token works again.
    let fresh = app
        .post(
            "/v1/tokens",
            &app.admin,
            json!({"name": "new", "user_id": uid}),
        )
        .await
        .data()["token"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(app.get("/v1/me", &fresh).await.status, StatusCode::OK);
}

#[tokio::test]
async fn only_admins_revoke_a_users_tokens() {
    let app = TestApp::new().await;
    let (uid, token) = app.user("uma").await;
    let (_, other) = app.user("olga").await;
    let path = format!("/v1/users/{uid}/tokens");

    app.delete(&path, &other).await.forbidden();
    // Not even one's own, through this route (DELETE /v1/tokens/{tid} is theirs).
    app.delete(&path, &token).await.forbidden();
    let anonymous = app.call("DELETE", &path, None, None).await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
    assert_eq!(app.get("/v1/me", &token).await.status, StatusCode::OK);

    app.delete("/v1/users/user_999999/tokens", &app.admin)
        .await
        .not_found();
    app.delete("/v1/users/nope/tokens", &app.admin)
        .await
        .not_found();
    // A query it does not take.
    let r = app.delete(&format!("{path}?all=true"), &app.admin).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert_eq!(app.get("/v1/me", &token).await.status, StatusCode::OK);
}

// --- sections -----------------------------------------------------------------

/// A project with cases in nested sections: (project, ids by title).
async fn sectioned(app: &TestApp) -> (String, Vec<(String, String)>) {
    let project = app.project("Shop").await;
    let cases = vec![
        json!({"title": "Pay by card", "suite": "Checkout / Payments", "priority": "high"}),
        json!({"title": "Pay by invoice", "suite": "Checkout / Payments", "priority": "low"}),
        json!({"title": "Cart total", "suite": "Checkout", "priority": "high"}),
        json!({"title": "Coupon", "suite": "Checkout2", "priority": "high"}),
        json!({"title": "Sign in", "suite": "Login", "priority": "critical"}),
        json!({"title": "Loose end"}),
    ];
    let mut ids = Vec::new();
    for c in cases {
        let r = app
            .post(
                &format!("/v1/projects/{project}/cases"),
                &app.admin,
                c.clone(),
            )
            .await;
        ids.push((c["title"].as_str().unwrap().to_string(), r.id()));
    }
    (project, ids)
}

fn titles(page: &Value) -> Vec<String> {
    let mut t: Vec<String> = page["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["title"].as_str().unwrap().to_string())
        .collect();
    t.sort();
    t
}

#[tokio::test]
async fn sections_list_each_suite_with_its_case_count() {
    let app = TestApp::new().await;
    let (project, ids) = sectioned(&app).await;
    let viewer = app.member(&project, "vic", "viewer").await;
    let path = format!("/v1/projects/{project}/sections");

    let r = app.get(&path, &viewer).await;
    assert_eq!(
        r.ok(),
        &json!([
            {"suite": null, "cases": 1},
            {"suite": "Checkout", "cases": 1},
            {"suite": "Checkout / Payments", "cases": 2},
            {"suite": "Checkout2", "cases": 1},
            {"suite": "Login", "cases": 1},
        ])
    );
    assert!(r.body.get("meta").is_none(), "a whole list, not a page");

    // A deleted case no longer counts; a section left empty goes.
    let (_, login) = ids.iter().find(|(t, _)| t == "Sign in").unwrap();
    assert_eq!(
        app.delete(&format!("/v1/cases/{login}"), &app.admin)
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    let suites: Vec<Value> = app
        .get(&path, &viewer)
        .await
        .ok()
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["suite"].clone())
        .collect();
    assert_eq!(
        suites,
        vec![
            Value::Null,
            json!("Checkout"),
            json!("Checkout / Payments"),
            json!("Checkout2")
        ]
    );

    // A project without cases has no section.
    let empty = app.project("Empty").await;
    assert_eq!(
        app.get(&format!("/v1/projects/{empty}/sections"), &app.admin)
            .await
            .ok(),
        &json!([])
    );
}

#[tokio::test]
async fn sections_are_for_members_only() {
    let app = TestApp::new().await;
    let (project, _) = sectioned(&app).await;
    let path = format!("/v1/projects/{project}/sections");
    for role in ["viewer", "tester", "manager"] {
        let token = app.member(&project, role, role).await;
        assert_eq!(
            app.get(&path, &token).await.status,
            StatusCode::OK,
            "{role}"
        );
    }
    assert_eq!(app.get(&path, &app.admin).await.status, StatusCode::OK);
    let (_, stranger) = app.user("stranger").await;
    app.get(&path, &stranger).await.not_found();
    assert_eq!(
        app.call("GET", &path, None, None).await.status,
        StatusCode::UNAUTHORIZED
    );
    app.get("/v1/projects/prj_999999/sections", &app.admin)
        .await
        .not_found();
    app.get("/v1/projects/nope/sections", &app.admin)
        .await
        .not_found();
    let r = app.get(&format!("{path}?page=2"), &app.admin).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
}

// --- the case list's filters --------------------------------------------------

#[tokio::test]
async fn cases_filter_by_section_and_priority() {
    let app = TestApp::new().await;
    let (project, _) = sectioned(&app).await;
    let viewer = app.member(&project, "vic", "viewer").await;
    let list = |query: &str| format!("/v1/projects/{project}/cases?{query}");

    let r = app.get(&list("suite=Checkout"), &viewer).await;
    assert_eq!(
        titles(&r.body),
        vec!["Cart total", "Pay by card", "Pay by invoice"],
        "the section and the one nested in it, not Checkout2"
    );
    assert_eq!(r.body["meta"]["total"], 3);
    let r = app
        .get(&list("suite=Checkout%20%2F%20Payments"), &viewer)
        .await;
    assert_eq!(titles(&r.body), vec!["Pay by card", "Pay by invoice"]);
    // Trimmed, as a case's suite is.
    let r = app.get(&list("suite=%20Login%20"), &viewer).await;
    assert_eq!(titles(&r.body), vec!["Sign in"]);
    // A prefix that is not a whole section matches nothing.
    let r = app.get(&list("suite=Check"), &viewer).await;
    assert_eq!(r.ok(), &json!([]));
    assert_eq!(r.body["meta"]["total"], 0);

    let r = app.get(&list("priority=high"), &viewer).await;
    assert_eq!(titles(&r.body), vec!["Cart total", "Coupon", "Pay by card"]);
    let r = app.get(&list("priority=medium"), &viewer).await;
    assert_eq!(r.body["meta"]["total"], 0);

    // Together, and with the other filters.
    let r = app
        .get(&list("suite=Checkout&priority=high"), &viewer)
        .await;
    assert_eq!(titles(&r.body), vec!["Cart total", "Pay by card"]);
    let r = app
        .get(&list("suite=Checkout&priority=high&q=card"), &viewer)
        .await;
    assert_eq!(titles(&r.body), vec!["Pay by card"]);
    // Paged: the total counts every match.
    let r = app
        .get(&list("suite=Checkout&per_page=1&page=2"), &viewer)
        .await;
    assert_eq!(r.ok().as_array().unwrap().len(), 1);
    assert_eq!(r.body["meta"]["total"], 3);
}

#[tokio::test]
async fn bad_case_filters_are_refused() {
    let app = TestApp::new().await;
    let (project, _) = sectioned(&app).await;
    let list = |query: &str| format!("/v1/projects/{project}/cases?{query}");
    for bad in [
        "priority=urgent",
        "priority=HIGH",
        "priority=",
        "priority=high&priority=low",
    ] {
        let r = app.get(&list(bad), &app.admin).await;
        assert_eq!(
            r.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{bad}: {}",
            r.body
        );
        assert_eq!(r.fields(), vec!["priority"], "{bad}: {}", r.body);
    }
    let long = "s".repeat(1001);
    for bad in ["suite=", "suite=%20%20", &format!("suite={long}")] {
        let r = app.get(&list(bad), &app.admin).await;
        assert_eq!(
            r.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{bad}: {}",
            r.body
        );
        assert_eq!(r.fields(), vec!["suite"], "{bad}: {}", r.body);
    }
    // Non-members still get 404 first.
    let (_, stranger) = app.user("stranger").await;
    app.get(&list("suite=Checkout"), &stranger)
        .await
        .not_found();
}

// --- runs over a section ---------------------------------------------------------

async fn run_case_titles(app: &TestApp, run: &str) -> Vec<String> {
    let mut t: Vec<String> = app
        .all_results(run)
        .await
        .iter()
        .map(|r| r["test_case_title"].as_str().unwrap().to_string())
        .collect();
    t.sort();
    t
}

async fn run_count(app: &TestApp, project: &str) -> i64 {
    app.get(&format!("/v1/projects/{project}/runs"), &app.admin)
        .await
        .body["meta"]["total"]
        .as_i64()
        .unwrap()
}

#[tokio::test]
async fn a_run_over_a_section_takes_its_cases_and_the_nested_ones() {
    let app = TestApp::new().await;
    let (project, _) = sectioned(&app).await;
    let tester = app.member(&project, "tess", "tester").await;
    let runs = format!("/v1/projects/{project}/runs");

    let r = app
        .post(
            &runs,
            &tester,
            json!({"name": "Checkout pass", "suite": "Checkout"}),
        )
        .await;
    let run = r.created().clone();
    assert_eq!(run["counts"]["total"], 3);
    assert_eq!(run["counts"]["not_tested"], 3);
    let rid = run["id"].as_str().unwrap();
    assert_eq!(
        run_case_titles(&app, rid).await,
        vec!["Cart total", "Pay by card", "Pay by invoice"]
    );

    // A nested section alone, trimmed, with the run's other fields.
    let r = app
        .post(
            &runs,
            &tester,
            json!({"name": "Payments", "suite": " Checkout / Payments ", "branch": "main",
                   "description": "Release 2"}),
        )
        .await;
    let rid = r.created()["id"].as_str().unwrap().to_string();
    assert_eq!(r.created()["branch"], "main");
    assert_eq!(
        run_case_titles(&app, &rid).await,
        vec!["Pay by card", "Pay by invoice"]
    );

    // With a key: the second call finds the first run.
    let body = json!({"name": "Login", "suite": "Login", "key": "login-1"});
    let first = app.post(&runs, &tester, body.clone()).await;
    let again = app.post(&runs, &tester, body).await;
    assert_eq!(again.status, StatusCode::OK);
    assert_eq!(again.id(), first.id());
    assert_eq!(first.created()["counts"]["total"], 1);

    // A manager and an admin may too.
    let manager = app.member(&project, "mia", "manager").await;
    app.post(&runs, &manager, json!({"name": "m", "suite": "Checkout2"}))
        .await
        .created();
    app.post(
        &runs,
        &app.admin,
        json!({"name": "a", "suite": "Checkout2"}),
    )
    .await
    .created();
}

#[tokio::test]
async fn a_bad_run_over_a_section_is_refused_and_creates_nothing() {
    let app = TestApp::new().await;
    let (project, ids) = sectioned(&app).await;
    let runs = format!("/v1/projects/{project}/runs");
    let before = run_count(&app, &project).await;

    let one = &ids[0].1;
    for (body, fields) in [
        (
            json!({"name": "r", "suite": "Checkout", "case_ids": [one]}),
            vec!["suite"],
        ),
        (
            json!({"name": "r", "suite": "Checkout", "case_ids": []}),
            vec!["suite"],
        ),
        (json!({"name": "r", "suite": "Nowhere"}), vec!["suite"]),
        (json!({"name": "r", "suite": "Check"}), vec!["suite"]),
        (json!({"name": "r", "suite": ""}), vec!["suite"]),
        (json!({"name": "r", "suite": "   "}), vec!["suite"]),
        (
            json!({"name": "r", "suite": "s".repeat(1001)}),
            vec!["suite"],
        ),
        (json!({"name": "", "suite": "Checkout"}), vec!["name"]),
    ] {
        let r = app.post(&runs, &app.admin, body.clone()).await;
        assert_eq!(
            r.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{body}: {}",
            r.body
        );
        assert_eq!(r.fields(), fields, "{body}: {}", r.body);
    }
    for wrong in [json!(3), json!(["Checkout"]), json!({"name": "Checkout"})] {
        let r = app
            .post(&runs, &app.admin, json!({"name": "r", "suite": wrong}))
            .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    }
    // A section whose cases were all deleted is empty.
    let (_, login) = ids.iter().find(|(t, _)| t == "Sign in").unwrap();
    app.delete(&format!("/v1/cases/{login}"), &app.admin).await;
    app.post(&runs, &app.admin, json!({"name": "r", "suite": "Login"}))
        .await
        .invalid(&["suite"]);
    // Roles: a viewer may not; a stranger does not see the project.
    let viewer = app.member(&project, "vic", "viewer").await;
    app.post(&runs, &viewer, json!({"name": "r", "suite": "Checkout"}))
        .await
        .forbidden();
    let (_, stranger) = app.user("stranger").await;
    app.post(&runs, &stranger, json!({"name": "r", "suite": "Checkout"}))
        .await
        .not_found();
    // The section belongs to this project: another project's is empty.
    let other = app.project("Other").await;
    app.post(
        &format!("/v1/projects/{other}/runs"),
        &app.admin,
        json!({"name": "r", "suite": "Checkout"}),
    )
    .await
    .invalid(&["suite"]);

    assert_eq!(run_count(&app, &project).await, before);
}
