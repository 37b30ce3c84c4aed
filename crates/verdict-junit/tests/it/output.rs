//! A testcase's output: its `<system-out>`, then its `<system-err>`, then the
//! body of the failure or error that decided it, joined by newlines, the last
//! `max_output_bytes` kept.

use verdict_junit::{Limits, Outcome, TAIL_MARKER, TestCase, parse, parse_with, to_xml};

fn one_with(xml: &str, limits: &Limits) -> TestCase {
    let mut r = parse_with(xml.as_bytes(), limits).unwrap_or_else(|e| panic!("{e}\n{xml}"));
    assert_eq!(r.testcases.len(), 1, "{xml}");
    r.testcases.remove(0)
}

fn one(xml: &str) -> TestCase {
    one_with(xml, &Limits::default())
}

/// What the CLI sends the server reads back as the same testcases.
fn survives_to_xml(cases: &[TestCase], limits: &Limits) {
    let again = parse_with(to_xml(cases).as_bytes(), limits).expect("our own XML parses");
    assert_eq!(again.testcases, cases);
}

#[test]
fn out_then_err_then_the_failure_body_whatever_the_document_order() {
    let tc = one("<testsuite><testcase name=\"t\">\
         <system-err>err 1</system-err>\
         <failure message=\"m\" type=\"E\">\n  at Foo.bar(Foo.java:3)\n</failure>\
         <system-out>out 1</system-out>\
         <system-err>err 2</system-err>\
         <system-out>\n  out 2\n</system-out>\
         </testcase></testsuite>");
    assert_eq!(
        tc.output.as_deref(),
        // Blocks of one kind are joined as written (a block's own line ends kept).
        Some("out 1\n\n  out 2\nerr 1\nerr 2\nat Foo.bar(Foo.java:3)")
    );
    // The detail is unchanged: its text is the body, and no output note.
    let d = tc.outcome.detail().expect("failed");
    assert_eq!(d.text.as_deref(), Some("at Foo.bar(Foo.java:3)"));
    assert_eq!(d.output, None);
    survives_to_xml(&[tc], &Limits::default());
}

#[test]
fn passing_and_skipped_testcases_keep_their_output_but_not_a_skip_body() {
    let r = parse(
        b"<testsuite><testcase name=\"p\"><system-out>hello</system-out></testcase>\
          <testcase name=\"s\"><skipped>not on this OS</skipped><system-err>warn</system-err></testcase>\
          <testcase name=\"quiet\"><system-out>  \n </system-out></testcase></testsuite>",
    )
    .expect("parses");
    assert_eq!(r.testcases[0].output.as_deref(), Some("hello"));
    assert_eq!(r.testcases[1].output.as_deref(), Some("warn"));
    assert_eq!(r.testcases[2].output, None, "blank output is none");
    survives_to_xml(&r.testcases, &Limits::default());
}

#[test]
fn the_error_body_wins_over_the_failure_body_like_the_outcome() {
    let tc = one(
        "<testsuite><testcase name=\"t\"><failure>failure body</failure>\
         <error>error body</error><system-out>o</system-out></testcase></testsuite>",
    );
    assert!(matches!(tc.outcome, Outcome::Errored(_)));
    assert_eq!(tc.output.as_deref(), Some("o\nerror body"));
}

#[test]
fn suite_output_is_ignored() {
    let r = parse(
        b"<testsuites><testsuite><system-out>suite out</system-out>\
          <testcase name=\"a\"/><system-err>suite err</system-err></testsuite></testsuites>",
    )
    .expect("parses");
    assert_eq!(r.testcases[0].output, None);
}

#[test]
fn cdata_entities_and_line_ends_read_as_text() {
    let tc = one(
        "<testsuite><testcase name=\"t\"><system-out><![CDATA[<b>bold</b> & ]]>&lt;tag&gt; &amp; &#x1F600;\r\nnext\rlast</system-out>\
         <failure><![CDATA[x < y]]> &quot;q&quot;</failure></testcase></testsuite>",
    );
    assert_eq!(
        tc.output.as_deref(),
        Some("<b>bold</b> & <tag> & 😀\nnext\nlast\nx < y \"q\"")
    );
    survives_to_xml(&[tc], &Limits::default());
}

