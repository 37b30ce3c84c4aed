//! Backups (README, "Backups"): `verdict admin backup` copies a live
//! SQLite database while writers keep writing over HTTP, and the copy —
//! served by `verdict serve` — holds every write acknowledged before the
//! backup began (and none sent after it ended); `verdict admin restore`
//! puts a backup into a new file that a server serves with the same
//! answers as the source, attachments included. Bad input is a clear error
//! and a non-zero exit that leaves nothing half-written. On PostgreSQL the
//! documented `pg_dump`/`pg_restore` procedure restores into a new
//! database that a server serves with the same answers.

use crate::common;
use crate::retention::{Api, TOKEN, noise, sha256, verdict};

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use common::Server;
use serde_json::{Value, json};
use verdict_postgres::testing::{SKIP_MESSAGE, TestDatabase, url_from_env};

const STATUSES: [&str; 4] = ["passed", "failed", "blocked", "retest"];

/// A project with `cases` cases and one run over them; the run's id and
/// its result ids in case order (with the case ids).
struct Seeded {
    pid: String,
    rid: String,
    cases: Vec<String>,
    results: Vec<String>,
}

async fn seed(api: &Api, cases: usize) -> Seeded {
    let (s, p) = api.post("/v1/projects", json!({"name": "backed up"})).await;
    assert_eq!(s, 201, "{p}");
    let pid = p["data"]["id"].as_str().unwrap().to_string();
    let list: Vec<Value> = (0..cases)
        .map(|i| json!({"title": format!("case {i}"), "key": format!("k.{i}")}))
        .collect();
    let (s, c) = api
        .post(
            &format!("/v1/projects/{pid}/cases/bulk"),
            json!({"cases": list}),
        )
        .await;
    assert_eq!(s, 200, "{c}");
    let case_ids: Vec<String> = c["data"]["cases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap().to_string())
        .collect();
    let (s, r) = api
        .post(&format!("/v1/projects/{pid}/runs"), json!({"name": "r"}))
        .await;
    assert_eq!(s, 201, "{r}");
    let rid = r["data"]["id"].as_str().unwrap().to_string();
    let mut result_of = HashMap::new();
    let mut after = String::new();
    loop {
        let (s, page) = api
            .get(&format!("/v1/runs/{rid}/results?per_page=1000{after}"))
            .await;
        assert_eq!(s, 200, "{page}");
        let rows = page["data"].as_array().unwrap();
        let Some(last) = rows.last() else { break };
        after = format!("&after={}", last["id"].as_str().unwrap());
        for row in rows {
            result_of.insert(
                row["test_case_id"].as_str().unwrap().to_string(),
                row["id"].as_str().unwrap().to_string(),
            );
        }
    }
    let results = case_ids.iter().map(|c| result_of[c].clone()).collect();
    Seeded {
        pid,
        rid,
        cases: case_ids,
        results,
    }
}

/// One bulk upload of `cases` (indices into the seeded run), each entry's
/// note made by `note`; panics unless it is accepted.
async fn bulk(api: &Api, s: &Seeded, cases: &[usize], note: impl Fn(usize) -> String) {
    let entries: Vec<Value> = cases
        .iter()
        .map(|&i| {
            json!({"test_case_id": s.cases[i], "status": STATUSES[i % 4], "note": note(i), "elapsed": i % 60})
        })
        .collect();
    let (status, body) = api
        .post(
            &format!("/v1/runs/{}/results/bulk", s.rid),
            json!({"results": entries}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
}

/// PATCHes one result of run `rid`; the status and body.
async fn patch(api: &Api, rid: &str, result: &str, body: Value) -> (u16, Value) {
    api.call(
        reqwest::Method::PATCH,
        &format!("/v1/runs/{rid}/results/{result}"),
        Some(body),
    )
    .await
}

/// A write a writer saw acknowledged: which result, its note, and when
/// it was sent and answered.
#[derive(Debug, Clone)]
struct Write {
    result: String,
    note: String,
    sent: Instant,
    acked: Instant,
}

/// PATCHes one of `results` after another (round robin) until `stop`,
/// each with a note unique to this writer and sequence number.
async fn patch_writer(
    api: Api,
    rid: String,
    results: Vec<String>,
    name: String,
    stop: Arc<AtomicBool>,
) -> Vec<Write> {
    let mut done = Vec::new();
    let mut seq = 0usize;
    while !stop.load(Ordering::Relaxed) {
        let result = &results[seq % results.len()];
        let note = format!("{name}-{seq}");
        let sent = Instant::now();
        let (s, body) = patch(
            &api,
            &rid,
            result,
            json!({"status": STATUSES[seq % 4], "note": note}),
        )
        .await;
        assert_eq!(s, 200, "PATCH during the backup: {body}");
        done.push(Write {
            result: result.clone(),
            note,
            sent,
            acked: Instant::now(),
        });
        seq += 1;
    }
    done
}

/// Bulk uploads of 100 entries (cases `from..from + 100`) until `stop`.
async fn bulk_writer(api: Api, s: Arc<Seeded>, from: usize, stop: Arc<AtomicBool>) -> Vec<Write> {
    let mut done = Vec::new();
    let mut seq = 0usize;
    let cases: Vec<usize> = (from..from + 100).collect();
    while !stop.load(Ordering::Relaxed) {
        let sent = Instant::now();
        bulk(&api, &s, &cases, |i| format!("bulk-{seq}-{i}")).await;
        let acked = Instant::now();
        done.extend(cases.iter().map(|&i| Write {
            result: s.results[i].clone(),
            note: format!("bulk-{seq}-{i}"),
            sent,
            acked,
        }));
        seq += 1;
    }
    done
}

/// Every note in a result's history.
async fn history_notes(api: &Api, rid: &str, result: &str) -> Vec<String> {
    let mut notes = Vec::new();
    for page in 1.. {
        let (s, body) = api
            .get(&format!(
                "/v1/runs/{rid}/results/{result}/history?per_page=1000&page={page}"
            ))
            .await;
        assert_eq!(s, 200, "{body}");
        let rows = body["data"].as_array().unwrap();
        if rows.is_empty() {
            break;
        }
        notes.extend(
            rows.iter()
                .filter_map(|r| r["note"].as_str().map(String::from)),
        );
    }
    notes
}

fn sqlite_url(path: &Path) -> String {
    format!("sqlite://{}", path.display())
}

/// Runs `verdict admin backup` from `db` to `to` with extra flags.
fn backup(db: &Path, to: &Path, extra: &[&str]) -> (i32, String, String) {
    let url = sqlite_url(db);
    let to = to.display().to_string();
    let mut args = vec!["admin", "backup", "--database-url", &url, "--to", &to];
    args.extend_from_slice(extra);
    verdict(&args)
}

/// `PRAGMA integrity_check` straight through SQLite.
fn integrity(path: &Path) -> String {
    let conn = rusqlite::Connection::open(path).unwrap();
    conn.query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap()
}

/// Median and max of durations, in milliseconds.
fn median_max(mut v: Vec<Duration>) -> (f64, f64) {
    if v.is_empty() {
        return (0.0, 0.0);
    }
    v.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    (ms(v[v.len() / 2]), ms(v[v.len() - 1]))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_backup_taken_while_writers_write_holds_every_write_acknowledged_before_it() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("live.db");
    let server = Server::start(&db, Some(TOKEN));
    let api = Api::new(&server.url);
    let s = Arc::new(seed(&api, 1000).await);
    // Some megabytes of history, so the copy takes many small steps.
    let filler = String::from_utf8(noise(7, 600).iter().map(|b| b'a' + b % 26).collect()).unwrap();
    for round in 0..6 {
        let all: Vec<usize> = (0..1000).collect();
        bulk(&api, &s, &all, |i| format!("fill-{round}-{i}-{filler}")).await;
    }

    let stop = Arc::new(AtomicBool::new(false));
    let mut writers = Vec::new();
    for w in 0..2 {
        let results = s.results[w * 100..w * 100 + 100].to_vec();
        writers.push(tokio::spawn(patch_writer(
            api.clone(),
            s.rid.clone(),
            results,
            format!("patch{w}"),
            Arc::clone(&stop),
        )));
    }
    writers.push(tokio::spawn(bulk_writer(
        api.clone(),
        Arc::clone(&s),
        500,
        Arc::clone(&stop),
    )));
    // Latencies before the backup, for comparison.
    tokio::time::sleep(Duration::from_millis(1500)).await;

    let copy = dir.path().join("copy.db");
    let began = Instant::now();
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_verdict"))
        .args([
            "admin",
            "backup",
            "--pages-per-step",
            "20",
            "--pause-ms",
            "20",
        ])
        .arg("--database-url")
        .arg(sqlite_url(&db))
        .arg("--to")
        .arg(&copy)
        .env_remove("VERDICT_ATTACHMENTS")
        .output()
        .await
        .unwrap();
    let ended = Instant::now();
    tokio::time::sleep(Duration::from_millis(500)).await;
    stop.store(true, Ordering::Relaxed);
    let mut writes = Vec::new();
    for w in writers {
        writes.extend(w.await.unwrap());
    }
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "backup failed: {stdout}\n{stderr}");
    assert!(stdout.contains("integrity     ok"), "{stdout}");
    assert!(!PathBuf::from(format!("{}.partial", copy.display())).exists());

    let before: Vec<&Write> = writes.iter().filter(|w| w.acked < began).collect();
    let during: Vec<&Write> = writes
        .iter()
        .filter(|w| w.sent >= began && w.acked <= ended)
        .collect();
    let after: Vec<&Write> = writes.iter().filter(|w| w.sent > ended).collect();
    assert!(!before.is_empty() && !during.is_empty() && !after.is_empty());
    let latency = |ws: &[&Write]| median_max(ws.iter().map(|w| w.acked - w.sent).collect());
    let (b50, bmax) = latency(&before);
    let (d50, dmax) = latency(&during);
    println!(
        "backup took {:.2}s with writers running; write latency before: median {b50:.1} ms, max {bmax:.1} ms ({} writes); during: median {d50:.1} ms, max {dmax:.1} ms ({} writes)",
        (ended - began).as_secs_f64(),
        before.len(),
        during.len()
    );
    println!("{stdout}");

    assert_eq!(integrity(&copy), "ok");
    let restored = Server::start(&copy, Some(TOKEN));
    let api = Api::new(&restored.url);
    let mut by_result: HashMap<&str, Vec<&Write>> = HashMap::new();
    for w in before.iter().chain(after.iter()) {
        by_result.entry(&w.result).or_default().push(w);
    }
    let (mut held, mut absent) = (0, 0);
    for (result, ws) in by_result {
        let notes = history_notes(&api, &s.rid, result).await;
        for w in ws {
            if w.acked < began {
                assert!(
                    notes.contains(&w.note),
                    "the write {} acknowledged before the backup began is not in the copy",
                    w.note
                );
                held += 1;
            } else {
                assert!(
                    !notes.contains(&w.note),
                    "the write {} sent after the backup ended is in the copy",
                    w.note
                );
                absent += 1;
            }
        }
    }
    println!(
        "the copy holds all {held} writes acknowledged before it began and none of the {absent} sent after it ended"
    );
}

/// Reads the same paths from two servers and asserts the same answers.
async fn same_answers(a: &Api, b: &Api, paths: &[String]) {
    for path in paths {
        let (sa, va) = a.get(path).await;
        let (sb, vb) = b.get(path).await;
        assert_eq!(sa, 200, "{path}: {va}");
        assert_eq!((sa, &va), (sb, &vb), "{path} differs");
    }
}

/// The GETs a restored database must answer as its source did.
fn reads(s: &Seeded, extra: &[String]) -> Vec<String> {
    let mut paths = vec![
        "/v1/projects".to_string(),
        format!("/v1/projects/{}", s.pid),
        format!("/v1/projects/{}/cases?per_page=1000", s.pid),
        format!("/v1/projects/{}/runs", s.pid),
        format!("/v1/runs/{}", s.rid),
        format!("/v1/runs/{}/results?per_page=1000", s.rid),
        format!("/v1/runs/{}/results?status=failed&per_page=7&page=2", s.rid),
    ];
    for r in s.results.iter().step_by(7) {
        paths.push(format!("/v1/runs/{}/results/{r}", s.rid));
        paths.push(format!("/v1/runs/{}/results/{r}/history", s.rid));
    }
    paths.extend_from_slice(extra);
    paths
}

/// A seeded run with two rounds of bulk results and some PATCHes.
async fn fill(api: &Api, cases: usize) -> Seeded {
    let s = seed(api, cases).await;
    let all: Vec<usize> = (0..cases).collect();
    bulk(api, &s, &all, |i| format!("first {i}")).await;
    bulk(api, &s, &all[..cases / 2], |i| format!("second {i}")).await;
    for (i, r) in s.results.iter().enumerate().step_by(5) {
        let body = json!({"status": "failed", "note": format!("patched {i}")});
        let (st, body) = patch(api, &s.rid, r, body).await;
        assert_eq!(st, 200, "{body}");
    }
    s
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restored_backup_serves_the_same_answers_and_attachments() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("source.db");
    let source = Server::start(&db, Some(TOKEN));
    let api = Api::new(&source.url);
    let s = fill(&api, 120).await;
    let shot = noise(1, 300_000);
    let log = noise(2, 5000);
    let mut attachments = Vec::new();
    for (result, name, bytes) in [
        (&s.results[0], "shot.png", &shot),
        (&s.results[1], "shot.png", &shot),
        (&s.results[1], "out.log", &log),
    ] {
        let row = api.attach(&s.rid, result, name, bytes.clone()).await;
        attachments.push((row["id"].as_str().unwrap().to_string(), sha256(bytes)));
    }

    // The server keeps running: the copy is of a live database.
    let file = dir.path().join("backups").join("verdict.backup");
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    let (code, out, err) = backup(&db, &file, &[]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("2 copied"), "two distinct files: {out}");
    // Again over the same file: only what changed is copied.
    let (code, out, err) = backup(&db, &file, &["--overwrite"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("0 copied (0 B), 2 already there"), "{out}");

    let target = dir.path().join("restored").join("verdict.db");
    std::fs::create_dir_all(target.parent().unwrap()).unwrap();
    let (code, out, err) = verdict(&[
        "admin",
        "restore",
        "--from",
        &file.display().to_string(),
        "--to",
        &sqlite_url(&target),
    ]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("integrity     ok"), "{out}");
    // The same admin token as the source's server: a start without it
    // would revoke the token the restored database holds.
    let restored = Server::start(&target, Some(TOKEN));
    let copy = Api::new(&restored.url);
    let extra = [
        format!("/v1/runs/{}/results/{}/attachments", s.rid, s.results[0]),
        format!("/v1/runs/{}/results/{}/attachments", s.rid, s.results[1]),
    ];
    same_answers(&api, &copy, &reads(&s, &extra)).await;
    for (id, digest) in &attachments {
        let bytes = copy.download(id).await.expect("the restored attachment");
        assert_eq!(&sha256(&bytes), digest);
    }
    // The restored database takes writes.
    let (st, body) = patch(&copy, &s.rid, &s.results[3], json!({"status": "passed"})).await;
    assert_eq!(st, 200, "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backup_refuses_bad_input_and_leaves_nothing_half_written() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("source.db");
    let server = Server::start(&db, Some(TOKEN));
    seed(&Api::new(&server.url), 5).await;

    // An existing FILE is kept without --overwrite.
    let file = dir.path().join("existing.backup");
    std::fs::write(&file, "keep me").unwrap();
    let (code, _, err) = backup(&db, &file, &[]);
    assert_ne!(code, 0);
    assert!(
        err.contains("already exists") && err.contains("--overwrite"),
        "{err}"
    );
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "keep me");
    let (code, out, err) = backup(&db, &file, &["--overwrite"]);
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(integrity(&file), "ok");

    // A missing source is not created.
    let missing = dir.path().join("missing.db");
    let (code, _, err) = backup(&missing, &dir.path().join("m.backup"), &[]);
    assert_ne!(code, 0);
    assert!(err.contains("no database at"), "{err}");
    assert!(!missing.exists() && !dir.path().join("m.backup").exists());

    // A file that is not a Verdict database.
    let text = dir.path().join("notes.txt");
    std::fs::write(&text, "not a database at all, just some words").unwrap();
    let (code, _, err) = backup(&text, &dir.path().join("t.backup"), &[]);
    assert_ne!(code, 0);
    assert!(err.contains("not a readable SQLite database"), "{err}");

    // An unwritable destination.
    let nowhere = dir.path().join("no such folder").join("x.backup");
    let (code, _, err) = backup(&db, &nowhere, &[]);
    assert_ne!(code, 0);
    assert!(err.contains("cannot write"), "{err}");
    let (code, _, err) = backup(&db, dir.path(), &[]);
    assert_ne!(code, 0);
    assert!(err.contains("is a folder"), "{err}");

    // PostgreSQL: pg_dump is the way.
    let (code, _, err) = verdict(&[
        "admin",
        "backup",
        "--database-url",
        "postgres://verdict@127.0.0.1/verdict",
        "--to",
        &dir.path().join("pg.backup").display().to_string(),
    ]);
    assert_ne!(code, 0);
    assert!(
        err.contains("pg_dump") && err.contains("pg_restore"),
        "{err}"
    );

    // Nothing half-written anywhere.
    let partials: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().ends_with(".partial"))
        .collect();
    assert!(partials.is_empty(), "{partials:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restore_refuses_a_database_that_holds_data_and_a_damaged_backup() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("source.db");
    let server = Server::start(&db, Some(TOKEN));
    fill(&Api::new(&server.url), 300).await;
    let file = dir.path().join("good.backup");
    let (code, out, err) = backup(&db, &file, &[]);
    assert_eq!(code, 0, "{out}{err}");
    let restore = |from: &Path, to: &str| {
        verdict(&[
            "admin",
            "restore",
            "--from",
            &from.display().to_string(),
            "--to",
            to,
        ])
    };

    // Onto a database that holds data (the live source itself).
    let before = sha256(&std::fs::read(&db).unwrap());
    let (code, _, err) = restore(&file, &sqlite_url(&db));
    assert_ne!(code, 0);
    assert!(err.contains("already holds a database"), "{err}");
    assert_eq!(sha256(&std::fs::read(&db).unwrap()), before);

    // A backup with a damaged page: the history table's root page
    // overwritten with noise. Refused by the integrity check, nothing
    // written.
    let root: i64 = rusqlite::Connection::open(&file)
        .unwrap()
        .query_row(
            "SELECT rootpage FROM sqlite_schema WHERE name = 'history'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    let mut bytes = std::fs::read(&file).unwrap();
    let at = (root as usize - 1) * 4096;
    assert!(at > 0 && at + 4096 <= bytes.len(), "page {root}");
    bytes[at..at + 4096].copy_from_slice(&noise(3, 4096));
    let damaged = dir.path().join("damaged.backup");
    std::fs::write(&damaged, &bytes).unwrap();
    let target = dir.path().join("t1.db");
    let (code, _, err) = restore(&damaged, &sqlite_url(&target));
    assert_ne!(code, 0);
    assert!(err.contains("not restoring"), "{err}");
    assert!(
        err.contains("integrity check") || err.contains("malformed"),
        "{err}"
    );
    assert!(!target.exists());
    assert!(!PathBuf::from(format!("{}.partial", target.display())).exists());

    // A truncated one.
    let truncated = dir.path().join("truncated.backup");
    std::fs::write(&truncated, &bytes[..bytes.len() / 3]).unwrap();
    let (code, _, err) = restore(&truncated, &sqlite_url(&target));
    assert_ne!(code, 0);
    assert!(err.contains("not restoring"), "{err}");
    assert!(!target.exists());

    // No backup at all, and a PostgreSQL target.
    let (code, _, err) = restore(&dir.path().join("none.backup"), &sqlite_url(&target));
    assert_ne!(code, 0);
    assert!(err.contains("no database at"), "{err}");
    let (code, _, err) = restore(&file, "postgres://verdict@127.0.0.1/verdict");
    assert_ne!(code, 0);
    assert!(err.contains("pg_restore"), "{err}");

    // An empty file is a fine target.
    std::fs::write(&target, "").unwrap();
    let (code, out, err) = restore(&file, &sqlite_url(&target));
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(integrity(&target), "ok");
}

/// A Verdict PostgreSQL URL as libpq takes it (`pg_dump -d`): the same
/// URI without Verdict's own `pool_size`; TLS and other libpq parameters
/// (`sslmode`, `sslrootcert`, `connect_timeout`…) are kept.
fn libpq_uri(url: &str) -> String {
    let Some((base, query)) = url.split_once('?') else {
        return url.to_string();
    };
    let kept: Vec<&str> = query
        .split('&')
        .filter(|p| !p.is_empty() && !p.starts_with("pool_size="))
        .collect();
    if kept.is_empty() {
        base.to_string()
    } else {
        format!("{base}?{}", kept.join("&"))
    }
}

#[test]
fn libpq_uris_drop_only_verdicts_own_parameters() {
    assert_eq!(libpq_uri("postgres://u@h/db"), "postgres://u@h/db");
    assert_eq!(
        libpq_uri("postgres://u@h/db?pool_size=4"),
        "postgres://u@h/db"
    );
    assert_eq!(
        libpq_uri("postgres://u@h/db?sslmode=verify-full&pool_size=4&sslrootcert=/ca.pem"),
        "postgres://u@h/db?sslmode=verify-full&sslrootcert=/ca.pem"
    );
}

/// Runs a PostgreSQL client tool; panics with its output unless it succeeds.
fn pg_tool(tool: &str, args: &[&str]) -> Duration {
    let started = Instant::now();
    let out = std::process::Command::new(format!("/usr/bin/{tool}"))
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run /usr/bin/{tool}: {e}"));
    assert!(
        out.status.success(),
        "{tool} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    started.elapsed()
}

/// The README's procedure: `pg_dump -Fc` of `source` into `dump`, then
/// `pg_restore` into the new, empty database `target`; the time of each.
fn dump_and_restore(source: &str, target: &str, dump: &Path) -> (Duration, Duration) {
    let dump = dump.display().to_string();
    let dumped = pg_tool(
        "pg_dump",
        &[
            "--format=custom",
            "--no-owner",
            "--dbname",
            &libpq_uri(source),
            "--file",
            &dump,
        ],
    );
    let restored = pg_tool(
        "pg_restore",
        &[
            "--no-owner",
            "--exit-on-error",
            "--single-transaction",
            "--dbname",
            &libpq_uri(target),
            &dump,
        ],
    );
    (dumped, restored)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pg_dump_restored_into_a_new_database_serves_the_same_answers() {
    let Some(source_db) = TestDatabase::from_env().await else {
        println!("{SKIP_MESSAGE}");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let files = format!("file://{}", dir.path().join("attachments").display());
    let source = Server::start_url_args(source_db.url(), Some(TOKEN), &["--attachments", &files]);
    let api = Api::new(&source.url);
    let s = fill(&api, 150).await;

    // The procedure in the README, step by step.
    let admin_url = url_from_env().unwrap();
    let target_db = TestDatabase::create(&admin_url).await.unwrap();
    let dump = dir.path().join("verdict.dump");
    let (dumped, restored_in) = dump_and_restore(source_db.url(), target_db.url(), &dump);
    println!(
        "pg_dump {:.2}s, pg_restore {:.2}s",
        dumped.as_secs_f64(),
        restored_in.as_secs_f64()
    );
    // The same admin token (and attachment storage) as the source's server.
    let restored = Server::start_url_args(target_db.url(), Some(TOKEN), &["--attachments", &files]);
    let copy = Api::new(&restored.url);
    same_answers(&api, &copy, &reads(&s, &[])).await;
    let (st, body) = patch(&copy, &s.rid, &s.results[0], json!({"status": "passed"})).await;
    assert_eq!(st, 200, "the restored database takes writes: {body}");
    drop((source, restored));
    source_db.drop_database().await.unwrap();
    target_db.drop_database().await.unwrap();
}

/// Fills a server with `runs` runs of `cases` results each (one bulk
/// upload per run, so every result has one execution in its history).
async fn fill_large(api: &Api, cases: usize, runs: usize) {
    let s = seed(api, cases).await;
    let all: Vec<usize> = (0..cases).collect();
    bulk(api, &s, &all, |i| format!("n{i}")).await;
    for r in 1..runs {
        let (st, run) = api
            .post(
                &format!("/v1/projects/{}/runs", s.pid),
                json!({"name": format!("r{r}")}),
            )
            .await;
        assert_eq!(st, 201, "{run}");
        let rid = run["data"]["id"].as_str().unwrap().to_string();
        let entries: Vec<Value> = s
            .cases
            .iter()
            .enumerate()
            .map(|(i, c)| json!({"test_case_id": c, "status": STATUSES[i % 4], "note": format!("n{i}"), "elapsed": i % 60}))
            .collect();
        let (st, body) = api
            .post(
                &format!("/v1/runs/{rid}/results/bulk"),
                json!({"results": entries}),
            )
            .await;
        assert_eq!(st, 200, "{body}");
    }
}

/// The `verdict` binary timed by the measurement: `VERDICT_BENCH_BIN`
/// (the release build) or this test build's.
fn bench_bin() -> String {
    std::env::var("VERDICT_BENCH_BIN").unwrap_or_else(|_| env!("CARGO_BIN_EXE_verdict").into())
}

fn timed(args: &[&str]) -> Duration {
    let started = Instant::now();
    let out = std::process::Command::new(bench_bin())
        .args(args)
        .env_remove("VERDICT_DATABASE_URL")
        .env_remove("VERDICT_ATTACHMENTS")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let elapsed = started.elapsed();
    // The copy alone, without the integrity check and the rest.
    if let Some(line) = stdout.lines().find(|l| l.contains("copied in")) {
        println!(
            "{} {}: {:.2}s in all;{line}",
            args[0],
            args[1],
            elapsed.as_secs_f64()
        );
    }
    elapsed
}

/// A measurement, not a test (docs/PERFORMANCE.md, "Growing: backups"):
/// `VERDICT_BENCH_BIN=target/release/verdict cargo test -p verdict --test it
/// measure_backups -- --ignored --nocapture` (with
/// `VERDICT_TEST_POSTGRES_URL` for pg_dump/pg_restore). Prints the time to
/// back up and restore 1,000,000 results (50,000 cases × 20 runs), beside
/// a plain copy of the same file as the raw baseline.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement: run by hand, prints numbers"]
async fn measure_backups() {
    const CASES: usize = 50_000;
    const RUNS: usize = 20;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("million.db");
    let server = Server::start(&db, Some(TOKEN));
    let started = Instant::now();
    fill_large(&Api::new(&server.url), CASES, RUNS).await;
    println!(
        "filled {} results in {:.1}s; binary timed: {}",
        CASES * RUNS,
        started.elapsed().as_secs_f64(),
        bench_bin()
    );
    let file = dir.path().join("million.backup");
    let (url, to) = (sqlite_url(&db), file.display().to_string());
    // The server stays up (idle): a live backup, with its default steps.
    let backup = timed(&["admin", "backup", "--database-url", &url, "--to", &to]);
    let fast = timed(&[
        "admin",
        "backup",
        "--database-url",
        &url,
        "--to",
        &to,
        "--overwrite",
        "--pages-per-step",
        "100000",
        "--pause-ms",
        "0",
    ]);
    let raw_copy = dir.path().join("raw.copy");
    let t = Instant::now();
    std::fs::copy(&file, &raw_copy).unwrap();
    std::fs::File::open(&raw_copy).unwrap().sync_all().unwrap();
    let raw = t.elapsed();
    let target = dir.path().join("restored.db");
    let restore = timed(&[
        "admin",
        "restore",
        "--from",
        &to,
        "--to",
        &sqlite_url(&target),
    ]);
    let size = std::fs::metadata(&file).unwrap().len() as f64 / 1_048_576.0;
    println!(
        "SQLite, {size:.0} MiB: backup {:.2}s (defaults), {:.2}s (no pauses); restore {:.2}s; \
         plain copy of the file {:.2}s (backup ÷ copy {:.1}, restore ÷ copy {:.1})",
        backup.as_secs_f64(),
        fast.as_secs_f64(),
        restore.as_secs_f64(),
        raw.as_secs_f64(),
        backup.as_secs_f64() / raw.as_secs_f64(),
        restore.as_secs_f64() / raw.as_secs_f64()
    );
    drop(server);

    let Some(source_db) = TestDatabase::from_env().await else {
        println!("{SKIP_MESSAGE}");
        return;
    };
    let files = format!("file://{}", dir.path().join("attachments").display());
    let server = Server::start_url_args(source_db.url(), Some(TOKEN), &["--attachments", &files]);
    let t = Instant::now();
    fill_large(&Api::new(&server.url), CASES, RUNS).await;
    println!("filled PostgreSQL in {:.1}s", t.elapsed().as_secs_f64());
    drop(server);
    let target_db = TestDatabase::create(&url_from_env().unwrap())
        .await
        .unwrap();
    let dump = dir.path().join("million.dump");
    let (dumped, restored) = dump_and_restore(source_db.url(), target_db.url(), &dump);
    // Raw baseline: the server's own file-level copy of the database.
    let raw_db = TestDatabase::create(&url_from_env().unwrap())
        .await
        .unwrap();
    let raw_name = raw_db.name().to_string();
    raw_db.drop_database().await.unwrap();
    let admin = verdict_postgres::PgConfig::from_url(&url_from_env().unwrap()).unwrap();
    let client = verdict_postgres::connect_client(&admin).await.unwrap();
    let t = Instant::now();
    client
        .batch_execute(&format!(
            "CREATE DATABASE {raw_name} TEMPLATE {}",
            source_db.name()
        ))
        .await
        .unwrap();
    let template = t.elapsed();
    client
        .batch_execute(&format!("DROP DATABASE {raw_name}"))
        .await
        .unwrap();
    let dump_mib = std::fs::metadata(&dump).unwrap().len() as f64 / 1_048_576.0;
    println!(
        "PostgreSQL: pg_dump -Fc {:.2}s ({dump_mib:.0} MiB dump), pg_restore {:.2}s; \
         CREATE DATABASE … TEMPLATE (a file copy inside the server) {:.2}s",
        dumped.as_secs_f64(),
        restored.as_secs_f64(),
        template.as_secs_f64()
    );
    source_db.drop_database().await.unwrap();
    target_db.drop_database().await.unwrap();
}
