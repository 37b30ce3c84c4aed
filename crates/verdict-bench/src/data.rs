//! Generated data. Every repetition writes different values: SQLite skips
//! a byte-identical update, so repeating the same body would measure
//! nothing. The server workloads and the raw baselines share these
//! generators, so both write the same rows.

use serde_json::{Value, json};
use verdict_store::Status;

/// One execution: what a bulk entry or a raw UPDATE writes.
pub struct Exec {
    pub status: Status,
    pub note: Option<String>,
    pub elapsed_ms: i64,
}

/// The execution of result `i` in repetition `rep` (rep ≥ 1 differs from
/// the untested seed state; two reps differ in every entry's elapsed).
pub fn execution(i: usize, rep: usize) -> Exec {
    let status = match (i * 7 + rep) % 10 {
        0 | 1 => Status::Failed,
        2 => Status::Blocked,
        3 => Status::Retest,
        _ => Status::Passed,
    };
    let note = match status {
        Status::Failed => Some(format!(
            "AssertionError: expected 200 but got 500 (case {i}, rep {rep})"
        )),
        Status::Blocked => Some(format!("blocked: environment down (rep {rep})")),
        _ => None,
    };
    Exec {
        status,
        note,
        elapsed_ms: ((i * 37 + rep * 1_001) % 120_000) as i64,
    }
}

/// A bulk body for `case_ids` (numbered from `first`), encoded.
pub fn bulk_body(case_ids: &[String], first: usize, rep: usize) -> Vec<u8> {
    let results: Vec<Value> = case_ids
        .iter()
        .enumerate()
        .map(|(i, id)| {
            let e = execution(first + i, rep);
            let mut v = json!({ "test_case_id": id, "status": e.status.as_str(), "elapsed_ms": e.elapsed_ms });
            if let Some(note) = e.note {
                v["note"] = json!(note);
            }
            v
        })
        .collect();
    serde_json::to_vec(&json!({ "results": results })).unwrap_or_default()
}

/// A PATCH body that differs on every request.
pub fn patch_body(task: usize, k: usize) -> Vec<u8> {
    let status = ["passed", "failed", "blocked", "retest"][(task + k) % 4];
    serde_json::to_vec(&json!({
        "status": status,
        "note": format!("bench client {task} request {k}"),
        "elapsed_ms": k,
    }))
    .unwrap_or_default()
}

fn time(ms: usize) -> String {
    format!("{}.{:03}", ms / 1000, ms % 1000)
}

/// A JUnit report of `n` testcases: mostly passes, some failures and
/// errors with messages and stack traces, skips, flaky passes (surefire
/// `flakyFailure`) and failures with reruns. `rep` changes which test
/// gets which outcome and every message and time.
pub fn junit_report(n: usize, rep: usize) -> String {
    let mut xml = String::with_capacity(n * 300);
    xml.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites>\n");
    for suite in 0..n.div_ceil(100) {
        let class = format!("com.acme.bench.module{}.Suite{suite}Test", suite % 13);
        xml.push_str(&format!(
            "<testsuite name=\"{class}\" tests=\"100\" failures=\"0\" errors=\"0\" skipped=\"0\">\n"
        ));
        for i in suite * 100..((suite + 1) * 100).min(n) {
            let t = time((i * 13 + rep * 7) % 5_000);
            let open = format!("  <testcase classname=\"{class}\" name=\"test{i}\" time=\"{t}\"");
            let trace = format!(
                "java.lang.AssertionError: expected 200 but was 500 (rep {rep})\n\tat {class}.test{i}({}Test.java:{})\n\tat org.junit.runners.ParentRunner.run(ParentRunner.java:413)",
                suite,
                40 + i % 300
            );
            match (i * 3 + rep) % 20 {
                0 | 1 => xml.push_str(&format!(
                    "{open}>\n    <failure type=\"java.lang.AssertionError\" message=\"expected 200 but was 500 (rep {rep})\">{trace}</failure>\n  </testcase>\n"
                )),
                2 => xml.push_str(&format!(
                    "{open}>\n    <error type=\"java.io.IOException\" message=\"connection reset (rep {rep})\">{trace}</error>\n  </testcase>\n"
                )),
                3 => xml.push_str(&format!(
                    "{open}>\n    <skipped message=\"needs a GPU (rep {rep})\"/>\n  </testcase>\n"
                )),
                4 => xml.push_str(&format!(
                    "{open}>\n    <flakyFailure type=\"java.lang.AssertionError\" message=\"timed out (rep {rep})\" time=\"0.5\"><stackTrace>{trace}</stackTrace></flakyFailure>\n  </testcase>\n"
                )),
                5 => xml.push_str(&format!(
                    "{open}>\n    <failure type=\"java.lang.AssertionError\" message=\"flaky (rep {rep})\">{trace}</failure>\n    <rerunFailure type=\"java.lang.AssertionError\" message=\"again (rep {rep})\" time=\"0.2\"><stackTrace>{trace}</stackTrace></rerunFailure>\n  </testcase>\n"
                )),
                _ => xml.push_str(&format!("{open}/>\n")),
            }
        }
        xml.push_str("</testsuite>\n");
    }
    xml.push_str("</testsuites>\n");
    xml
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reports_parse_with_every_outcome_and_change_between_reps() {
        let a = junit_report(1_000, 1);
        let report = verdict_junit::parse(a.as_bytes()).expect("parses");
        assert_eq!(report.testcases.len(), 1_000);
        let c = report.counts();
        assert!(c.passed > 0 && c.failed > 0 && c.errored > 0 && c.skipped > 0);
        assert!(report.testcases.iter().any(|t| !t.attempts.is_empty()));
        assert_ne!(a, junit_report(1_000, 2));
    }

    #[test]
    fn every_rep_changes_every_execution() {
        for i in 0..100 {
            assert_ne!(execution(i, 1).elapsed_ms, execution(i, 2).elapsed_ms);
        }
    }
}
