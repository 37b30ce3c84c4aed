//! Parsed testcases back to a JUnit XML document. The CLI parses reports
//! locally and uploads them in chunks; each chunk is written with this, so
//! the server reads exactly what the CLI read (`parse(to_xml(t))` gives `t`
//! back, which the corpus test checks for every file).
//!
//! A testcase's output is written as one `<system-out verdict-output="whole">`:
//! the attribute tells the parser that this block already is the whole
//! output (out, err and the failure body), so the failure body written
//! beside it is not added to the output a second time. Other readers ignore
//! the attribute and see the output as the testcase's standard output.

use std::borrow::Borrow;

use crate::model::{Attempt, Detail, Outcome, TestCase};

fn escape_into(out: &mut String, s: &str, attribute: bool) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' if attribute => out.push_str("&quot;"),
            // Attribute values would have these normalised to spaces.
            '\n' if attribute => out.push_str("&#10;"),
            '\r' => out.push_str("&#13;"),
            '\t' if attribute => out.push_str("&#9;"),
            c => out.push(c),
        }
    }
}

fn attr(out: &mut String, name: &str, value: Option<&str>) {
    if let Some(v) = value {
        out.push(' ');
        out.push_str(name);
        out.push_str("=\"");
        escape_into(out, v, true);
        out.push('"');
    }
}

fn seconds(ms: u64) -> String {
    format!("{}.{:03}", ms / 1000, ms % 1000)
}

fn detail(
    out: &mut String,
    element: &str,
    d: &Detail,
    time_ms: Option<u64>,
    text_element: Option<&str>,
) {
    out.push('<');
    out.push_str(element);
    attr(out, "type", d.kind.as_deref());
    attr(out, "message", d.message.as_deref());
    attr(out, "time", time_ms.map(seconds).as_deref());
    out.push('>');
    if let Some(text) = &d.text {
        if let Some(inner) = text_element {
            out.push_str(&format!("<{inner}>"));
            escape_into(out, text, false);
            out.push_str(&format!("</{inner}>"));
        } else {
            escape_into(out, text, false);
        }
    }
    out.push_str("</");
    out.push_str(element);
    out.push('>');
}

fn attempt(out: &mut String, a: &Attempt, flaky: bool) {
    let element = match (flaky, a.errored) {
        (true, false) => "flakyFailure",
        (true, true) => "flakyError",
        (false, false) => "rerunFailure",
        (false, true) => "rerunError",
    };
    detail(out, element, &a.detail, a.time_ms, Some("stackTrace"));
}

fn testcase(out: &mut String, tc: &TestCase) {
    out.push_str("<testcase");
    attr(out, "classname", tc.classname.as_deref());
    attr(out, "name", tc.name.as_deref());
    attr(out, "time", tc.time_ms.map(seconds).as_deref());
    out.push('>');
    if !tc.properties.is_empty() {
        out.push_str("<properties>");
        for p in &tc.properties {
            out.push_str("<property");
            attr(out, "name", Some(&p.name));
            attr(out, "value", Some(&p.value));
            out.push_str("/>");
        }
        out.push_str("</properties>");
    }
    match &tc.outcome {
        Outcome::Passed => {}
        Outcome::Failed(d) => detail(out, "failure", d, None, None),
        Outcome::Errored(d) => detail(out, "error", d, None, None),
        Outcome::Skipped { message } => {
            out.push_str("<skipped");
            attr(out, "message", message.as_deref());
            out.push_str("/>");
        }
    }
    // The output reads back as the same output, and the note of a blank
    // failure (the end of out and err, which the output then is) with it.
    if let Some(output) = &tc.output {
        out.push_str("<system-out verdict-output=\"whole\">");
        escape_into(out, output, false);
        out.push_str("</system-out>");
    } else if let Some(output) = tc.outcome.detail().and_then(|d| d.output.as_deref()) {
        out.push_str("<system-out>");
        escape_into(out, output, false);
        out.push_str("</system-out>");
    } else if tc.outcome.detail().is_some_and(|d| d.text.is_some()) {
        // No output (none was kept): the body must not become one.
        out.push_str("<system-out verdict-output=\"whole\"/>");
    }
    // Attempts of a passing case were flaky; of a failing one, reruns.
    let flaky = matches!(tc.outcome, Outcome::Passed | Outcome::Skipped { .. });
    for a in &tc.attempts {
        attempt(out, a, flaky);
    }
    out.push_str("</testcase>\n");
}

/// A `<testsuites>` document holding `testcases` in order; consecutive
/// testcases of one suite share a `<testsuite>` element.
pub fn to_xml<T: Borrow<TestCase>>(testcases: &[T]) -> String {
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites>\n");
    let mut i = 0;
    while i < testcases.len() {
        let suite = &testcases[i].borrow().suite;
        out.push_str("<testsuite");
        attr(&mut out, "name", suite.as_deref());
        out.push_str(">\n");
        while i < testcases.len() && &testcases[i].borrow().suite == suite {
            testcase(&mut out, testcases[i].borrow());
            i += 1;
        }
        out.push_str("</testsuite>\n");
    }
    out.push_str("</testsuites>\n");
    out
}
