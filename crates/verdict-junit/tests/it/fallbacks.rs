//! What the parser falls back on when a report leaves something out: a
//! failure with no message (ctest, cucumber-js) still gets a note, and a
//! surefire rerun with no `time` takes the testcase's.

use verdict_junit::{Limits, Outcome, TestCase, parse, parse_with, to_xml};

/// The tail marker: the note starts with it when output was cut.
const TAIL: &str = "[truncated] …";

fn one(xml: &str) -> TestCase {
    let mut r = parse(xml.as_bytes()).unwrap_or_else(|e| panic!("{e}\n{xml}"));
    assert_eq!(r.testcases.len(), 1, "{xml}");
    r.testcases.remove(0)
}

fn note(tc: &TestCase, limit: usize) -> String {
    tc.outcome.detail().expect("failed or errored").note(limit)
}

#[test]
fn an_empty_failure_notes_the_tail_of_the_testcase_output() {
    // ctest --output-junit: message="" and the test's output in system-out.
    let ctest = one(
        "<testsuite name=\"ctest\"><testcase name=\"math_test\" classname=\"math_test\" time=\"0.01\" status=\"fail\">\
         <failure message=\"\"/>\
         <system-out>running 3 checks\r\ncheck 1 ok\nAssertion failed: sum == 4 (math.c:12)\n</system-out>\
         </testcase></testsuite>",
    );
    assert!(matches!(ctest.outcome, Outcome::Failed(_)));
    assert_eq!(
        note(&ctest, 1000),
        "running 3 checks\ncheck 1 ok\nAssertion failed: sum == 4 (math.c:12)"
    );

    // cucumber-js: a bare <failure/>; output in system-err here, after system-out.
    let cucumber = one(
        "<testsuite><testcase classname=\"Feature\" name=\"Scenario\">\
         <system-out>Given a step</system-out><failure/>\
         <system-err><![CDATA[Error: step failed\n    at World.<anonymous>]]></system-err>\
         </testcase></testsuite>",
    );
    assert_eq!(
        note(&cucumber, 1000),
        "Given a step\nError: step failed\n    at World.<anonymous>"
    );
    // The same for <error>.
    let errored = one(
        "<testsuite><testcase name=\"e\"><error message=\" \"/><system-err>boom</system-err></testcase></testsuite>",
    );
    assert_eq!(note(&errored, 1000), "boom");
}

#[test]
fn type_and_body_come_before_the_output() {
    let typed = one(
        "<testsuite><testcase name=\"t\"><failure message=\"\" type=\"AssertionError\"/>\
         <system-out>out</system-out></testcase></testsuite>",
    );
    assert_eq!(note(&typed, 1000), "AssertionError");
    let body = one(
        "<testsuite><testcase name=\"t\"><failure message=\"\">expected 4, got 5</failure>\
         <system-out>out</system-out></testcase></testsuite>",
    );
    assert_eq!(note(&body, 1000), "expected 4, got 5");
    // Output of a passing testcase, or of a suite, is never kept.
    let passed = parse(
        b"<testsuite><system-out>suite</system-out><testcase name=\"p\"><system-out>x</system-out></testcase>\
          <testcase name=\"f\"><failure/></testcase></testsuite>",
    )
    .expect("parses");
    assert_eq!(passed.retained_text_bytes(), 0);
    assert_eq!(note(&passed.testcases[1], 1000), "");
}

#[test]
fn long_output_keeps_its_tail_on_a_char_boundary_with_a_marker() {
    let log: String = (0..5000).map(|i| format!("line {i} 日本\n")).collect();
    let xml = format!(
        "<testsuite><testcase name=\"t\"><failure message=\"\"/><system-out>{log}</system-out></testcase></testsuite>"
    );
    let limits = Limits {
        max_text_bytes: 1000,
        ..Limits::default()
    };
    let report = parse_with(xml.as_bytes(), &limits).expect("parses");
    assert!(report.retained_text_bytes() <= 1000);
    let tc = &report.testcases[0];
    let full = note(tc, 1000);
    assert!(full.starts_with(TAIL), "{full}");
    assert!(full.ends_with("line 4999 日本"), "{full}");
    assert!(full.len() <= 1000);
    // A smaller note limit keeps a shorter tail, still on a char boundary.
    for limit in [40, 101, 333] {
        let n = note(tc, limit);
        assert!(n.len() <= limit, "{limit}: {n}");
        assert!(n.starts_with(TAIL) && n.ends_with("日本"), "{limit}: {n}");
    }
    // What the CLI re-sends reads back the same.
    let again = parse_with(to_xml(&report.testcases).as_bytes(), &limits).expect("parses");
    assert_eq!(again.testcases, report.testcases);
}

#[test]
fn an_attempt_without_time_takes_the_testcase_time() {
    let tc = one(
        "<testsuite><testcase classname=\"a.AlwaysFailTest\" name=\"testApp\" time=\"0.25\">\
         <failure message=\"built to fail\" type=\"AssertionFailedError\">trace</failure>\
         <rerunFailure message=\"built to fail\" type=\"AssertionFailedError\"><stackTrace>t1</stackTrace></rerunFailure>\
         <rerunFailure message=\"again\" time=\"0.125\"/>\
         <rerunError message=\"last\"/>\
         </testcase></testsuite>",
    );
    let times: Vec<_> = tc.attempts.iter().map(|a| a.time_ms).collect();
    assert_eq!(times, [Some(250), Some(125), Some(250)]);
    let flaky = one(
        "<testsuite><testcase name=\"f\" time=\"1.5\"><flakyFailure message=\"m\"/></testcase></testsuite>",
    );
    assert_eq!(flaky.attempts[0].time_ms, Some(1500));
    // No time anywhere stays unknown.
    let none = one("<testsuite><testcase name=\"n\"><flakyError/></testcase></testsuite>");
    assert_eq!(none.attempts[0].time_ms, None);
}