#[test]
fn only_the_final_execution_carries_output_attempts_add_none() {
    // Surefire writes system-out inside flaky/rerun elements too: those are
    // the attempts', not the testcase's.
    let tc = one("<testsuite><testcase classname=\"a.B\" name=\"flaky\">\
         <flakyFailure message=\"first\" type=\"E\"><stackTrace>attempt trace</stackTrace>\
         <system-out>attempt out</system-out><system-err>attempt err</system-err></flakyFailure>\
         <system-out>final out</system-out></testcase></testsuite>");
    assert!(matches!(tc.outcome, Outcome::Passed));
    assert_eq!(tc.attempts.len(), 1);
    assert_eq!(tc.attempts[0].detail.output, None);
    assert_eq!(tc.output.as_deref(), Some("final out"));
    let rerun = one(
        "<testsuite><testcase name=\"r\"><failure message=\"m\">first body</failure>\
         <rerunFailure message=\"again\"><stackTrace>rerun trace</stackTrace></rerunFailure>\
         <system-out>out</system-out></testcase></testsuite>",
    );
    assert_eq!(rerun.output.as_deref(), Some("out\nfirst body"));
    survives_to_xml(&[tc, rerun], &Limits::default());
}

#[test]
fn the_last_bytes_are_kept_on_a_char_boundary_with_the_tail_marker() {
    let log: String = (0..5000).map(|i| format!("line {i} 日本\n")).collect();
    let xml = format!(
        "<testsuite><testcase name=\"t\"><system-out>{log}</system-out>\
         <failure message=\"m\">the reason</failure></testcase></testsuite>"
    );
    let limits = Limits {
        max_output_bytes: 1001,
        ..Limits::default()
    };
    let tc = one_with(&xml, &limits);
    let output = tc.output.clone().unwrap_or_default();
    assert!(output.len() <= 1001, "{}", output.len());
    assert!(output.starts_with(TAIL_MARKER), "{output}");
    assert!(output.ends_with("line 4999 日本\nthe reason"), "{output}");
    // The failure's own text is not affected by the output limit.
    assert_eq!(
        tc.outcome.detail().and_then(|d| d.text.as_deref()),
        Some("the reason")
    );
    survives_to_xml(&[tc], &limits);
    // Exactly at the limit: nothing is cut, no marker.
    let exact = one_with(
        "<testsuite><testcase name=\"t\"><system-out>0123456789</system-out></testcase></testsuite>",
        &Limits {
            max_output_bytes: 10,
            ..Limits::default()
        },
    );
    assert_eq!(exact.output.as_deref(), Some("0123456789"));
    // 0 keeps no output at all; the blank-failure note still works.
    let none = one_with(
        "<testsuite><testcase name=\"t\"><failure/><system-out>why</system-out></testcase></testsuite>",
        &Limits {
            max_output_bytes: 0,
            ..Limits::default()
        },
    );
    assert_eq!(none.output, None);
    assert_eq!(
        none.outcome.detail().map(|d| d.note(100)).as_deref(),
        Some("why")
    );
}

#[test]
fn a_huge_log_keeps_only_its_end() {
    let line = "log line with some output\r\n";
    let log = line.repeat(20 * 1024 * 1024 / line.len());
    let body = "b".repeat(3 * 1024 * 1024);
    let xml = format!(
        "<testsuite><testcase name=\"t\"><system-out>{log}</system-out>\
         <system-err><![CDATA[{log}]]></system-err><failure>{body}</failure></testcase></testsuite>"
    );
    let tc = one(&xml);
    let output = tc.output.clone().unwrap_or_default();
    let limit = Limits::default().max_output_bytes;
    assert!(
        output.len() <= limit && output.len() > limit - 100,
        "{}",
        output.len()
    );
    assert!(output.starts_with(TAIL_MARKER));
    assert!(output.ends_with(&"b".repeat(1000)));
    survives_to_xml(&[tc], &Limits::default());
}

#[test]
fn a_blank_failure_is_still_noted_by_out_and_err() {
    let tc = one(
        "<testsuite><testcase name=\"t\"><system-err>err</system-err><failure message=\"\"/>\
         <system-out>out</system-out></testcase></testsuite>",
    );
    let d = tc.outcome.detail().expect("failed");
    assert_eq!(d.output.as_deref(), Some("out\nerr"));
    assert_eq!(d.note(1000), "out\nerr");
    assert_eq!(tc.output.as_deref(), Some("out\nerr"));
    survives_to_xml(&[tc], &Limits::default());
}
