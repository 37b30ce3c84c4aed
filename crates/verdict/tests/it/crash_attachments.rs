//! Crash safety of attachments (API §8): SIGKILL the server at random
//! moments while clients upload files. A file is stored before its row
//! commits, so after every restart each attachment row the API lists
//! downloads with its sha256 (never a row without bytes), and every
//! acknowledged upload is there. What a kill leaves behind (files no row
//! names, spooled halves of uploads) is removed by the next prune: with
//! the server stopped, `verdict admin prune --orphan-grace 0s` leaves
//! exactly the files rows name and an empty spool.
//! `VERDICT_CRASH_CYCLES` sets how many kill-restart cycles run (default 6).

use crate::common;
use crate::retention::{Api, TOKEN, noise, project_with_cases, sha256, stored_files, verdict};

use std::collections::{BTreeSet, HashMap};
use std::time::Duration;

use common::{Rng, Server};
use serde_json::{Value, json};

const RESULTS: usize = 12;

/// An upload: where, which bytes, and whether the server answered 201.
#[derive(Debug, Clone)]
struct Sent {
    result: String,
    name: String,
    sha256: String,
    acknowledged: bool,
}

/// Uploads without asserting: a kill cuts requests short.
async fn try_attach(api: &Api, run: &str, result: &str, name: &str, bytes: Vec<u8>) -> bool {
    let res = api
        .http
        .post(format!(
            "{}/v1/runs/{run}/results/{result}/attachments?name={name}",
            api.url
        ))
        .bearer_auth(TOKEN)
        .header("content-type", "application/octet-stream")
        .body(bytes)
        .send()
        .await;
    matches!(res, Ok(r) if r.status().as_u16() == 201)
}

