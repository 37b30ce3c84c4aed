//! One key rule for every path: a JUnit import and the cases API (create,
//! bulk upsert, edit, filter by key) store the same key for the same test.
//! Whitespace at both ends is trimmed; a key longer than 1000 characters is
//! stored as its first 983 characters, `…` and 16 hex digits of the SHA-256
//! of the whole trimmed key (computed here with sha2, not with the server's
//! function).

use crate::common;

use axum::http::StatusCode;
use common::{Resp, TestApp};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

const XML: &str = "application/xml";

/// The documented long-key form, computed independently.
fn long_form(key: &str) -> String {
    let key = key.trim();
    let prefix: String = key.chars().take(983).collect();
    let digest = Sha256::digest(key.as_bytes());
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!("{prefix}…{}", &hex[..16])
}

fn xml_attr(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('"', "&quot;")
        .replace('<', "&lt;")
}

/// A one-testcase report.
fn report(classname: Option<&str>, name: &str) -> String {
    let classname = classname
        .map(|c| format!(" classname=\"{}\"", xml_attr(c)))
        .unwrap_or_default();
    format!(
        "<testsuite name=\"s\"><testcase{classname} name=\"{}\" time=\"0.1\"/></testsuite>",
        xml_attr(name)
    )
}

async fn import(app: &TestApp, run: &str, query: &str, body: String) -> Resp {
    let r = app
        .raw(
            "POST",
            &format!("/v1/runs/{run}/results/junit{query}"),
            &app.admin,
            Some(XML),
            body,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    r
}

async fn bulk(app: &TestApp, project: &str, cases: Value) -> Value {
    let r = app
        .post(
            &format!("/v1/projects/{project}/cases/bulk"),
            &app.admin,
            json!({ "cases": cases }),
        )
        .await;
    r.data().clone()
}

async fn all_cases(app: &TestApp, project: &str) -> Vec<Value> {
    let r = app
        .get(
            &format!("/v1/projects/{project}/cases?per_page=1000"),
            &app.admin,
        )
        .await;
    r.data().as_array().expect("cases").clone()
}

/// The cases a `?key=` filter finds (the key sent URL-encoded, as given).
async fn by_key(app: &TestApp, project: &str, key: &str) -> Vec<Value> {
    let q: String = form_urlencoded::Serializer::new(String::new())
        .append_pair("key", key)
        .finish();
    let r = app
        .get(&format!("/v1/projects/{project}/cases?{q}"), &app.admin)
        .await;
    r.data().as_array().expect("cases").clone()
}

#[tokio::test]
async fn an_imported_key_with_spaces_at_its_ends_is_updated_by_a_bulk_upsert() {
    let app = TestApp::new().await;
    let (project, run) = app.empty_run("Keys").await;
    // jest-junit writes the title as typed, spaces included.
    let xml = report(Some("resolver config"), " missing path throws  ");
    let r = import(&app, &run, "?create_missing=true", xml.clone()).await;
    assert_eq!(r.body["data"]["created"], 1);
    let cases = all_cases(&app, &project).await;
    assert_eq!(cases.len(), 1);
    assert_eq!(cases[0]["key"], "resolver config. missing path throws");
    assert_eq!(
        cases[0]["title"], "missing path throws",
        "titles are trimmed too"
    );

    // The key as the report spells it, padded or not, is the same case.
    for key in [
        "resolver config. missing path throws  ",
        "  resolver config. missing path throws",
    ] {
        let data = bulk(&app, &project, json!([{"title": "Renamed", "key": key}])).await;
        assert_eq!((&data["created"], &data["updated"]), (&json!(0), &json!(1)));
        assert_eq!(data["cases"][0]["id"], cases[0]["id"]);
        assert_eq!(by_key(&app, &project, key).await.len(), 1);
    }
    // And importing the report again finds it.
    let r = import(&app, &run, "?create_missing=true", xml).await;
    assert_eq!(
        (&r.body["data"]["created"], &r.body["data"]["matched"]),
        (&json!(0), &json!(1))
    );
    assert_eq!(all_cases(&app, &project).await.len(), 1);
}

#[tokio::test]
async fn a_case_made_by_the_api_is_found_by_an_import_with_spaces() {
    let app = TestApp::new().await;
    let project = app.project("Keys").await;
    let data = bulk(
        &app,
        &project,
        json!([{"title": "Checkout", "key": " checkout works "}]),
    )
    .await;
    assert_eq!(data["cases"][0]["key"], "checkout works");
    let created = app
        .post(
            &format!("/v1/projects/{project}/cases"),
            &app.admin,
            json!({"title": "Refund", "key": "\trefund works\n"}),
        )
        .await;
    assert_eq!(created.data()["key"], "refund works");
    let run = app.run(&project, "nightly").await;
    // No create_missing: an unmatched key would be a 422.
    let xml = "<testsuite name=\"s\"><testcase name=\"  checkout works \"/>\
               <testcase name=\"refund works&#10;\"/></testsuite>";
    let r = import(&app, &run, "", xml.to_string()).await;
    assert_eq!(r.body["data"]["matched"], 2, "{}", r.body);
    assert_eq!(app.counts(&run).await["passed"], 2);
    assert_eq!(all_cases(&app, &project).await.len(), 2);
}

#[tokio::test]
async fn a_long_jest_title_imports_and_the_cases_api_maps_it_to_the_same_key() {
    let app = TestApp::new().await;
    let (project, run) = app.empty_run("Keys").await;
    let classname = "Dashboard";
    let name = format!("renders {} widgets", "every configured ".repeat(65));
    assert_eq!(name.chars().count(), 1121);
    let raw_key = format!("{classname}.{name}");
    let stored = long_form(&raw_key);
    assert_eq!(stored.chars().count(), 1000);

    let r = import(
        &app,
        &run,
        "?create_missing=true",
        report(Some(classname), &name),
    )
    .await;
    assert_eq!(r.body["data"]["created"], 1);
    let cases = all_cases(&app, &project).await;
    assert_eq!(cases[0]["key"], stored.as_str());
    // The title fits the cases API's limit: cut, with a visible "…".
    let title = cases[0]["title"].as_str().unwrap();
    assert_eq!(title.chars().count(), 1000);
    assert_eq!(
        title,
        format!("{}…", name.chars().take(999).collect::<String>())
    );
    let id = cases[0]["id"].clone();
    let r = app
        .patch(
            &format!("/v1/cases/{}", id.as_str().unwrap()),
            &app.admin,
            json!({"title": title, "key": cases[0]["key"]}),
        )
        .await;
    assert_eq!(
        r.status,
        StatusCode::OK,
        "the API takes what the import stored: {}",
        r.body
    );

    // The cases API accepts the same long key and lands on the same case.
    let data = bulk(
        &app,
        &project,
        json!([{"title": "Dashboard widgets", "key": raw_key}]),
    )
    .await;
    assert_eq!((&data["created"], &data["updated"]), (&json!(0), &json!(1)));
    assert_eq!(data["cases"][0]["id"], id);
    assert_eq!(data["cases"][0]["key"], stored.as_str());
    for key in [raw_key.as_str(), stored.as_str()] {
        let found = by_key(&app, &project, key).await;
        assert_eq!(found.len(), 1);
        assert_eq!(found[0]["id"], id);
    }
    // A second import of the same report matches it.
    let r = import(&app, &run, "", report(Some(classname), &name)).await;
    assert_eq!(r.body["data"]["matched"], 1, "{}", r.body);
    assert_eq!(all_cases(&app, &project).await.len(), 1);
}

#[tokio::test]
async fn a_long_key_made_by_the_api_first_is_matched_by_the_import() {
    let app = TestApp::new().await;
    let project = app.project("Keys").await;
    let name = "日".repeat(1100);
    let created = app
        .post(
            &format!("/v1/projects/{project}/cases"),
            &app.admin,
            json!({"title": "Unicode", "key": format!("  {name} ")}),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let key = created.data()["key"].as_str().unwrap().to_string();
    assert_eq!(key, long_form(&name));
    assert!(key.starts_with(&"日".repeat(983)) && key.chars().count() == 1000);
    // The same long key again is a duplicate, as any key is.
    let again = app
        .post(
            &format!("/v1/projects/{project}/cases"),
            &app.admin,
            json!({"title": "Again", "key": name}),
        )
        .await;
    again.assert_error(StatusCode::CONFLICT, "duplicate_key");
    let run = app.run(&project, "nightly").await;
    let r = import(&app, &run, "", report(None, &name)).await;
    assert_eq!(r.body["data"]["matched"], 1, "{}", r.body);
    assert_eq!(app.counts(&run).await["passed"], 1);
    // Editing a case's key applies the same rule.
    let other = bulk(&app, &project, json!([{"title": "Other"}])).await;
    let other = other["cases"][0]["id"].as_str().unwrap().to_string();
    let long = "x".repeat(1001);
    let r = app
        .patch(
            &format!("/v1/cases/{other}"),
            &app.admin,
            json!({"key": long}),
        )
        .await;
    assert_eq!(r.data()["key"], long_form(&long).as_str());
}

#[tokio::test]
async fn a_key_of_exactly_1000_characters_is_kept_as_it_is() {
    let app = TestApp::new().await;
    let (project, run) = app.empty_run("Keys").await;
    let exact = "é".repeat(1000);
    let over = format!("{}é", "e".repeat(1000));
    let xml = format!(
        "<testsuite name=\"s\"><testcase name=\"{exact}\"/><testcase name=\"{over}\"/></testsuite>"
    );
    let r = import(&app, &run, "?create_missing=true", xml).await;
    assert_eq!(r.body["data"]["created"], 2);
    let keys: Vec<Value> = all_cases(&app, &project)
        .await
        .iter()
        .map(|c| c["key"].clone())
        .collect();
    assert_eq!(keys, [json!(exact), json!(long_form(&over))]);
    let data = bulk(
        &app,
        &project,
        json!([{"title": "a", "key": exact}, {"title": "b", "key": over}]),
    )
    .await;
    assert_eq!((&data["created"], &data["updated"]), (&json!(0), &json!(2)));
}

#[tokio::test]
async fn a_long_classname_becomes_a_suite_the_api_would_take() {
    let app = TestApp::new().await;
    let (project, run) = app.empty_run("Keys").await;
    let classname = format!(" {} ", "pkg.".repeat(300));
    import(
        &app,
        &run,
        "?create_missing=true",
        report(Some(&classname), "t"),
    )
    .await;
    let case = all_cases(&app, &project).await.remove(0);
    let suite = case["suite"].as_str().unwrap();
    assert_eq!(suite.chars().count(), 1000);
    assert!(
        suite.starts_with("pkg.pkg.") && suite.ends_with('…'),
        "{suite}"
    );
    assert_eq!(case["key"], long_form(&format!("{classname}.t")).as_str());
    let r = app
        .patch(
            &format!("/v1/cases/{}", case["id"].as_str().unwrap()),
            &app.admin,
            json!({"suite": suite}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
}

/// A manual case's steps survive what CI does by key: a bulk upsert that
/// leaves the details out, and a JUnit import of the same test. A case an
/// import creates has none.
#[tokio::test]
async fn upserts_and_imports_by_key_keep_a_manual_cases_details() {
    let app = TestApp::new().await;
    let project = app.project("Keys").await;
    let manual = app
        .post(
            &format!("/v1/projects/{project}/cases"),
            &app.admin,
            json!({"title": "Checkout", "key": "shop.checkout works",
                "preconditions": "A cart.", "priority": "high", "refs": ["REQ-9"],
                "steps": [{"action": "Pay", "expected": "A receipt"}]}),
        )
        .await;
    let manual = manual.data().clone();
    let data = bulk(
        &app,
        &project,
        json!([{"title": "checkout works", "key": " shop.checkout works "}]),
    )
    .await;
    assert_eq!(data["updated"], 1);
    let run = app.run(&project, "nightly").await;
    let xml = report(Some("shop"), "checkout works");
    let xml = xml.replace(
        "</testsuite>",
        "<testcase classname=\"shop\" name=\"refund\"/></testsuite>",
    );
    let r = import(&app, &run, "?create_missing=true", xml).await;
    assert_eq!(
        (&r.body["data"]["created"], &r.body["data"]["matched"]),
        (&json!(1), &json!(1)),
        "{}",
        r.body
    );
    let cases = all_cases(&app, &project).await;
    let fields = |c: &Value| json!([c["preconditions"], c["steps"], c["priority"], c["refs"]]);
    assert_eq!(cases[0]["id"], manual["id"]);
    assert_eq!(cases[0]["title"], "checkout works");
    assert_eq!(fields(&cases[0]), fields(&manual), "kept");
    assert_eq!(fields(&cases[1]), json!([null, [], null, []]), "none");
}
