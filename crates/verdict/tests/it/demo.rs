//! `verdict serve --demo`: a fresh database gets the sample project (marked
//! as demo data in its name and in the banner), its runs and a demo user
//! who can sign in; a database that holds anything is refused, so demo data
//! never mixes with real data.

use crate::common;

use std::process::Command;

use common::Server;
use serde_json::Value;

const ADMIN: &str = "vdt_demo_test_admin_0123456789";

async fn get(http: &reqwest::Client, base: &str, path: &str) -> Value {
    let res = http
        .get(format!("{base}{path}"))
        .bearer_auth(ADMIN)
        .send()
        .await
        .expect("request");
    assert!(res.status().is_success(), "{path}: {}", res.status());
    res.json().await.expect("json")
}

#[tokio::test]
async fn demo_loads_a_marked_sample_project_into_an_empty_database() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("verdict.db");
    let server = Server::start_args(&db, Some(ADMIN), &["--demo"]);
    let banner = server.banner.join("\n");
    assert!(banner.contains("DEMO DATA"), "{banner}");
    assert!(
        banner.contains("demo@example.com") && banner.contains("demo-password"),
        "{banner}"
    );

    let http = common::http();
    let projects = get(&http, &server.url, "/v1/projects").await;
    assert_eq!(projects["data"][0]["name"], "Demo: Web shop (sample data)");
    let runs = get(&http, &server.url, "/v1/projects/prj_001/runs?per_page=100").await;
    let runs = runs["data"].as_array().expect("runs").clone();
    // Two manual releases, thirty nightlies on main, two feature runs.
    assert_eq!(runs.len(), 34);
    let named = |name: &str| {
        runs.iter()
            .find(|r| r["name"] == name)
            .unwrap_or_else(|| panic!("no run {name}"))
            .clone()
    };
    assert_eq!(named("Release 2.3 regression")["state"], "closed");
    let in_progress = named("Release 2.4 regression");
    assert_eq!(in_progress["state"], "open");
    let in_progress_id = in_progress["id"].as_str().expect("id").to_string();
    let in_progress = &in_progress["counts"];
    assert_eq!(in_progress["total"], 40);
    for status in ["passed", "failed", "blocked", "retest", "not_tested"] {
        assert!(
            in_progress[status].as_i64().expect("count") > 0,
            "{status}: a realistic mix"
        );
    }
    // CI runs carry where they came from; newest first.
    let main = get(
        &http,
        &server.url,
        "/v1/projects/prj_001/runs?branch=main&per_page=100",
    )
    .await;
    let main = main["data"].as_array().expect("runs").clone();
    assert_eq!(main.len(), 30);
    assert_eq!(main[0]["name"], "Nightly smoke — build 1187");
    assert_eq!(main[0]["environment"], "linux / chromium 131");
    assert_eq!(main[0]["commit"].as_str().map(str::len), Some(40));
    let quarantined = get(
        &http,
        &server.url,
        "/v1/projects/prj_001/cases?quarantined=true",
    )
    .await;
    assert_eq!(quarantined["meta"]["total"], 1);
    let cases = get(
        &http,
        &server.url,
        "/v1/projects/prj_001/cases?per_page=100",
    )
    .await;
    assert_eq!(cases["meta"]["total"], 40);
    // Re-tests show up in history: a result with more than one execution.
    let results = get(
        &http,
        &server.url,
        &format!("/v1/runs/{in_progress_id}/results?status=retest"),
    )
    .await;
    let id = results["data"][0]["id"].as_str().expect("id").to_string();
    let history = get(
        &http,
        &server.url,
        &format!("/v1/runs/{in_progress_id}/results/{id}/history"),
    )
    .await;
    assert!(history["meta"]["total"].as_i64().expect("total") >= 1);

    // The sign-in page offers the demo credentials.
    let login = http
        .get(format!("{}/login", server.url))
        .send()
        .await
        .expect("login");
    let page = login.text().await.expect("html");
    assert!(page.contains("Demo server") && page.contains("demo-password"));
    drop(server);

    // The same database again: it holds data now, so --demo is refused.
    let out = Command::new(env!("CARGO_BIN_EXE_verdict"))
        .args(["serve", "--demo", "--listen", "127.0.0.1:0"])
        .env("VERDICT_DATABASE_URL", format!("sqlite://{}", db.display()))
        .env_remove("VERDICT_ADMIN_TOKEN")
        .output()
        .expect("run verdict");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("only into an empty database"), "{stderr}");
}
