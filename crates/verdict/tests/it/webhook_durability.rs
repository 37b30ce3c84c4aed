//! Webhook durability: a receiver on loopback answers 500 to about a third
//! of the events the first time they come, and holds some past the
//! server's 10 s timeout; `verdict serve --webhook-allow-private` is
//! SIGKILLed again and again during a stream of bulk uploads and PATCHes
//! (each with its own `Idempotency-Key`, sent again after a lost answer).
//! After a last clean start, once deliveries settle:
//! - every committed write has its `results.recorded` event delivered (a
//!   2xx answered) at least once;
//! - there is no event but those of committed writes: each run gets one
//!   bulk and one PATCH, so it has exactly two events, whose `executions`
//!   add up to the executions in its history (an event written for a
//!   rolled-back attempt, or twice for a replayed write, would be a third);
//! - an event answered 2xx is received again only when that answer may
//!   have been lost: the server was killed after the answer and before the
//!   event came again.
//!
//! The payload names a run and counts its executions (not their ids), so
//! each run gets exactly one bulk and one PATCH and events are matched to
//! writes by run. On SQLite, and on PostgreSQL when
//! `VERDICT_TEST_POSTGRES_URL` is set. `VERDICT_CRASH_CYCLES` sets how
//! many kill-restart cycles run (default 12).

use crate::common;

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::crash_retries::{TOKEN, all, call};
use common::{Rng, Server};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use verdict_postgres::testing::{SKIP_MESSAGE, TestDatabase};

const CASES: usize = 10;
const RUNS: usize = 60;
const WORKERS: usize = 4;
/// A pause between one client's writes, so the stream spans the kills.
const PACE: Duration = Duration::from_millis(60);
/// How long the receiver holds the requests it times out: past the
/// server's 10 s.
const HOLD: Duration = Duration::from_secs(11);
/// How long deliveries may take to settle after the last start: a claim
/// of a killed server lapses after 60 s, then a retry may be 5 s away.
const SETTLE: Duration = Duration::from_secs(150);
/// How long before the receiver read a request the server may have sent
/// it: a request written just before the kill is still read (and
/// answered, to no one) after it.
const SENT_BEFORE: Duration = Duration::from_secs(2);
const STATUSES: [&str; 4] = ["passed", "failed", "blocked", "retest"];

/// What the receiver answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Answer {
    Ok,
    Error,
    /// Held past the server's timeout, then 200 to a closed connection.
    Held,
}

#[derive(Debug, Clone)]
struct Receipt {
    id: String,
    kind: String,
    run: String,
    executions: i64,
    answer: Answer,
    /// When the request came in.
    came: Instant,
}

#[derive(Default)]
struct Receiver {
    receipts: Vec<Receipt>,
    /// How many requests have come for each event id.
    seen: HashMap<String, usize>,
    requests: usize,
}

/// How the receiver treats an event's first request: one in ten held, a
/// third of the rest answered 500. Later requests for it are answered 200
/// (so no event waits longer than the first retry's ~5 s).
fn first_answer(n: usize) -> Answer {
    if n % 10 == 7 {
        Answer::Held
    } else if n.is_multiple_of(3) {
        Answer::Error
    } else {
        Answer::Ok
    }
}

/// Reads one HTTP/1.1 request: its headers (lower-cased names) and body.
async fn read_request(stream: &mut TcpStream) -> Option<(HashMap<String, String>, Vec<u8>)> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    let head_end = loop {
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
    let headers: HashMap<String, String> = head
        .lines()
        .skip(1)
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let length: usize = headers
        .get("content-length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let mut body = buf[head_end..].to_vec();
    while body.len() < length {
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        body.extend_from_slice(&chunk[..n]);
    }
    Some((headers, body))
}

async fn serve_one(mut stream: TcpStream, state: Arc<Mutex<Receiver>>) {
    let came = Instant::now();
    let Some((headers, body)) = read_request(&mut stream).await else {
        return;
    };
    let id = headers.get("webhook-id").cloned().unwrap_or_default();
    let event: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let answer = {
        let mut s = state.lock().expect("receiver");
        s.requests += 1;
        let n = s.requests;
        let seen = s.seen.entry(id.clone()).or_insert(0);
        *seen += 1;
        if *seen == 1 {
            first_answer(n)
        } else {
            Answer::Ok
        }
    };
    if answer == Answer::Held {
        tokio::time::sleep(HOLD).await;
    }
    let status = if answer == Answer::Error {
        "500 Internal Server Error"
    } else {
        "200 OK"
    };
    let _ = stream
        .write_all(
            format!("HTTP/1.1 {status}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
                .as_bytes(),
        )
        .await;
    let _ = stream.flush().await;
    let data = &event["data"];
    state.lock().expect("receiver").receipts.push(Receipt {
        id,
        kind: event["type"].as_str().unwrap_or("").to_string(),
        run: data["run_id"].as_str().unwrap_or("").to_string(),
        executions: data["executions"].as_i64().unwrap_or(-1),
        answer,
        came,
    });
}

/// The receiver on loopback: its URL and what it saw.
async fn receiver() -> (String, Arc<Mutex<Receiver>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!(
        "http://{}/hook",
        listener.local_addr().expect("receiver address")
    );
    let state = Arc::new(Mutex::new(Receiver::default()));
    let shared = Arc::clone(&state);
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(serve_one(stream, Arc::clone(&shared)));
        }
    });
    (url, state)
}

