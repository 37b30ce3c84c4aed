//! Property-based fuzzing of the parser (stable Rust, so proptest rather
//! than cargo-fuzz): no input makes it panic, mutations of real reports
//! included, and any report it can represent survives `to_xml` and back.
//! CI runs the default case counts; set PROPTEST_CASES for longer runs.

use proptest::prelude::*;
use verdict_junit::{Attempt, Detail, Outcome, TestCase, parse, to_xml};

const SEED_REPORT: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<testsuites name="all" tests="3">
  <testsuite name="s" time="1.5">
    <properties><property name="k" value="v"/></properties>
    <testcase classname="a.B" name="ok" time="0.1"/>
    <testcase classname="a.B" name="bad" time="1,234.5"><failure type="E" message="m &amp; n">trace <![CDATA[<raw>]]></failure></testcase>
    <testcase name="skip"><skipped message="later"/><system-out>out</system-out></testcase>
    <testcase classname="a.B" name="flaky"><flakyFailure message="f"><stackTrace>st</stackTrace></flakyFailure></testcase>
  </testsuite>
</testsuites>"#;

fn text() -> impl Strategy<Value = String> {
    // Mostly printable, with the characters XML cares about and some unicode.
    proptest::string::string_regex("[a-zA-Z0-9 <>&\"'\\t\\n.,:;/()\\[\\]{}é😀-]{0,24}").unwrap()
}

fn detail() -> impl Strategy<Value = Detail> {
    (
        proptest::option::of(text()),
        proptest::option::of(text()),
        proptest::option::of(text()),
        proptest::option::of(text()),
    )
        .prop_map(|(kind, message, text, output)| {
            let mut d = Detail {
                kind,
                message,
                // The parser trims body text and drops an empty one.
                text: text.map(|t| t.trim().to_string()).filter(|t| !t.is_empty()),
                output: None,
            };
            // Output is kept, trimmed, only when nothing else is said.
            if d.is_blank() {
                d.output = output
                    .map(|t| t.trim().to_string())
                    .filter(|t| !t.is_empty());
            }
            d
        })
}

fn testcase() -> impl Strategy<Value = TestCase> {
    let outcome = prop_oneof![
        Just(Outcome::Passed),
        detail().prop_map(Outcome::Failed),
        detail().prop_map(Outcome::Errored),
        // The parser never reports an empty skip message (it means none).
        proptest::option::of(text()).prop_map(|message| Outcome::Skipped {
            message: message.filter(|m| !m.is_empty())
        }),
    ];
    let attempt = (
        any::<bool>(),
        detail(),
        proptest::option::of(0u64..10_000_000),
    )
        .prop_map(|(errored, detail, time_ms)| Attempt {
            errored,
            // Attempts never carry the testcase's output.
            detail: Detail {
                output: None,
                ..detail
            },
            time_ms,
        });
    (
        proptest::option::of(text()),
        proptest::option::of(text()),
        proptest::option::of(text()),
        proptest::option::of(0u64..100_000_000),
        outcome,
        proptest::collection::vec(attempt, 0..3),
        proptest::option::of(text()),
    )
        .prop_map(
            |(classname, name, suite, time_ms, mut outcome, mut attempts, output)| {
                // An attempt without a time takes the testcase's.
                for a in &mut attempts {
                    a.time_ms = a.time_ms.or(time_ms);
                }
                // The parser trims output and drops a blank one.
                let output = output
                    .map(|t| t.trim().to_string())
                    .filter(|t| !t.is_empty());
                // A blank failure is noted by the end of the output, which
                // (with no body) is its out and err.
                if let Outcome::Failed(d) | Outcome::Errored(d) = &mut outcome
                    && d.is_blank()
                {
                    d.output = output.clone();
                }
                TestCase {
                    classname,
                    name,
                    suite,
                    time_ms,
                    outcome,
                    attempts,
                    properties: Vec::new(),
                    output,
                }
            },
        )
}

/// 2,000 per property in CI; `PROPTEST_CASES=1000000` for a long run.
fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2000)
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: cases(),
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = parse(&bytes);
    }

    #[test]
    fn mutated_real_reports_never_panic(
        edits in proptest::collection::vec((0usize..SEED_REPORT.len(), any::<u8>(), 0u8..3), 1..8)
    ) {
        let mut bytes = SEED_REPORT.as_bytes().to_vec();
        for (at, byte, kind) in edits {
            let at = at.min(bytes.len());
            match kind {
                0 if at < bytes.len() => bytes[at] = byte,
                1 => bytes.insert(at, byte),
                _ if at < bytes.len() => { bytes.remove(at); }
                _ => {}
            }
        }
        let _ = parse(&bytes);
    }

    #[test]
    fn truncations_of_a_real_report_are_errors(cut in 0usize..SEED_REPORT.len() - 14) {
        prop_assert!(parse(&SEED_REPORT.as_bytes()[..cut]).is_err());
    }

    #[test]
    fn written_reports_read_back_identically(cases in proptest::collection::vec(testcase(), 0..6)) {
        let again = parse(to_xml(&cases).as_bytes());
        prop_assert!(again.is_ok(), "{:?}", again.err());
        prop_assert_eq!(again.map(|r| r.testcases).unwrap_or_default(), cases);
    }
}
