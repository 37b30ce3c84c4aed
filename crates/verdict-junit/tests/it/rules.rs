//! The product rules on small inline documents: time, key, outcome precedence,
//! details and their truncation, flaky/rerun attempts, XML surface oddities,
//! and a generated 10,000-testcase report.

use std::time::Instant;

use verdict_junit::{
    Detail, Limits, Outcome, Report, TRUNCATION_MARKER, TestCase, parse, parse_time_ms, parse_with,
};

fn ok(xml: &str) -> Report {
    parse(xml.as_bytes()).unwrap_or_else(|e| panic!("{e}\n{xml}"))
}

fn one(xml: &str) -> TestCase {
    let mut r = ok(xml);
    assert_eq!(r.testcases.len(), 1, "{xml}");
    r.testcases.remove(0)
}

fn case(body: &str) -> TestCase {
    one(&format!(
        "<testsuite name=\"S\"><testcase classname=\"C\" name=\"n\">{body}</testcase></testsuite>"
    ))
}

#[test]
fn time_attribute_rules() {
    let time = |t: &str| {
        one(&format!(
            "<testsuite><testcase name=\"x\" time=\"{t}\"/></testsuite>"
        ))
        .time_ms
    };
    assert_eq!(time("1.234"), Some(1234));
    assert_eq!(time("1,234.5"), Some(1_234_500));
    assert_eq!(time("1e-3"), Some(1));
    assert_eq!(time(" 2.5 "), Some(2500));
    assert_eq!(time("0.0005"), Some(0));
    for bad in ["", "-1.5", "NaN", "inf", "abc", "1e999", "&lt;computed&gt;"] {
        assert_eq!(time(bad), None, "{bad:?}");
    }
    assert_eq!(
        one("<testsuite><testcase name=\"x\"/></testsuite>").time_ms,
        None
    );
    assert_eq!(parse_time_ms("4.50611114501953e-05"), Some(0));
    assert_eq!(parse_time_ms("2126.5310000000004"), Some(2_126_531));
}

