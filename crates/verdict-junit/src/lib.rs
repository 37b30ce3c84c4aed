//! `verdict-junit`: JUnit / xUnit XML reports → test outcomes.
//!
//! The parser is streaming (it walks quick-xml `Reader` events and never builds
//! a DOM of the whole file), keeps a bounded amount of text per testcase, does
//! no I/O and never panics on any input. It is shared by the server (reports
//! arriving over HTTP) and the CLI (parsing files locally before uploading), so
//! both agree on what a report means.
//!
//! ```
//! let xml = br#"<testsuite name="s"><testcase classname="a.B" name="t" time="1.5"/></testsuite>"#;
//! let report = verdict_junit::parse(xml).expect("valid report");
//! assert_eq!(report.testcases[0].key(), "a.B.t");
//! assert_eq!(report.testcases[0].time_ms, Some(1500));
//! ```
//!
//! Modules: [`model`] holds the output types, `key` the case key rule
//! ([`case_key`]), `parser` the XML event loop,
//! `case` the per-testcase accumulator, `text` bounded text buffers, `time`
//! the `time` attribute rules, `attrs` start-tag attribute checks and `error`
//! the positioned error type.

mod attrs;
mod case;
mod error;
mod key;
pub mod model;
mod parser;
mod text;
mod time;
mod write;

pub use error::ParseError;
pub use key::{MAX_KEY_CHARS, case_key, case_text};
pub use model::{Attempt, Counts, Detail, Outcome, Property, Report, TestCase};
pub use text::{TAIL_MARKER, TRUNCATION_MARKER, tail};
pub use time::parse_time_ms;
pub use write::to_xml;

/// Resource limits for one parse. Both limits exist because reports come from
/// untrusted clients: depth bounds the parser's stack, text bounds what a
/// single testcase may make us keep in memory and store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Maximum element nesting (the root element is level 1). Deeper input is
    /// rejected with "nesting deeper than N levels".
    pub max_depth: usize,
    /// Bytes of failure/error/skipped detail (type + message + body) kept for
    /// a testcase's outcome. The testcase's rerun/flaky attempts share a second
    /// budget of the same size. Anything beyond is cut on a character boundary
    /// and ends with [`TRUNCATION_MARKER`].
    pub max_text_bytes: usize,
    /// Bytes of a testcase's output ([`TestCase::output`]: its own
    /// `<system-out>`, `<system-err>` and failure/error body) kept: the last
    /// this many, cut on a character boundary and starting with
    /// [`TAIL_MARKER`] when cut. 0 keeps none. While a testcase is read its
    /// output costs at most about eight times this in memory.
    pub max_output_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_depth: 32,
            max_text_bytes: 64 * 1024,
            max_output_bytes: 1024 * 1024,
        }
    }
}

/// Parses a JUnit/xUnit XML report with [`Limits::default()`].
pub fn parse(input: &[u8]) -> Result<Report, ParseError> {
    parse_with(input, &Limits::default())
}

/// Parses a JUnit/xUnit XML report with explicit limits.
///
/// The input must be UTF-8 (a UTF-8 BOM is fine). DTDs, entity declarations,
/// unknown entity references, malformed or truncated XML and roots other than
/// `<testsuites>` / `<testsuite>` are errors carrying the position where the
/// problem was found.
pub fn parse_with(input: &[u8], limits: &Limits) -> Result<Report, ParseError> {
    parser::run(input, limits)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn props(xml: &str) -> Vec<(String, String)> {
        let report = parse(xml.as_bytes()).expect("parses");
        report.testcases[0]
            .properties
            .iter()
            .map(|p| (p.name.clone(), p.value.clone()))
            .collect()
    }

    #[test]
    fn testcase_properties_are_read_from_value_or_text() {
        let got = props(
            "<testsuite name=\"s\"><properties><property name=\"suite\" value=\"no\"/></properties>\
             <testcase name=\"a\"><properties>\
             <property name=\"testrail_case_field\" value=\"refs:A-1, A-2\"/>\
             <property name=\"testrail_result_comment\">\n  two\r\n  lines &amp; more\n</property>\
             <property name=\"empty\"/>\
             <property name=\"both\" value=\"attr\">text</property>\
             </properties><failure message=\"m\"/></testcase></testsuite>",
        );
        assert_eq!(
            got,
            vec![
                ("testrail_case_field".into(), "refs:A-1, A-2".into()),
                (
                    "testrail_result_comment".into(),
                    "two\n  lines & more".into()
                ),
                ("empty".into(), String::new()),
                ("both".into(), "attr".into()),
            ]
        );
    }

    #[test]
    fn suite_properties_are_not_a_testcase_s() {
        assert!(props("<testsuite><properties><property name=\"x\" value=\"1\"/></properties><testcase name=\"a\"/></testsuite>").is_empty());
    }

    #[test]
    fn properties_round_trip_through_to_xml() {
        let xml = "<testsuite name=\"s\"><testcase name=\"a\"><properties>\
                   <property name=\"n\">line 1\nline \"2\" &lt;3&gt;</property></properties></testcase></testsuite>";
        let report = parse(xml.as_bytes()).expect("parses");
        let again = parse(to_xml(&report.testcases).as_bytes()).expect("parses again");
        assert_eq!(again.testcases, report.testcases);
    }

    #[test]
    fn property_values_share_the_text_limit() {
        let big = "v".repeat(1000);
        let many: String = (0..10)
            .map(|i| format!("<property name=\"p{i}\" value=\"{big}\"/>"))
            .collect();
        let xml = format!(
            "<testsuite><testcase name=\"a\"><properties>{many}</properties></testcase></testsuite>"
        );
        let limits = Limits {
            max_text_bytes: 2500,
            ..Limits::default()
        };
        let report = parse_with(xml.as_bytes(), &limits).expect("parses");
        let kept: usize = report.testcases[0]
            .properties
            .iter()
            .map(|p| p.value.len())
            .sum();
        assert!(kept <= 2500, "{kept}");
        assert_eq!(report.testcases[0].properties.len(), 10);
    }

    /// A ~50 MB `<system-out>` (with CRLFs, which would force a copy if we
    /// normalised ignored text) and a ~5 MB failure body: neither may be kept
    /// beyond the per-testcase limit.
    #[test]
    fn huge_output_is_not_retained() {
        let line = "log line with some output, more output and even more output\r\n";
        let log = line.repeat(50 * 1024 * 1024 / line.len());
        let body = "x".repeat(5 * 1024 * 1024);
        let xml = format!(
            "<testsuite name=\"s\"><system-out>{log}</system-out>\
             <testcase name=\"a\"><system-out><![CDATA[{log}]]></system-out></testcase>\
             <testcase name=\"b\"><failure message=\"m\">{body}</failure></testcase></testsuite>"
        );
        assert!(xml.len() > 100 * 1024 * 1024);
        let report = parse(xml.as_bytes()).expect("parses");
        assert_eq!(report.testcases.len(), 2);
        assert_eq!(report.testcases[0].outcome, Outcome::Passed);
        assert!(report.retained_text_bytes() <= Limits::default().max_text_bytes);
        let text = report.testcases[1]
            .outcome
            .detail()
            .and_then(|d| d.text.as_deref())
            .unwrap_or_default();
        assert!(text.ends_with(TRUNCATION_MARKER));
    }
}
