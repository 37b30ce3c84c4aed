//! POST /v1/runs/:rid/results/junit — JUnit XML reports as executions.

use crate::common;

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use axum::http::StatusCode;
use common::TestApp;
use serde_json::{Value, json};
use verdict_server::Limits;

const XML: &str = "application/xml";

fn corpus() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus/junit");
    dir.is_dir().then_some(dir)
}

async fn import(
    app: &TestApp,
    run: &str,
    query: &str,
    body: impl Into<axum::body::Body>,
) -> common::Resp {
    app.raw(
        "POST",
        &format!("/v1/runs/{run}/results/junit{query}"),
        &app.admin,
        Some(XML),
        body,
    )
    .await
}

const REPORT: &str = r#"<?xml version="1.0"?>
<testsuites>
  <testsuite name="auth">
    <testcase classname="com.acme.LoginTest" name="validCredentials" time="1.234"/>
    <testcase classname="com.acme.LoginTest" name="wrongPassword" time="0.5">
      <failure type="AssertionError" message="expected 401">stack here</failure>
    </testcase>
    <testcase classname="com.acme.LoginTest" name="sso"><skipped message="no IdP"/></testcase>
  </testsuite>
</testsuites>"#;

#[tokio::test]
async fn create_missing_creates_cases_and_records_the_mapping_table() {
    let app = TestApp::new().await;
    let (project, run) = app.empty_run("JUnit").await;
    let r = import(&app, &run, "?create_missing=true", REPORT).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["data"]["updated"], 3);
    assert_eq!(r.body["data"]["created"], 3);
    assert_eq!(r.body["data"]["testcases"], 3);
    let counts = app.counts(&run).await;
    assert_eq!(
        counts,
        json!({"passed": 1, "failed": 1, "blocked": 1, "retest": 0, "not_tested": 0, "total": 3})
    );
    let results = app.all_results(&run).await;
    assert_eq!(results[0]["elapsed"], 1);
    assert_eq!(results[0]["elapsed_ms"], 1234);
    assert_eq!(
        results[1]["note"],
        "AssertionError: expected 401\nstack here"
    );
    assert_eq!(results[2]["note"], "skipped: no IdP");
    let cases = app
        .get(
            &format!("/v1/projects/{project}/cases?key=com.acme.LoginTest.validCredentials"),
            &app.admin,
        )
        .await;
    assert_eq!(cases.data()[0]["title"], "validCredentials");
    assert_eq!(cases.data()[0]["suite"], "com.acme.LoginTest");
}

#[tokio::test]
async fn unknown_keys_without_create_missing_reject_the_whole_report() {
    let app = TestApp::new().await;
    let (_, run) = app.empty_run("JUnit").await;
    let r = import(&app, &run, "", REPORT).await;
    r.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    assert_eq!(r.fields(), ["testcases[0]", "testcases[1]", "testcases[2]"]);
    assert_eq!(app.counts(&run).await["total"], 0);
}

#[tokio::test]
async fn partial_applies_known_keys_and_rejects_the_rest() {
    let app = TestApp::new().await;
    let (project, _) = app.empty_run("JUnit").await;
    app.post(
        &format!("/v1/projects/{project}/cases"),
        &app.admin,
        json!({"title": "valid", "key": "com.acme.LoginTest.validCredentials"}),
    )
    .await;
    let run = app.run(&project, "with the one case").await;
    let r = import(&app, &run, "?partial=true", REPORT).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["data"]["updated"], 1);
    let rejected = r.body["data"]["rejected"].as_array().unwrap();
    assert_eq!(rejected.len(), 2);
    assert_eq!(rejected[0]["index"], 1);
    assert_eq!(rejected[0]["code"], "case_not_found");
    assert_eq!(app.counts(&run).await["passed"], 1);
}

#[tokio::test]
async fn dry_run_reports_and_writes_nothing() {
    let app = TestApp::new().await;
    let (project, run) = app.empty_run("JUnit").await;
    let r = import(&app, &run, "?dry_run=true&create_missing=true", REPORT).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(
        r.body["data"],
        json!({"dry_run": true, "testcases": 3, "executions": 3, "matched": 0,
        "would_create": 3, "would_add": 0, "unmatched": []})
    );
    let r = import(&app, &run, "?dry_run=true", REPORT).await;
    assert_eq!(r.body["data"]["unmatched"].as_array().unwrap().len(), 3);
    assert_eq!(app.counts(&run).await["total"], 0);
    let cases = app
        .get(&format!("/v1/projects/{project}/cases"), &app.admin)
        .await;
    assert_eq!(cases.body["meta"]["total"], 0);
}

