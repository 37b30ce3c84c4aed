//! TestRail API v2: projects, the one suite, sections with stable
//! numbers, and cases, checked against TestRail's documented shapes and
//! against Verdict's own v1 API.

use axum::http::StatusCode;
use serde_json::{Value, json};

use crate::common::TestApp;
use crate::testrail::{admin_auth, assert_tr_error, basic, tr};

/// A project id (TestRail's integer) of a `prj_…` id.
pub fn num(id: &str) -> i64 {
    id.rsplit('_').next().unwrap().parse().unwrap()
}

#[track_caller]
fn ok(r: &crate::common::Resp) -> &Value {
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    &r.body
}

#[tokio::test]
async fn projects_and_the_one_suite_have_testrail_shapes() {
    let app = TestApp::new().await;
    let auth = admin_auth(&app).await;
    let pid = num(&app.project("Shop").await);
    let r = tr(&app, "GET", "get_projects", Some(&auth), None).await;
    let body = ok(&r);
    assert_eq!(body["offset"], 0);
    assert_eq!(body["limit"], 250);
    assert_eq!(body["size"], 1);
    assert_eq!(body["_links"], json!({"next": null, "prev": null}));
    let p = &body["projects"][0];
    assert_eq!(p["id"], pid);
    assert_eq!(p["name"], "Shop");
    assert_eq!(p["suite_mode"], 1);
    assert_eq!(p["is_completed"], false);
    assert!(p["completed_on"].is_null() && p["announcement"].is_null());
    assert!(p["url"].is_string());
    let one = tr(
        &app,
        "GET",
        &format!("get_project/{pid}"),
        Some(&auth),
        None,
    )
    .await;
    assert_eq!(ok(&one), p);
    let done = tr(
        &app,
        "GET",
        "get_projects&is_completed=1",
        Some(&auth),
        None,
    )
    .await;
    assert_eq!(ok(&done)["projects"], json!([]));

    let suites = tr(&app, "GET", &format!("get_suites/{pid}"), Some(&auth), None).await;
    let s = &ok(&suites)[0];
    assert_eq!(s["id"], pid);
    assert_eq!(s["name"], "Master");
    assert_eq!(s["project_id"], pid);
    assert_eq!(s["is_master"], true);
    let suite = tr(&app, "GET", &format!("get_suite/{pid}"), Some(&auth), None).await;
    assert_eq!(ok(&suite), s);

    for call in [
        "get_project/999",
        "get_project/x",
        "get_suites/0",
        "get_suite/999",
    ] {
        let r = tr(&app, "GET", call, Some(&auth), None).await;
        assert_tr_error(&r, StatusCode::BAD_REQUEST);
    }
    // A project the caller is no member of is not accessible (not 403).
    let (_, token) = app.user("outsider").await;
    let r = tr(
        &app,
        "GET",
        &format!("get_project/{pid}"),
        Some(&basic("outsider@example.com", &token)),
        None,
    )
    .await;
    assert_tr_error(&r, StatusCode::BAD_REQUEST);
    let r = tr(
        &app,
        "GET",
        "get_projects",
        Some(&basic("outsider@example.com", &token)),
        None,
    )
    .await;
    assert_eq!(ok(&r)["projects"], json!([]));
}

