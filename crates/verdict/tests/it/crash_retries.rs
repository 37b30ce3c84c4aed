//! Retries after a crash: a stream of PATCHes and creates, each with its own
//! `Idempotency-Key`, while the server is SIGKILLed again and again. Every
//! request whose answer was lost is sent again, with the same key, once the
//! server is back. At the end every write is recorded exactly once: one
//! history row per PATCH, one case or project per create. On SQLite, and
//! on PostgreSQL when `VERDICT_TEST_POSTGRES_URL` is set.
//! `VERDICT_CRASH_CYCLES` sets how many kill-restart cycles run (default 20).

use crate::common;

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{Rng, Server};
use serde_json::{Value, json};
use verdict_postgres::testing::{SKIP_MESSAGE, TestDatabase};

pub(crate) const TOKEN: &str = "vdt_retry_admin_token_0123456789abcdef";
const RESULTS: usize = 40;
const WRITES: usize = 1200;
const WORKERS: usize = 4;
const STATUSES: [&str; 4] = ["passed", "failed", "blocked", "retest"];

/// What one write does; its tag is its key and is in what it writes.
#[derive(Debug, Clone)]
enum Op {
    Patch { result: String },
    Case,
    Project,
}

#[derive(Debug, Clone)]
struct Job {
    op: Op,
    tag: String,
    /// How many times its answer was lost.
    lost: u32,
}

#[derive(Debug, Default)]
struct Tally {
    answered: usize,
    lost: usize,
    /// Answers to requests sent again after their answer was lost.
    retried: usize,
    replays: usize,
    unexpected: Vec<String>,
}

/// A request as the admin that must succeed: its JSON answer.
pub(crate) async fn call(
    client: &reqwest::Client,
    method: reqwest::Method,
    url: String,
    body: Option<Value>,
) -> Value {
    let mut req = client.request(method, &url).bearer_auth(TOKEN);
    if let Some(body) = body {
        req = req.json(&body);
    }
    let res = req.send().await.expect("request");
    assert!(res.status().is_success(), "{url}: {}", res.status());
    res.json().await.expect("json")
}

/// Sends one write with its key: its status and whether it was a replay,
/// or `None` when the answer was lost.
async fn send(
    client: &reqwest::Client,
    url: &str,
    project: &str,
    run: &str,
    job: &Job,
    n: usize,
) -> Option<(u16, bool)> {
    let tag = &job.tag;
    let req = match &job.op {
        Op::Patch { result } => client
            .patch(format!("{url}/v1/runs/{run}/results/{result}"))
            .json(&json!({"status": STATUSES[n % 4], "note": tag})),
        Op::Case => client
            .post(format!("{url}/v1/projects/{project}/cases"))
            .json(&json!({"title": tag, "key": tag})),
        Op::Project => client
            .post(format!("{url}/v1/projects"))
            .json(&json!({"name": tag})),
    };
    let res = req
        .bearer_auth(TOKEN)
        .header("idempotency-key", tag)
        .timeout(Duration::from_secs(20))
        .send()
        .await
        .ok()?;
    let status = res.status().as_u16();
    let replayed = res.headers().get("idempotent-replayed").is_some();
    // A body cut short by the kill is a lost answer too.
    res.bytes().await.ok()?;
    Some((status, replayed))
}

/// Sends queued writes until the queue is empty or an answer is lost
/// (the server is gone); a lost one goes back to the front of the queue.
async fn worker(
    client: reqwest::Client,
    url: String,
    project: String,
    run: String,
    queue: Arc<Mutex<VecDeque<(usize, Job)>>>,
    tally: Arc<Mutex<Tally>>,
) {
    loop {
        let Some((n, mut job)) = queue.lock().expect("queue").pop_front() else {
            return;
        };
        let answer = send(&client, &url, &project, &run, &job, n).await;
        let mut t = tally.lock().expect("tally");
        match answer {
            Some((status, replayed)) => {
                t.answered += 1;
                t.replays += usize::from(replayed);
                t.retried += usize::from(job.lost > 0);
                let expected = match job.op {
                    Op::Patch { .. } => 200,
                    Op::Case | Op::Project => 201,
                };
                if status != expected {
                    t.unexpected.push(format!("{job:?}: {status}"));
                }
            }
            None => {
                t.lost += 1;
                job.lost += 1;
                queue.lock().expect("queue").push_front((n, job));
                return;
            }
        }
    }
}

async fn run_workers(
    client: &reqwest::Client,
    url: &str,
    project: &str,
    run: &str,
    queue: &Arc<Mutex<VecDeque<(usize, Job)>>>,
    tally: &Arc<Mutex<Tally>>,
) -> Vec<tokio::task::JoinHandle<()>> {
    (0..WORKERS)
        .map(|_| {
            tokio::spawn(worker(
                client.clone(),
                url.to_string(),
                project.to_string(),
                run.to_string(),
                Arc::clone(queue),
                Arc::clone(tally),
            ))
        })
        .collect()
}

/// Every page of a listing, as the admin.
pub(crate) async fn all(client: &reqwest::Client, url: &str) -> Vec<Value> {
    let mut out = Vec::new();
    for page in 1.. {
        let sep = if url.contains('?') { '&' } else { '?' };
        let url = format!("{url}{sep}per_page=1000&page={page}");
        let body = call(client, reqwest::Method::GET, url, None).await;
        let data = body["data"].as_array().expect("data").clone();
        let done = data.len() < 1000;
        out.extend(data);
        if done {
            break;
        }
    }
    out
}

