//! A run's export (CSV and JUnit XML, by API and from the run page) and
//! the JUnit import of TestRail-style properties, with the round trip.

use crate::common;

use axum::http::StatusCode;
use common::TestApp;
use serde_json::{Value, json};

fn result_path(run: &str, id: &str) -> String {
    format!("/v1/runs/{run}/results/{id}")
}

/// A project with three keyed cases (two in suites), a run, and results
/// with notes, step results, defects and an assignee.
async fn recorded(app: &TestApp) -> (String, Vec<String>, String) {
    let project = app.project("shop").await;
    let cases = app
        .bulk_cases(
            &project,
            vec![
                json!({"title": "Pay, with \"card\"", "key": "pay", "suite": "Checkout"}),
                json!({"title": "=HYPERLINK(\"x\")", "key": "formula", "suite": "Checkout"}),
                json!({"title": "Login", "key": "login"}),
            ],
        )
        .await;
    let run = app.run(&project, "Release 1").await;
    let admin_id = app.admin_id().await;
    let r0 = app.result_of(&run, &cases[0]).await;
    let r1 = app.result_of(&run, &cases[1]).await;
    app.patch(
        &result_path(&run, &r0),
        &app.admin,
        json!({"status": "failed", "note": "500 on submit\nsecond line", "elapsed_ms": 12_345,
               "step_results": [{"status": "passed"}, {"status": "failed", "actual": "500 error"}],
               "defects": ["SHOP-1", "SHOP-2"]}),
    )
    .await
    .data();
    app.patch(
        &result_path(&run, &r1),
        &app.admin,
        json!({"status": "blocked", "note": "-1 items", "defects": ["@bug"]}),
    )
    .await
    .data();
    app.patch(
        &format!("{}/assignment", result_path(&run, &r1)),
        &app.admin,
        json!({"user_id": admin_id}),
    )
    .await
    .data();
    (project, cases, run)
}

fn text(r: &common::Resp) -> &str {
    r.body.as_str().unwrap_or("")
}

#[tokio::test]
async fn csv_export_quotes_and_guards_cells() {
    let app = TestApp::new().await;
    let (project, cases, run) = recorded(&app).await;
    let viewer = app.member(&project, "vic", "viewer").await;
    let r = app.get(&format!("/v1/runs/{run}/export"), &viewer).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.headers["content-type"], "text/csv; charset=utf-8");
    assert_eq!(
        r.headers["content-disposition"],
        format!("attachment; filename=\"{run}.csv\"")
    );
    let csv = text(&r);
    let lines: Vec<&str> = csv.split("\r\n").collect();
    assert_eq!(
        lines[0],
        "result_id,case_id,case_key,title,suite,status,note,elapsed_ms,tested_by,tested_at,assigned_to,defects,step_results"
    );
    assert!(csv.ends_with("\r\n"));
    let admin_email = app.get("/v1/me", &app.admin).await.data()["email"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    // Quoting: a comma and quotes in the title, a line break in the note.
    assert!(
        csv.contains(&format!(
            ",{},pay,\"Pay, with \"\"card\"\"\",Checkout,failed,\"500 on submit\nsecond line\",12345,{admin_email},"
        , cases[0])),
        "{csv}"
    );
    assert!(
        csv.contains(",\"SHOP-1, SHOP-2\",1 passed; 2 failed: 500 error\r\n"),
        "{csv}"
    );
    // Injection guard: =, - and @ cells get a leading '.
    assert!(
        csv.contains(",\"'=HYPERLINK(\"\"x\"\")\",Checkout,blocked,'-1 items,"),
        "{csv}"
    );
    assert!(csv.contains(&format!(",{admin_email},'@bug,\r\n")), "{csv}");
    // The untested case: empty cells.
    assert!(csv.contains(",login,Login,,not_tested,,,,,,,\r\n"), "{csv}");
    // format=csv is the default; an unknown format is a 422.
    let again = app
        .get(&format!("/v1/runs/{run}/export?format=csv"), &viewer)
        .await;
    assert_eq!(text(&again), csv);
    // An unknown, empty or padded format is a 422 (found by schemathesis:
    // `format=` was taken as the default).
    for format in ["pdf", "", "%20csv", "CSV"] {
        let bad = app
            .get(&format!("/v1/runs/{run}/export?format={format}"), &viewer)
            .await;
        bad.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
        assert_eq!(bad.fields(), vec!["format"], "format={format}");
    }
    // Roles: a stranger sees nothing, no token is a 401.
    let (_, stranger) = app.user("stranger").await;
    app.get(&format!("/v1/runs/{run}/export"), &stranger)
        .await
        .assert_error(StatusCode::NOT_FOUND, "not_found");
    let anon = app
        .call("GET", &format!("/v1/runs/{run}/export"), None, None)
        .await;
    assert_eq!(anon.status, StatusCode::UNAUTHORIZED);
    app.get("/v1/runs/run_99999/export", &viewer)
        .await
        .assert_error(StatusCode::NOT_FOUND, "not_found");
}

