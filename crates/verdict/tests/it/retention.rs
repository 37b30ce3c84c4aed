//! Retention (API §7, §8): `verdict admin prune` deletes closed runs older
//! than a duration with their results, history and attachments, and gives
//! the space back. Measured on disk: the attachment folder's files and the
//! database (SQLite: the file and its write-ahead log; PostgreSQL: the
//! database's size) before and after. A dry run changes nothing; files
//! still named by a run that stays are kept and download unchanged;
//! `verdict serve --retention-days` prunes by itself; bad input to the
//! command is a clear error and a non-zero exit.

use crate::common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, SystemTime};

use common::Server;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use verdict_postgres::testing::{SKIP_MESSAGE, TestDatabase};

pub const TOKEN: &str = "vdt_retention_admin_token_0123456789abcdef";
const CASES: usize = 1500;
const STATUSES: [&str; 4] = ["passed", "failed", "blocked", "retest"];

/// The API over HTTP with the admin token.
#[derive(Clone)]
pub struct Api {
    pub http: reqwest::Client,
    pub url: String,
}

impl Api {
    pub fn new(url: &str) -> Api {
        Api {
            http: common::http(),
            url: url.to_string(),
        }
    }

    pub async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut req = self
            .http
            .request(method, format!("{}{path}", self.url))
            .bearer_auth(TOKEN);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let res = req.send().await.expect("request");
        let status = res.status().as_u16();
        (status, res.json().await.unwrap_or(Value::Null))
    }

    pub async fn get(&self, path: &str) -> (u16, Value) {
        self.call(reqwest::Method::GET, path, None).await
    }

    pub async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        self.call(reqwest::Method::POST, path, Some(body)).await
    }

    /// Attaches `bytes` as `name` (raw body); the new row.
    pub async fn attach(&self, run: &str, result: &str, name: &str, bytes: Vec<u8>) -> Value {
        let res = self
            .http
            .post(format!(
                "{}/v1/runs/{run}/results/{result}/attachments?name={name}",
                self.url
            ))
            .bearer_auth(TOKEN)
            .header("content-type", content_type(name))
            .body(bytes)
            .send()
            .await
            .expect("attach");
        let status = res.status().as_u16();
        let body: Value = res.json().await.unwrap_or(Value::Null);
        assert_eq!(status, 201, "attach {name}: {body}");
        body["data"][0].clone()
    }

    /// A result's attachment rows.
    pub async fn attachments(&self, run: &str, result: &str) -> Vec<Value> {
        let (s, body) = self
            .get(&format!("/v1/runs/{run}/results/{result}/attachments"))
            .await;
        assert_eq!(s, 200, "list attachments of {result}: {body}");
        body["data"].as_array().expect("a list").clone()
    }

    /// An attachment's bytes, or the status when not 200.
    pub async fn download(&self, id: &str) -> Result<Vec<u8>, u16> {
        let res = self
            .http
            .get(format!("{}/v1/attachments/{id}/content", self.url))
            .bearer_auth(TOKEN)
            .send()
            .await
            .map_err(|_| 0u16)?;
        if res.status().as_u16() != 200 {
            return Err(res.status().as_u16());
        }
        res.bytes().await.map(|b| b.to_vec()).map_err(|_| 0)
    }
}

fn content_type(name: &str) -> &'static str {
    if name.ends_with(".png") {
        "image/png"
    } else if name.ends_with(".txt") || name.ends_with(".log") {
        "text/plain"
    } else {
        "application/octet-stream"
    }
}

pub fn sha256(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// `len` bytes that differ by seed (xorshift64*), so no two files share a
/// digest by accident and nothing compresses them.
pub fn noise(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        out.extend_from_slice(&x.wrapping_mul(0x2545_F491_4F6C_DD1D).to_le_bytes());
    }
    out.truncate(len);
    out
}

