//! Projects and their members: POST/GET /v1/projects, GET /v1/projects/:pid,
//! GET /v1/projects/:pid/members, PUT/DELETE /v1/projects/:pid/members/:uid.

use crate::common;

use axum::http::StatusCode;
use common::{TestApp, is_utc_instant, keys};
use serde_json::{Value, json};

fn members_path(pid: &str) -> String {
    format!("/v1/projects/{pid}/members")
}

/// The members of a project as the admin sees them, in listing order.
async fn members(app: &TestApp, pid: &str) -> Vec<Value> {
    let r = app.get(&members_path(pid), &app.admin).await;
    r.data().as_array().expect("members").clone()
}

#[tokio::test]
async fn any_user_creates_a_project_and_becomes_its_manager() {
    let app = TestApp::new().await;
    let (uid, token) = app.user("carol").await;
    let r = app
        .post("/v1/projects", &token, json!({"name": "  Web shop  "}))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let project = r.data();
    assert_eq!(
        keys(project),
        ["created_at", "defect_url_template", "id", "name"]
    );
    assert!(project["defect_url_template"].is_null());
    assert_eq!(project["name"], "Web shop", "the name is trimmed");
    assert!(project["id"].as_str().unwrap().starts_with("prj_"));
    assert!(is_utc_instant(project["created_at"].as_str().unwrap()));
    let pid = r.id();

    let got = app.get(&format!("/v1/projects/{pid}"), &token).await;
    assert_eq!(got.status, StatusCode::OK);
    assert_eq!(got.body["data"], *project);

    assert_eq!(
        members(&app, &pid).await,
        [json!({"user_id": uid, "name": "carol", "email": "carol@example.com", "role": "manager"})]
    );
}

