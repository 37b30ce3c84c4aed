//! `verdict upload` attaching the files a report names with
//! `[[ATTACHMENT|path]]` lines: a Playwright report with its screenshots,
//! paths outside `--attachments-root` refused, re-runs attaching nothing twice.

use crate::common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::Server;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

const TOKEN: &str = "vdt_cli_attach_token_0123456789abcdef";

/// The Playwright report of the shared corpus (Windows paths, screenshot,
/// video, trace), read in place.
fn playwright_report() -> Option<PathBuf> {
    let file = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/corpus/junit/playwright/windows-paths-attachments-failure.xml");
    file.is_file().then_some(file)
}

fn verdict(server: &Server, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_verdict"))
        .args(args)
        .env("VERDICT_URL", &server.url)
        .env("VERDICT_TOKEN", TOKEN)
        .output()
        .expect("run verdict")
}

fn text(out: &Output) -> String {
    format!(
        "status {:?}\nstdout:\n{}\nstderr:\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

async fn api(server: &Server, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
    common::api_as(server, TOKEN, method, path, body).await
}

fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn sha256(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A PNG signature and a little more: bytes a server could sniff as an image.
fn png(seed: u8) -> Vec<u8> {
    let mut b = vec![0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A];
    b.extend((0..2000u32).map(|i| (i as u8).wrapping_mul(seed)));
    b
}

/// Writes `bytes` at `folder/relative` (a Windows-style path from the
/// report), creating folders; returns what the attachment should be.
fn create(folder: &Path, relative: &str, bytes: &[u8]) -> (String, String) {
    let path = folder.join(relative.replace('\\', "/"));
    std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    std::fs::write(&path, bytes).expect("write");
    let name = path
        .file_name()
        .expect("name")
        .to_string_lossy()
        .into_owned();
    (name, sha256(bytes))
}

/// (name, sha256) of the result's attachments, sorted.
async fn attachments_of(server: &Server, run: &str, key: &str) -> (String, Vec<(String, String)>) {
    let found = api(
        server,
        reqwest::Method::GET,
        &format!("/v1/runs/{run}/results?key={}", encode(key)),
        None,
    )
    .await;
    let list = found["data"].as_array().expect("results");
    assert_eq!(list.len(), 1, "one result for {key}: {found}");
    let id = list[0]["id"].as_str().expect("id").to_string();
    let atts = api(
        server,
        reqwest::Method::GET,
        &format!("/v1/runs/{run}/results/{id}/attachments"),
        None,
    )
    .await;
    let mut got: Vec<(String, String)> = atts["data"]
        .as_array()
        .expect("attachments")
        .iter()
        .map(|a| {
            (
                a["name"].as_str().expect("name").to_string(),
                a["sha256"].as_str().expect("sha256").to_string(),
            )
        })
        .collect();
    got.sort();
    (id, got)
}

#[tokio::test]
async fn a_playwright_report_arrives_with_its_screenshots_and_nothing_outside_the_root() {
    let Some(corpus_file) = playwright_report() else {
        println!("SKIPPED: no corpus directory beside the workspace");
        return;
    };
    let work = tempfile::tempdir().expect("tempdir");
    let reports = work.path().join("reports");
    std::fs::create_dir_all(&reports).expect("mkdir");
    let report = reports.join("results.xml");
    std::fs::copy(&corpus_file, &report).expect("copy the report for this test");

    // The files the report names, beside it, each with its own bytes.
    let parsed = verdict_junit::parse(&std::fs::read(&report).expect("read")).expect("parses");
    let mut expected: BTreeMap<String, Vec<(String, String)>> = BTreeMap::new();
    for (i, tc) in parsed.testcases.iter().enumerate() {
        let output = tc.output.as_deref().expect("each testcase has output");
        for (j, line) in output
            .lines()
            .filter(|l| l.starts_with("[[ATTACHMENT|"))
            .enumerate()
        {
            let path = line
                .trim_start_matches("[[ATTACHMENT|")
                .trim_end_matches("]]");
            let seed = u8::try_from(i * 10 + j + 3).expect("small");
            let bytes = if path.ends_with(".png") {
                png(seed)
            } else {
                format!("{path} of testcase {i}\n")
                    .repeat(usize::from(seed))
                    .into_bytes()
            };
            let made = create(&reports, path, &bytes);
            expected.entry(tc.key()).or_default().push(made);
        }
    }
    assert_eq!(expected.values().map(Vec::len).sum::<usize>(), 6);

    // A second report naming files outside the root, a missing one and one
    // inside it.
    let secret = work.path().join("secret.txt");
    std::fs::write(&secret, "do not upload").expect("secret");
    let inside = create(&reports, "logs\\server.log", b"server log\n");
    let other = reports.join("other.xml");
    std::fs::write(
        &other,
        format!(
            "<testsuite name=\"o\"><testcase classname=\"Other\" name=\"t\"><failure message=\"m\">body</failure>\
             <system-out>[[ATTACHMENT|../secret.txt]]\n[[ATTACHMENT|{}]]\n\
             [[ATTACHMENT|missing.png]]\n[[ATTACHMENT|logs\\server.log]]</system-out></testcase></testsuite>",
            secret.display()
        ),
    )
    .expect("write");

    let db = tempfile::tempdir().expect("tempdir");
    let server = Server::start(&db.path().join("v.db"), Some(TOKEN));
    let project = api(
        &server,
        reqwest::Method::POST,
        "/v1/projects",
        Some(json!({"name": "Shop"})),
    )
    .await["data"]["id"]
        .as_str()
        .expect("id")
        .to_string();
    let root = reports.to_string_lossy().into_owned();
    let files = [
        report.to_string_lossy().into_owned(),
        other.to_string_lossy().into_owned(),
    ];
    let upload = |extra: &[&str]| {
        let mut args = vec![
            "upload",
            "--project",
            &project,
            "--create-missing",
            "--no-compare",
            "--attachments-root",
            &root,
        ];
        args.extend_from_slice(extra);
        args.extend(files.iter().map(String::as_str));
        verdict(&server, &args)
    };

    // A dry run lists what would be attached and what is refused.
    let runs = api(
        &server,
        reqwest::Method::POST,
        &format!("/v1/projects/{project}/runs"),
        Some(json!({"name": "dry", "case_ids": []})),
    )
    .await;
    let dry_run = runs["data"]["id"].as_str().expect("run").to_string();
    let dry = upload(&["--run", &dry_run, "--dry-run"]);
    let dry_text = text(&dry);
    assert!(
        dry_text.contains("would attach test-failed-1.png"),
        "{dry_text}"
    );
    assert!(
        dry_text.contains("dry run: would attach 7 files, 3 refused"),
        "{dry_text}"
    );

    let out = upload(&["--run-name", "playwright"]);
    let all = text(&out);
    assert_eq!(
        out.status.code(),
        Some(1),
        "refusals fail the command: {all}"
    );
    assert!(all.contains("attached 7 files, 3 refused"), "{all}");
    assert!(
        all.contains("\"../secret.txt\" of testcase \"Other.t\""),
        "{all}"
    );
    assert!(all.contains("outside --attachments-root"), "{all}");
    assert!(all.contains("\"missing.png\""), "{all}");
    assert!(
        all.contains("uploaded 4 executions"),
        "the results went up: {all}"
    );

    let runs = api(
        &server,
        reqwest::Method::GET,
        &format!("/v1/projects/{project}/runs?per_page=100"),
        None,
    )
    .await;
    let run = runs["data"]
        .as_array()
        .expect("runs")
        .iter()
        .find(|r| r["name"] == "playwright")
        .and_then(|r| r["id"].as_str())
        .expect("the upload's run")
        .to_string();

    for (key, want) in &expected {
        let mut want = want.clone();
        want.sort();
        let (id, got) = attachments_of(&server, &run, key).await;
        assert_eq!(&got, &want, "{key}");
        // The output that named them comes back with ?include=output.
        let result = api(
            &server,
            reqwest::Method::GET,
            &format!("/v1/runs/{run}/results/{id}?include=output"),
            None,
        )
        .await;
        let output = result["data"]["output"].as_str().expect("output");
        assert!(output.contains("[[ATTACHMENT|"), "{output}");
    }
    // Only the file inside the root was attached to the other testcase.
    let (_, got) = attachments_of(&server, &run, "Other.t").await;
    assert_eq!(got, vec![inside.clone()]);

    // The same upload again into the same run attaches nothing twice.
    let again = upload(&["--run", &run]);
    let again_text = text(&again);
    assert_eq!(again.status.code(), Some(1), "{again_text}");
    assert!(
        again_text.contains("attached 0 files, 3 refused, 7 already attached"),
        "{again_text}"
    );
    for (key, want) in &expected {
        let (_, got) = attachments_of(&server, &run, key).await;
        assert_eq!(got.len(), want.len(), "{key}: {got:?}");
    }
    assert_eq!(
        attachments_of(&server, &run, "Other.t").await.1,
        vec![inside]
    );
}

#[tokio::test]
async fn a_missing_attachments_root_is_a_usage_error() {
    let work = tempfile::tempdir().expect("tempdir");
    let report = work.path().join("r.xml");
    std::fs::write(&report, "<testsuite><testcase name=\"a\"/></testsuite>").expect("write");
    let db = tempfile::tempdir().expect("tempdir");
    let server = Server::start(&db.path().join("v.db"), Some(TOKEN));
    let missing = work.path().join("nowhere");
    let out = verdict(
        &server,
        &[
            "upload",
            "--project",
            "prj_001",
            "--attachments-root",
            &missing.to_string_lossy(),
            &report.to_string_lossy(),
        ],
    );
    let all = text(&out);
    assert_eq!(out.status.code(), Some(2), "{all}");
    assert!(all.contains("--attachments-root"), "{all}");
}