/// The stored files (digest → size) in an attachment folder, and the
/// files in its spool.
pub fn stored_files(root: &Path) -> (BTreeMap<String, u64>, Vec<PathBuf>) {
    let mut files = BTreeMap::new();
    let mut spool = Vec::new();
    let Ok(entries) = std::fs::read_dir(root) else {
        return (files, spool);
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        if name == ".incoming" {
            spool.extend(
                std::fs::read_dir(&path)
                    .expect("spool")
                    .flatten()
                    .map(|e| e.path()),
            );
            continue;
        }
        if !path.is_dir() {
            continue;
        }
        for file in std::fs::read_dir(&path).expect("fan-out folder").flatten() {
            let size = file.metadata().expect("metadata").len();
            files.insert(file.file_name().to_string_lossy().into_owned(), size);
        }
    }
    (files, spool)
}

/// A SQLite database's bytes on disk: the file and its write-ahead log.
fn sqlite_bytes(db: &Path) -> u64 {
    let wal = PathBuf::from(format!("{}-wal", db.display()));
    [db.to_path_buf(), wal]
        .iter()
        .map(|p| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0))
        .sum()
}

/// Runs the `verdict` binary (no database or storage from the
/// environment); its exit code, stdout and stderr.
pub fn verdict(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_verdict"))
        .args(args)
        .env_remove("VERDICT_DATABASE_URL")
        .env_remove("VERDICT_ATTACHMENTS")
        .output()
        .expect("run verdict");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The number after `label` at the start of a summary line.
fn field(summary: &str, label: &str) -> u64 {
    summary
        .lines()
        .find_map(|l| {
            let mut words = l.split_whitespace();
            let first = words.next()?;
            let rest: Vec<&str> = std::iter::once(first).chain(words).collect();
            let n = label.split_whitespace().count();
            (rest.len() > n && rest[..n].join(" ") == label)
                .then(|| rest[n].parse::<u64>().ok())
                .flatten()
        })
        .unwrap_or_else(|| panic!("no {label:?} in the summary:\n{summary}"))
}

/// Creates a project with `CASES` cases; its id and the case ids.
pub async fn project_with_cases(api: &Api, cases: usize) -> (String, Vec<String>) {
    let (s, p) = api.post("/v1/projects", json!({"name": "retention"})).await;
    assert_eq!(s, 201, "{p}");
    let project = p["data"]["id"].as_str().expect("id").to_string();
    let new: Vec<Value> = (0..cases)
        .map(|i| json!({"title": format!("case {i}"), "key": format!("k{i}")}))
        .collect();
    let (s, c) = api
        .post(
            &format!("/v1/projects/{project}/cases/bulk"),
            json!({"cases": new}),
        )
        .await;
    assert!(s == 200 || s == 201, "{c}");
    let ids = c["data"]["cases"]
        .as_array()
        .expect("cases")
        .iter()
        .map(|c| c["id"].as_str().expect("id").to_string())
        .collect();
    (project, ids)
}

/// A run over every case with two executions each (notes of some length,
/// so history takes room); the run id and its result ids.
pub async fn run_with_results(
    api: &Api,
    project: &str,
    name: &str,
    cases: &[String],
) -> (String, Vec<String>) {
    let (s, r) = api
        .post(
            &format!("/v1/projects/{project}/runs"),
            json!({"name": name}),
        )
        .await;
    assert_eq!(s, 201, "{r}");
    let run = r["data"]["id"].as_str().expect("run id").to_string();
    let mut results = Vec::new();
    for round in 0..2 {
        let entries: Vec<Value> = cases
            .iter()
            .enumerate()
            .map(|(i, c)| {
                json!({
                    "test_case_id": c,
                    "status": STATUSES[(i + round) % 4],
                    "note": format!("{name} round {round} case {i}: {}", "x".repeat(300)),
                    "elapsed_ms": i,
                })
            })
            .collect();
        let (s, b) = api
            .post(
                &format!("/v1/runs/{run}/results/bulk"),
                json!({"results": entries}),
            )
            .await;
        assert_eq!(s, 200, "{b}");
        results = b["data"]["results"]
            .as_array()
            .expect("results")
            .iter()
            .map(|r| r["id"].as_str().expect("result id").to_string())
            .collect();
    }
    (run, results)
}

/// A file put straight into the folder, no row naming it, last stored
/// `age` ago.
fn plant_orphan(root: &Path, seed: u64, age: Duration) -> (String, u64) {
    let bytes = noise(seed, 100_000);
    let digest = sha256(&bytes);
    let dir = root.join(&digest[..2]);
    std::fs::create_dir_all(&dir).expect("fan-out folder");
    let path = dir.join(&digest);
    std::fs::write(&path, &bytes).expect("orphan");
    let file = std::fs::File::options()
        .write(true)
        .open(&path)
        .expect("open orphan");
    file.set_modified(SystemTime::now() - age)
        .expect("age orphan");
    (digest, bytes.len() as u64)
}

const MIB: usize = 1024 * 1024;

/// What the scenario stored: two closed runs to prune, one open run to
/// keep, and the attachments of each.
struct Scenario {
    old: Vec<String>,
    keep: String,
    keep_results: Vec<String>,
    /// Digests only the old runs name (freed by the prune) and their sizes.
    freed: BTreeMap<String, u64>,
    /// Digests the kept run names (one shared with the old runs).
    kept: BTreeMap<String, u64>,
    /// Attachment ids in the old runs (gone after the prune).
    old_attachments: Vec<String>,
}

async fn fill(api: &Api, project: &str, cases: &[String], tag: u64) -> Scenario {
    let (old1, r1) = run_with_results(api, project, &format!("old-1-{tag}"), cases).await;
    let (old2, r2) = run_with_results(api, project, &format!("old-2-{tag}"), cases).await;
    let (keep, rk) = run_with_results(api, project, &format!("keep-{tag}"), cases).await;
    let a = noise(tag * 100 + 1, 3 * MIB / 2);
    let b = noise(tag * 100 + 2, MIB);
    let c = noise(tag * 100 + 3, 5 * MIB / 4);
    let shared = noise(tag * 100 + 4, 3 * MIB / 4);
    let kept_only = noise(tag * 100 + 5, MIB / 4);
    let mut old_attachments = Vec::new();
    for (run, result, name, bytes) in [
        (&old1, &r1[0], "a.bin", &a),
        (&old1, &r1[1], "b.log", &b),
        (&old1, &r1[2], "shared.png", &shared),
        // The same bytes twice: stored once.
        (&old1, &r1[3], "a-again.bin", &a),
        (&old2, &r2[0], "c.bin", &c),
        (&old2, &r2[1], "shared.png", &shared),
    ] {
        let row = api.attach(run, result, name, bytes.clone()).await;
        assert_eq!(row["sha256"], sha256(bytes), "{row}");
        old_attachments.push(row["id"].as_str().expect("id").to_string());
    }
    api.attach(&keep, &rk[0], "shared.png", shared.clone())
        .await;
    api.attach(&keep, &rk[1], "keep.txt", kept_only.clone())
        .await;
    for run in [&old1, &old2] {
        let (s, body) = api.post(&format!("/v1/runs/{run}/close"), json!({})).await;
        assert_eq!(s, 200, "close: {body}");
    }
    let sized = |v: &[&Vec<u8>]| -> BTreeMap<String, u64> {
        v.iter().map(|b| (sha256(b), b.len() as u64)).collect()
    };
    Scenario {
        old: vec![old1, old2],
        keep,
        keep_results: rk,
        freed: sized(&[&a, &b, &c]),
        kept: sized(&[&shared, &kept_only]),
        old_attachments,
    }
}

/// Every attachment of the kept run downloads with its sha256.
async fn kept_run_intact(api: &Api, s: &Scenario) {
    let (status, run) = api.get(&format!("/v1/runs/{}", s.keep)).await;
    assert_eq!(status, 200, "{run}");
    assert_eq!(run["data"]["counts"]["total"], CASES, "{run}");
    let mut seen = 0;
    for result in &s.keep_results[..2] {
        for row in api.attachments(&s.keep, result).await {
            let id = row["id"].as_str().expect("id");
            let bytes = api.download(id).await.expect("the kept file downloads");
            assert_eq!(sha256(&bytes), row["sha256"].as_str().expect("sha256"));
            assert!(s.kept.contains_key(&sha256(&bytes)));
            seen += 1;
        }
    }
    assert_eq!(seen, 2, "both attachments of the kept run");
}

async fn old_runs_gone(api: &Api, s: &Scenario) {
    for run in &s.old {
        let (status, body) = api.get(&format!("/v1/runs/{run}")).await;
        assert_eq!(status, 404, "pruned run {run}: {body}");
    }
    for id in &s.old_attachments {
        let (status, body) = api.get(&format!("/v1/attachments/{id}")).await;
        assert_eq!(status, 404, "pruned attachment {id}: {body}");
    }
}

fn mib(n: u64) -> String {
    format!("{:.2} MiB", n as f64 / MIB as f64)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prune_frees_the_files_and_database_pages_of_old_closed_runs() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("v.db");
    let db_url = format!("sqlite://{}", db.display());
    // The default storage: a folder beside the SQLite file, for the server
    // and for the command alike.
    let root = dir.path().join("verdict-attachments");
    let server = Server::start(&db, Some(TOKEN));
    let api = Api::new(&server.url);
    let (project, cases) = project_with_cases(&api, CASES).await;
    let s = fill(&api, &project, &cases, 1).await;
    let (old_orphan, old_orphan_size) = plant_orphan(&root, 901, Duration::from_secs(7200));
    let (young_orphan, _) = plant_orphan(&root, 902, Duration::ZERO);
    tokio::time::sleep(Duration::from_millis(1500)).await;

    let (files_before, _) = stored_files(&root);
    let db_before = sqlite_bytes(&db);
    for d in s.freed.keys().chain(s.kept.keys()) {
        assert!(files_before.contains_key(d), "stored once: {d}");
    }

    // A dry run counts and changes nothing.
    let (code, out, err) = verdict(&[
        "admin",
        "prune",
        "--older-than",
        "1s",
        "--dry-run",
        "--database-url",
        &db_url,
    ]);
    assert_eq!(code, 0, "{out}{err}");
    eprintln!("dry run:\n{out}");
    assert!(out.contains("Dry run"), "{out}");
    assert_eq!(field(&out, "runs"), 2);
    assert_eq!(field(&out, "results"), 2 * CASES as u64);
    assert_eq!(field(&out, "executions"), 4 * CASES as u64);
    assert_eq!(field(&out, "attachments"), 6);
    assert_eq!(field(&out, "orphan files"), 1, "the old orphan only");
    assert_eq!(
        stored_files(&root).0,
        files_before,
        "a dry run deletes no file"
    );
    for run in &s.old {
        assert_eq!(api.get(&format!("/v1/runs/{run}")).await.0, 200);
    }

    // The prune, while the server runs (as --retention-days does).
    let (code, out, err) = verdict(&[
        "admin",
        "prune",
        "--older-than",
        "1s",
        "--database-url",
        &db_url,
    ]);
    assert_eq!(code, 0, "{out}{err}");
    eprintln!("prune:\n{out}");
    assert_eq!(field(&out, "runs"), 2);
    assert_eq!(field(&out, "results"), 2 * CASES as u64);
    assert_eq!(field(&out, "executions"), 4 * CASES as u64);
    assert_eq!(field(&out, "attachments"), 6);
    assert_eq!(field(&out, "files freed"), 4, "a, b, c and the old orphan");

    let (files_after, spool) = stored_files(&root);
    let db_after = sqlite_bytes(&db);
    let expected: BTreeMap<String, u64> = s
        .kept
        .clone()
        .into_iter()
        .chain([(young_orphan.clone(), 100_000)])
        .collect();
    assert_eq!(
        files_after, expected,
        "only the kept run's files and the young orphan stay"
    );
    assert!(spool.is_empty(), "{spool:?}");
    assert!(!files_after.contains_key(&old_orphan));
    let files_bytes = |f: &BTreeMap<String, u64>| f.values().sum::<u64>();
    let freed_files = files_bytes(&files_before) - files_bytes(&files_after);
    assert_eq!(
        freed_files,
        s.freed.values().sum::<u64>() + old_orphan_size,
        "exactly the bytes only the pruned runs named, and the old orphan"
    );
    assert!(
        db_after < db_before,
        "the database shrank: {db_before} → {db_after}"
    );
    eprintln!(
        "retention (SQLite): attachment files {} → {} (freed {}, {} files); database file+WAL {} → {} (freed {})",
        mib(files_bytes(&files_before)),
        mib(files_bytes(&files_after)),
        mib(freed_files),
        files_before.len() - files_after.len(),
        mib(db_before),
        mib(db_after),
        mib(db_before - db_after),
    );

    old_runs_gone(&api, &s).await;
    kept_run_intact(&api, &s).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prune_on_postgres_frees_the_files_and_lets_the_database_reuse_its_pages() {
    let Some(pg) = TestDatabase::from_env().await else {
        println!("{SKIP_MESSAGE}");
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path().join("att");
    let root_arg = root.display().to_string();
    let server = Server::start_url_args(pg.url(), Some(TOKEN), &["--attachments", &root_arg]);
    let api = Api::new(&server.url);
    let sql = pg.client().await.expect("a connection");
    let size = || async {
        let row = sql
            .query_one("SELECT pg_database_size(current_database())", &[])
            .await
            .expect("size");
        row.get::<_, i64>(0) as u64
    };
    let (project, cases) = project_with_cases(&api, CASES).await;
    let empty = size().await;
    let s = fill(&api, &project, &cases, 1).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let (files_before, _) = stored_files(&root);
    let full = size().await;

    let (code, out, err) = verdict(&[
        "admin",
        "prune",
        "--older-than",
        "1s",
        "--database-url",
        pg.url(),
        "--attachments",
        &root_arg,
    ]);
    assert_eq!(code, 0, "{out}{err}");
    eprintln!("prune (PostgreSQL):\n{out}");
    assert_eq!(field(&out, "runs"), 2);
    assert_eq!(field(&out, "attachments"), 6);
    assert_eq!(field(&out, "files freed"), 3);
    let (files_after, _) = stored_files(&root);
    assert_eq!(files_after, s.kept, "only the kept run's files stay");
    let pruned = size().await;
    old_runs_gone(&api, &s).await;
    kept_run_intact(&api, &s).await;

    // PostgreSQL's VACUUM (no FULL: it would lock the tables) marks the
    // deleted rows' pages free for reuse rather than returning them to the
    // filesystem, so the proof is that writing the same volume again
    // grows the database by much less than the first time.
    let s2 = fill(&api, &project, &cases, 2).await;
    let refilled = size().await;
    eprintln!(
        "retention (PostgreSQL): database {} with cases, {} filled, {} after the prune, {} after the same volume again; files {} → {}",
        mib(empty),
        mib(full),
        mib(pruned),
        mib(refilled),
        mib(files_before.values().sum()),
        mib(files_after.values().sum()),
    );
    let first_growth = full.saturating_sub(empty);
    let second_growth = refilled.saturating_sub(pruned);
    assert!(
        second_growth < first_growth / 2,
        "the freed pages are reused: the first fill grew the database by {first_growth} bytes, the same fill after the prune by {second_growth}"
    );
    kept_run_intact(&api, &s2).await;
    drop(server);
    drop(sql);
    pg.drop_database().await.expect("drop test database");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_with_retention_days_prunes_shortly_after_start() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("v.db");
    let root = dir.path().join("verdict-attachments");
    // A closed run (closed just now: younger than a day, so it stays) and
    // an orphan file two hours old (older than the default grace: it goes).
    let (run, (old_orphan, _), (young_orphan, _)) = {
        let server = Server::start(&db, Some(TOKEN));
        let api = Api::new(&server.url);
        let (project, cases) = project_with_cases(&api, 3).await;
        let (run, results) = run_with_results(&api, &project, "recent", &cases).await;
        api.attach(&run, &results[0], "log.txt", noise(7, 5000))
            .await;
        let (s, body) = api.post(&format!("/v1/runs/{run}/close"), json!({})).await;
        assert_eq!(s, 200, "{body}");
        (
            run,
            plant_orphan(&root, 903, Duration::from_secs(7200)),
            plant_orphan(&root, 904, Duration::ZERO),
        )
    };
    let mut server = Server::start_args(&db, Some(TOKEN), &["--retention-days", "1"]);
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let log = loop {
        let log = server.stderr_text();
        if log.contains("retention prune done") || log.contains("retention prune failed") {
            break log;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no prune logged within 30 s:\n{log}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    eprintln!(
        "{}",
        log.lines()
            .filter(|l| l.contains("retention"))
            .collect::<Vec<_>>()
            .join("\n")
    );
    assert!(log.contains("retention prune done"), "{log}");
    assert!(log.contains("runs=0"), "a run closed today stays: {log}");
    let (files, _) = stored_files(&root);
    assert!(!files.contains_key(&old_orphan), "the old orphan went");
    assert!(files.contains_key(&young_orphan), "the young orphan stays");
    assert_eq!(files.len(), 2, "the attachment's file and the young orphan");
    let api = Api::new(&server.url);
    assert_eq!(api.get(&format!("/v1/runs/{run}")).await.0, 200);
}

#[test]
fn prune_refuses_bad_input_with_a_clear_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db_url = format!("sqlite://{}", dir.path().join("v.db").display());
    for bad in ["90", "90x", "1.5d", "-1d", "d", "1w", ""] {
        let flag = format!("--older-than={bad}");
        let (code, out, err) = verdict(&["admin", "prune", &flag, "--database-url", &db_url]);
        assert_eq!(code, 2, "--older-than {bad:?}: {out}{err}");
        assert!(err.contains("not a duration"), "{bad:?}: {err}");
    }
    let (code, _, err) = verdict(&[
        "admin",
        "prune",
        "--older-than",
        "1d",
        "--orphan-grace",
        "soon",
        "--database-url",
        &db_url,
    ]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("not a duration"), "{err}");
    for bad in ["abc", "prj_", "run_001", "prj_-1"] {
        let (code, _, err) = verdict(&[
            "admin",
            "prune",
            "--older-than",
            "1d",
            "--project",
            bad,
            "--database-url",
            &db_url,
        ]);
        assert_eq!(code, 2, "--project {bad:?}: {err}");
        assert!(err.contains("prj_<number>"), "{bad:?}: {err}");
    }
    let (code, _, err) = verdict(&["admin", "prune", "--database-url", &db_url]);
    assert_eq!(code, 2, "--older-than is required: {err}");
    assert!(err.contains("--older-than"), "{err}");
    // Nothing was created by the refused commands.
    assert!(!dir.path().join("v.db").exists());

    // A database that cannot be reached, or named in an unknown way.
    let (code, out, err) = verdict(&[
        "admin",
        "prune",
        "--older-than",
        "1d",
        "--database-url",
        "postgres://verdict:secret@127.0.0.1:1/verdict?connect_timeout=2",
    ]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(err.contains("cannot open"), "{err}");
    assert!(!err.contains("secret"), "the password is not shown: {err}");
    let (code, _, err) = verdict(&[
        "admin",
        "prune",
        "--older-than",
        "1d",
        "--database-url",
        "mysql://x@y/z",
    ]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("unsupported database URL"), "{err}");
    let (code, _, err) = verdict(&[
        "admin",
        "prune",
        "--older-than",
        "1d",
        "--database-url",
        "sqlite:///nonexistent-folder/deeper/v.db",
    ]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("cannot open"), "{err}");
    let (code, _, err) = verdict(&[
        "admin",
        "prune",
        "--older-than",
        "1d",
        "--database-url",
        &db_url,
        "--attachments",
        "ftp://host/files",
    ]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("unsupported attachment storage"), "{err}");
}
