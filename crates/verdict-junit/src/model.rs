//! What a parsed report is: testcases in document order with their final
//! outcome, details and flaky/rerun attempts.
//!
//! These types are plain data (serde-serialisable) so the CLI can send them and
//! the server can store them without knowing anything about XML.

use serde::{Deserialize, Serialize};

use crate::text::{clip, clip_tail};

/// A parsed report.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Report {
    /// Every `<testcase>` in document order (nested suites included).
    pub testcases: Vec<TestCase>,
    /// Number of `<testsuite>` elements seen (the root one included).
    pub suites: usize,
}

/// Outcome totals of a report.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    pub passed: usize,
    pub failed: usize,
    pub errored: usize,
    pub skipped: usize,
}

impl Counts {
    pub fn total(&self) -> usize {
        self.passed + self.failed + self.errored + self.skipped
    }
}

impl Report {
    /// Counts testcases by final outcome.
    pub fn counts(&self) -> Counts {
        let mut c = Counts::default();
        for tc in &self.testcases {
            match tc.outcome {
                Outcome::Passed => c.passed += 1,
                Outcome::Failed(_) => c.failed += 1,
                Outcome::Errored(_) => c.errored += 1,
                Outcome::Skipped { .. } => c.skipped += 1,
            }
        }
        c
    }

    /// Bytes of free text (details, messages, attempts) the report holds;
    /// names and suite names are not counted. Lets callers and tests check
    /// that big bodies and logs were not retained.
    pub fn retained_text_bytes(&self) -> usize {
        self.testcases
            .iter()
            .map(|tc| {
                let outcome = match &tc.outcome {
                    Outcome::Passed => 0,
                    Outcome::Failed(d) | Outcome::Errored(d) => d.retained_bytes(),
                    Outcome::Skipped { message } => message.as_ref().map_or(0, String::len),
                };
                outcome
                    + tc.attempts
                        .iter()
                        .map(|a| a.detail.retained_bytes())
                        .sum::<usize>()
            })
            .sum()
    }
}

/// `s` unless it is absent or whitespace.
fn part(s: &Option<String>) -> Option<&str> {
    s.as_deref().filter(|s| !s.trim().is_empty())
}

/// One `<testcase>`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TestCase {
    /// The `classname` attribute as written (`None` when absent).
    pub classname: Option<String>,
    /// The `name` attribute as written (`None` when absent).
    pub name: Option<String>,
    /// Name of the innermost enclosing `<testsuite>`, if it has one.
    pub suite: Option<String>,
    /// `time` in whole milliseconds; `None` when missing or unusable.
    pub time_ms: Option<u64>,
    /// Final outcome (error > failure > skipped > passed).
    pub outcome: Outcome,
    /// Surefire `flakyFailure`/`flakyError`/`rerunFailure`/`rerunError`
    /// children in document order. They never change `outcome`.
    pub attempts: Vec<Attempt>,
    /// The testcase's own `<properties>` (not its suite's), in document
    /// order. Their values share one budget of
    /// [`crate::Limits::max_text_bytes`] per testcase.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub properties: Vec<Property>,
    /// What the test printed and how it failed: the testcase's own
    /// `<system-out>` blocks, then its `<system-err>` blocks, then the body of
    /// the failure/error that decided its outcome, joined by newlines (blank
    /// parts left out, each trimmed). The last
    /// [`crate::Limits::max_output_bytes`] are kept, starting with
    /// [`crate::TAIL_MARKER`] when cut. A suite's own output and the output
    /// inside rerun/flaky attempts are not part of it. `None` when blank.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output: Option<String>,
}

/// One `<property name=… value=…/>` of a testcase; the value is the
/// `value` attribute, else the element's text (trimmed).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Property {
    pub name: String,
    pub value: String,
}

impl TestCase {
    /// The values of the properties named `name`, in document order.
    pub fn property_values<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.properties
            .iter()
            .filter(move |p| p.name == name)
            .map(|p| p.value.as_str())
    }
}

