//! The setup pages: a team sets up projects, members, cases, runs and
//! users in the browser. Each page opens for the roles the API allows and
//! refuses the others (403 page; "Not found" outside the project); each
//! form's success is checked through the API (or the store, for what the
//! API does not show), its bad inputs re-render the form (422, the message,
//! the values entered) and write nothing; every post answers a redirect
//! and needs the session's CSRF field.

use crate::common;

use axum::http::StatusCode;
use common::{Resp, TestApp, csrf, html};
use serde_json::{Value, json};

const PASSWORD: &str = "correct horse battery";

/// Asserts a 303 to a URL starting with `to`; the URL.
pub(crate) fn see_other(r: &Resp, to: &str) -> String {
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", html(r));
    let location = r.headers["location"].to_str().expect("ascii").to_string();
    assert!(
        location.starts_with(to),
        "{location} should start with {to}"
    );
    location
}

/// A form post from a page of session `s`: its CSRF field first.
pub(crate) async fn post(app: &TestApp, path: &str, s: &str, fields: &[(&str, &str)]) -> Resp {
    let token = csrf(s);
    let mut all = vec![("csrf", token.as_str())];
    all.extend_from_slice(fields);
    app.form(path, Some(s), &all, &[]).await
}

/// A signed-in admin (with a password, unlike the bootstrap token):
/// (user id, session).
async fn web_admin(app: &TestApp, name: &str) -> (String, String) {
    let r = app
        .post(
            "/v1/users",
            &app.admin,
            json!({"name": name, "email": format!("{name}@example.com"), "password": PASSWORD, "admin": true}),
        )
        .await;
    let uid = r.id();
    let (resp, s) = app.sign_in(&format!("{name}@example.com"), PASSWORD).await;
    (uid, s.unwrap_or_else(|| panic!("signed in: {resp:?}")))
}

/// A signed-in user who is in no project: (user id, session).
async fn web_user(app: &TestApp, name: &str) -> (String, String) {
    let (uid, _) = app.user_with_password(name, PASSWORD).await;
    let (resp, s) = app.sign_in(&format!("{name}@example.com"), PASSWORD).await;
    (uid, s.unwrap_or_else(|| panic!("signed in: {resp:?}")))
}

/// The project's cases in nested sections: Checkout (2), Checkout /
/// Payments (1), Account (1), and one in no section. Their ids, in order.
async fn sectioned(app: &TestApp, project: &str) -> Vec<String> {
    app.bulk_cases(
        project,
        vec![
            json!({"title": "Pay with a card", "key": "C-1", "suite": "Checkout", "priority": "high"}),
            json!({"title": "Apply a coupon", "key": "C-2", "suite": "Checkout"}),
            json!({"title": "Refund a payment", "key": "P-1", "suite": "Checkout / Payments"}),
            json!({"title": "Reset the password", "key": "A-1", "suite": "Account"}),
            json!({"title": "Loose case", "key": "L-1"}),
        ],
    )
    .await
}

async fn members(app: &TestApp, project: &str) -> Vec<Value> {
    app.get(&format!("/v1/projects/{project}/members"), &app.admin)
        .await
        .body["data"]
        .as_array()
        .expect("members")
        .clone()
}

async fn case_total(app: &TestApp, project: &str) -> i64 {
    app.total(&format!("/v1/projects/{project}/cases")).await
}

#[tokio::test]
async fn the_header_links_my_work_and_tokens_and_users_for_admins_only() {
    let app = TestApp::new().await;
    let (_, user) = web_user(&app, "una").await;
    let (_, admin) = web_admin(&app, "ada").await;
    let page = app.page("/projects", Some(&user)).await;
    let body = html(&page);
    for link in ["href=\"/projects\"", "href=\"/work\"", "href=\"/tokens\""] {
        assert!(body.contains(link), "{link}");
    }
    assert!(!body.contains("href=\"/users\""));
    assert!(html(&app.page("/projects", Some(&admin)).await).contains("href=\"/users\""));
}