#[tokio::test]
async fn junit_export_carries_status_key_steps_and_defects() {
    let app = TestApp::new().await;
    let (_, _, run) = recorded(&app).await;
    let r = app
        .get(&format!("/v1/runs/{run}/export?format=junit"), &app.admin)
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.headers["content-type"], "application/xml");
    let xml = text(&r);
    assert!(
        xml.contains("<testsuite name=\"Checkout\" tests=\"2\" failures=\"1\" skipped=\"1\">"),
        "{xml}"
    );
    assert!(
        xml.contains("<testsuite name=\"Release 1\" tests=\"1\""),
        "{xml}"
    );
    assert!(
        xml.contains("name=\"Pay, with &quot;card&quot;\" classname=\"Checkout\" time=\"12.345\""),
        "{xml}"
    );
    assert!(xml.contains("<property name=\"verdict_status\" value=\"failed\"/>"));
    assert!(xml.contains("<property name=\"verdict_key\" value=\"pay\"/>"));
    assert!(xml.contains("<property name=\"testrail_result_step\" value=\"passed:Step 1\"/>"));
    assert!(xml.contains("<property name=\"testrail_result_step\" value=\"failed:500 error\"/>"));
    assert!(
        xml.contains("<property name=\"testrail_result_field\" value=\"defects:SHOP-1,SHOP-2\"/>")
    );
    assert!(
        xml.contains("<failure message=\"500 on submit\">500 on submit&#10;second line</failure>"),
        "{xml}"
    );
    assert!(xml.contains("<skipped message=\"-1 items\"/>"), "{xml}");
    // It parses as JUnit.
    let report = verdict_junit::parse(xml.as_bytes()).expect("parses");
    assert_eq!(report.testcases.len(), 3);
}

fn essentials(results: &[Value]) -> Vec<(String, Value, Value, Value)> {
    let mut v: Vec<_> = results
        .iter()
        .map(|r| {
            (
                r["test_case_id"].as_str().unwrap_or_default().to_string(),
                r["status"].clone(),
                r["step_results"].clone(),
                r["defects"].clone(),
            )
        })
        .collect();
    v.sort_by(|a, b| a.0.cmp(&b.0));
    v
}

#[tokio::test]
async fn an_exported_run_imports_into_a_new_run_unchanged() {
    let app = TestApp::new().await;
    let (project, _, run) = recorded(&app).await;
    let xml = text(
        &app.get(&format!("/v1/runs/{run}/export?format=junit"), &app.admin)
            .await,
    )
    .to_string();
    let copy = app.run(&project, "Copy").await;
    let r = app
        .raw(
            "POST",
            &format!("/v1/runs/{copy}/results/junit"),
            &app.admin,
            Some("application/xml"),
            xml,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.data()["created"], 0);
    assert_eq!(
        essentials(&app.all_results(&copy).await),
        essentials(&app.all_results(&run).await)
    );
}

