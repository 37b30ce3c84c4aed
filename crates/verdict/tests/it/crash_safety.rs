//! Crash safety (API §8): SIGKILL the server at random moments while
//! large bulk uploads and JUnit imports are in flight. After a restart every
//! request is either fully there (results, history, counts, created cases)
//! or not at all, every acknowledged request is there, and SQLite's
//! integrity check passes. `VERDICT_CRASH_CYCLES` sets how many kill-restart
//! cycles run (default 8).

use crate::common;

use std::collections::HashMap;
use std::time::Duration;

use common::{Rng, Server};
use serde_json::{Value, json};

const TOKEN: &str = "vdt_crash_admin_token_0123456789abcdef";
const CASES: usize = 1500;
const STATUSES: [&str; 4] = ["passed", "failed", "blocked", "retest"];

/// What one request was: its tag (in every note it writes), how many
/// executions it carries, and whether the server acknowledged it.
#[derive(Debug, Clone)]
struct Sent {
    tag: String,
    executions: usize,
    junit: bool,
    acknowledged: bool,
}

async fn send_bulk(
    client: &reqwest::Client,
    url: &str,
    run: &str,
    cases: &[String],
    tag: &str,
    k: usize,
) -> bool {
    let results: Vec<Value> = cases
        .iter()
        .enumerate()
        .map(|(i, c)| json!({"test_case_id": c, "status": STATUSES[(i + k) % 4], "note": tag, "elapsed_ms": i}))
        .collect();
    let res = client
        .post(format!("{url}/v1/runs/{run}/results/bulk"))
        .bearer_auth(TOKEN)
        .json(&json!({"results": results}))
        .send()
        .await;
    matches!(res, Ok(r) if r.status().is_success())
}

async fn send_junit(client: &reqwest::Client, url: &str, run: &str, tag: &str, n: usize) -> bool {
    let mut xml = format!("<testsuite name=\"{tag}\">");
    for i in 0..n {
        xml.push_str(&format!(
            "<testcase classname=\"crash.{tag}\" name=\"t{i}\"><failure message=\"{tag}\"/></testcase>"
        ));
    }
    xml.push_str("</testsuite>");
    let res = client
        .post(format!(
            "{url}/v1/runs/{run}/results/junit?create_missing=true"
        ))
        .bearer_auth(TOKEN)
        .header("content-type", "application/xml")
        .body(xml)
        .send()
        .await;
    matches!(res, Ok(r) if r.status().is_success())
}

/// Executions recorded per note, straight from the file.
fn history_by_note(db: &std::path::Path) -> HashMap<String, usize> {
    let conn = rusqlite::Connection::open(db).expect("open db");
    let mut stmt = conn
        .prepare("SELECT note, count(*) FROM history WHERE note IS NOT NULL GROUP BY note")
        .expect("prepare");
    stmt.query_map([], |r| {
        Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)? as usize))
    })
    .expect("query")
    .map(|r| r.expect("row"))
    .collect()
}

/// SQLite's own check of the file, and its check that every reference
/// points at a row: bulks and imports are written with the foreign-key
/// checks off, trusting the store's own lookups.
fn integrity(db: &std::path::Path) -> String {
    let conn = rusqlite::Connection::open(db).expect("open db");
    let file: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .expect("integrity_check");
    let mut check = conn
        .prepare("PRAGMA foreign_key_check")
        .expect("foreign_key_check");
    let dangling: Vec<String> = check
        .query_map([], |r| {
            // The rowid is NULL for a WITHOUT ROWID table.
            Ok(format!(
                "{}:{:?}",
                r.get::<_, String>(0)?,
                r.get::<_, Option<i64>>(1)?
            ))
        })
        .expect("foreign_key_check")
        .collect::<Result<_, _>>()
        .expect("foreign_key_check rows");
    if dangling.is_empty() {
        file
    } else {
        format!("{file}; dangling references: {dangling:?}")
    }
}