#[test]
fn key_rule() {
    let key = |attrs: &str, suite: &str| {
        one(&format!(
            "<testsuites><testsuite {suite}><testcase {attrs}/></testsuite></testsuites>"
        ))
        .key()
    };
    assert_eq!(key(r#"classname="a.B" name="t""#, ""), "a.B.t");
    assert_eq!(key(r#"name="t""#, ""), "t");
    assert_eq!(key(r#"classname="" name="t""#, ""), "t");
    assert_eq!(key(r#"classname="a.B""#, ""), "a.B");
    assert_eq!(key(r#"classname="a.B" name="""#, ""), "a.B");
    assert_eq!(key(r#"classname="" name="""#, r#"name="Suite""#), "Suite");
    assert_eq!(key("", r#"name="""#), "(unnamed)");
    assert_eq!(key("", ""), "(unnamed)");
    // Attributes are kept exactly as written: empty is not absent.
    let tc = one(r#"<testsuite><testcase classname="" /></testsuite>"#);
    assert_eq!(
        (tc.classname.as_deref(), tc.name.as_deref()),
        (Some(""), None)
    );
}

#[test]
fn outcome_precedence() {
    assert_eq!(case("").outcome, Outcome::Passed);
    assert_eq!(case("<system-out>x</system-out>").outcome, Outcome::Passed);
    assert!(matches!(
        case("<skipped/><failure/>").outcome,
        Outcome::Failed(_)
    ));
    assert!(matches!(
        case("<failure/><error/><skipped/>").outcome,
        Outcome::Errored(_)
    ));
    assert!(matches!(
        case("<error/><failure/>").outcome,
        Outcome::Errored(_)
    ));
    assert_eq!(
        case("<skipped message=\"why\"/>").outcome,
        Outcome::Skipped {
            message: Some("why".into())
        }
    );
    assert_eq!(
        case("<skipped><![CDATA[ because ]]></skipped>").outcome,
        Outcome::Skipped {
            message: Some("because".into())
        }
    );
    // The first element of the winning kind keeps its detail.
    let tc = case(
        r#"<failure type="F1" message="first">one</failure><error type="E1" message="e1">
           <![CDATA[trace 1]]></error><error type="E2">two</error>"#,
    );
    let want = Detail {
        kind: Some("E1".into()),
        message: Some("e1".into()),
        text: Some("trace 1".into()),
        output: None,
    };
    assert_eq!(tc.outcome, Outcome::Errored(want));
    let tc = case(r#"<failure message="a">x</failure><failure message="b">y</failure>"#);
    assert_eq!(
        tc.outcome.detail().and_then(|d| d.message.as_deref()),
        Some("a")
    );
    // Only direct children count; results elsewhere are ignored.
    assert_eq!(
        case("<system-out><failure/></system-out>").outcome,
        Outcome::Passed
    );
    assert_eq!(
        ok("<testsuite><error message=\"suite level\"/></testsuite>")
            .testcases
            .len(),
        0
    );
}

#[test]
fn not_run_attributes_mean_skipped() {
    let status = |attrs: &str, body: &str| {
        one(&format!(
            "<testsuite><testcase name=\"t\" {attrs}>{body}</testcase></testsuite>"
        ))
        .outcome
    };
    for attrs in [
        r#"status="notrun""#,
        r#"status="disabled""#,
        r#"result="suppressed""#,
        r#"result="skipped""#,
    ] {
        assert_eq!(
            status(attrs, ""),
            Outcome::Skipped { message: None },
            "{attrs}"
        );
    }
    for attrs in [
        r#"status="run""#,
        r#"result="completed""#,
        r#"status="passed""#,
    ] {
        assert_eq!(status(attrs, ""), Outcome::Passed, "{attrs}");
    }
    // A result element wins over the attribute.
    assert!(matches!(
        status(r#"status="notrun""#, "<failure/>"),
        Outcome::Failed(_)
    ));
}

#[test]
fn detail_text_is_unescaped_bounded_and_noted() {
    let tc = case(
        "<failure type=\"T\" message=\"a &amp; b &lt;c&gt; &#x1F600;&#10;next\">\r\n  x &lt; y\r\n<![CDATA[<raw> & ]]>&quot;q&quot;\r\n</failure>",
    );
    let d = tc.outcome.detail().cloned().unwrap_or_default();
    assert_eq!(d.message.as_deref(), Some("a & b <c> 😀\nnext"));
    assert_eq!(d.text.as_deref(), Some("x < y\n<raw> & \"q\""));
    assert_eq!(d.note(1000), "T: a & b <c> 😀\nnext\nx < y\n<raw> & \"q\"");

    // Bodies are capped at max_text_bytes (type + message + body).
    let limits = Limits {
        max_text_bytes: 100,
        ..Limits::default()
    };
    let big = format!(
        "<testsuite><testcase name=\"t\"><error type=\"T\" message=\"m\">{}</error></testcase></testsuite>",
        "é".repeat(10_000)
    );
    let report = parse_with(big.as_bytes(), &limits).expect("parses");
    let d = report.testcases[0]
        .outcome
        .detail()
        .cloned()
        .unwrap_or_default();
    let text = d.text.unwrap_or_default();
    assert!(text.ends_with(TRUNCATION_MARKER), "{text}");
    assert!(text.len() + 2 <= 100, "{}", text.len());
    assert!(report.retained_text_bytes() <= 100);
}

#[test]
fn note_truncates_on_a_char_boundary() {
    let d = Detail {
        kind: Some("Err".into()),
        message: Some("€".repeat(20)),
        text: Some("😀".repeat(20)),
        output: None,
    };
    let full = d.note(10_000);
    assert!(full.starts_with("Err: €€") && full.contains('\n'));
    for limit in 0..full.len() + 2 {
        let n = d.note(limit);
        assert!(n.len() <= limit, "limit {limit}: {} bytes", n.len());
        if limit >= full.len() {
            assert_eq!(n, full);
        } else if limit >= TRUNCATION_MARKER.len() {
            assert!(n.ends_with(TRUNCATION_MARKER), "limit {limit}: {n}");
        }
    }
    // 25 - 15 (marker) = 10 bytes of content: "Err: " + one '€' is 8; a
    // second '€' would end at byte 11, so the cut falls before it.
    assert_eq!(d.note(25), format!("Err: €{TRUNCATION_MARKER}"));
    assert_eq!(Detail::default().note(10), "");
    let only_message = Detail {
        message: Some("m".into()),
        ..Detail::default()
    };
    assert_eq!(only_message.note(10), "m");
}

#[test]
fn flaky_and_rerun_attempts_are_captured() {
    let tc = case(
        r#"<flakyFailure message="first" type="java.lang.AssertionError" time="0.5">
             <stackTrace><![CDATA[at A.b(A.java:1)]]></stackTrace>
             <system-out>noise</system-out><system-err>noise</system-err>
           </flakyFailure>
           <flakyError message="second" type="IOError"><stackTrace>at C.d</stackTrace></flakyError>"#,
    );
    assert_eq!(tc.outcome, Outcome::Passed);
    assert_eq!(tc.attempts.len(), 2);
    assert!(!tc.attempts[0].errored && tc.attempts[1].errored);
    assert_eq!(tc.attempts[0].time_ms, Some(500));
    assert_eq!(tc.attempts[0].detail.message.as_deref(), Some("first"));
    assert_eq!(
        tc.attempts[0].detail.text.as_deref(),
        Some("at A.b(A.java:1)")
    );
    assert_eq!(tc.attempts[1].detail.kind.as_deref(), Some("IOError"));

    let tc = case(
        r#"<failure message="final">last</failure>
           <rerunFailure message="r1" type="T">body one</rerunFailure>
           <rerunError message="r2"><stackTrace>st2</stackTrace></rerunError>"#,
    );
    assert!(matches!(tc.outcome, Outcome::Failed(_)));
    let got: Vec<_> = tc
        .attempts
        .iter()
        .map(|a| (a.errored, a.detail.text.clone()))
        .collect();
    assert_eq!(
        got,
        vec![(false, Some("body one".into())), (true, Some("st2".into()))]
    );
}

#[test]
fn xml_surface_variants() {
    let xml = "\u{FEFF}<?xml version='1.1' encoding='utf-8'?>\r\n<testsuites>\r\n<testsuite name='s1'>\r\n\
               <testcase classname='a&amp;b' name='&lt;&#x1D11E;&gt; 𝄞 \u{1F600}'/>\r\n</testsuite>\r\n</testsuites>\r\n";
    let tc = one(xml);
    assert_eq!(tc.classname.as_deref(), Some("a&b"));
    assert_eq!(tc.name.as_deref(), Some("<𝄞> 𝄞 😀"));
    assert_eq!(tc.suite.as_deref(), Some("s1"));

    // Nested suites: the innermost one names the testcase's suite.
    let r = ok(r#"<testsuites><testsuite name="outer"><testcase name="a"/>
        <testsuite name="inner"><testsuite><testcase name="b"/></testsuite><testcase name="c"/></testsuite>
        <testcase name="d"/></testsuite><testsuite name="e"/></testsuites>"#);
    let got: Vec<_> = r
        .testcases
        .iter()
        .map(|t| (t.key(), t.suite.clone()))
        .collect();
    let want = [
        ("a", Some("outer")),
        ("b", None),
        ("c", Some("inner")),
        ("d", Some("outer")),
    ];
    let want: Vec<_> = want
        .iter()
        .map(|(k, s)| (k.to_string(), s.map(str::to_owned)))
        .collect();
    assert_eq!(got, want);
    assert_eq!(r.suites, 4);

    assert_eq!(ok("<testsuites/>").testcases.len(), 0);
    assert_eq!(
        ok("<!-- c --><?pi x?><testsuite tests=\"3\"></testsuite>\n<!-- after -->\n").suites,
        1
    );
    // Unknown elements and namespaced attributes are ignored, not errors.
    let tc = case(
        r#"<properties><property name="a" value="b">text</property></properties><x:y xmlns:x="u" x:z="1"><failure/></x:y>"#,
    );
    assert_eq!(tc.outcome, Outcome::Passed);
}

#[test]
fn ten_thousand_testcases() {
    let mut xml = String::from("<?xml version=\"1.0\"?>\n<testsuites>\n");
    for s in 0..100 {
        xml.push_str(&format!("<testsuite name=\"suite{s}\" tests=\"100\">\n"));
        for c in 0..100 {
            let body = match c % 10 {
                0 => {
                    "<failure message=\"boom\" type=\"AssertionError\">trace line\n  at x</failure>"
                }
                1 => "<skipped/>",
                2 => "<error message=\"err\"/>",
                _ => "<system-out>some output</system-out>",
            };
            xml.push_str(&format!("  <testcase classname=\"pkg.C{s}\" name=\"test_{c}\" time=\"0.{c:03}\">{body}</testcase>\n"));
        }
        xml.push_str("</testsuite>\n");
    }
    xml.push_str("</testsuites>\n");
    let start = Instant::now();
    let report = parse(xml.as_bytes()).expect("generated report parses");
    println!(
        "parsed {} testcases ({} bytes) in {:?}",
        report.testcases.len(),
        xml.len(),
        start.elapsed()
    );
    let c = report.counts();
    assert_eq!(
        (c.total(), c.failed, c.skipped, c.errored, c.passed),
        (10_000, 1000, 1000, 1000, 7000)
    );
    assert_eq!(report.testcases[9_999].key(), "pkg.C99.test_99");
    assert_eq!(report.testcases[9_999].time_ms, Some(99));
}

#[test]
fn report_round_trips_through_json() {
    let report = ok(
        r#"<testsuite name="s"><testcase name="a"><failure type="T">x</failure>
        <flakyError message="m"/></testcase><testcase name="b" status="notrun"/></testsuite>"#,
    );
    let json = serde_json::to_string(&report).expect("serialises");
    assert!(json.contains(r#""outcome":"failed","kind":"T""#), "{json}");
    let back: Report = serde_json::from_str(&json).expect("deserialises");
    assert_eq!(back, report);
}