#[tokio::test]
async fn junit_import_reads_testrail_properties() {
    let app = TestApp::new().await;
    let (project, run) = app.empty_run("trcli").await;
    let xml = r#"<?xml version="1.0" encoding="UTF-8"?>
<testsuites name="trcli"><testsuite name="Checkout">
  <testcase classname="tests.checkout" name="test_pay" time="2.5">
    <properties>
      <property name="testrail_case_field" value="refs:REQ-1, REQ-2"/>
      <property name="testrail_case_field" value="priority_id:4"/>
      <property name="testrail_case_field" value="custom_preconds:A signed-in user"/>
      <property name="testrail_case_field">custom_steps_separated:[{"content":"Open the cart","expected":"Cart shows"},{"content":"Pay"}]</property>
      <property name="testrail_case_field" value="custom_other:ignored"/>
      <property name="testrail_result_step" value="passed:Cart shows"/>
      <property name="testrail_result_step" value="untested:"/>
      <property name="testrail_result_step" value="skipped:no card"/>
      <property name="testrail_result_field" value="defects:SHOP-9, SHOP-10"/>
      <property name="testrail_result_field" value="version:1.0"/>
      <property name="testrail_result_comment" value="Run by hand"/>
      <property name="testrail_attachment" value="shot.png"/>
    </properties>
    <failure message="card declined">trace</failure>
  </testcase>
  <testcase classname="tests.login" name="test_login">
    <properties>
      <property name="testrail_case_field" value="custom_steps:Sign in"/>
      <property name="testrail_case_field" value="custom_expected:Home page"/>
    </properties>
  </testcase>
</testsuite></testsuites>"#;
    let r = app
        .raw(
            "POST",
            &format!("/v1/runs/{run}/results/junit?create_missing=true"),
            &app.admin,
            Some("application/xml"),
            xml,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let results = app.all_results(&run).await;
    let pay = results
        .iter()
        .find(|r| r["test_case_title"] == "test_pay")
        .unwrap();
    assert_eq!(pay["status"], "failed");
    assert_eq!(
        pay["step_results"],
        json!([{"status": "passed", "actual": "Cart shows"}, {"status": "not_tested"},
               {"status": "blocked", "actual": "no card"}])
    );
    assert_eq!(pay["defects"], json!(["SHOP-9", "SHOP-10"]));
    assert!(
        pay["note"].as_str().unwrap().ends_with("\nRun by hand"),
        "{pay}"
    );
    let case = app
        .get(
            &format!("/v1/cases/{}", pay["test_case_id"].as_str().unwrap()),
            &app.admin,
        )
        .await;
    let c = case.data();
    assert_eq!(c["refs"], json!(["REQ-1", "REQ-2"]));
    assert_eq!(c["priority"], "critical");
    assert_eq!(c["preconditions"], "A signed-in user");
    assert_eq!(
        c["steps"],
        json!([{"action": "Open the cart", "expected": "Cart shows"}, {"action": "Pay", "expected": null}])
    );
    let login = results
        .iter()
        .find(|r| r["test_case_title"] == "test_login")
        .unwrap();
    let case = app
        .get(
            &format!("/v1/cases/{}", login["test_case_id"].as_str().unwrap()),
            &app.admin,
        )
        .await;
    assert_eq!(
        case.data()["steps"],
        json!([{"action": "Sign in", "expected": "Home page"}])
    );
    let _ = project;
}

#[tokio::test]
async fn malformed_testrail_properties_are_a_422() {
    let app = TestApp::new().await;
    let (_, run) = app.empty_run("bad").await;
    for prop in [
        r#"<property name="testrail_case_field" value="priority_id:9"/>"#,
        r#"<property name="testrail_case_field" value="no colon"/>"#,
        r#"<property name="testrail_case_field" value="custom_steps_separated:[1, 2]"/>"#,
        r#"<property name="testrail_result_step" value="done:x"/>"#,
        &format!(
            r#"<property name="testrail_result_field" value="defects:A,{}"/>"#,
            "x".repeat(256)
        ),
        r#"<property name="verdict_status" value="great"/>"#,
        r#"<property name="verdict_key" value="  "/>"#,
    ] {
        let xml = format!(
            "<testsuite><testcase classname=\"a\" name=\"ok\"/><testcase classname=\"a\" name=\"b\"><properties>{prop}</properties></testcase></testsuite>"
        );
        let r = app
            .raw(
                "POST",
                &format!("/v1/runs/{run}/results/junit?create_missing=true"),
                &app.admin,
                Some("application/xml"),
                xml,
            )
            .await;
        r.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
        assert_eq!(r.fields(), vec!["testcases[1].properties"], "{prop}");
    }
    assert!(app.all_results(&run).await.is_empty(), "nothing written");
}

#[tokio::test]
async fn the_run_page_exports_need_a_session() {
    let app = TestApp::new().await;
    let (project, _, run) = recorded(&app).await;
    let (_, session) = app.web_member(&project, "wendy", "viewer").await;
    let api_csv = text(&app.get(&format!("/v1/runs/{run}/export"), &app.admin).await).to_string();
    let api_xml = text(
        &app.get(&format!("/v1/runs/{run}/export?format=junit"), &app.admin)
            .await,
    )
    .to_string();
    let csv = app
        .page(&format!("/runs/{run}/export.csv"), Some(&session))
        .await;
    assert_eq!(csv.status, StatusCode::OK);
    assert_eq!(csv.headers["content-type"], "text/csv; charset=utf-8");
    assert_eq!(text(&csv), api_csv);
    let xml = app
        .page(&format!("/runs/{run}/export.xml"), Some(&session))
        .await;
    assert_eq!(xml.status, StatusCode::OK);
    assert_eq!(text(&xml), api_xml);
    // No session: to the sign-in page; not a member: not found.
    let anon = app.page(&format!("/runs/{run}/export.csv"), None).await;
    assert!(anon.status.is_redirection(), "{:?}", anon.status);
    let other = app.project("other").await;
    let (_, outsider) = app.web_member(&other, "olga", "viewer").await;
    let hidden = app
        .page(&format!("/runs/{run}/export.xml"), Some(&outsider))
        .await;
    assert_eq!(hidden.status, StatusCode::NOT_FOUND);
}