#[derive(Debug, Clone)]
enum Op {
    Bulk,
    Patch,
}

#[derive(Debug, Clone)]
struct Job {
    op: Op,
    run: usize,
    tag: String,
}

#[derive(Default)]
struct Tally {
    answered: usize,
    lost: usize,
    unexpected: Vec<String>,
}

struct Fixture {
    runs: Vec<String>,
    /// Each run's results, in case order.
    results: Vec<Vec<String>>,
    cases: Vec<String>,
}

/// Sends one write with its key: its status, or `None` when the answer
/// was lost.
async fn send(client: &reqwest::Client, url: &str, f: &Fixture, job: &Job) -> Option<u16> {
    let run = &f.runs[job.run];
    let tag = &job.tag;
    let req = match job.op {
        Op::Bulk => {
            let results: Vec<Value> = f
                .cases
                .iter()
                .enumerate()
                .map(|(i, c)| json!({"test_case_id": c, "status": STATUSES[(i + job.run) % 4], "note": tag}))
                .collect();
            client
                .post(format!("{url}/v1/runs/{run}/results/bulk"))
                .json(&json!({ "results": results }))
        }
        Op::Patch => {
            let result = &f.results[job.run][job.run % CASES];
            client
                .patch(format!("{url}/v1/runs/{run}/results/{result}"))
                .json(&json!({"status": "failed", "note": tag}))
        }
    };
    let res = req
        .bearer_auth(TOKEN)
        .header("idempotency-key", tag)
        .timeout(Duration::from_secs(20))
        .send()
        .await
        .ok()?;
    let status = res.status().as_u16();
    res.bytes().await.ok()?;
    Some(status)
}

async fn worker(
    client: reqwest::Client,
    url: String,
    f: Arc<Fixture>,
    queue: Arc<Mutex<VecDeque<Job>>>,
    tally: Arc<Mutex<Tally>>,
) {
    loop {
        let Some(job) = queue.lock().expect("queue").pop_front() else {
            return;
        };
        let answer = send(&client, &url, &f, &job).await;
        let lost = {
            let mut t = tally.lock().expect("tally");
            match answer {
                Some(status) => {
                    t.answered += 1;
                    let ok = match job.op {
                        Op::Bulk => status == 200 || status == 201,
                        Op::Patch => status == 200,
                    };
                    if !ok {
                        t.unexpected.push(format!("{job:?}: {status}"));
                    }
                    false
                }
                None => {
                    t.lost += 1;
                    true
                }
            }
        };
        if lost {
            queue.lock().expect("queue").push_front(job);
            return;
        }
        tokio::time::sleep(PACE).await;
    }
}

fn start_workers(
    client: &reqwest::Client,
    url: &str,
    f: &Arc<Fixture>,
    queue: &Arc<Mutex<VecDeque<Job>>>,
    tally: &Arc<Mutex<Tally>>,
) -> Vec<tokio::task::JoinHandle<()>> {
    (0..WORKERS)
        .map(|_| {
            tokio::spawn(worker(
                client.clone(),
                url.to_string(),
                Arc::clone(f),
                Arc::clone(queue),
                Arc::clone(tally),
            ))
        })
        .collect()
}

const SERVE_ARGS: [&str; 1] = ["--webhook-allow-private"];

