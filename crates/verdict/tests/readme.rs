//! The README's walkthrough, run exactly as written against a fresh server:
//! if it stops working as pasted, this fails.

mod common;

use std::process::Command;

use common::Server;

const QUICKSTART_TOKEN: &str = "vdt_quickstart_0123456789abcdef";
const README_URL: &str = "http://127.0.0.1:8080";

/// The first ```sh block after the "## Walkthrough" heading.
fn walkthrough() -> String {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../README.md"))
        .expect("README.md");
    let section = readme
        .split("## Walkthrough")
        .nth(1)
        .expect("a Walkthrough section");
    let block = section.split("```sh\n").nth(1).expect("a sh block");
    block.split("```").next().expect("closed block").to_string()
}

#[test]
fn readme_quick_start_token_matches_the_walkthrough() {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../README.md"))
        .expect("README.md");
    let quick = readme.split("## Quick start").nth(1).expect("quick start");
    assert!(quick.contains(&format!(
        "VERDICT_ADMIN_TOKEN={QUICKSTART_TOKEN} cargo run --release -p verdict -- serve"
    )));
    assert!(quick.contains("cargo test --workspace"));
    assert!(walkthrough().contains(QUICKSTART_TOKEN));
}

#[test]
fn readme_walkthrough_works_as_pasted() {
    if Command::new("curl").arg("--version").output().is_err() {
        println!("SKIPPED readme_walkthrough_works_as_pasted: no curl on this machine");
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Server::start(&dir.path().join("verdict.db"), Some(QUICKSTART_TOKEN));
    let script = walkthrough();
    assert!(script.contains(README_URL));
    let script = script.replace(README_URL, &server.url);
    let out = Command::new("bash")
        .args(["-euo", "pipefail", "-c", &script])
        .output()
        .expect("bash");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "walkthrough failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Each curl printed one JSON document; check the story they tell.
    let answers: Vec<serde_json::Value> = stdout
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    assert_eq!(answers.len(), 8, "{stdout}");
    assert_eq!(answers[0]["data"]["id"], "prj_001");
    assert_eq!(answers[1]["data"]["created"], 3);
    assert_eq!(answers[2]["data"]["id"], "run_001");
    assert_eq!(answers[3]["data"]["status"], "blocked");
    assert_eq!(answers[4]["data"]["updated"], 2);
    let attention: Vec<&str> = answers[5]["data"]
        .as_array()
        .expect("list")
        .iter()
        .map(|r| r["status"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(attention, ["failed", "blocked"]);
    assert_eq!(
        answers[6]["data"]["counts"],
        serde_json::json!({"passed": 1, "failed": 1, "blocked": 1, "retest": 0, "not_tested": 0, "total": 3})
    );
    assert_eq!(answers[7]["meta"]["total"], 1);
}
