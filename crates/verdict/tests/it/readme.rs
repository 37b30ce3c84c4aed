//! The README's walkthrough, run exactly as written against a fresh server:
//! if it stops working as pasted, this fails.

use crate::common;

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

/// The repository's root, two levels above this crate.
fn repo_root() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Relative link targets (`](target)`) in a Markdown text, without their
/// `#fragment`; web addresses and in-page anchors left out.
fn relative_links(markdown: &str) -> Vec<String> {
    markdown
        .split("](")
        .skip(1)
        .filter_map(|rest| rest.split(')').next())
        .filter(|t| !t.contains("://") && !t.starts_with('#') && !t.starts_with("mailto:"))
        .map(|t| t.split('#').next().unwrap_or(t).to_string())
        .collect()
}

#[test]
fn readme_and_docs_link_only_to_files_in_the_repository() {
    let root = repo_root();
    let mut pages = vec![root.join("README.md")];
    for entry in std::fs::read_dir(root.join("docs")).expect("docs/") {
        let path = entry.expect("docs entry").path();
        if path.extension().is_some_and(|e| e == "md") {
            pages.push(path);
        }
    }
    let mut checked = 0;
    for page in &pages {
        let text = std::fs::read_to_string(page).expect("page");
        let dir = page.parent().expect("a directory");
        for link in relative_links(&text) {
            assert!(
                dir.join(&link).exists(),
                "{} links to {link}, which is not in the repository",
                page.display()
            );
            checked += 1;
        }
    }
    // README links to the screenshots, the API document and the decisions.
    assert!(checked >= 5, "only {checked} links found");
}

/// Text files of the repository that could cite a document: sources,
/// Markdown, scripts and manifests, outside `target/`.
fn repository_texts(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read_dir") {
        let path = entry.expect("entry").path();
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if path.is_dir() {
            if name != "target" && name != ".git" {
                repository_texts(&path, out);
            }
        } else if ["rs", "md", "toml", "sh", "json", "yml", "yaml"]
            .iter()
            .any(|ext| name.ends_with(&format!(".{ext}")))
            || name == "run"
        {
            out.push(path);
        }
    }
}

#[test]
fn no_file_cites_a_design_document_missing_from_the_repository() {
    let root = repo_root();
    let mut files = Vec::new();
    repository_texts(&root, &mut files);
    assert!(files.len() > 100, "only {} files found", files.len());
    // Built from parts so this file does not name what it looks for.
    let missing = ["DESIGN", ".md"].concat();
    let section = ["DESIGN", " §"].concat();
    for file in files {
        let Ok(text) = std::fs::read_to_string(&file) else {
            continue;
        };
        assert!(
            !text.contains(&missing) && !text.contains(&section),
            "{} cites a design document that is not in the repository; cite docs/API.md",
            file.display()
        );
    }
}

#[test]
fn readme_says_how_to_install_verdict_before_using_it() {
    let readme = std::fs::read_to_string(repo_root().join("README.md")).expect("README.md");
    let install = readme
        .find("cargo install --locked --path crates/verdict")
        .expect("an install command");
    let first_use = readme
        .find("\nverdict ")
        .expect("a command line starting with verdict");
    assert!(
        install < first_use,
        "the README uses `verdict` before saying how to install it"
    );
}