#[tokio::test]
async fn a_fresh_admin_creates_the_first_project_in_the_browser() {
    let app = TestApp::new().await;
    let (_, s) = web_admin(&app, "ada").await;
    let page = app.page("/projects", Some(&s)).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(html(&page).contains("Create your first project"));
    assert!(!html(&page).contains("A project's manager (or an admin) can add you"));

    // Bad inputs: the form again with the message and the values; nothing made.
    let r = post(
        &app,
        "/projects",
        &s,
        &[("name", "  "), ("defect_url_template", "")],
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html(&r).contains("Name: must not be empty"), "{}", html(&r));
    let r = post(
        &app,
        "/projects",
        &s,
        &[
            ("name", "Shop"),
            ("defect_url_template", "https://jira.example.com/browse/"),
        ],
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html(&r).contains("must contain {id}"), "{}", html(&r));
    assert!(html(&r).contains("value=\"https://jira.example.com/browse/\""));
    for bad in [
        "ftp://x.example.com/{id}",
        "/browse/{id}",
        "https://x.example.com/a b/{id}",
    ] {
        let r = post(
            &app,
            "/projects",
            &s,
            &[("name", "Shop"), ("defect_url_template", bad)],
        )
        .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
    }
    assert_eq!(app.total("/v1/projects").await, 0);

    let r = post(
        &app,
        "/projects",
        &s,
        &[
            ("name", " Shop "),
            (
                "defect_url_template",
                "https://jira.example.com/browse/{id}",
            ),
        ],
    )
    .await;
    let location = see_other(&r, "/projects/");
    assert!(location.ends_with("/settings"));
    let listed = app.get("/v1/projects", &app.admin).await;
    let project = &listed.body["data"][0];
    assert_eq!(project["name"], "Shop");
    let pid = project["id"].as_str().expect("id").to_string();
    let stored = app
        .store
        .get_project(pid.parse().expect("id"))
        .await
        .expect("project");
    assert_eq!(
        stored.defect_url_template.as_deref(),
        Some("https://jira.example.com/browse/{id}")
    );
    // The page after the redirect says so, once.
    let shown = app.page(&location, Some(&s)).await;
    assert_eq!(shown.status, StatusCode::OK);
}

#[tokio::test]
async fn anyone_signed_in_may_create_a_project_and_manages_it() {
    let app = TestApp::new().await;
    let (uid, s) = web_user(&app, "una").await;
    let page = app.page("/projects", Some(&s)).await;
    assert!(
        html(&page).contains("New project") || html(&page).contains("Create your first project")
    );
    let r = post(&app, "/projects", &s, &[("name", "Side project")]).await;
    let location = see_other(&r, "/projects/");
    let pid = location
        .trim_start_matches("/projects/")
        .trim_end_matches("/settings");
    let m = members(&app, pid).await;
    assert_eq!(m.len(), 1);
    assert_eq!(m[0]["user_id"], uid.as_str());
    assert_eq!(m[0]["role"], "manager");
}

#[tokio::test]
async fn settings_are_read_by_members_and_changed_by_managers() {
    let app = TestApp::new().await;
    let project = app.project("Shop").await;
    let (_, viewer) = app.web_member(&project, "vic", "viewer").await;
    let (_, tester) = app.web_member(&project, "tess", "tester").await;
    let (_, manager) = app.web_member(&project, "max", "manager").await;
    let (_, outsider) = web_user(&app, "olga").await;
    let path = format!("/projects/{project}/settings");

    // The project page links the settings.
    assert!(
        html(
            &app.page(&format!("/projects/{project}"), Some(&viewer))
                .await
        )
        .contains(&path)
    );
    let page = app.page(&path, Some(&viewer)).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        html(&page).contains("max@example.com"),
        "members are listed"
    );
    assert!(
        !html(&page).contains("name=\"defect_url_template\""),
        "no form for a viewer"
    );
    assert_eq!(
        app.page(&path, Some(&outsider)).await.status,
        StatusCode::NOT_FOUND
    );
    let page = app.page(&path, Some(&manager)).await;
    assert!(html(&page).contains("name=\"defect_url_template\""));

    // A tester cannot change them.
    let r = post(&app, &path, &tester, &[("name", "Mine")]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = post(&app, &path, &outsider, &[("name", "Mine")]).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);

    // Bad inputs: 422, the message, nothing changed.
    let r = post(
        &app,
        &path,
        &manager,
        &[("name", "Shop 2"), ("defect_url_template", "jira/{id}")],
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        html(&r).contains("Defect link: must be an absolute http or https URL"),
        "{}",
        html(&r)
    );
    assert!(html(&r).contains("value=\"Shop 2\""));
    let r = post(
        &app,
        &path,
        &manager,
        &[("name", ""), ("defect_url_template", "")],
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        app.get(&format!("/v1/projects/{project}"), &app.admin)
            .await
            .data()["name"],
        "Shop"
    );

    let r = post(
        &app,
        &path,
        &manager,
        &[
            ("name", "Shop 2"),
            ("defect_url_template", "https://bugs.example.com/{id}"),
        ],
    )
    .await;
    see_other(&r, &path);
    assert_eq!(
        app.get(&format!("/v1/projects/{project}"), &app.admin)
            .await
            .data()["name"],
        "Shop 2"
    );
    let stored = app
        .store
        .get_project(project.parse().expect("id"))
        .await
        .expect("project");
    assert_eq!(
        stored.defect_url_template.as_deref(),
        Some("https://bugs.example.com/{id}")
    );
    // An empty template clears it.
    let r = post(
        &app,
        &path,
        &manager,
        &[("name", "Shop 2"), ("defect_url_template", " ")],
    )
    .await;
    see_other(&r, &path);
    let stored = app
        .store
        .get_project(project.parse().expect("id"))
        .await
        .expect("project");
    assert_eq!(stored.defect_url_template, None);
}