/// How many times each text appears under `field` in these items.
fn count_by(items: &[Value], field: &str) -> HashMap<String, usize> {
    let mut out = HashMap::new();
    for item in items {
        if let Some(text) = item[field].as_str() {
            *out.entry(text.to_string()).or_default() += 1;
        }
    }
    out
}

/// The whole scenario against the database at `database`.
async fn kill_and_retry(database: &str, backend: &str) {
    let cycles = common::crash_cycles(20);
    let mut rng = Rng::from_clock();
    let seed = rng.0;
    let client = common::http();

    // Arrange: a project with RESULTS cases and a run over them.
    let (project, run, results) = {
        let server = Server::start_url(database, Some(TOKEN));
        let u = &server.url;
        let post = |url: String, body: Value| call(&client, reqwest::Method::POST, url, Some(body));
        let p = post(format!("{u}/v1/projects"), json!({"name": "retries"})).await;
        let project = p["data"]["id"].as_str().expect("id").to_string();
        let cases: Vec<Value> = (0..RESULTS)
            .map(|i| json!({"title": format!("case {i}"), "key": format!("k{i}")}))
            .collect();
        let cases_url = format!("{u}/v1/projects/{project}/cases/bulk");
        post(cases_url, json!({"cases": cases})).await;
        let r = post(
            format!("{u}/v1/projects/{project}/runs"),
            json!({"name": "r"}),
        )
        .await;
        let run = r["data"]["id"].as_str().expect("id").to_string();
        let results: Vec<String> = all(&client, &format!("{u}/v1/runs/{run}/results"))
            .await
            .iter()
            .map(|r| r["id"].as_str().expect("id").to_string())
            .collect();
        (project, run, results)
    };

    let jobs: VecDeque<(usize, Job)> = (0..WRITES)
        .map(|n| {
            let op = match n % 10 {
                3 | 8 => Op::Case,
                5 => Op::Project,
                _ => Op::Patch {
                    result: results[n % results.len()].clone(),
                },
            };
            let tag = format!("w{n}-{seed:x}");
            (n, Job { op, tag, lost: 0 })
        })
        .collect();
    let all_jobs: Vec<Job> = jobs.iter().map(|(_, j)| j.clone()).collect();
    let queue = Arc::new(Mutex::new(jobs));
    let tally = Arc::new(Mutex::new(Tally::default()));

    for _ in 0..cycles {
        let mut server = Server::start_url(database, Some(TOKEN));
        let tasks = run_workers(&client, &server.url, &project, &run, &queue, &tally).await;
        tokio::time::sleep(Duration::from_millis(30 + rng.next() % 300)).await;
        server.child.kill().expect("SIGKILL");
        server.child.wait().expect("reap");
        for t in tasks {
            t.await.expect("worker");
        }
    }
    // The last start: whatever is left (retries first) goes through.
    let server = Server::start_url(database, Some(TOKEN));
    for t in run_workers(&client, &server.url, &project, &run, &queue, &tally).await {
        t.await.expect("worker");
    }
    assert!(
        queue.lock().expect("queue").is_empty(),
        "every write answered"
    );

    // Assert: each write is there exactly once.
    let u = &server.url;
    let mut notes = HashMap::new();
    for result in &results {
        let history = all(
            &client,
            &format!("{u}/v1/runs/{run}/results/{result}/history"),
        )
        .await;
        for (note, n) in count_by(&history, "note") {
            *notes.entry(note).or_insert(0) += n;
        }
    }
    let cases = count_by(
        &all(&client, &format!("{u}/v1/projects/{project}/cases")).await,
        "title",
    );
    let projects = count_by(&all(&client, &format!("{u}/v1/projects")).await, "name");
    for job in &all_jobs {
        let found = match job.op {
            Op::Patch { .. } => notes.get(&job.tag),
            Op::Case => cases.get(&job.tag),
            Op::Project => projects.get(&job.tag),
        };
        assert_eq!(found, Some(&1), "written exactly once: {job:?}");
    }
    let t = tally.lock().expect("tally");
    assert!(
        t.unexpected.is_empty(),
        "unexpected answers: {:?}",
        t.unexpected
    );
    assert_eq!(t.answered, WRITES, "one answer per write");
    println!(
        "crash retries ({backend}): {cycles} kill-restart cycles, {WRITES} writes, {} answers lost and retried with their key ({} answered after a retry, {} of them replays); every write recorded exactly once (seed {seed})",
        t.lost, t.retried, t.replays
    );
    assert!(t.lost > 0, "some answers were lost to the kills");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_retried_after_kills_are_recorded_once_on_sqlite() {
    let dir = tempfile::tempdir().expect("tempdir");
    let url = format!("sqlite://{}", dir.path().join("v.db").display());
    kill_and_retry(&url, "SQLite").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_retried_after_kills_are_recorded_once_on_postgres() {
    let Some(db) = TestDatabase::from_env().await else {
        println!("{SKIP_MESSAGE}");
        return;
    };
    kill_and_retry(db.url(), "PostgreSQL").await;
    db.drop_database().await.expect("drop the test database");
}
