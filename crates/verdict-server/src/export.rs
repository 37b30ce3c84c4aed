//! A run's results as a file: CSV for spreadsheets, JUnit XML for other
//! tools (and for importing into another run: the properties carry what
//! the JUnit elements cannot say). The API (`GET /v1/runs/:rid/export`)
//! and the run page's download links both write with this.

use std::collections::HashMap;
use std::fmt::Write;

use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use verdict_store::{ExportRow, Run, Status, StoreError, UserId};

use crate::error::ApiResult;
use crate::state::AppState;

/// The two formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Csv,
    Junit,
}

impl Format {
    pub fn parse(s: &str) -> Option<Format> {
        match s {
            "csv" => Some(Format::Csv),
            "junit" => Some(Format::Junit),
            _ => None,
        }
    }
}

/// A run's rows and the email of every user they name (looked up once
/// per distinct user; a user that is gone shows as their id).
pub struct Export {
    pub run: Run,
    pub rows: Vec<ExportRow>,
    pub emails: HashMap<UserId, String>,
}

impl Export {
    pub async fn load(state: &AppState, run: Run) -> ApiResult<Export> {
        let rows = state.store.export_rows(run.id).await?;
        let mut users: Vec<UserId> = Vec::new();
        for r in &rows {
            for user in [r.result.tested_by, r.result.assigned_to]
                .into_iter()
                .flatten()
            {
                if !users.contains(&user) {
                    users.push(user);
                }
            }
        }
        let mut emails = HashMap::new();
        for user in users {
            let email = match state.store.get_user(user).await {
                Ok(u) => u.email,
                Err(StoreError::NotFound) => user.to_string(),
                Err(e) => return Err(e.into()),
            };
            emails.insert(user, email);
        }
        Ok(Export { run, rows, emails })
    }

    fn email(&self, user: Option<UserId>) -> String {
        user.map(|u| {
            self.emails
                .get(&u)
                .cloned()
                .unwrap_or_else(|| u.to_string())
        })
        .unwrap_or_default()
    }

    /// The file as an HTTP answer: type, a download name and the bytes.
    pub fn response(&self, format: Format) -> Response {
        let (body, content_type, ext) = match format {
            Format::Csv => (self.csv(), "text/csv; charset=utf-8", "csv"),
            Format::Junit => (self.junit(), "application/xml", "xml"),
        };
        let disposition = format!("attachment; filename=\"{}.{ext}\"", self.run.id);
        let mut response = body.into_response();
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
        if let Ok(v) = HeaderValue::from_str(&disposition) {
            headers.insert(header::CONTENT_DISPOSITION, v);
        }
        response
    }

    /// RFC 4180: a header row, then one row per result, CRLF line ends.
    pub fn csv(&self) -> String {
        let mut out = String::new();
        row(
            &mut out,
            [
                "result_id",
                "case_id",
                "case_key",
                "title",
                "suite",
                "status",
                "note",
                "elapsed_ms",
                "tested_by",
                "tested_at",
                "assigned_to",
                "defects",
                "step_results",
            ]
            .map(str::to_string),
        );
        for r in &self.rows {
            let t = &r.result;
            row(
                &mut out,
                [
                    t.id.to_string(),
                    t.case_id.to_string(),
                    r.case_key.clone().unwrap_or_default(),
                    t.case_title.clone(),
                    r.suite.clone().unwrap_or_default(),
                    t.status.as_str().to_string(),
                    t.note.clone().unwrap_or_default(),
                    t.elapsed_ms.map(|ms| ms.to_string()).unwrap_or_default(),
                    self.email(t.tested_by),
                    t.tested_at.map(|at| at.to_string()).unwrap_or_default(),
                    self.email(t.assigned_to),
                    t.defects.join(", "),
                    step_summary(&t.step_results),
                ],
            );
        }
        out
    }

    /// One `<testsuite>` per suite (in order of first appearance; cases
    /// without one under the run's name), each testcase with the
    /// properties that let an import restore it exactly.
    pub fn junit(&self) -> String {
        let mut suites: Vec<(String, Vec<&ExportRow>)> = Vec::new();
        for r in &self.rows {
            let suite = r.suite.clone().unwrap_or_else(|| self.run.name.clone());
            match suites.iter_mut().find(|(s, _)| *s == suite) {
                Some((_, rows)) => rows.push(r),
                None => suites.push((suite, vec![r])),
            }
        }
        let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
        let (failures, skipped) = tally(self.rows.iter());
        let _ = writeln!(
            out,
            "<testsuites name=\"{}\" tests=\"{}\" failures=\"{failures}\" skipped=\"{skipped}\">",
            xml(&self.run.name),
            self.rows.len()
        );
        for (suite, rows) in &suites {
            let (failures, skipped) = tally(rows.iter().copied());
            let _ = writeln!(
                out,
                "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{failures}\" skipped=\"{skipped}\">",
                xml(suite),
                rows.len()
            );
            for r in rows {
                testcase(&mut out, r, suite);
            }
            out.push_str("  </testsuite>\n");
        }
        out.push_str("</testsuites>\n");
        out
    }
}