/// The project, its cases, the runs and their results, and a webhook to
/// the receiver for `results.recorded`.
async fn arrange(client: &reqwest::Client, database: &str, hook: &str) -> Fixture {
    let server = Server::start_url_args(database, Some(TOKEN), &SERVE_ARGS);
    let u = &server.url;
    let post = |url: String, body: Value| call(client, reqwest::Method::POST, url, Some(body));
    let p = post(format!("{u}/v1/projects"), json!({"name": "hooks"})).await;
    let project = p["data"]["id"].as_str().expect("id").to_string();
    let cases: Vec<Value> = (0..CASES)
        .map(|i| json!({"title": format!("case {i}"), "key": format!("k{i}")}))
        .collect();
    post(
        format!("{u}/v1/projects/{project}/cases/bulk"),
        json!({ "cases": cases }),
    )
    .await;
    let cases: Vec<String> = all(client, &format!("{u}/v1/projects/{project}/cases"))
        .await
        .iter()
        .map(|c| c["id"].as_str().expect("id").to_string())
        .collect();
    let mut runs = Vec::new();
    let mut results = Vec::new();
    for i in 0..RUNS {
        let r = post(
            format!("{u}/v1/projects/{project}/runs"),
            json!({"name": format!("run {i}")}),
        )
        .await;
        let run = r["data"]["id"].as_str().expect("id").to_string();
        let mut by_case: HashMap<String, String> = HashMap::new();
        for r in all(client, &format!("{u}/v1/runs/{run}/results")).await {
            by_case.insert(
                r["test_case_id"].as_str().expect("case").to_string(),
                r["id"].as_str().expect("id").to_string(),
            );
        }
        results.push(cases.iter().map(|c| by_case[c].clone()).collect());
        runs.push(run);
    }
    let w = post(
        format!("{u}/v1/projects/{project}/webhooks"),
        json!({"url": hook, "events": ["results.recorded"], "format": "standard"}),
    )
    .await;
    assert!(w["data"]["secret"].is_string(), "{w}");
    Fixture {
        runs,
        results,
        cases,
    }
}

/// Each run's committed writes (the distinct notes in its history) and
/// its executions.
async fn committed(client: &reqwest::Client, u: &str, f: &Fixture) -> Vec<(BTreeSet<String>, i64)> {
    let mut out = Vec::new();
    for (run, results) in f.runs.iter().zip(&f.results) {
        let mut tags = BTreeSet::new();
        let mut executions = 0;
        for result in results {
            for e in all(
                client,
                &format!("{u}/v1/runs/{run}/results/{result}/history"),
            )
            .await
            {
                if let Some(note) = e["note"].as_str() {
                    tags.insert(note.to_string());
                    executions += 1;
                }
            }
        }
        out.push((tags, executions));
    }
    out
}

/// The distinct event ids answered 2xx, per run.
fn delivered_by_run(receipts: &[Receipt]) -> BTreeMap<String, BTreeSet<String>> {
    let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for r in receipts.iter().filter(|r| r.answer == Answer::Ok) {
        out.entry(r.run.clone()).or_default().insert(r.id.clone());
    }
    out
}

