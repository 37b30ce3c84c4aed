//! What an import records when a report leaves something out: a failure
//! with no message still gets a note (its type, its body, else the end of
//! the testcase's output), and a surefire rerun with no `time` takes the
//! testcase's.

use crate::common;

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

/// Imports `xml` into a new run with create_missing: the run's results.
async fn imported(app: &TestApp, xml: impl Into<axum::body::Body>) -> (String, Vec<Value>) {
    let (_, run) = app.empty_run("Notes").await;
    let r = app
        .raw(
            "POST",
            &format!("/v1/runs/{run}/results/junit?create_missing=true"),
            &app.admin,
            Some(XML),
            xml,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let results = app.all_results(&run).await;
    (run, results)
}

#[tokio::test]
async fn a_failure_without_a_message_is_noted_from_its_type_body_or_output() {
    let app = TestApp::new().await;
    let xml = "<testsuites>\
        <testsuite name=\"ctest\"><testcase name=\"math_test\" classname=\"math_test\" time=\"0.01\" status=\"fail\">\
          <failure message=\"\"/>\
          <system-out>running 3 checks\ncheck 1 ok\nAssertion failed: sum == 4 (math.c:12)\n</system-out>\
        </testcase></testsuite>\
        <testsuite name=\"cucumber\"><testcase classname=\"Checkout\" name=\"Pay by card\" time=\"0.2\">\
          <failure/><system-err>Error: card declined\n    at Pay (steps.js:9)</system-err>\
        </testcase>\
        <testcase classname=\"Checkout\" name=\"typed\"><failure message=\"\" type=\"AssertionError\"/>\
          <system-out>ignored</system-out></testcase>\
        <testcase classname=\"Checkout\" name=\"body\"><error message=\"\">expected 4, got 5</error></testcase>\
        <testcase classname=\"Checkout\" name=\"silent\"><failure/></testcase></testsuite>\
        </testsuites>";
    let (_, results) = imported(&app, xml).await;
    let notes: Vec<&Value> = results.iter().map(|r| &r["note"]).collect();
    assert_eq!(
        notes,
        [
            &json!("running 3 checks\ncheck 1 ok\nAssertion failed: sum == 4 (math.c:12)"),
            &json!("Error: card declined\n    at Pay (steps.js:9)"),
            &json!("AssertionError"),
            &json!("expected 4, got 5"),
            &Value::Null,
        ]
    );
    assert!(results.iter().all(|r| r["status"] == "failed"));
}

#[tokio::test]
async fn long_output_is_noted_by_its_tail_within_the_note_limit() {
    let app = TestApp::with_limits(Limits {
        max_note_bytes: 2000,
        ..Limits::default()
    })
    .await;
    let log: String = (0..20_000).map(|i| format!("step {i}: ok ✓\n")).collect();
    let xml = format!(
        "<testsuite><testcase name=\"t\"><failure message=\"\"/><system-out>{log}\
         step 20000: FAILED ✗</system-out></testcase></testsuite>"
    );
    let (_, results) = imported(&app, xml).await;
    let note = results[0]["note"].as_str().unwrap();
    assert!(note.len() <= 2000, "{}", note.len());
    assert!(note.starts_with("[truncated] …"), "{note}");
    assert!(
        note.ends_with("step 19999: ok ✓\nstep 20000: FAILED ✗"),
        "{note}"
    );
}

#[tokio::test]
async fn reruns_without_time_take_the_testcase_time() {
    let app = TestApp::new().await;
    let xml = "<testsuite name=\"s\">\
        <testcase classname=\"io.AlwaysFailTest\" name=\"testApp\" time=\"0.25\">\
          <failure message=\"built to fail\" type=\"AssertionFailedError\">trace</failure>\
          <rerunFailure message=\"built to fail\"><stackTrace>t1</stackTrace></rerunFailure>\
          <rerunFailure message=\"timed\" time=\"0.125\"/>\
          <rerunFailure message=\"built to fail\"><stackTrace>t3</stackTrace></rerunFailure>\
        </testcase>\
        <testcase classname=\"io.FlakyTest\" name=\"sometimes\" time=\"1.5\">\
          <flakyFailure message=\"once\"/></testcase>\
        </testsuite>";
    let (run, results) = imported(&app, xml).await;
    assert_eq!(results[0]["elapsed_ms"], 250, "the current result");
    let history = app.history(&run, results[0]["id"].as_str().unwrap()).await;
    let elapsed: Vec<&Value> = history.iter().map(|h| &h["elapsed_ms"]).collect();
    assert_eq!(
        elapsed,
        [&json!(250), &json!(125), &json!(250), &json!(250)],
        "newest first"
    );
    let flaky = app.history(&run, results[1]["id"].as_str().unwrap()).await;
    let elapsed: Vec<&Value> = flaky.iter().map(|h| &h["elapsed_ms"]).collect();
    assert_eq!(elapsed, [&json!(1500), &json!(1500)]);
}

/// The corpus's surefire 3.0.2 rerun report, read in place: its current
/// result (the last rerunFailure, which has no time) gets the testcase's.
#[tokio::test]
async fn the_corpus_surefire_rerun_report_has_an_elapsed_time() {
    let Some(dir) = corpus() else {
        println!("SKIPPED: no corpus directory beside the workspace");
        return;
    };
    let bytes = std::fs::read(dir.join("maven-surefire/surefire-3.0.2-rerunFailure.xml")).unwrap();
    let app = TestApp::new().await;
    let (_, results) = imported(&app, bytes).await;
    assert!(!results.is_empty());
    for r in &results {
        assert!(r["elapsed_ms"].is_u64(), "{r}");
    }
}