impl TestCase {
    /// Stable identity of the test across runs: `classname.name`, or whichever
    /// of the two is not blank, or the enclosing suite's name, or `(unnamed)`;
    /// then put in its stored form by [`crate::case_key`] (trimmed, long keys
    /// shortened), the rule the cases API applies to the keys it is sent.
    pub fn key(&self) -> String {
        let raw = match (part(&self.classname), part(&self.name)) {
            (Some(c), Some(n)) => format!("{c}.{n}"),
            (None, Some(one)) | (Some(one), None) => one.to_owned(),
            (None, None) => part(&self.suite).unwrap_or("(unnamed)").to_owned(),
        };
        crate::case_key(&raw).unwrap_or_else(|| "(unnamed)".to_owned())
    }
}

/// Final outcome of a testcase.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Outcome {
    Passed,
    Failed(Detail),
    Errored(Detail),
    /// `message` is the `<skipped message=…>` attribute, else its body text.
    Skipped {
        message: Option<String>,
    },
}

impl Outcome {
    /// Lower-case label: `passed`, `failed`, `errored` or `skipped`.
    pub fn label(&self) -> &'static str {
        match self {
            Outcome::Passed => "passed",
            Outcome::Failed(_) => "failed",
            Outcome::Errored(_) => "errored",
            Outcome::Skipped { .. } => "skipped",
        }
    }

    /// The failure/error detail, if the outcome has one.
    pub fn detail(&self) -> Option<&Detail> {
        match self {
            Outcome::Failed(d) | Outcome::Errored(d) => Some(d),
            Outcome::Passed | Outcome::Skipped { .. } => None,
        }
    }
}

/// What a `<failure>`/`<error>` (or attempt) said. Text is bounded by
/// [`crate::Limits::max_text_bytes`] and ends with
/// [`crate::TRUNCATION_MARKER`] when it was cut.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Detail {
    /// The `type` attribute (usually an exception class).
    pub kind: Option<String>,
    /// The `message` attribute.
    pub message: Option<String>,
    /// Start of the body text (CDATA included), trimmed; `None` when empty.
    pub text: Option<String>,
    /// The end of the testcase's `<system-out>` then `<system-err>` (joined
    /// by newlines), kept only when type, message and text are
    /// all blank, so such a failure still has a note. Bounded like the text;
    /// starts with [`crate::TAIL_MARKER`] when its start was cut. Always
    /// `None` for attempts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output: Option<String>,
}

impl Detail {
    /// A one-piece human note, `"type: message\ntext"` (absent or blank
    /// parts left out), cut on a char boundary to at most `limit_bytes`,
    /// ending with [`crate::TRUNCATION_MARKER`] when cut (if the marker
    /// fits). When all three are blank, the note is the tail of
    /// [`Detail::output`] instead: its last `limit_bytes`, starting with
    /// [`crate::TAIL_MARKER`] when cut.
    pub fn note(&self, limit_bytes: usize) -> String {
        if self.is_blank() {
            let output = self.output.as_deref().unwrap_or_default();
            return clip_tail(output, limit_bytes).into_owned();
        }
        let mut out = String::new();
        if let Some(kind) = part(&self.kind) {
            out.push_str(kind);
        }
        if let Some(message) = part(&self.message) {
            if !out.is_empty() {
                out.push_str(": ");
            }
            out.push_str(message);
        }
        if let Some(text) = part(&self.text) {
            if !out.is_empty() {
                out.push('\n');
            }
            out.push_str(text);
        }
        clip(&out, limit_bytes).into_owned()
    }

    /// Type, message and text are all absent or whitespace.
    pub fn is_blank(&self) -> bool {
        [&self.kind, &self.message, &self.text]
            .iter()
            .all(|s| s.as_deref().is_none_or(|s| s.trim().is_empty()))
    }

    fn retained_bytes(&self) -> usize {
        [&self.kind, &self.message, &self.text, &self.output]
            .iter()
            .map(|s| s.as_ref().map_or(0, String::len))
            .sum()
    }
}

/// One surefire rerun/flaky attempt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attempt {
    /// `true` for `flakyError`/`rerunError`, `false` for the `*Failure` ones.
    pub errored: bool,
    /// `type`/`message` attributes; text is the `<stackTrace>` child if
    /// present, else the element's own body.
    pub detail: Detail,
    /// The attempt's own `time` attribute, else the testcase's (surefire
    /// writes none on reruns).
    pub time_ms: Option<u64>,
}
