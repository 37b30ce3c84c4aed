//! `cargo run --release -p verdict-bench -- [--quick]`
//!
//! Starts a real server (in this process, on a loopback port) over a fresh
//! SQLite file, seeds it through the API, and times workloads end to end
//! over HTTP. Prints medians and spreads; never fails on a number.

// No unwrap() on anything a client or the environment controls; tests may.
#![warn(clippy::unwrap_used)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use verdict_server::{AppState, Limits};
use verdict_sqlite::{SqliteConfig, SqliteStore, Synchronous};
use verdict_store::Store;

const TOKEN: &str = "vdt_bench_admin_token_0123456789abcdef";
const STATUSES: [&str; 4] = ["passed", "failed", "blocked", "retest"];

struct Client {
    http: reqwest::Client,
    base: String,
}

impl Client {
    async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<Value, String> {
        let mut req = self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(TOKEN);
        if let Some(b) = body {
            req = req.json(b);
        }
        let res = req.send().await.map_err(|e| e.to_string())?;
        let status = res.status();
        let value: Value = res.json().await.map_err(|e| e.to_string())?;
        if !status.is_success() {
            return Err(format!("{path}: {status} {value}"));
        }
        Ok(value)
    }
}

fn median(mut xs: Vec<Duration>) -> (Duration, Duration, Duration) {
    xs.sort();
    (xs[0], xs[xs.len() / 2], xs[xs.len() - 1])
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// A project with `n` cases and a run over them; returns (run id, case ids).
async fn seed(c: &Client, n: usize) -> Result<(String, Vec<String>), String> {
    let p = c
        .send(
            reqwest::Method::POST,
            "/v1/projects",
            Some(&json!({"name": format!("bench {n}")})),
        )
        .await?;
    let pid = p["data"]["id"].as_str().ok_or("project id")?.to_string();
    let mut ids = Vec::with_capacity(n);
    for chunk_start in (0..n).step_by(50_000) {
        let cases: Vec<Value> = (chunk_start..n.min(chunk_start + 50_000))
            .map(|i| json!({"title": format!("Case {i}"), "key": format!("bench.k{i}")}))
            .collect();
        let r = c
            .send(
                reqwest::Method::POST,
                &format!("/v1/projects/{pid}/cases/bulk"),
                Some(&json!({"cases": cases})),
            )
            .await?;
        for case in r["data"]["cases"].as_array().ok_or("cases")? {
            ids.push(case["id"].as_str().ok_or("case id")?.to_string());
        }
    }
    let run = c
        .send(
            reqwest::Method::POST,
            &format!("/v1/projects/{pid}/runs"),
            Some(&json!({"name": "bench"})),
        )
        .await?;
    Ok((run["data"]["id"].as_str().ok_or("run id")?.to_string(), ids))
}

async fn bench_bulk(c: &Client, n: usize, reps: usize) -> Result<(), String> {
    let (run, ids) = seed(c, n).await?;
    let mut times = Vec::new();
    for rep in 0..reps {
        // Every repetition writes different values: SQLite skips identical
        // updates, which would measure nothing.
        let results: Vec<Value> = ids
            .iter()
            .enumerate()
            .map(|(i, id)| {
                json!({"test_case_id": id, "status": STATUSES[(i + rep) % 4], "elapsed_ms": i + rep})
            })
            .collect();
        let body = json!({"results": results});
        let start = Instant::now();
        let r = c
            .send(
                reqwest::Method::POST,
                &format!("/v1/runs/{run}/results/bulk"),
                Some(&body),
            )
            .await?;
        times.push(start.elapsed());
        if r["data"]["updated"] != n {
            return Err(format!("bulk applied {} of {n}", r["data"]["updated"]));
        }
    }
    let (lo, mid, hi) = median(times);
    println!(
        "bulk {n:>7} results   median {:>8.1} ms   (min {:.1}, max {:.1}, {reps} reps)   {:.0} results/s",
        ms(mid),
        ms(lo),
        ms(hi),
        n as f64 / mid.as_secs_f64()
    );
    Ok(())
}

async fn bench_list(c: &Client, n: usize, reps: usize) -> Result<(), String> {
    let (run, _) = seed(c, n).await?;
    for (label, query) in [
        ("page 1", "per_page=20".to_string()),
        ("deep page", format!("per_page=20&page={}", (n / 20).max(1))),
        ("filtered", "per_page=20&status=not_tested".to_string()),
    ] {
        let mut times = Vec::new();
        for _ in 0..reps {
            let start = Instant::now();
            c.send(
                reqwest::Method::GET,
                &format!("/v1/runs/{run}/results?{query}"),
                None,
            )
            .await?;
            times.push(start.elapsed());
        }
        let (lo, mid, hi) = median(times);
        println!(
            "list {n:>7}-result run, {label:<9}  median {:>7.2} ms   (min {:.2}, max {:.2})",
            ms(mid),
            ms(lo),
            ms(hi)
        );
    }
    Ok(())
}

async fn run(quick: bool) -> Result<(), String> {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let config = SqliteConfig {
        path: dir.path().join("bench.db"),
        synchronous: Synchronous::Full,
    };
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(&config).map_err(|e| e.to_string())?);
    verdict_server::bootstrap(store.as_ref(), Some(TOKEN)).await?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|e| e.to_string())?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    let state = AppState::new(store, Limits::default());
    tokio::spawn(verdict_server::serve(
        listener,
        state,
        std::future::pending(),
    ));
    let _ = rustls::crypto::ring::default_provider().install_default();
    let client = Client {
        http: reqwest::Client::new(),
        base: format!("http://{addr}"),
    };
    println!(
        "verdict-bench: SQLite (synchronous=FULL), server and client in one process, loopback HTTP"
    );
    let reps = if quick { 3 } else { 7 };
    bench_bulk(&client, 10_000, reps).await?;
    bench_bulk(&client, 50_000, reps).await?;
    let big = if quick { 100_000 } else { 1_000_000 };
    bench_list(&client, 100, 15).await?;
    bench_list(&client, big, 15).await?;
    Ok(())
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let quick = std::env::args().any(|a| a == "--quick");
    match run(quick).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("verdict-bench: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