fn tally<'a>(rows: impl Iterator<Item = &'a ExportRow>) -> (usize, usize) {
    let mut failures = 0;
    let mut skipped = 0;
    for r in rows {
        match r.result.status {
            Status::Failed => failures += 1,
            Status::Passed => {}
            _ => skipped += 1,
        }
    }
    (failures, skipped)
}

fn testcase(out: &mut String, r: &ExportRow, suite: &str) {
    let t = &r.result;
    let _ = write!(
        out,
        "    <testcase name=\"{}\" classname=\"{}\"",
        xml(&t.case_title),
        xml(suite)
    );
    if let Some(ms) = t.elapsed_ms {
        let _ = write!(out, " time=\"{}.{:03}\"", ms / 1000, ms % 1000);
    }
    out.push_str(">\n      <properties>\n");
    let mut property = |name: &str, value: &str| {
        let _ = writeln!(
            out,
            "        <property name=\"{name}\" value=\"{}\"/>",
            xml(value)
        );
    };
    property("verdict_status", t.status.as_str());
    if let Some(key) = &r.case_key {
        property("verdict_key", key);
    }
    for (i, s) in t.step_results.iter().enumerate() {
        let text = s
            .actual
            .clone()
            .unwrap_or_else(|| format!("Step {}", i + 1));
        property(
            "testrail_result_step",
            &format!("{}:{text}", s.status.as_str()),
        );
    }
    if !t.defects.is_empty() {
        property(
            "testrail_result_field",
            &format!("defects:{}", t.defects.join(",")),
        );
    }
    out.push_str("      </properties>\n");
    let note = t.note.as_deref().unwrap_or("");
    let first_line = note.lines().next().unwrap_or("");
    match t.status {
        Status::Passed => {}
        Status::Failed => {
            let _ = writeln!(
                out,
                "      <failure message=\"{}\">{}</failure>",
                xml(first_line),
                xml(note)
            );
        }
        _ => {
            let _ = writeln!(out, "      <skipped message=\"{}\"/>", xml(first_line));
        }
    }
    out.push_str("    </testcase>\n");
}

/// `1 passed; 2 failed: 500 error` (positions from 1).
pub fn step_summary(steps: &[verdict_store::StepResult]) -> String {
    steps
        .iter()
        .enumerate()
        .map(|(i, s)| match &s.actual {
            Some(a) => format!("{} {}: {a}", i + 1, s.status.as_str()),
            None => format!("{} {}", i + 1, s.status.as_str()),
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// Appends one CSV record.
fn row<const N: usize>(out: &mut String, cells: [String; N]) {
    for (i, cell) in cells.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        csv_cell(out, cell);
    }
    out.push_str("\r\n");
}

/// One CSV cell: a cell a spreadsheet would run as a formula (starting
/// with `=`, `+`, `-`, `@`, a tab or a carriage return) gets a leading
/// `'`; a cell with a comma, quote or line break is quoted.
pub fn csv_cell(out: &mut String, cell: &str) {
    let guarded = cell.starts_with(['=', '+', '-', '@', '\t', '\r']);
    let quoted = cell.contains([',', '"', '\r', '\n']);
    if quoted {
        out.push('"');
    }
    if guarded {
        out.push('\'');
    }
    for c in cell.chars() {
        if c == '"' {
            out.push('"');
        }
        out.push(c);
    }
    if quoted {
        out.push('"');
    }
}

/// Text for an XML attribute or element: escaped, and what XML 1.0 cannot
/// hold (most control characters) replaced by U+FFFD.
pub fn xml(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\n' => out.push_str("&#10;"),
            '\r' => out.push_str("&#13;"),
            '\t' => out.push_str("&#9;"),
            '\u{0}'..='\u{8}'
            | '\u{b}'
            | '\u{c}'
            | '\u{e}'..='\u{1f}'
            | '\u{fffe}'
            | '\u{ffff}' => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cell(s: &str) -> String {
        let mut out = String::new();
        csv_cell(&mut out, s);
        out
    }

    #[test]
    fn csv_cells_are_quoted_and_guarded() {
        assert_eq!(cell("plain"), "plain");
        assert_eq!(cell("a,b"), "\"a,b\"");
        assert_eq!(cell("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(cell("two\nlines"), "\"two\nlines\"");
        assert_eq!(cell("=1+1"), "'=1+1");
        assert_eq!(cell("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(cell("-2,3"), "\"'-2,3\"");
        assert_eq!(cell(""), "");
    }

    #[test]
    fn xml_text_is_escaped_and_valid() {
        assert_eq!(xml("a<b & \"c\"\n"), "a&lt;b &amp; &quot;c&quot;&#10;");
        assert_eq!(xml("nul\u{0}"), "nul\u{fffd}");
    }
}
