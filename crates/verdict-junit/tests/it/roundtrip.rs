//! `to_xml` writes back exactly what was parsed: for every corpus file the
//! reference accepts, parsing what we wrote gives the same testcases. The CLI
//! relies on this when it uploads a parsed report in chunks.

use std::path::{Path, PathBuf};

use verdict_junit::{Attempt, Detail, Outcome, TestCase, parse, to_xml};

fn corpus_dir() -> Option<PathBuf> {
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).parent()?.parent()?;
    let dir = workspace.join("../shared/corpus/junit");
    dir.is_dir().then_some(dir)
}

fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read dir") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            files(&path, out);
        } else if path.extension().is_some_and(|e| e == "xml") {
            out.push(path);
        }
    }
}

#[test]
fn every_corpus_report_survives_a_write_and_reparse() {
    let Some(dir) = corpus_dir() else {
        println!("SKIPPED: no corpus directory beside the workspace");
        return;
    };
    let mut all = Vec::new();
    files(&dir, &mut all);
    all.sort();
    let mut checked = 0;
    for path in all {
        let bytes = std::fs::read(&path).expect("read");
        let Ok(report) = parse(&bytes) else { continue };
        let written = to_xml(&report.testcases);
        let again = parse(written.as_bytes())
            .unwrap_or_else(|e| panic!("{}: our own output does not parse: {e}", path.display()));
        assert_eq!(again.testcases, report.testcases, "{}", path.display());
        checked += 1;
    }
    println!("roundtrip: {checked} corpus reports written and re-read identically");
    assert!(checked > 50);
}

#[test]
fn awkward_text_survives_a_roundtrip() {
    let detail = Detail {
        kind: Some("a\"b<c>&d".into()),
        message: Some("line one\nline two\ttab\r\nend".into()),
        text: Some("x < y && y > z ]]> \u{1F600}".into()),
        output: None,
    };
    let cases = vec![
        TestCase {
            classname: Some("pkg.Class".into()),
            name: Some("test \"quoted\"".into()),
            suite: Some("suite & co".into()),
            time_ms: Some(1234),
            outcome: Outcome::Failed(detail.clone()),
            attempts: vec![Attempt {
                errored: true,
                detail: detail.clone(),
                time_ms: Some(5),
            }],
            properties: Vec::new(),
            output: Some("out <&> ]]>\r\nerr\n\nx < y && y > z ]]> \u{1F600}".into()),
        },
        TestCase {
            classname: None,
            name: Some(String::new()),
            suite: None,
            time_ms: None,
            outcome: Outcome::Skipped { message: None },
            attempts: vec![],
            properties: Vec::new(),
            output: None,
        },
        TestCase {
            classname: Some("c".into()),
            name: Some("flaky".into()),
            suite: None,
            time_ms: Some(0),
            outcome: Outcome::Passed,
            attempts: vec![Attempt {
                errored: false,
                detail: Detail::default(),
                // An attempt without a time reads back with the testcase's.
                time_ms: Some(0),
            }],
            properties: Vec::new(),
            output: None,
        },
        TestCase {
            classname: Some("ctest".into()),
            name: Some("blank failure".into()),
            suite: None,
            time_ms: None,
            outcome: Outcome::Failed(Detail {
                message: Some(String::new()),
                output: Some("[truncated] …last <line>\r\n & done".into()),
                ..Detail::default()
            }),
            attempts: vec![],
            properties: Vec::new(),
            output: Some("[truncated] …last <line>\r\n & done".into()),
        },
    ];
    let again = parse(to_xml(&cases).as_bytes()).expect("parses");
    assert_eq!(again.testcases, cases);
}