#[tokio::test]
async fn projects_page_by_links_to_the_end() {
    let app = TestApp::new().await;
    let auth = admin_auth(&app).await;
    for i in 0..7 {
        app.project(&format!("P{i}")).await;
    }
    let mut call = "get_projects&limit=3".to_string();
    let mut names = Vec::new();
    let mut pages = 0;
    loop {
        let r = tr(&app, "GET", &call, Some(&auth), None).await;
        let body = ok(&r).clone();
        pages += 1;
        assert_eq!(body["limit"], 3);
        assert_eq!(body["size"], body["projects"].as_array().unwrap().len());
        names.extend(
            body["projects"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| p["name"].as_str().unwrap().to_string()),
        );
        match body["_links"]["next"].as_str() {
            Some(next) => {
                call = next
                    .strip_prefix("/api/v2/")
                    .expect("link form")
                    .to_string();
            }
            None => break,
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(names, (0..7).map(|i| format!("P{i}")).collect::<Vec<_>>());
    // An offset off the page grid still answers the right window.
    let r = tr(
        &app,
        "GET",
        "get_projects&limit=2&offset=3",
        Some(&auth),
        None,
    )
    .await;
    let body = ok(&r);
    assert_eq!(body["projects"][0]["name"], "P3");
    assert_eq!(body["projects"][1]["name"], "P4");
    assert_eq!(
        body["_links"]["prev"],
        "/api/v2/get_projects&limit=2&offset=1"
    );
    for bad in ["limit=0", "limit=251", "offset=-1", "limit=x"] {
        let r = tr(
            &app,
            "GET",
            &format!("get_projects&{bad}"),
            Some(&auth),
            None,
        )
        .await;
        assert_tr_error(&r, StatusCode::BAD_REQUEST);
    }
}

#[tokio::test]
async fn sections_keep_their_numbers_and_nest() {
    let app = TestApp::new().await;
    let auth = admin_auth(&app).await;
    let project = app.project("Shop").await;
    let pid = num(&project);
    // A case made through the v1 API gets numbered sections for its path.
    app.post(
        &format!("/v1/projects/{project}/cases"),
        &app.admin,
        json!({"title": "pays", "suite": "Checkout / Payments"}),
    )
    .await;
    let r = tr(
        &app,
        "GET",
        &format!("get_sections/{pid}&suite_id={pid}"),
        Some(&auth),
        None,
    )
    .await;
    let body = ok(&r).clone();
    let sections = body["sections"].as_array().unwrap().clone();
    assert_eq!(sections.len(), 2, "{body}");
    let (top, nested) = (&sections[0], &sections[1]);
    assert_eq!(top["name"], "Checkout");
    assert_eq!(top["parent_id"], Value::Null);
    assert_eq!(top["depth"], 0);
    assert_eq!(top["suite_id"], pid);
    assert_eq!(nested["name"], "Payments");
    assert_eq!(nested["parent_id"], top["id"]);
    assert_eq!(nested["depth"], 1);
    for s in &sections {
        assert!(s["id"].is_i64() && s["display_order"].is_i64(), "{s}");
        assert!(s.get("description").is_some());
    }
    // add_section: a new one, nested under a parent; an existing path
    // answers the section it is.
    let add = tr(
        &app,
        "POST",
        &format!("add_section/{pid}"),
        Some(&auth),
        Some(
            json!({"name": "Refunds", "suite_id": pid, "parent_id": top["id"], "description": "x"}),
        ),
    )
    .await;
    let refunds = ok(&add).clone();
    assert_eq!(refunds["name"], "Refunds");
    assert_eq!(refunds["parent_id"], top["id"]);
    let again = tr(
        &app,
        "POST",
        &format!("add_section/{pid}"),
        Some(&auth),
        Some(json!({"name": "Checkout"})),
    )
    .await;
    assert_eq!(ok(&again)["id"], top["id"]);
    let one = tr(
        &app,
        "GET",
        &format!("get_section/{}", refunds["id"]),
        Some(&auth),
        None,
    )
    .await;
    assert_eq!(ok(&one), &refunds);
    // Numbers do not move when more sections come.
    let r = tr(
        &app,
        "GET",
        &format!("get_sections/{pid}"),
        Some(&auth),
        None,
    )
    .await;
    let after = ok(&r)["sections"].as_array().unwrap().clone();
    assert_eq!(after.len(), 3);
    assert!(after.contains(top) && after.contains(nested));

    // Bad inputs.
    for (call, body) in [
        (format!("add_section/{pid}"), json!({})),
        (format!("add_section/{pid}"), json!({"name": "  "})),
        (
            format!("add_section/{pid}"),
            json!({"name": 5.5, "suite_id": "x"}),
        ),
        (
            format!("add_section/{pid}"),
            json!({"name": "A", "suite_id": pid + 1}),
        ),
        (
            format!("add_section/{pid}"),
            json!({"name": "A", "parent_id": 999}),
        ),
        ("add_section/999".to_string(), json!({"name": "A"})),
    ] {
        let r = tr(&app, "POST", &call, Some(&auth), Some(body.clone())).await;
        assert_tr_error(&r, StatusCode::BAD_REQUEST);
    }
    let r = tr(&app, "GET", "get_section/999", Some(&auth), None).await;
    assert_tr_error(&r, StatusCode::BAD_REQUEST);
    // A viewer may read but not add.
    let viewer = app.member(&project, "vera", "viewer").await;
    let vauth = basic("vera@example.com", &viewer);
    let r = tr(
        &app,
        "GET",
        &format!("get_sections/{pid}"),
        Some(&vauth),
        None,
    )
    .await;
    ok(&r);
    let r = tr(
        &app,
        "POST",
        &format!("add_section/{pid}"),
        Some(&vauth),
        Some(json!({"name": "V"})),
    )
    .await;
    assert_tr_error(&r, StatusCode::FORBIDDEN);
    // delete_section: refused while cases lie in it; an empty one goes.
    let r = tr(
        &app,
        "POST",
        &format!("delete_section/{}", top["id"]),
        Some(&auth),
        Some(json!({})),
    )
    .await;
    assert_tr_error(&r, StatusCode::BAD_REQUEST);
    let r = tr(
        &app,
        "POST",
        &format!("delete_section/{}", refunds["id"]),
        Some(&auth),
        Some(json!({})),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let r = tr(
        &app,
        "GET",
        &format!("get_section/{}", refunds["id"]),
        Some(&auth),
        None,
    )
    .await;
    assert_tr_error(&r, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn a_case_added_through_testrail_is_a_verdict_case() {
    let app = TestApp::new().await;
    let project = app.project("Shop").await;
    let pid = num(&project);
    let tester = app.member(&project, "tess", "tester").await;
    let auth = basic("tess@example.com", &tester);
    let sec = tr(
        &app,
        "POST",
        &format!("add_section/{pid}"),
        Some(&auth),
        Some(json!({"name": "Login", "suite_id": pid})),
    )
    .await;
    let section = ok(&sec)["id"].as_i64().unwrap();
    let add = tr(
        &app,
        "POST",
        &format!("add_case/{section}"),
        Some(&auth),
        Some(json!({
            "title": "signs in",
            "custom_automation_id": "tests.login.test_signs_in",
            "refs": "JIRA-1, JIRA-2",
            "custom_preconds": "a user exists",
            "custom_steps_separated": [
                {"content": "open the page", "expected": "a form"},
                {"content": "submit"}
            ],
            "priority_id": 3,
            "type_id": 1,
            "template_id": 2,
            "estimate": "1m",
            "is_legacy": true
        })),
    )
    .await;
    let case = ok(&add).clone();
    assert_eq!(case["title"], "signs in");
    assert_eq!(case["section_id"], section);
    assert_eq!(case["suite_id"], pid);
    assert_eq!(case["custom_automation_id"], "tests.login.test_signs_in");
    assert_eq!(case["refs"], "JIRA-1, JIRA-2");
    assert_eq!(case["priority_id"], 3);
    assert_eq!(case["custom_preconds"], "a user exists");
    assert_eq!(
        case["custom_steps_separated"][0],
        json!({"content": "open the page", "expected": "a form", "additional_info": null, "refs": null})
    );
    for f in [
        "created_on",
        "updated_on",
        "template_id",
        "type_id",
        "display_order",
    ] {
        assert!(case[f].is_i64(), "{f}: {case}");
    }
    let cid = case["id"].as_i64().unwrap();
    // Verdict's own API shows the same case.
    let v1 = app.get(&format!("/v1/cases/tc_{cid}"), &app.admin).await;
    let d = &v1.body["data"];
    assert_eq!(d["key"], "tests.login.test_signs_in");
    assert_eq!(d["suite"], "Login");
    assert_eq!(d["refs"], json!(["JIRA-1", "JIRA-2"]));
    assert_eq!(d["priority"], "high");
    assert_eq!(d["preconditions"], "a user exists");
    assert_eq!(
        d["steps"],
        json!([{"action": "open the page", "expected": "a form"}, {"action": "submit", "expected": null}])
    );
    let got = tr(&app, "GET", &format!("get_case/{cid}"), Some(&auth), None).await;
    assert_eq!(ok(&got), &case);
    // get_cases: paged, filtered by suite and section.
    let listed = tr(
        &app,
        "GET",
        &format!("get_cases/{pid}&suite_id={pid}&section_id={section}"),
        Some(&auth),
        None,
    )
    .await;
    assert_eq!(ok(&listed)["cases"], json!([case.clone()]));
    assert_eq!(ok(&listed)["size"], 1);

    // Bad inputs: nothing is created.
    for (call, body) in [
        (format!("add_case/{section}"), json!({})),
        (format!("add_case/{section}"), json!({"title": ""})),
        (
            format!("add_case/{section}"),
            json!({"title": "t", "priority_id": 9}),
        ),
        (
            format!("add_case/{section}"),
            json!({"title": "t", "custom_steps_separated": "x"}),
        ),
        (
            format!("add_case/{section}"),
            json!({"title": "t", "custom_steps_separated": [{"content": ""}]}),
        ),
        (
            format!("add_case/{section}"),
            json!({"title": "t", "custom_automation_id": "tests.login.test_signs_in"}),
        ),
        ("add_case/999".to_string(), json!({"title": "t"})),
    ] {
        let r = tr(&app, "POST", &call, Some(&auth), Some(body.clone())).await;
        assert_tr_error(&r, StatusCode::BAD_REQUEST);
    }
    assert_eq!(app.total(&format!("/v1/projects/{project}/cases")).await, 1);
    let r = tr(
        &app,
        "GET",
        &format!("get_cases/{pid}&suite_id=999"),
        Some(&auth),
        None,
    )
    .await;
    assert_tr_error(&r, StatusCode::BAD_REQUEST);

    // update_case and delete_case take a manager.
    let r = tr(
        &app,
        "POST",
        &format!("update_case/{cid}"),
        Some(&auth),
        Some(json!({"title": "x"})),
    )
    .await;
    assert_tr_error(&r, StatusCode::FORBIDDEN);
    let admin = admin_auth(&app).await;
    let other = tr(
        &app,
        "POST",
        &format!("add_section/{pid}"),
        Some(&admin),
        Some(json!({"name": "Other"})),
    )
    .await;
    let other = ok(&other)["id"].clone();
    let up = tr(
        &app,
        "POST",
        &format!("update_case/{cid}"),
        Some(&admin),
        Some(json!({"title": "signs in again", "section_id": other, "refs": "", "custom_automation_id": null})),
    )
    .await;
    let up = ok(&up).clone();
    assert_eq!(up["title"], "signs in again");
    assert_eq!(up["section_id"], other);
    assert_eq!(up["refs"], Value::Null);
    assert_eq!(up["custom_automation_id"], Value::Null);
    assert_eq!(up["custom_preconds"], "a user exists", "left alone");
    let v1 = app.get(&format!("/v1/cases/tc_{cid}"), &app.admin).await;
    assert_eq!(v1.body["data"]["suite"], "Other");
    let r = tr(
        &app,
        "POST",
        &format!("delete_case/{cid}"),
        Some(&auth),
        Some(json!({})),
    )
    .await;
    assert_tr_error(&r, StatusCode::FORBIDDEN);
    let r = tr(
        &app,
        "POST",
        &format!("delete_case/{cid}"),
        Some(&admin),
        Some(json!({})),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let r = tr(&app, "GET", &format!("get_case/{cid}"), Some(&admin), None).await;
    assert_tr_error(&r, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn cases_page_by_links_to_the_end() {
    let app = TestApp::new().await;
    let auth = admin_auth(&app).await;
    let project = app.project("Shop").await;
    let pid = num(&project);
    let cases: Vec<Value> = (0..5)
        .map(|i| json!({"title": format!("case {i}"), "key": format!("k{i}"), "suite": "S"}))
        .collect();
    app.bulk_cases(&project, cases).await;
    let mut call = format!("get_cases/{pid}&suite_id={pid}&limit=2");
    let mut keys = Vec::new();
    loop {
        let r = tr(&app, "GET", &call, Some(&auth), None).await;
        let body = ok(&r).clone();
        for c in body["cases"].as_array().unwrap() {
            keys.push(c["custom_automation_id"].as_str().unwrap().to_string());
            assert!(c["section_id"].is_i64());
        }
        match body["_links"]["next"].as_str() {
            Some(next) => {
                assert!(next.contains(&format!("suite_id={pid}")), "{next}");
                call = next.strip_prefix("/api/v2/").unwrap().to_string();
            }
            None => break,
        }
    }
    assert_eq!(keys, ["k0", "k1", "k2", "k3", "k4"]);
}