async fn get(client: &reqwest::Client, url: &str) -> Value {
    let res = client
        .get(url)
        .bearer_auth(TOKEN)
        .send()
        .await
        .expect("get");
    assert!(res.status().is_success(), "{url}: {}", res.status());
    res.json().await.expect("json")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killing_the_server_mid_write_never_leaves_half_a_request() {
    let cycles = common::crash_cycles(8);
    let mut rng = Rng::from_clock();
    let seed = rng.0;
    println!("crash test: {cycles} cycles, seed {seed}");
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("v.db");
    let client = common::http();

    // Arrange: a project with CASES cases and a run over them.
    let (project, run, cases) = {
        let server = Server::start(&db, Some(TOKEN));
        let u = server.url.clone();
        let p = client
            .post(format!("{u}/v1/projects"))
            .bearer_auth(TOKEN)
            .json(&json!({"name": "crash"}))
            .send()
            .await
            .expect("project");
        let project = p.json::<Value>().await.expect("json")["data"]["id"]
            .as_str()
            .expect("id")
            .to_string();
        let new: Vec<Value> = (0..CASES)
            .map(|i| json!({"title": format!("case {i}"), "key": format!("k{i}")}))
            .collect();
        let r: Value = client
            .post(format!("{u}/v1/projects/{project}/cases/bulk"))
            .bearer_auth(TOKEN)
            .json(&json!({"cases": new}))
            .send()
            .await
            .expect("cases")
            .json()
            .await
            .expect("json");
        let cases: Vec<String> = r["data"]["cases"]
            .as_array()
            .expect("cases")
            .iter()
            .map(|c| c["id"].as_str().expect("id").to_string())
            .collect();
        let run: Value = client
            .post(format!("{u}/v1/projects/{project}/runs"))
            .bearer_auth(TOKEN)
            .json(&json!({"name": "crash"}))
            .send()
            .await
            .expect("run")
            .json()
            .await
            .expect("json");
        (
            project,
            run["data"]["id"].as_str().expect("run id").to_string(),
            cases,
        )
    };

    let mut sent: Vec<Sent> = Vec::new();
    for cycle in 0..cycles {
        let mut server = Server::start(&db, Some(TOKEN));
        let url = server.url.clone();
        let mut tasks = Vec::new();
        for worker in 0..3 {
            let (client, url, run, cases) =
                (client.clone(), url.clone(), run.clone(), cases.clone());
            tasks.push(tokio::spawn(async move {
                let mut mine = Vec::new();
                for j in 0..4 {
                    let tag = format!("c{cycle}-w{worker}-r{j}");
                    let junit = (worker + j) % 3 == 0;
                    let (acknowledged, executions) = if junit {
                        (send_junit(&client, &url, &run, &tag, 400).await, 400)
                    } else {
                        (
                            send_bulk(&client, &url, &run, &cases, &tag, j).await,
                            cases.len(),
                        )
                    };
                    mine.push(Sent {
                        tag,
                        executions,
                        junit,
                        acknowledged,
                    });
                }
                mine
            }));
        }
        // Let the writes get going, then kill at a random moment.
        tokio::time::sleep(Duration::from_millis(20 + rng.next() % 400)).await;
        server.child.kill().expect("SIGKILL");
        server.child.wait().expect("reap");
        for t in tasks {
            sent.extend(t.await.expect("client task"));
        }
    }

    // Assert: after a restart, all or nothing for every request.
    assert_eq!(integrity(&db), "ok");
    let server = Server::start(&db, Some(TOKEN));
    let by_note = history_by_note(&db);
    let (mut whole, mut absent, mut acked) = (0, 0, 0);
    for s in &sent {
        let found = by_note.get(&s.tag).copied().unwrap_or(0);
        assert!(
            found == 0 || found == s.executions,
            "{s:?}: {found} of {} executions",
            s.executions
        );
        if s.acknowledged {
            acked += 1;
            assert_eq!(found, s.executions, "acknowledged but lost: {s:?}");
        }
        if found == 0 {
            absent += 1;
        } else {
            whole += 1;
        }
        if s.junit {
            let key = format!("crash.{}.t0", s.tag);
            let cases = get(
                &client,
                &format!("{}/v1/projects/{project}/cases?key={key}", server.url),
            )
            .await;
            let expected = if found == 0 { 0 } else { 1 };
            assert_eq!(
                cases["meta"]["total"], expected,
                "created cases follow the import: {s:?}"
            );
        }
    }
    // Counts equal a recount.
    let run_now = get(&client, &format!("{}/v1/runs/{run}", server.url)).await;
    let counts = &run_now["data"]["counts"];
    let mut recount: HashMap<String, i64> = HashMap::new();
    let mut after: Option<String> = None;
    loop {
        let mut url = format!("{}/v1/runs/{run}/results?per_page=1000", server.url);
        if let Some(a) = &after {
            url.push_str(&format!("&after={a}"));
        }
        let page = get(&client, &url).await;
        for r in page["data"].as_array().expect("list") {
            *recount
                .entry(r["status"].as_str().expect("status").to_string())
                .or_default() += 1;
        }
        match page["meta"]["next_after"].as_str() {
            Some(n) => after = Some(n.to_string()),
            None => break,
        }
    }
    for status in ["passed", "failed", "blocked", "retest", "not_tested"] {
        assert_eq!(
            counts[status],
            recount.get(status).copied().unwrap_or(0),
            "{status}: {counts}"
        );
    }
    println!(
        "crash test: {cycles} kill-restart cycles, {} requests: {whole} fully applied, {absent} absent, {acked} acknowledged (all present); integrity ok",
        sent.len()
    );
    assert!(whole > 0, "some writes landed");
}