/// Every listed row downloads with its sha256; the rows by result.
async fn every_row_has_its_bytes(api: &Api, run: &str, results: &[String]) -> Vec<Value> {
    let mut rows = Vec::new();
    for result in results {
        for row in api.attachments(run, result).await {
            let id = row["id"].as_str().expect("id");
            let bytes = api
                .download(id)
                .await
                .unwrap_or_else(|s| panic!("row {row} has no bytes: {s}"));
            assert_eq!(
                sha256(&bytes),
                row["sha256"].as_str().expect("sha256"),
                "{row}"
            );
            assert_eq!(bytes.len() as u64, row["size"].as_u64().expect("size"));
            rows.push(row);
        }
    }
    rows
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killing_the_server_mid_upload_never_leaves_a_row_without_bytes() {
    let cycles = common::crash_cycles(6);
    let mut rng = Rng::from_clock();
    println!("attachment crash test: {cycles} cycles, seed {}", rng.0);
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("v.db");
    let root = dir.path().join("verdict-attachments");

    let (run, results) = {
        let server = Server::start(&db, Some(TOKEN));
        let api = Api::new(&server.url);
        let (project, cases) = project_with_cases(&api, RESULTS).await;
        let (s, r) = api
            .post(
                &format!("/v1/projects/{project}/runs"),
                json!({"name": "crash"}),
            )
            .await;
        assert_eq!(s, 201, "{r}");
        let run = r["data"]["id"].as_str().expect("run").to_string();
        let entries: Vec<Value> = cases
            .iter()
            .map(|c| json!({"test_case_id": c, "status": "failed"}))
            .collect();
        let (s, b) = api
            .post(
                &format!("/v1/runs/{run}/results/bulk"),
                json!({"results": entries}),
            )
            .await;
        assert_eq!(s, 200, "{b}");
        let results: Vec<String> = b["data"]["results"]
            .as_array()
            .expect("results")
            .iter()
            .map(|r| r["id"].as_str().expect("id").to_string())
            .collect();
        (run, results)
    };

    let mut sent: Vec<Sent> = Vec::new();
    let mut listed = 0;
    for cycle in 0..cycles {
        let mut server = Server::start(&db, Some(TOKEN));
        let api = Api::new(&server.url);
        // After a restart: every row the API lists has its bytes.
        listed = every_row_has_its_bytes(&api, &run, &results).await.len();
        let mut tasks = Vec::new();
        for worker in 0..3u64 {
            let (api, run, results) = (api.clone(), run.clone(), results.clone());
            let salt = rng.next();
            tasks.push(tokio::spawn(async move {
                let mut mine = Vec::new();
                for j in 0..6u64 {
                    let k = salt.wrapping_add(j);
                    // 64 KiB to 2 MiB; every third upload sends the same
                    // bytes as the other workers' (one file, stored
                    // concurrently, named by many rows).
                    let bytes = if j % 3 == 2 {
                        noise(12_345, 300_000)
                    } else {
                        noise(k, 64 * 1024 + (k % (2 * 1024 * 1024 - 64 * 1024)) as usize)
                    };
                    let result = results[(k % results.len() as u64) as usize].clone();
                    let name = format!("c{cycle}-w{worker}-{j}.bin");
                    let acknowledged = try_attach(&api, &run, &result, &name, bytes.clone()).await;
                    mine.push(Sent {
                        result,
                        name,
                        sha256: sha256(&bytes),
                        acknowledged,
                    });
                }
                mine
            }));
        }
        tokio::time::sleep(Duration::from_millis(100 + rng.next() % 1500)).await;
        server.child.kill().expect("SIGKILL");
        server.child.wait().expect("reap");
        for t in tasks {
            sent.extend(t.await.expect("client task"));
        }
    }

    // After the last kill: every row has its bytes, every acknowledged
    // upload is there.
    let rows = {
        let server = Server::start(&db, Some(TOKEN));
        let api = Api::new(&server.url);
        every_row_has_its_bytes(&api, &run, &results).await
    };
    let by_name: HashMap<(String, String), String> = rows
        .iter()
        .map(|r| {
            (
                (
                    r["result_id"].as_str().expect("result_id").to_string(),
                    r["name"].as_str().expect("name").to_string(),
                ),
                r["sha256"].as_str().expect("sha256").to_string(),
            )
        })
        .collect();
    let acked = sent.iter().filter(|s| s.acknowledged).count();
    for s in sent.iter().filter(|s| s.acknowledged) {
        assert_eq!(
            by_name.get(&(s.result.clone(), s.name.clone())),
            Some(&s.sha256),
            "acknowledged but lost: {s:?}"
        );
    }
    let named: BTreeSet<String> = rows
        .iter()
        .map(|r| r["sha256"].as_str().expect("sha256").to_string())
        .collect();
    let (files_before, spool_before) = stored_files(&root);

    // With the server stopped, a prune with no grace removes every orphan.
    let db_url = format!("sqlite://{}", db.display());
    let (code, out, err) = verdict(&[
        "admin",
        "prune",
        "--older-than",
        "3650d",
        "--orphan-grace",
        "0s",
        "--database-url",
        &db_url,
    ]);
    assert_eq!(code, 0, "{out}{err}");
    let (files_after, spool_after) = stored_files(&root);
    let stored: BTreeSet<String> = files_after.keys().cloned().collect();
    assert_eq!(stored, named, "the files are exactly those rows name");
    assert!(
        spool_after.is_empty(),
        "the spool is empty: {spool_after:?}"
    );
    println!(
        "attachment crash test: {cycles} kill-restart cycles, {} uploads ({acked} acknowledged, all present), {} rows ({} files) all with their bytes; last listing before the final kill: {listed} rows; the prune removed {} orphan files and {} spooled uploads\n{out}",
        sent.len(),
        rows.len(),
        named.len(),
        files_before.len() - files_after.len(),
        spool_before.len(),
    );
    assert!(acked > 0, "some uploads landed");

    // And the server still serves them after the prune.
    let server = Server::start(&db, Some(TOKEN));
    let api = Api::new(&server.url);
    assert_eq!(
        every_row_has_its_bytes(&api, &run, &results).await.len(),
        rows.len()
    );
}