#[tokio::test]
async fn a_project_name_is_required_and_at_most_1000_characters() {
    let app = TestApp::new().await;
    let cases = [
        (json!({}), "body"),
        (json!({"name": ""}), "name"),
        (json!({"name": "  \t "}), "name"),
        (json!({"name": 5}), "name"),
        (json!({"name": null}), "name"),
        (json!({"name": "x".repeat(1001)}), "name"),
        (json!({"name": "x", "owner": "me"}), "owner"),
    ];
    for (body, field) in cases {
        let r = app.post("/v1/projects", &app.admin, body.clone()).await;
        r.invalid(&[field]);
    }
    assert_eq!(app.total("/v1/projects").await, 0, "nothing written");
    let r = app
        .post(
            "/v1/projects",
            &app.admin,
            json!({"name": "x".repeat(1000)}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "1000 characters are fine");
}

#[tokio::test]
async fn the_list_holds_the_callers_projects_and_every_project_for_admins() {
    let app = TestApp::new().await;
    let (_, alice) = app.user("alice").await;
    let (bob_id, bob) = app.user("bob").await;
    let a1 = app
        .post("/v1/projects", &alice, json!({"name": "A1"}))
        .await
        .id();
    let a2 = app
        .post("/v1/projects", &alice, json!({"name": "A2"}))
        .await
        .id();
    let shared = app.project("Shared").await;
    let r = app
        .put(
            &format!("{}/{bob_id}", members_path(&shared)),
            &app.admin,
            json!({"role": "viewer"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);

    let ids = |r: &common::Resp| -> Vec<String> {
        r.data()
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["id"].as_str().unwrap().to_string())
            .collect()
    };
    let r = app.get("/v1/projects", &alice).await;
    assert_eq!(ids(&r), [a1.clone(), a2.clone()]);
    assert_eq!(
        r.body["meta"],
        json!({"total": 2, "page": 1, "per_page": 20})
    );
    let r = app.get("/v1/projects", &bob).await;
    assert_eq!(ids(&r), std::slice::from_ref(&shared));
    let r = app.get("/v1/projects", &app.admin).await;
    assert_eq!(ids(&r), [a1, a2.clone(), shared]);

    // Paged: the second of three, and a page past the end.
    let r = app.get("/v1/projects?page=2&per_page=1", &app.admin).await;
    assert_eq!(ids(&r), [a2]);
    assert_eq!(
        r.body["meta"],
        json!({"total": 3, "page": 2, "per_page": 1})
    );
    let r = app.get("/v1/projects?page=9&per_page=2", &app.admin).await;
    assert_eq!(
        r.body,
        json!({"data": [], "meta": {"total": 3, "page": 9, "per_page": 2}})
    );

    for (query, field) in [
        ("page=0", "page"),
        ("page=x", "page"),
        ("per_page=0", "per_page"),
        ("per_page=1001", "per_page"),
        ("per_page=-1", "per_page"),
        ("sort=name", "sort"),
    ] {
        let r = app.get(&format!("/v1/projects?{query}"), &alice).await;
        r.invalid(&[field]);
    }
}

#[tokio::test]
async fn a_project_is_not_found_for_strangers_and_unknown_or_malformed_ids() {
    let app = TestApp::new().await;
    let pid = app.project("Secret").await;
    let (_, stranger) = app.user("stranger").await;
    for path in [
        format!("/v1/projects/{pid}"),
        members_path(&pid),
        format!("/v1/projects/{pid}/cases"),
        format!("/v1/projects/{pid}/runs"),
    ] {
        app.get(&path, &stranger).await.not_found();
    }
    for id in ["prj_999", "prj_", "prj_x", "tc_001", "nonsense", "prj_-1"] {
        for path in [format!("/v1/projects/{id}"), members_path(id)] {
            app.get(&path, &app.admin).await.not_found();
        }
    }
}

#[tokio::test]
async fn any_member_lists_the_members_with_their_roles() {
    let app = TestApp::new().await;
    let pid = app.project("P").await;
    let (viewer_id, viewer) = app.member_with_id(&pid, "vera", "viewer").await;
    let (tester_id, _) = app.member_with_id(&pid, "tess", "tester").await;
    let admin_id = app.admin_id().await;
    let r = app.get(&members_path(&pid), &viewer).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(
        r.body,
        json!({"data": [
            {"user_id": admin_id, "name": "admin", "email": "admin@localhost", "role": "manager"},
            {"user_id": viewer_id, "name": "vera", "email": "vera@example.com", "role": "viewer"},
            {"user_id": tester_id, "name": "tess", "email": "tess@example.com", "role": "tester"},
        ], "meta": {"total": 3, "page": 1, "per_page": 20}})
    );
    let r = app
        .get(
            &format!("{}?page=2&per_page=2", members_path(&pid)),
            &viewer,
        )
        .await;
    assert_eq!(r.data().as_array().unwrap().len(), 1);
    assert_eq!(r.data()[0]["user_id"], tester_id.as_str());
    assert_eq!(
        r.body["meta"],
        json!({"total": 3, "page": 2, "per_page": 2})
    );
    let r = app
        .get(&format!("{}?per_page=0", members_path(&pid)), &viewer)
        .await;
    r.invalid(&["per_page"]);
}

#[tokio::test]
async fn a_manager_adds_a_member_and_changes_their_role() {
    let app = TestApp::new().await;
    let (_, manager) = app.user("mona").await;
    let pid = app
        .post("/v1/projects", &manager, json!({"name": "P"}))
        .await
        .id();
    let (uid, token) = app.user("vic").await;
    app.get(&format!("/v1/projects/{pid}"), &token)
        .await
        .not_found();
    let path = format!("{}/{uid}", members_path(&pid));
    let r = app.put(&path, &manager, json!({"role": "viewer"})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(
        r.body,
        json!({"data": {"user_id": uid, "name": "vic", "email": "vic@example.com", "role": "viewer"}})
    );
    assert_eq!(
        app.get(&format!("/v1/projects/{pid}"), &token).await.status,
        StatusCode::OK,
        "a member sees the project"
    );
    for role in ["tester", "manager", "viewer"] {
        let r = app.put(&path, &manager, json!({"role": role})).await;
        assert_eq!(r.data()["role"], role);
        let listed = members(&app, &pid).await;
        assert_eq!(listed.len(), 2, "changing a role adds nobody");
        assert_eq!(listed[1]["role"], role);
    }
}

#[tokio::test]
async fn setting_a_member_refuses_bad_roles_unknown_users_and_lacking_roles() {
    let app = TestApp::new().await;
    let pid = app.project("P").await;
    let (uid, _) = app.member_with_id(&pid, "vic", "viewer").await;
    let tester = app.member(&pid, "tess", "tester").await;
    let viewer = app.member(&pid, "vera", "viewer").await;
    let (_, stranger) = app.user("stranger").await;
    let path = format!("{}/{uid}", members_path(&pid));
    let before = members(&app, &pid).await;

    for (body, field) in [
        (json!({"role": "owner"}), "role"),
        (json!({"role": "Manager"}), "role"),
        (json!({"role": ""}), "role"),
        (json!({"role": 2}), "role"),
        (json!({}), "body"),
        (json!({"role": "tester", "admin": true}), "admin"),
    ] {
        let r = app.put(&path, &app.admin, body.clone()).await;
        r.invalid(&[field]);
    }
    for who in [&tester, &viewer] {
        app.put(&path, who, json!({"role": "manager"}))
            .await
            .forbidden();
    }
    app.put(&path, &stranger, json!({"role": "manager"}))
        .await
        .not_found();
    for (project, user) in [
        (pid.as_str(), "user_999"),
        (pid.as_str(), "usr_1"),
        (pid.as_str(), "nonsense"),
        ("prj_999", uid.as_str()),
        ("prj_x", uid.as_str()),
    ] {
        let r = app
            .put(
                &format!("{}/{user}", members_path(project)),
                &app.admin,
                json!({"role": "tester"}),
            )
            .await;
        r.not_found();
    }
    assert_eq!(members(&app, &pid).await, before, "nothing changed");
}

#[tokio::test]
async fn a_manager_removes_a_member_who_then_sees_nothing() {
    let app = TestApp::new().await;
    let (_, manager) = app.user("mona").await;
    let pid = app
        .post("/v1/projects", &manager, json!({"name": "P"}))
        .await
        .id();
    let (uid, token) = app.member_with_id(&pid, "vic", "tester").await;
    let path = format!("{}/{uid}", members_path(&pid));
    let r = app.delete(&path, &manager).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert_eq!(r.body, Value::Null, "a 204 has no body");
    assert_eq!(members(&app, &pid).await.len(), 1);
    app.get(&format!("/v1/projects/{pid}"), &token)
        .await
        .not_found();
    assert_eq!(
        app.get("/v1/projects", &token).await.body["meta"]["total"],
        0
    );
    // Again: no longer a member.
    app.delete(&path, &manager).await.not_found();
}

#[tokio::test]
async fn removing_a_member_refuses_non_members_lacking_roles_and_bad_ids() {
    let app = TestApp::new().await;
    let pid = app.project("P").await;
    let (uid, _) = app.member_with_id(&pid, "vic", "viewer").await;
    let tester = app.member(&pid, "tess", "tester").await;
    let (outsider, stranger) = app.user("stranger").await;
    let path = format!("{}/{uid}", members_path(&pid));
    let before = members(&app, &pid).await;
    app.delete(&path, &tester).await.forbidden();
    app.delete(&path, &stranger).await.not_found();
    for p in [
        format!("{}/{outsider}", members_path(&pid)),
        format!("{}/user_999", members_path(&pid)),
        format!("{}/vic", members_path(&pid)),
        format!("{}/{uid}", members_path("prj_999")),
    ] {
        app.delete(&p, &app.admin).await.not_found();
    }
    assert_eq!(members(&app, &pid).await, before, "nothing changed");
}