#[tokio::test]
async fn skipped_as_overrides_blocked() {
    let app = TestApp::new().await;
    for (mode, status) in [("retest", "retest"), ("not_tested", "not_tested")] {
        let (_, run) = app.empty_run("JUnit").await;
        let r = import(
            &app,
            &run,
            &format!("?create_missing=true&skipped_as={mode}"),
            REPORT,
        )
        .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        assert_eq!(app.all_results(&run).await[2]["status"], status);
    }
    let (_, run) = app.empty_run("JUnit").await;
    let r = import(&app, &run, "?skipped_as=passed", REPORT).await;
    r.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
}

#[tokio::test]
async fn flaky_and_rerun_attempts_are_separate_executions() {
    let app = TestApp::new().await;
    let (_, run) = app.empty_run("JUnit").await;
    let report = r#"<testsuite name="s">
      <testcase classname="C" name="flaky"><flakyFailure message="boom 1"/><flakyError message="boom 2"/></testcase>
      <testcase classname="C" name="broken"><failure message="first"/><rerunFailure message="second"/></testcase>
    </testsuite>"#;
    let r = import(&app, &run, "?create_missing=true", report).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["data"]["updated"], 5);
    let results = app.all_results(&run).await;
    assert_eq!(results[0]["status"], "passed");
    assert_eq!(results[1]["status"], "failed");
    assert_eq!(results[1]["note"], "second");
    let flaky = app.history(&run, results[0]["id"].as_str().unwrap()).await;
    let statuses: Vec<&str> = flaky
        .iter()
        .map(|h| h["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["passed", "failed", "failed"], "newest first");
}

#[tokio::test]
async fn gzip_bodies_are_decoded() {
    let app = TestApp::new().await;
    let (_, run) = app.empty_run("JUnit").await;
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(REPORT.as_bytes()).unwrap();
    let body = gz.finish().unwrap();
    let r = app
        .send(
            axum::http::Request::post(format!("/v1/runs/{run}/results/junit?create_missing=true"))
                .header("authorization", format!("Bearer {}", app.admin))
                .header("content-type", XML)
                .header("content-encoding", "gzip")
                .body(axum::body::Body::from(body))
                .unwrap(),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["data"]["updated"], 3);
}

#[tokio::test]
async fn hostile_or_broken_xml_is_a_400_with_the_position_and_writes_nothing() {
    let app = TestApp::new().await;
    let (_, run) = app.empty_run("JUnit").await;
    let laughs = r#"<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;">]><testsuite><testcase name="&lol2;"/></testsuite>"#;
    let xxe = r#"<?xml version="1.0"?><!DOCTYPE t [<!ENTITY x SYSTEM "file:///etc/passwd">]><testsuite><testcase name="&x;"/></testsuite>"#;
    let deep = format!(
        "{}{}",
        "<testsuite>".repeat(100),
        "</testsuite>".repeat(100)
    );
    let truncated = &REPORT[..REPORT.len() / 2];
    for body in [
        laughs.to_string(),
        xxe.to_string(),
        deep,
        truncated.to_string(),
        "not xml at all".into(),
    ] {
        let r = import(&app, &run, "?create_missing=true", body).await;
        r.assert_error(StatusCode::BAD_REQUEST, "malformed_request");
        assert!(
            r.body["error"]["message"]
                .as_str()
                .unwrap()
                .contains("line"),
            "{}",
            r.body
        );
    }
    assert_eq!(app.counts(&run).await["total"], 0);
}

#[tokio::test]
async fn bad_requests_are_refused() {
    let app = TestApp::new().await;
    let (project, run) = app.empty_run("JUnit").await;
    let r = app
        .raw(
            "POST",
            &format!("/v1/runs/{run}/results/junit"),
            &app.admin,
            Some("application/json"),
            REPORT,
        )
        .await;
    r.assert_error(StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type");
    let r = import(&app, &run, "?create_missing=maybe", REPORT).await;
    r.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    let r = import(&app, "run_999", "", REPORT).await;
    r.assert_error(StatusCode::NOT_FOUND, "not_found");
    let viewer = app.member(&project, "vera", "viewer").await;
    let r = app
        .raw(
            "POST",
            &format!("/v1/runs/{run}/results/junit?create_missing=true"),
            &viewer,
            Some(XML),
            REPORT,
        )
        .await;
    r.assert_error(StatusCode::FORBIDDEN, "forbidden");
    let tester = app.member(&project, "tess", "tester").await;
    let r = app
        .raw(
            "POST",
            &format!("/v1/runs/{run}/results/junit?create_missing=true"),
            &tester,
            Some(XML),
            REPORT,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let r = import(&app, &run, "", "<testsuites/>").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["data"]["updated"], 0);
}

#[tokio::test]
async fn idempotent_retry_applies_once() {
    let app = TestApp::new().await;
    let (_, run) = app.empty_run("JUnit").await;
    let send = || {
        app.send(
            axum::http::Request::post(format!("/v1/runs/{run}/results/junit?create_missing=true"))
                .header("authorization", format!("Bearer {}", app.admin))
                .header("content-type", XML)
                .header("idempotency-key", "ci-42-chunk-0")
                .body(axum::body::Body::from(REPORT))
                .unwrap(),
        )
    };
    let first = send().await;
    let second = send().await;
    assert_eq!(first.body, second.body);
    assert_eq!(second.headers["idempotent-replayed"], "true");
    let id = app.all_results(&run).await[0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(app.history(&run, &id).await.len(), 1);
}

/// API §4: for each corpus report, importing it with create_missing
/// leaves run counts equal to the last outcome per key.
#[tokio::test]
async fn every_corpus_report_imports_to_the_expected_counts() {
    let Some(dir) = corpus() else {
        println!("SKIPPED: no corpus directory beside the workspace");
        return;
    };
    let expected: Value =
        serde_json::from_slice(&std::fs::read(dir.join("expected.json")).unwrap()).unwrap();
    let app = TestApp::new().await;
    let mut imported = 0;
    for (file, exp) in expected.as_object().unwrap() {
        if file == "_meta" {
            continue;
        }
        let bytes = std::fs::read(dir.join(file)).unwrap();
        let (_, run) = app.empty_run("JUnit").await;
        let r = import(&app, &run, "?create_missing=true", bytes).await;
        if exp.get("parse_error").is_some() {
            r.assert_error(StatusCode::BAD_REQUEST, "malformed_request");
            continue;
        }
        assert_eq!(r.status, StatusCode::OK, "{file}: {}", r.body);
        // Last outcome per key, keys formed as the mapping table says.
        let mut last: HashMap<String, &str> = HashMap::new();
        let parsed = verdict_junit::parse(&std::fs::read(dir.join(file)).unwrap()).unwrap();
        for (case, tc) in exp["cases"]
            .as_array()
            .unwrap()
            .iter()
            .zip(&parsed.testcases)
        {
            let status = match case[2].as_str().unwrap() {
                "passed" => "passed",
                "skipped" => "blocked",
                _ => "failed",
            };
            last.insert(tc.key(), status);
        }
        let mut want = HashMap::from([("passed", 0), ("failed", 0), ("blocked", 0)]);
        for s in last.values() {
            *want.get_mut(s).unwrap() += 1;
        }
        let counts = app.counts(&run).await;
        for (status, n) in want {
            assert_eq!(counts[status], n, "{file}: {status} in {counts}");
        }
        assert_eq!(counts["total"], last.len() as i64, "{file}");
        imported += 1;
    }
    println!("corpus import: {imported} reports imported with the expected counts");
    assert!(imported >= 70);
}

/// A report covering most of its run (more than 256 testcases: the store
/// then reads the whole run at once instead of case by case) resolves keys
/// exactly as a small one: a deleted case's key no longer matches (a new
/// case is made), a project case outside the run is added, an unknown key
/// is created.
#[tokio::test]
async fn a_large_report_resolves_keys_like_a_small_one() {
    let app = TestApp::new().await;
    let project = app.project("Large").await;
    let cases: Vec<Value> = (0..300)
        .map(|i| json!({"title": format!("t{i}"), "key": format!("s.t{i}")}))
        .collect();
    let first = app.bulk_cases(&project, cases).await[0].clone();
    let run = app.run(&project, "nightly").await;
    let r = app.delete(&format!("/v1/cases/{first}"), &app.admin).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.body);
    app.post(
        &format!("/v1/projects/{project}/cases"),
        &app.admin,
        json!({"title": "outside", "key": "s.outside"}),
    )
    .await;

    let mut xml = String::from("<testsuite name=\"s\">");
    for i in 0..300 {
        if i % 10 == 3 {
            xml += &format!(
                "<testcase classname=\"s\" name=\"t{i}\"><failure message=\"no\"/></testcase>"
            );
        } else {
            xml += &format!("<testcase classname=\"s\" name=\"t{i}\"/>");
        }
    }
    xml += "<testcase classname=\"s\" name=\"outside\"/><testcase classname=\"s\" name=\"brandnew\"/></testsuite>";
    let r = import(&app, &run, "?create_missing=true", xml).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let data = &r.body["data"];
    assert_eq!(
        (
            &data["updated"],
            &data["matched"],
            &data["created"],
            &data["added"]
        ),
        (&json!(302), &json!(299), &json!(2), &json!(1)),
        "{data}"
    );
    // The deleted case keeps its untested result; t0 is a new case.
    assert_eq!(
        app.counts(&run).await,
        json!({"passed": 272, "failed": 30, "blocked": 0, "retest": 0, "not_tested": 1, "total": 303})
    );
    // Importing again matches every key in the run.
    let r = import(&app, &run, "", r#"<testsuite name="s"><testcase classname="s" name="t0"/><testcase classname="s" name="outside"/></testsuite>"#).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["data"]["matched"], 2, "{}", r.body);
}

const WITH_OUTPUT: &str = r#"<testsuite name="s">
  <testcase classname="C" name="broken">
    <system-err>warning: slow</system-err>
    <failure message="expected 4" type="AssertionError"><![CDATA[at C.broken(C.java:9)]]></failure>
    <system-out>step 1 &amp; 2 ok
step 3 &lt;fails&gt;</system-out>
  </testcase>
  <testcase classname="C" name="flaky">
    <flakyFailure message="boom"><stackTrace>attempt trace</stackTrace><system-out>attempt out</system-out></flakyFailure>
    <system-out>final out</system-out>
  </testcase>
  <testcase classname="C" name="quiet"/>
</testsuite>"#;

/// `GET path` as the admin, `?include=output` added.
async fn with_output(app: &TestApp, path: &str) -> common::Resp {
    let sep = if path.contains('?') { '&' } else { '?' };
    app.get(&format!("{path}{sep}include=output"), &app.admin)
        .await
}

#[tokio::test]
async fn testcase_output_is_kept_with_the_current_execution() {
    let app = TestApp::new().await;
    let (_, run) = app.empty_run("JUnit").await;
    let r = import(&app, &run, "?create_missing=true", WITH_OUTPUT).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let results = app.all_results(&run).await;
    let id = |i: usize| results[i]["id"].as_str().unwrap().to_string();
    // Without ?include=output there is no output field at all.
    assert!(results.iter().all(|r| r.get("output").is_none()));
    let plain = app
        .get(&format!("/v1/runs/{run}/results/{}", id(0)), &app.admin)
        .await;
    assert!(plain.data().get("output").is_none(), "{}", plain.body);

    let broken = with_output(&app, &format!("/v1/runs/{run}/results/{}", id(0))).await;
    assert_eq!(broken.status, StatusCode::OK, "{}", broken.body);
    assert_eq!(
        broken.data()["output"],
        "step 1 & 2 ok\nstep 3 <fails>\nwarning: slow\nat C.broken(C.java:9)"
    );
    // The note is what it was: type, message and body.
    assert_eq!(
        broken.data()["note"],
        "AssertionError: expected 4\nat C.broken(C.java:9)"
    );
    let quiet = with_output(&app, &format!("/v1/runs/{run}/results/{}", id(2))).await;
    assert_eq!(quiet.data()["output"], Value::Null);

    // A flaky pass: only its final execution carries output.
    let history = with_output(&app, &format!("/v1/runs/{run}/results/{}/history", id(1))).await;
    assert_eq!(history.status, StatusCode::OK, "{}", history.body);
    let outputs: Vec<&Value> = history
        .data()
        .as_array()
        .unwrap()
        .iter()
        .map(|h| &h["output"])
        .collect();
    assert_eq!(outputs, [&json!("final out"), &Value::Null], "newest first");
    // The list returns it too when asked.
    let listed = with_output(&app, &format!("/v1/runs/{run}/results")).await;
    assert_eq!(listed.data()[1]["output"], "final out");
}

#[tokio::test]
async fn output_is_cut_to_its_last_max_output_bytes() {
    let app = TestApp::with_limits(Limits {
        max_output_bytes: 1000,
        ..Limits::default()
    })
    .await;
    let (_, run) = app.empty_run("JUnit").await;
    let log: String = (0..5000).map(|i| format!("step {i}: ok ✓\n")).collect();
    let xml = format!(
        "<testsuite><testcase name=\"t\"><system-out>{log}</system-out>\
         <failure message=\"m\">the reason ✗</failure></testcase></testsuite>"
    );
    let r = import(&app, &run, "?create_missing=true", xml).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let id = app.all_results(&run).await[0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let got = with_output(&app, &format!("/v1/runs/{run}/results/{id}")).await;
    let output = got.data()["output"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(output.len() <= 1000, "{}", output.len());
    assert!(output.starts_with(verdict_junit::TAIL_MARKER), "{output}");
    assert!(
        output.ends_with("step 4999: ok ✓\nthe reason ✗"),
        "{output}"
    );
}
