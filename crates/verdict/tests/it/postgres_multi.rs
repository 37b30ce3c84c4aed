//! Several stateless servers on one PostgreSQL database (API §1, §9):
//! two `verdict serve` processes, eight concurrent clients mixing PATCH and
//! overlapping bulk uploads across both. Afterwards every accepted write is
//! in history exactly once, each result's current state is its last write,
//! counts equal a recount, and nobody saw a 5xx or a deadlock.

use crate::common;

use std::collections::{HashMap, HashSet};

use common::Server;
use serde_json::{Value, json};
use verdict_postgres::testing::{SKIP_MESSAGE, TestDatabase};

const TOKEN: &str = "vdt_multi_admin_token_0123456789abcdef";
const CASES: usize = 120;
const CLIENTS: usize = 8;
const REQUESTS: usize = 50;
const STATUSES: [&str; 4] = ["passed", "failed", "blocked", "retest"];

async fn call(
    client: &reqwest::Client,
    method: reqwest::Method,
    url: String,
    body: Option<Value>,
) -> (u16, Value) {
    let mut req = client.request(method, url).bearer_auth(TOKEN);
    if let Some(b) = body {
        req = req.json(&b);
    }
    let res = req.send().await.expect("request");
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_servers_on_one_database_lose_and_duplicate_nothing() {
    let Some(db) = TestDatabase::from_env().await else {
        println!("{SKIP_MESSAGE}");
        return;
    };
    let a = Server::start_url(db.url(), Some(TOKEN));
    let b = Server::start_url(db.url(), Some(TOKEN));
    let http = common::http();

    let (s, p) = call(
        &http,
        reqwest::Method::POST,
        format!("{}/v1/projects", a.url),
        Some(json!({"name": "multi"})),
    )
    .await;
    assert_eq!(s, 201, "{p}");
    let pid = p["data"]["id"].as_str().expect("pid").to_string();
    let cases: Vec<Value> = (0..CASES)
        .map(|i| json!({"title": format!("c{i}"), "key": format!("k{i}")}))
        .collect();
    let (s, c) = call(
        &http,
        reqwest::Method::POST,
        format!("{}/v1/projects/{pid}/cases/bulk", b.url),
        Some(json!({"cases": cases})),
    )
    .await;
    assert_eq!(s, 200, "{c}");
    let case_ids: Vec<String> = c["data"]["cases"]
        .as_array()
        .expect("cases")
        .iter()
        .map(|c| c["id"].as_str().expect("id").to_string())
        .collect();
    let (s, r) = call(
        &http,
        reqwest::Method::POST,
        format!("{}/v1/projects/{pid}/runs", a.url),
        Some(json!({"name": "multi"})),
    )
    .await;
    assert_eq!(s, 201, "{r}");
    let rid = r["data"]["id"].as_str().expect("rid").to_string();
    let (_, list) = call(
        &http,
        reqwest::Method::GET,
        format!("{}/v1/runs/{rid}/results?per_page=1000", b.url),
        None,
    )
    .await;
    let result_of: HashMap<String, String> = list["data"]
        .as_array()
        .expect("results")
        .iter()
        .map(|r| {
            (
                r["test_case_id"].as_str().expect("case").to_string(),
                r["id"].as_str().expect("id").to_string(),
            )
        })
        .collect();

    let urls = [a.url.clone(), b.url.clone()];
    let mut tasks = Vec::new();
    for client in 0..CLIENTS {
        let (http, urls, rid, case_ids, result_of) = (
            http.clone(),
            urls.clone(),
            rid.clone(),
            case_ids.clone(),
            result_of.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let mut accepted: Vec<String> = Vec::new();
            let mut x = (client as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15);
            for k in 0..REQUESTS {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                let url = &urls[(client + k) % 2];
                if k % 3 == 0 {
                    // A bulk of 20 overlapping cases (everyone writes the low ids).
                    let start = (x as usize) % (CASES - 20);
                    let entries: Vec<Value> = (0..20)
                        .map(|j| {
                            json!({"test_case_id": case_ids[(start + j * 3) % CASES],
                                   "status": STATUSES[(j + k) % 4], "note": format!("c{client}-w{k}-e{j}")})
                        })
                        .collect();
                    let (s, body) = call(&http, reqwest::Method::POST, format!("{url}/v1/runs/{rid}/results/bulk"), Some(json!({"results": entries}))).await;
                    assert_eq!(s, 200, "bulk: {body}");
                    accepted.extend((0..20).map(|j| format!("c{client}-w{k}-e{j}")));
                } else {
                    let case = &case_ids[(x as usize) % 30];
                    let note = format!("c{client}-w{k}");
                    let (s, body) = call(
                        &http,
                        reqwest::Method::PATCH,
                        format!("{url}/v1/runs/{rid}/results/{}", result_of[case]),
                        Some(json!({"status": STATUSES[k % 4], "note": note})),
                    )
                    .await;
                    assert_eq!(s, 200, "patch: {body}");
                    accepted.push(note);
                }
            }
            accepted
        }));
    }
    let mut accepted = HashSet::new();
    for t in tasks {
        for note in t.await.expect("client") {
            assert!(accepted.insert(note), "notes are unique");
        }
    }

    // Every accepted write exactly once in history; current = newest.
    let mut seen: HashMap<String, usize> = HashMap::new();
    let (_, list) = call(
        &http,
        reqwest::Method::GET,
        format!("{}/v1/runs/{rid}/results?per_page=1000", a.url),
        None,
    )
    .await;
    let results = list["data"].as_array().expect("results").clone();
    let mut recount: HashMap<String, i64> = HashMap::new();
    for r in &results {
        *recount
            .entry(r["status"].as_str().expect("status").to_string())
            .or_default() += 1;
        let id = r["id"].as_str().expect("id");
        let (_, h) = call(
            &http,
            reqwest::Method::GET,
            format!("{}/v1/runs/{rid}/results/{id}/history?per_page=1000", b.url),
            None,
        )
        .await;
        let history = h["data"].as_array().expect("history");
        assert!(h["meta"]["total"].as_i64().expect("total") <= 1000);
        if let Some(newest) = history.first() {
            assert_eq!(
                newest["note"], r["note"],
                "{id}: current state is the last write"
            );
            assert_eq!(newest["status"], r["status"], "{id}");
        }
        for e in history {
            *seen
                .entry(e["note"].as_str().expect("note").to_string())
                .or_default() += 1;
        }
    }
    for note in &accepted {
        assert_eq!(seen.get(note), Some(&1), "{note} appears exactly once");
    }
    assert_eq!(
        seen.len(),
        accepted.len(),
        "nothing in history that was not accepted"
    );
    let (_, run) = call(
        &http,
        reqwest::Method::GET,
        format!("{}/v1/runs/{rid}", b.url),
        None,
    )
    .await;
    for status in ["passed", "failed", "blocked", "retest", "not_tested"] {
        assert_eq!(
            run["data"]["counts"][status],
            recount.get(status).copied().unwrap_or(0),
            "{status}"
        );
    }
    println!(
        "multi-instance: 2 servers, {CLIENTS} clients, {} requests, {} accepted executions, all in history exactly once",
        CLIENTS * REQUESTS,
        accepted.len()
    );
    drop((a, b));
    db.drop_database().await.expect("drop the test database");
}