#[tokio::test]
async fn managers_add_change_and_remove_members_after_a_confirmation() {
    let app = TestApp::new().await;
    let project = app.project("Shop").await;
    let (_, manager) = app.web_member(&project, "max", "manager").await;
    let (_, tester) = app.web_member(&project, "tess", "tester").await;
    let (new_uid, _) = app.user_with_password("nina", PASSWORD).await;
    let add = format!("/projects/{project}/members");
    let count = members(&app, &project).await.len();

    // Bad inputs.
    let r = post(
        &app,
        &add,
        &manager,
        &[("email", "nobody@example.com"), ("role", "tester")],
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        html(&r).contains("Email: no user has this email"),
        "{}",
        html(&r)
    );
    assert!(html(&r).contains("value=\"nobody@example.com\""));
    let r = post(
        &app,
        &add,
        &manager,
        &[("email", "nina@example.com"), ("role", "owner")],
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html(&r).contains("Role: must be one of viewer, tester, manager"));
    let r = post(
        &app,
        &add,
        &tester,
        &[("email", "nina@example.com"), ("role", "tester")],
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(members(&app, &project).await.len(), count);

    // Added by email (case-insensitively), then a new role.
    let r = post(
        &app,
        &add,
        &manager,
        &[("email", " Nina@Example.com "), ("role", "viewer")],
    )
    .await;
    see_other(&r, &format!("/projects/{project}/settings"));
    let role_of = |m: &[Value]| {
        m.iter()
            .find(|m| m["user_id"] == new_uid.as_str())
            .map(|m| m["role"].as_str().unwrap_or("").to_string())
    };
    assert_eq!(
        role_of(&members(&app, &project).await).as_deref(),
        Some("viewer")
    );
    let member = format!("/projects/{project}/members/{new_uid}");
    let r = post(&app, &member, &manager, &[("role", "tester")]).await;
    see_other(&r, &format!("/projects/{project}/settings"));
    assert_eq!(
        role_of(&members(&app, &project).await).as_deref(),
        Some("tester")
    );
    let r = post(&app, &member, &manager, &[("role", "boss")]).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let r = post(&app, &member, &tester, &[("role", "manager")]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);

    // Removing asks first.
    let confirm = app.page(&format!("{member}/remove"), Some(&manager)).await;
    assert_eq!(confirm.status, StatusCode::OK);
    assert!(
        html(&confirm).contains("Yes, remove nina"),
        "{}",
        html(&confirm)
    );
    assert_eq!(
        app.page(&format!("{member}/remove"), Some(&tester))
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    let r = post(&app, &format!("{member}/remove"), &tester, &[]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = post(&app, &format!("{member}/remove"), &manager, &[]).await;
    see_other(&r, &format!("/projects/{project}/settings"));
    assert_eq!(role_of(&members(&app, &project).await), None);
    // Not a member any more: nothing to remove.
    let r = post(&app, &format!("{member}/remove"), &manager, &[]).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn the_cases_page_shows_the_section_tree_and_filters() {
    let app = TestApp::new().await;
    let project = app.project("Shop").await;
    sectioned(&app, &project).await;
    let (_, viewer) = app.web_member(&project, "vic", "viewer").await;
    let (_, manager) = app.web_member(&project, "max", "manager").await;
    let (_, outsider) = web_user(&app, "olga").await;
    let path = format!("/projects/{project}/cases");
    assert!(
        html(
            &app.page(&format!("/projects/{project}"), Some(&viewer))
                .await
        )
        .contains(&path)
    );

    let page = app.page(&path, Some(&viewer)).await;
    assert_eq!(page.status, StatusCode::OK);
    let body = html(&page);
    for text in [
        "Checkout",
        "Payments",
        "Account",
        "Loose case",
        "Refund a payment",
    ] {
        assert!(body.contains(text), "{text}");
    }
    assert!(
        body.contains("suite=Checkout+%2F+Payments"),
        "the nested section links itself"
    );
    assert!(!body.contains("New case"), "a viewer writes no cases");
    assert!(html(&app.page(&path, Some(&manager)).await).contains("New case"));
    assert_eq!(
        app.page(&path, Some(&outsider)).await.status,
        StatusCode::NOT_FOUND
    );

    // A section holds its nested sections' cases.
    let body = html(
        &app.page(&format!("{path}?suite=Checkout"), Some(&viewer))
            .await,
    )
    .to_string();
    assert!(body.contains("Pay with a card") && body.contains("Refund a payment"));
    assert!(!body.contains("Reset the password") && !body.contains("Loose case"));
    let body = html(&app.page(&format!("{path}?q=coupon"), Some(&viewer)).await).to_string();
    assert!(body.contains("Apply a coupon") && !body.contains("Pay with a card"));
    let body = html(
        &app.page(&format!("{path}?priority=high"), Some(&viewer))
            .await,
    )
    .to_string();
    assert!(body.contains("Pay with a card") && !body.contains("Apply a coupon"));
    // Nonsense filters are a page, not an error.
    let r = app
        .page(&format!("{path}?priority=urgent&page=zero"), Some(&viewer))
        .await;
    assert_eq!(r.status, StatusCode::OK);
}

#[tokio::test]
async fn a_manager_writes_a_case_with_steps_and_bad_inputs_keep_what_was_entered() {
    let app = TestApp::new().await;
    let project = app.project("Shop").await;
    sectioned(&app, &project).await;
    let (_, manager) = app.web_member(&project, "max", "manager").await;
    let (_, tester) = app.web_member(&project, "tess", "tester").await;
    let new = format!("/projects/{project}/cases/new");

    let form = app
        .page(&format!("{new}?suite=Checkout"), Some(&manager))
        .await;
    assert_eq!(form.status, StatusCode::OK);
    let body = html(&form);
    assert!(
        body.contains("value=\"Checkout\""),
        "the section is prefilled"
    );
    assert!(body.contains("name=\"step_action_2\"") && !body.contains("name=\"step_action_3\""));
    assert!(
        body.contains("<option value=\"Checkout / Payments\">"),
        "the sections are offered"
    );
    assert_eq!(
        app.page(&new, Some(&tester)).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        post(&app, &new, &tester, &[("title", "Mine")]).await.status,
        StatusCode::FORBIDDEN
    );
    let before = case_total(&app, &project).await;

    // "More steps" saves nothing and offers more rows, keeping the values.
    let r = post(
        &app,
        &new,
        &manager,
        &[
            ("title", "Pay by invoice"),
            ("step_action_0", "Open the cart"),
            ("more", "1"),
        ],
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(html(&r).contains("name=\"step_action_6\""));
    assert!(html(&r).contains("Open the cart") && html(&r).contains("value=\"Pay by invoice\""));
    assert_eq!(case_total(&app, &project).await, before);

    // Bad inputs: every problem named, the values kept, nothing written.
    let r = post(
        &app,
        &new,
        &manager,
        &[
            ("title", " "),
            ("key", "INV-1"),
            ("priority", "urgent"),
            ("step_action_0", "Open the cart"),
            ("step_expected_1", "an orphan expectation"),
        ],
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let body = html(&r);
    assert!(body.contains("Title: must not be empty"), "{body}");
    assert!(body.contains("Step 2: action: must not be empty"), "{body}");
    assert!(
        body.contains("Priority: must be one of low, medium, high, critical"),
        "{body}"
    );
    assert!(body.contains("value=\"INV-1\"") && body.contains("an orphan expectation"));
    assert_eq!(case_total(&app, &project).await, before);

    // A taken key is a conflict, shown on the form.
    let r = post(&app, &new, &manager, &[("title", "Again"), ("key", "C-1")]).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", html(&r));
    assert!(html(&r).contains("value=\"Again\""));
    assert_eq!(case_total(&app, &project).await, before);

    // Saved: empty rows dropped, refs split on commas and lines.
    let r = post(
        &app,
        &new,
        &manager,
        &[
            ("title", "Pay by invoice"),
            ("key", "INV-1"),
            ("suite", "Checkout / Payments"),
            ("priority", "critical"),
            ("refs", "REQ-1, REQ-2\r\nREQ-3\r\n"),
            ("preconditions", "A customer\r\nwith an account"),
            ("step_action_0", "Open the cart"),
            ("step_expected_0", "The cart shows"),
            ("step_action_1", ""),
            ("step_expected_1", ""),
            ("step_action_2", "Choose invoice"),
            ("step_expected_2", ""),
        ],
    )
    .await;
    let location = see_other(&r, "/cases/");
    let cid = location.trim_start_matches("/cases/");
    let case = app.get(&format!("/v1/cases/{cid}"), &app.admin).await;
    let c = case.data();
    assert_eq!(c["title"], "Pay by invoice");
    assert_eq!(c["key"], "INV-1");
    assert_eq!(c["suite"], "Checkout / Payments");
    assert_eq!(c["priority"], "critical");
    assert_eq!(c["refs"], json!(["REQ-1", "REQ-2", "REQ-3"]));
    assert_eq!(c["preconditions"], "A customer\nwith an account");
    assert_eq!(
        c["steps"],
        json!([{"action": "Open the cart", "expected": "The cart shows"}, {"action": "Choose invoice", "expected": null}])
    );
    let page = app.page(&location, Some(&manager)).await;
    assert!(html(&page).contains(&format!("/cases/{cid}/edit")));
    assert!(html(&page).contains(&format!("/cases/{cid}/delete")));
    let page = app.page(&location, Some(&tester)).await;
    assert!(
        !html(&page).contains(&format!("/cases/{cid}/edit")),
        "no edit link for a tester"
    );
}

#[tokio::test]
async fn a_manager_edits_and_deletes_a_case_after_a_confirmation() {
    let app = TestApp::new().await;
    let project = app.project("Shop").await;
    let ids = sectioned(&app, &project).await;
    let (_, manager) = app.web_member(&project, "max", "manager").await;
    let (_, tester) = app.web_member(&project, "tess", "tester").await;
    let cid = &ids[0];
    let edit = format!("/cases/{cid}/edit");

    let form = app.page(&edit, Some(&manager)).await;
    assert_eq!(form.status, StatusCode::OK);
    assert!(html(&form).contains("value=\"Pay with a card\""));
    assert!(html(&form).contains("<option value=\"high\" selected>"));
    assert_eq!(
        app.page(&edit, Some(&tester)).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        post(&app, &edit, &tester, &[("title", "x")]).await.status,
        StatusCode::FORBIDDEN
    );

    let r = post(&app, &edit, &manager, &[("title", ""), ("key", "C-1")]).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        app.get(&format!("/v1/cases/{cid}"), &app.admin)
            .await
            .data()["title"],
        "Pay with a card"
    );
    let r = post(
        &app,
        &edit,
        &manager,
        &[
            ("title", "Pay with a debit card"),
            ("key", ""),
            ("suite", "Checkout / Payments"),
            ("priority", ""),
            ("step_action_0", "Pay"),
        ],
    )
    .await;
    see_other(&r, &format!("/cases/{cid}"));
    let c = app.get(&format!("/v1/cases/{cid}"), &app.admin).await;
    let c = c.data();
    assert_eq!(c["title"], "Pay with a debit card");
    assert_eq!(c["key"], Value::Null);
    assert_eq!(c["priority"], Value::Null);
    assert_eq!(c["suite"], "Checkout / Payments");
    assert_eq!(c["steps"], json!([{"action": "Pay", "expected": null}]));

    // Deleting asks first.
    let delete = format!("/cases/{cid}/delete");
    let confirm = app.page(&delete, Some(&manager)).await;
    assert_eq!(confirm.status, StatusCode::OK);
    assert!(html(&confirm).contains("Yes, delete this case"));
    assert_eq!(
        app.page(&delete, Some(&tester)).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        post(&app, &delete, &tester, &[]).await.status,
        StatusCode::FORBIDDEN
    );
    let r = post(&app, &delete, &manager, &[]).await;
    see_other(&r, &format!("/projects/{project}/cases"));
    assert_eq!(
        app.get(&format!("/v1/cases/{cid}"), &app.admin)
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        post(&app, &delete, &manager, &[]).await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn a_tester_starts_a_run_of_every_case_a_section_or_a_selection() {
    let app = TestApp::new().await;
    let project = app.project("Shop").await;
    let ids = sectioned(&app, &project).await;
    let (_, viewer) = app.web_member(&project, "vic", "viewer").await;
    let (_, tester) = app.web_member(&project, "tess", "tester").await;
    let new = format!("/projects/{project}/runs/new");

    assert!(
        html(
            &app.page(&format!("/projects/{project}"), Some(&tester))
                .await
        )
        .contains(&new)
    );
    assert!(
        !html(
            &app.page(&format!("/projects/{project}"), Some(&viewer))
                .await
        )
        .contains(&new)
    );
    let form = app.page(&new, Some(&tester)).await;
    assert_eq!(form.status, StatusCode::OK);
    assert!(
        html(&form).contains("Refund a payment"),
        "the cases to pick"
    );
    assert_eq!(
        app.page(&new, Some(&viewer)).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        post(&app, &new, &viewer, &[("name", "x"), ("scope", "all")])
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    // The pick list filters like the cases page.
    let body = html(
        &app.page(&format!("{new}?suite=Account"), Some(&tester))
            .await,
    )
    .to_string();
    assert!(body.contains("Reset the password") && !body.contains("Refund a payment"));

    let runs_path = format!("/v1/projects/{project}/runs");
    let runs = || app.total(&runs_path);
    // Bad inputs.
    let r = post(
        &app,
        &new,
        &tester,
        &[("name", "R"), ("scope", "section"), ("section", "")],
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        html(&r).contains("Section: choose a section"),
        "{}",
        html(&r)
    );
    let r = post(
        &app,
        &new,
        &tester,
        &[("name", "R"), ("scope", "section"), ("section", "Nowhere")],
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let r = post(
        &app,
        &new,
        &tester,
        &[("name", "R"), ("scope", "selection")],
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html(&r).contains("Cases: tick at least one case"));
    let r = post(
        &app,
        &new,
        &tester,
        &[
            ("name", "Nightly"),
            ("scope", "all"),
            ("commit", "xyz"),
            ("build_url", "ci/1"),
        ],
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html(&r).contains("Commit: must be 4 to 64 hex digits"));
    assert!(html(&r).contains("Build URL: must be an absolute"));
    assert!(html(&r).contains("value=\"Nightly\""));
    let r = post(&app, &new, &tester, &[("name", " "), ("scope", "all")]).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(runs().await, 0);

    // Every case, with metadata.
    let r = post(
        &app,
        &new,
        &tester,
        &[
            ("name", "Release 1"),
            ("description", "Before the release"),
            ("branch", "main"),
            ("commit", "ABCDEF1"),
            ("build_url", "https://ci.example.com/1"),
            ("environment", "staging"),
            ("scope", "all"),
        ],
    )
    .await;
    let run = see_other(&r, "/runs/")
        .trim_start_matches("/runs/")
        .to_string();
    let got = app.get(&format!("/v1/runs/{run}"), &app.admin).await;
    let d = got.data();
    assert_eq!(d["name"], "Release 1");
    assert_eq!(d["description"], "Before the release");
    assert_eq!(d["branch"], "main");
    assert_eq!(d["commit"], "abcdef1");
    assert_eq!(d["environment"], "staging");
    assert_eq!(d["counts"]["total"], 5);

    // One section, nested sections included.
    let r = post(
        &app,
        &new,
        &tester,
        &[
            ("name", "Checkout"),
            ("scope", "section"),
            ("section", "Checkout"),
        ],
    )
    .await;
    let run = see_other(&r, "/runs/")
        .trim_start_matches("/runs/")
        .to_string();
    assert_eq!(app.counts(&run).await["total"], 3);

    // A selection.
    let r = post(
        &app,
        &new,
        &tester,
        &[
            ("name", "Picked"),
            ("scope", "selection"),
            ("case_id", &ids[3]),
            ("case_id", &ids[4]),
        ],
    )
    .await;
    let run = see_other(&r, "/runs/")
        .trim_start_matches("/runs/")
        .to_string();
    let mut picked: Vec<String> = app
        .all_results(&run)
        .await
        .iter()
        .map(|r| r["test_case_id"].as_str().expect("id").to_string())
        .collect();
    picked.sort();
    let mut want = vec![ids[3].clone(), ids[4].clone()];
    want.sort();
    assert_eq!(picked, want);
    let r = post(
        &app,
        &new,
        &tester,
        &[
            ("name", "Bad"),
            ("scope", "selection"),
            ("case_id", "case_zzz"),
        ],
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(runs().await, 3);
}

#[tokio::test]
async fn a_manager_edits_a_run_and_closes_it_after_a_confirmation() {
    let app = TestApp::new().await;
    let (project, _, run) = app.seeded(2).await;
    let (_, manager) = app.web_member(&project, "max", "manager").await;
    let (_, tester) = app.web_member(&project, "tess", "tester").await;
    let edit = format!("/runs/{run}/edit");

    assert!(html(&app.page(&format!("/runs/{run}"), Some(&manager)).await).contains(&edit));
    assert!(!html(&app.page(&format!("/runs/{run}"), Some(&tester)).await).contains(&edit));
    assert_eq!(
        app.page(&edit, Some(&tester)).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        post(&app, &edit, &tester, &[("name", "x")]).await.status,
        StatusCode::FORBIDDEN
    );
    let form = app.page(&edit, Some(&manager)).await;
    assert_eq!(form.status, StatusCode::OK);

    let before = app
        .get(&format!("/v1/runs/{run}"), &app.admin)
        .await
        .data()
        .clone();
    let r = post(
        &app,
        &edit,
        &manager,
        &[("name", "New name"), ("environment", "x\u{7}")],
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        html(&r).contains("Environment: must not contain control characters"),
        "{}",
        html(&r)
    );
    assert_eq!(
        app.get(&format!("/v1/runs/{run}"), &app.admin).await.data(),
        &before
    );

    let r = post(
        &app,
        &edit,
        &manager,
        &[
            ("name", "New name"),
            ("description", ""),
            ("branch", "release/2"),
            ("environment", ""),
        ],
    )
    .await;
    see_other(&r, &format!("/runs/{run}"));
    let after = app.get(&format!("/v1/runs/{run}"), &app.admin).await;
    assert_eq!(after.data()["name"], "New name");
    assert_eq!(after.data()["branch"], "release/2");
    assert_eq!(after.data()["description"], Value::Null);

    // Closing: a tester gets no confirmation page; the manager's asks.
    let close = format!("/runs/{run}/close");
    assert_eq!(
        app.page(&close, Some(&tester)).await.status,
        StatusCode::FORBIDDEN
    );
    let confirm = app.page(&close, Some(&manager)).await;
    assert!(html(&confirm).contains("Yes, close the run"));
    assert!(html(&confirm).contains("2 of 2 results are still not tested"));
    let r = post(&app, &close, &manager, &[("confirm", "yes")]).await;
    see_other(&r, &format!("/runs/{run}"));
    assert_eq!(
        app.get(&format!("/v1/runs/{run}"), &app.admin).await.data()["state"],
        "closed"
    );
}

#[tokio::test]
async fn admins_create_users_and_grant_and_remove_admin_rights() {
    let app = TestApp::new().await;
    let (admin_uid, admin) = web_admin(&app, "ada").await;
    let (_, user) = web_user(&app, "una").await;

    let page = app.page("/users", Some(&user)).await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    assert_eq!(
        post(
            &app,
            "/users",
            &user,
            &[("name", "x"), ("email", "x@example.com")]
        )
        .await
        .status,
        StatusCode::FORBIDDEN
    );
    let page = app.page("/users", Some(&admin)).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(html(&page).contains("una@example.com"));
    let users = || app.total("/v1/users");
    let before = users().await;

    // Bad inputs.
    let r = post(
        &app,
        "/users",
        &admin,
        &[
            ("name", "Pat"),
            ("email", "not-an-email"),
            ("password", "short"),
        ],
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let body = html(&r);
    assert!(body.contains("Email: must be an email address"), "{body}");
    assert!(
        body.contains("Password: must be at least 8 characters"),
        "{body}"
    );
    assert!(body.contains("value=\"Pat\"") && !body.contains("value=\"short\""));
    let r = post(
        &app,
        "/users",
        &admin,
        &[("name", "Una 2"), ("email", "una@example.com")],
    )
    .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", html(&r));
    assert_eq!(users().await, before);

    // Created with a password: they can sign in.
    let r = post(
        &app,
        "/users",
        &admin,
        &[
            ("name", "Pat"),
            ("email", "pat@example.com"),
            ("password", PASSWORD),
        ],
    )
    .await;
    see_other(&r, "/users");
    assert_eq!(users().await, before + 1);
    let (_, pat) = app.sign_in("pat@example.com", PASSWORD).await;
    let pat = pat.expect("pat signs in");
    let me = app.page("/projects", Some(&pat)).await;
    assert!(!html(&me).contains("href=\"/users\""), "not an admin");
    let listed = app.get("/v1/users?per_page=100", &app.admin).await;
    let pat_uid = listed.body["data"]
        .as_array()
        .expect("users")
        .iter()
        .find(|u| u["email"] == "pat@example.com")
        .expect("pat")["id"]
        .as_str()
        .expect("id")
        .to_string();

    // Admin rights: granted at once, removed after a confirmation.
    let path = format!("/users/{pat_uid}/admin");
    let r = post(&app, &path, &admin, &[("admin", "yes")]).await;
    see_other(&r, "/users");
    assert_eq!(
        app.get(&format!("/v1/users/{pat_uid}"), &app.admin)
            .await
            .data()["admin"],
        true
    );
    let confirm = app.page(&path, Some(&admin)).await;
    assert_eq!(confirm.status, StatusCode::OK);
    assert!(html(&confirm).contains("Yes, remove admin rights"));
    let r = post(&app, &path, &admin, &[("admin", "maybe")]).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let r = post(&app, &path, &admin, &[("admin", "no")]).await;
    see_other(&r, "/users");
    assert_eq!(
        app.get(&format!("/v1/users/{pat_uid}"), &app.admin)
            .await
            .data()["admin"],
        false
    );

    // Never one's own.
    let own = format!("/users/{admin_uid}/admin");
    assert_eq!(
        app.page(&own, Some(&admin)).await.status,
        StatusCode::CONFLICT
    );
    let r = post(&app, &own, &admin, &[("admin", "no")]).await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert!(html(&r).contains("ask another admin"));
    assert_eq!(
        app.get(&format!("/v1/users/{admin_uid}"), &app.admin)
            .await
            .data()["admin"],
        true
    );
    let r = post(&app, "/users/user_zzz/admin", &admin, &[("admin", "yes")]).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn admins_revoke_every_token_of_a_user_after_a_confirmation() {
    let app = TestApp::new().await;
    let (_, admin) = web_admin(&app, "ada").await;
    let (uid, api_token) = app.user_with_password("una", PASSWORD).await;
    let (_, una) = app.sign_in("una@example.com", PASSWORD).await;
    let una = una.expect("session");
    let path = format!("/users/{uid}/tokens");

    assert_eq!(
        app.page(&path, Some(&una)).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        post(&app, &path, &una, &[]).await.status,
        StatusCode::FORBIDDEN
    );
    let confirm = app.page(&path, Some(&admin)).await;
    assert_eq!(confirm.status, StatusCode::OK);
    assert!(html(&confirm).contains("Yes, revoke every token"));
    assert!(html(&confirm).contains("2 tokens"), "{}", html(&confirm));

    let r = post(&app, &path, &admin, &[]).await;
    see_other(&r, "/users");
    assert_eq!(
        app.get("/v1/me", &api_token).await.status,
        StatusCode::UNAUTHORIZED
    );
    let r = app.page("/projects", Some(&una)).await;
    see_other(&r, "/login");
    assert_eq!(
        app.page("/projects", Some(&admin)).await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn every_setup_form_needs_the_session_csrf_field() {
    let app = TestApp::new().await;
    let project = app.project("Shop").await;
    let ids = sectioned(&app, &project).await;
    let run = app.run(&project, "R").await;
    let (_, admin) = web_admin(&app, "ada").await;
    let (uid, _) = app.user_with_password("una", PASSWORD).await;
    app.put(
        &format!("/v1/projects/{project}/members/{uid}"),
        &app.admin,
        json!({"role": "viewer"}),
    )
    .await;
    let cid = &ids[0];
    let posts: Vec<(String, Vec<(&str, &str)>)> = vec![
        ("/projects".into(), vec![("name", "X")]),
        (format!("/projects/{project}/settings"), vec![("name", "X")]),
        (
            format!("/projects/{project}/members"),
            vec![("email", "ada@example.com"), ("role", "viewer")],
        ),
        (
            format!("/projects/{project}/members/{uid}"),
            vec![("role", "manager")],
        ),
        (format!("/projects/{project}/members/{uid}/remove"), vec![]),
        (
            format!("/projects/{project}/cases/new"),
            vec![("title", "X")],
        ),
        (format!("/cases/{cid}/edit"), vec![("title", "X")]),
        (format!("/cases/{cid}/delete"), vec![]),
        (
            format!("/projects/{project}/runs/new"),
            vec![("name", "X"), ("scope", "all")],
        ),
        (format!("/runs/{run}/edit"), vec![("name", "X")]),
        (format!("/runs/{run}/close"), vec![("confirm", "yes")]),
        (
            "/users".into(),
            vec![("name", "X"), ("email", "x@example.com")],
        ),
        (format!("/users/{uid}/admin"), vec![("admin", "yes")]),
        (format!("/users/{uid}/tokens"), vec![]),
    ];
    let before = json!({
        "projects": app.total("/v1/projects").await,
        "users": app.total("/v1/users").await,
        "cases": case_total(&app, &project).await,
        "runs": app.total(&format!("/v1/projects/{project}/runs")).await,
        "members": members(&app, &project).await,
        "run": app.get(&format!("/v1/runs/{run}"), &app.admin).await.body,
        "case": app.get(&format!("/v1/cases/{cid}"), &app.admin).await.body,
    });
    for (path, fields) in &posts {
        for token in [None, Some("0".repeat(64))] {
            let mut all = fields.clone();
            if let Some(t) = &token {
                all.push(("csrf", t));
            }
            let r = app.form(path, Some(&admin), &all, &[]).await;
            assert_eq!(r.status, StatusCode::FORBIDDEN, "{path}");
            assert!(html(&r).contains("Form expired"), "{path}");
        }
    }
    let after = json!({
        "projects": app.total("/v1/projects").await,
        "users": app.total("/v1/users").await,
        "cases": case_total(&app, &project).await,
        "runs": app.total(&format!("/v1/projects/{project}/runs")).await,
        "members": members(&app, &project).await,
        "run": app.get(&format!("/v1/runs/{run}"), &app.admin).await.body,
        "case": app.get(&format!("/v1/cases/{cid}"), &app.admin).await.body,
    });
    assert_eq!(before, after, "nothing was written");
    // Signed out, a post is sent to sign in.
    let r = app.form("/projects", None, &[("name", "X")], &[]).await;
    see_other(&r, "/login");
}

#[tokio::test]
async fn a_setup_notice_is_shown_once() {
    let app = TestApp::new().await;
    let project = app.project("Shop").await;
    let (_, manager) = app.web_member(&project, "max", "manager").await;
    let path = format!("/projects/{project}/settings");
    let r = post(
        &app,
        &path,
        &manager,
        &[("name", "Shop"), ("defect_url_template", "")],
    )
    .await;
    see_other(&r, &path);
    let cookie = r
        .headers
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("verdict_notice="))
        .expect("a notice")
        .to_string();
    for attribute in ["HttpOnly", "SameSite=Strict", "Max-Age=60"] {
        assert!(cookie.contains(attribute), "{cookie}");
    }
    let pair = cookie.split(';').next().expect("pair");
    let req = axum::http::Request::builder()
        .uri(&path)
        .header("cookie", format!("verdict_session={manager}; {pair}"))
        .body(axum::body::Body::empty())
        .expect("request");
    let shown = app.send(req).await;
    assert!(html(&shown).contains("Saved."));
    let cleared = shown
        .headers
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.starts_with("verdict_notice=;") && v.contains("Max-Age=0"));
    assert!(cleared);
    assert!(!html(&app.page(&path, Some(&manager)).await).contains("Saved."));
}