async fn kill_during_writes(database: &str, backend: &str) {
    let started = Instant::now();
    let cycles = common::crash_cycles(12);
    let mut rng = Rng::from_clock();
    let seed = rng.0;
    let client = common::http();
    let (hook, received) = receiver().await;
    let f = Arc::new(arrange(&client, database, &hook).await);

    let jobs: VecDeque<Job> = (0..RUNS)
        .flat_map(|run| {
            [Op::Bulk, Op::Patch].into_iter().map(move |op| Job {
                tag: format!(
                    "{}{run}-{seed:x}",
                    if matches!(op, Op::Bulk) { "b" } else { "p" }
                ),
                op,
                run,
            })
        })
        .collect();
    let total_writes = jobs.len();
    let queue = Arc::new(Mutex::new(jobs));
    let tally = Arc::new(Mutex::new(Tally::default()));
    let mut kills: Vec<Instant> = Vec::new();
    for _ in 0..cycles {
        let mut server = Server::start_url_args(database, Some(TOKEN), &SERVE_ARGS);
        let tasks = start_workers(&client, &server.url, &f, &queue, &tally);
        tokio::time::sleep(Duration::from_millis(150 + rng.next() % 900)).await;
        kills.push(Instant::now());
        server.child.kill().expect("SIGKILL");
        server.child.wait().expect("reap");
        for t in tasks {
            t.await.expect("client");
        }
    }
    // The last start: whatever is left goes through, and deliveries settle.
    let mut server = Server::start_url_args(database, Some(TOKEN), &SERVE_ARGS);
    for t in start_workers(&client, &server.url, &f, &queue, &tally) {
        t.await.expect("client");
    }
    assert!(
        queue.lock().expect("queue").is_empty(),
        "every write answered"
    );
    let writes_done = started.elapsed();
    let committed = committed(&client, &server.url, &f).await;
    for (i, (tags, _)) in committed.iter().enumerate() {
        assert_eq!(
            tags.len(),
            2,
            "run {i}: its bulk and its PATCH, once each: {tags:?}"
        );
    }
    let expected: usize = committed.iter().map(|(t, _)| t.len()).sum();
    let deadline = Instant::now() + SETTLE;
    loop {
        let delivered: usize = delivered_by_run(&received.lock().expect("receiver").receipts)
            .values()
            .map(BTreeSet::len)
            .sum();
        if delivered >= expected || Instant::now() > deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    // Anything else still on its way (it must not be) has time to come.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let settled = started.elapsed();
    server.terminate();

    let receipts = received.lock().expect("receiver").receipts.clone();
    let delivered = delivered_by_run(&receipts);
    let mut all_ids: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for r in &receipts {
        assert_eq!(r.kind, "results.recorded", "{r:?}");
        all_ids
            .entry(r.run.as_str())
            .or_default()
            .insert(r.id.as_str());
    }
    for (i, run) in f.runs.iter().enumerate() {
        let (tags, executions) = &committed[i];
        let ids = delivered.get(run).cloned().unwrap_or_default();
        assert_eq!(
            ids.len(),
            tags.len(),
            "{run}: one event delivered per committed write ({tags:?}), got {ids:?}"
        );
        let every = all_ids.get(run.as_str()).map_or(0, BTreeSet::len);
        assert_eq!(every, tags.len(), "{run}: no event but its writes'");
        // The events' executions add up to the run's.
        let mut per_event: BTreeMap<&str, i64> = BTreeMap::new();
        for r in receipts.iter().filter(|r| &r.run == run) {
            let kept = per_event.entry(r.id.as_str()).or_insert(r.executions);
            assert_eq!(*kept, r.executions, "{run}: the same body on every attempt");
        }
        assert_eq!(
            per_event.values().sum::<i64>(),
            *executions,
            "{run}: the events count the executions written"
        );
    }
    assert_eq!(
        all_ids
            .keys()
            .filter(|r| !f.runs.iter().any(|x| x == *r))
            .count(),
        0,
        "no event for another run"
    );

    // Duplicates: an event answered 2xx comes again only after a kill
    // that may have lost the answer: between the request (give or take
    // SENT_BEFORE: one written just before a kill is read after it) and
    // the next request for it.
    let mut by_id: HashMap<&str, Vec<&Receipt>> = HashMap::new();
    for r in &receipts {
        by_id.entry(r.id.as_str()).or_default().push(r);
    }
    let mut duplicates = 0;
    for (id, mut rs) in by_id {
        rs.sort_by_key(|r| r.came);
        for pair in rs.windows(2) {
            let (before, after) = (pair[0], pair[1]);
            if before.answer != Answer::Ok {
                continue;
            }
            duplicates += 1;
            assert!(
                kills
                    .iter()
                    .any(|k| *k + SENT_BEFORE >= before.came && *k <= after.came),
                "{id} was answered 2xx and sent again without a kill in between: {before:?} then {after:?}"
            );
        }
    }
    let t = tally.lock().expect("tally");
    assert!(
        t.unexpected.is_empty(),
        "unexpected answers: {:?}",
        t.unexpected
    );
    let errors = receipts
        .iter()
        .filter(|r| r.answer == Answer::Error)
        .count();
    let held = receipts.iter().filter(|r| r.answer == Answer::Held).count();
    println!(
        "webhook durability ({backend}): {cycles} kill-restart cycles, {total_writes} writes ({} answers lost and retried), {} requests received ({errors} answered 500, {held} held past the timeout), {duplicates} events received again after a kill; every committed write's event delivered, none other; writes done in {:.1} s, settled in {:.1} s (seed {seed})",
        t.lost,
        receipts.len(),
        writes_done.as_secs_f64(),
        settled.as_secs_f64(),
    );
    assert!(t.lost > 0, "some answers were lost to the kills");
    assert!(errors > 0 && held > 0, "the receiver failed some");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhook_events_survive_kills_on_sqlite() {
    let dir = tempfile::tempdir().expect("tempdir");
    let url = format!("sqlite://{}", dir.path().join("v.db").display());
    kill_during_writes(&url, "SQLite").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhook_events_survive_kills_on_postgres() {
    let Some(db) = TestDatabase::from_env().await else {
        println!("{SKIP_MESSAGE}");
        return;
    };
    kill_during_writes(db.url(), "PostgreSQL").await;
    db.drop_database().await.expect("drop the test database");
}
