//! Checks the parser against the shared real-world corpus in place
//! (`<workspace>/../shared/corpus/junit`) and its independent oracle
//! (`expected.json`, junitparser 5.0.3 plus the documented not-run → skipped
//! adjustment). Files are read where they are, never copied.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde_json::Value;
use verdict_junit::{Outcome, parse};

/// Files the reference rejects but we accept, each with the reason our lenient
/// reading is right. Keep this empty unless there is a good reason.
const READ_LENIENTLY: &[(&str, &str)] = &[];

fn corpus_dir() -> Option<PathBuf> {
    // crates/verdict-junit → workspace root → ../shared/corpus/junit
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).parent()?.parent()?;
    let dir = workspace.join("../shared/corpus/junit");
    dir.is_dir().then_some(dir)
}

fn xml_files(dir: &Path, root: &Path, out: &mut BTreeSet<String>) {
    let entries = std::fs::read_dir(dir).expect("read corpus directory");
    for entry in entries {
        let path = entry.expect("directory entry").path();
        if path.is_dir() {
            xml_files(&path, root, out);
        } else if path.extension().is_some_and(|e| e == "xml") {
            let rel = path.strip_prefix(root).expect("path under corpus root");
            let rel: Vec<String> = rel
                .iter()
                .map(|c| c.to_string_lossy().into_owned())
                .collect();
            out.insert(rel.join("/"));
        }
    }
}

/// The oracle writes junitparser's words ("failure"/"error"); accept both.
fn same_outcome(expected: &str, ours: &Outcome) -> bool {
    matches!(
        (expected, ours),
        ("passed", Outcome::Passed)
            | ("failure" | "failed", Outcome::Failed(_))
            | ("error" | "errored", Outcome::Errored(_))
            | ("skipped", Outcome::Skipped { .. })
    )
}

fn check_accepted(file: &str, exp: &Value, bytes: &[u8]) -> Result<(), String> {
    let report =
        parse(bytes).map_err(|e| format!("{file}: reference parsed it, we failed: {e}"))?;
    let c = report.counts();
    let ours = [
        ("testcases", report.testcases.len()),
        ("passed", c.passed),
        ("failed", c.failed),
        ("errored", c.errored),
        ("skipped", c.skipped),
    ];
    for (field, got) in ours {
        let want = exp[field]
            .as_u64()
            .ok_or_else(|| format!("{file}: no {field}"))?;
        if want != got as u64 {
            return Err(format!("{file}: {field} expected {want}, got {got}"));
        }
    }
    let cases = exp["cases"]
        .as_array()
        .ok_or_else(|| format!("{file}: no cases"))?;
    if cases.len() != report.testcases.len() {
        return Err(format!(
            "{file}: {} cases expected, got {}",
            cases.len(),
            report.testcases.len()
        ));
    }
    for (i, (want, tc)) in cases.iter().zip(&report.testcases).enumerate() {
        let classname = want[0].as_str().map(str::to_owned);
        let name = want[1].as_str().map(str::to_owned);
        let outcome = want[2].as_str().unwrap_or_default();
        if classname != tc.classname || name != tc.name || !same_outcome(outcome, &tc.outcome) {
            return Err(format!(
                "{file}: case {i}: expected {want}, got [{:?}, {:?}, {}]",
                tc.classname,
                tc.name,
                tc.outcome.label()
            ));
        }
    }
    Ok(())
}

#[test]
fn corpus_matches_reference() {
    let Some(dir) = corpus_dir() else {
        println!("corpus: skipped (../shared/corpus/junit not found next to the workspace)");
        return;
    };
    let expected: Value = serde_json::from_slice(
        &std::fs::read(dir.join("expected.json")).expect("read expected.json"),
    )
    .expect("expected.json is JSON");
    let expected = expected.as_object().expect("expected.json is an object");

    let mut on_disk = BTreeSet::new();
    xml_files(&dir, &dir, &mut on_disk);
    let listed: BTreeSet<String> = expected.keys().filter(|k| *k != "_meta").cloned().collect();
    let unlisted: Vec<_> = on_disk.difference(&listed).collect();
    assert!(
        unlisted.is_empty(),
        "corpus files missing from expected.json: {unlisted:?}"
    );

    let (mut matched, mut rejected, mut lenient) = (0, 0, 0);
    let mut failures = Vec::new();
    for (file, exp) in expected.iter().filter(|(k, _)| *k != "_meta") {
        let bytes = std::fs::read(dir.join(file)).unwrap_or_else(|e| panic!("read {file}: {e}"));
        let allowed = READ_LENIENTLY.iter().any(|(f, _)| f == file);
        if let Some(reason) = exp.get("parse_error") {
            match (parse(&bytes), allowed) {
                (Err(e), false) => {
                    println!("rejected {file}: {e}  (reference: {reason})");
                    rejected += 1;
                }
                (Ok(_), true) => lenient += 1,
                (Ok(r), false) => failures.push(format!(
                    "{file}: reference rejected it ({reason}) but we read {} testcases; \
                     add it to READ_LENIENTLY with a reason or reject it",
                    r.testcases.len()
                )),
                (Err(e), true) => {
                    failures.push(format!("{file}: in READ_LENIENTLY but rejected: {e}"))
                }
            }
        } else {
            match check_accepted(file, exp, &bytes) {
                Ok(()) => matched += 1,
                Err(e) => failures.push(e),
            }
        }
    }
    println!(
        "corpus: {matched} matched, {rejected} rejected as the reference did, {lenient} read leniently"
    );
    assert!(
        failures.is_empty(),
        "{} corpus mismatches:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(matched > 0, "no corpus file was checked");
}
