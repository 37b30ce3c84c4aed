//! `verdict admin migrate`: a database built through the API of a real
//! server (the demo data and more: users, tokens, members, cases with
//! steps, runs open and closed, results with history, manual results,
//! output, attachments, idempotency records) is copied SQLite →
//! PostgreSQL → SQLite, and a server on each copy answers every GET
//! request byte for byte as the original did. And the refusals: a target
//! that holds rows (left untouched), bad URLs, a missing source, the same
//! database on both sides.

use std::path::Path;
use std::process::{Command, Output};

use crate::common;

use common::Server;
use serde_json::{Value, json};
use verdict_postgres::testing::{SKIP_MESSAGE, TestDatabase};

const ADMIN: &str = "vdt_migrate_test_admin_0123456789abcdef";

struct Api {
    http: reqwest::Client,
    base: String,
}

impl Api {
    fn new(server: &Server) -> Api {
        Api {
            http: common::http(),
            base: server.url.clone(),
        }
    }

    /// A write that must succeed; its answer's `data`.
    async fn send(&self, token: &str, method: &str, path: &str, body: Value) -> Value {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let res = self
            .http
            .request(method.clone(), format!("{}{path}", self.base))
            .bearer_auth(token)
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = res.status();
        let text = res.text().await.unwrap();
        assert!(status.is_success(), "{method} {path}: {status} {text}");
        let v: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        v["data"].clone()
    }

    /// A raw upload of an attachment to a result.
    async fn attach(&self, run: &str, result: &str, name: &str, bytes: &[u8]) -> Value {
        let res = self
            .http
            .post(format!(
                "{}/v1/runs/{run}/results/{result}/attachments?name={name}",
                self.base
            ))
            .bearer_auth(ADMIN)
            .header("content-type", "text/plain")
            .body(bytes.to_vec())
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 201);
        res.json::<Value>().await.unwrap()["data"][0].clone()
    }

    /// The status, content type and bytes of a GET.
    async fn answer(&self, token: &str, path: &str) -> (u16, String, Vec<u8>) {
        let req = self.http.get(format!("{}{path}", self.base));
        // TestRail calls take Basic auth; every tester here is tess.
        let req = match path.starts_with("/index.php") {
            true => req.basic_auth("tess@example.com", Some(token)),
            false => req.bearer_auth(token),
        };
        let res = req.send().await.unwrap();
        let status = res.status().as_u16();
        let kind = res
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        (status, kind, res.bytes().await.unwrap().to_vec())
    }
}

fn id(v: &Value) -> String {
    v["id"].as_str().unwrap().to_string()
}

/// What a built database is checked by: GET requests (and the token to
/// make each with), and a write to retry with its idempotency key.
struct Fixture {
    gets: Vec<(String, String)>,
    retry: (String, String, Value),
}

/// Builds a rich data set on a server started with `--demo` and [`ADMIN`].
async fn build(api: &Api) -> Fixture {
    let mut gets: Vec<(String, String)> = Vec::new();
    let admin = |path: String| (ADMIN.to_string(), path);

    let tess = api
        .send(
            ADMIN,
            "POST",
            "/v1/users",
            json!({"name": "Tess Tester", "email": "tess@example.com", "password": "tester-secret-words"}),
        )
        .await;
    let olga = api
        .send(
            ADMIN,
            "POST",
            "/v1/users",
            json!({"name": "Olga Ops", "email": "Olga@Example.com", "admin": true}),
        )
        .await;
    let token = api
        .send(
            ADMIN,
            "POST",
            "/v1/tokens",
            json!({"name": "tess laptop", "user_id": id(&tess)}),
        )
        .await;
    let tess_token = token["token"].as_str().unwrap().to_string();
    api.send(ADMIN, "POST", "/v1/tokens", json!({"name": "ci"}))
        .await;
    let project = api
        .send(
            ADMIN,
            "POST",
            "/v1/projects",
            json!({"name": "Shop ünïcode ✓", "defect_url_template": "https://bugs.example.com/{id}"}),
        )
        .await;
    let pid = id(&project);
    api.send(
        ADMIN,
        "PUT",
        &format!("/v1/projects/{pid}/members/{}", id(&tess)),
        json!({"role": "tester"}),
    )
    .await;
    api.send(
        ADMIN,
        "PUT",
        &format!("/v1/projects/{pid}/members/{}", id(&olga)),
        json!({"role": "viewer"}),
    )
    .await;
    let cases: Vec<Value> = (0..30)
        .map(|i| {
            let suite = ["Checkout", "Cart", "Search"][i % 3];
            let priority = ["high", "medium", "low"][i % 3];
            json!({
                "title": format!("Case {i} — ‹title›"),
                "key": format!("shop.case_{i:02}"),
                "suite": suite,
                "preconditions": if i % 4 == 0 { json!("Signed in\nwith a card") } else { json!(null) },
                "steps": if i % 2 == 0 {
                    json!([{"action": "Open the page", "expected": "It opens"}, {"action": "Click \"buy\""}])
                } else { json!([]) },
                "priority": priority,
                "refs": if i % 5 == 0 { json!(["REQ-1", "REQ-2"]) } else { json!([]) },
            })
        })
        .collect();
    let made = api
        .send(
            ADMIN,
            "POST",
            &format!("/v1/projects/{pid}/cases/bulk"),
            json!({"cases": cases}),
        )
        .await;
    let case_ids: Vec<String> = made["cases"].as_array().unwrap().iter().map(id).collect();
    api.send(
        ADMIN,
        "PUT",
        &format!("/v1/cases/{}/quarantine", case_ids[3]),
        json!({"reason": "flaky on CI"}),
    )
    .await;
    let res = api
        .http
        .delete(format!("{}/v1/cases/{}", api.base, case_ids[29]))
        .bearer_auth(ADMIN)
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success(), "{}", res.status());

    // Three runs: closed, open with manual work, open from CI with a
    // retried key.
    let mut runs = Vec::new();
    for (i, name) in ["nightly 1", "release 1.0", "nightly 2"].iter().enumerate() {
        let run = api
            .send(
                ADMIN,
                "POST",
                &format!("/v1/projects/{pid}/runs"),
                json!({"name": name, "branch": "main", "commit": format!("abc{i}"),
                       "environment": "linux", "build_url": "https://ci.example.com/1",
                       "description": "A run\nof things"}),
            )
            .await;
        runs.push(id(&run));
    }
    let statuses = ["passed", "failed", "blocked", "retest", "passed", "failed"];
    for (r, run) in runs.iter().enumerate() {
        for round in 0..2 {
            let entries: Vec<Value> = case_ids[..29]
                .iter()
                .enumerate()
                .map(|(i, c)| {
                    json!({"test_case_id": c, "status": statuses[(i + round + r) % statuses.len()],
                           "note": format!("round {round}: \u{1F600} \"quoted\""), "elapsed_ms": i * 7 + round})
                })
                .collect();
            api.send(
                ADMIN,
                "POST",
                &format!("/v1/runs/{run}/results/bulk"),
                json!({"results": entries}),
            )
            .await;
        }
    }
    // JUnit with output.
    let junit = r#"<testsuite name="Checkout"><testcase classname="shop" name="case_00" time="0.5"><failure message="boom">trace</failure><system-out>printed line 1
line 2</system-out></testcase></testsuite>"#;
    let res = api
        .http
        .post(format!("{}/v1/runs/{}/results/junit", api.base, runs[2]))
        .bearer_auth(ADMIN)
        .header("content-type", "application/xml")
        .body(junit)
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success(), "{}", res.text().await.unwrap());

    // Manual work on the release: assigned to Tess, recorded by her.
    let release = &runs[1];
    let page = api
        .send(
            ADMIN,
            "POST",
            &format!("/v1/runs/{release}/assign"),
            json!({"user_id": id(&tess), "suite": "Checkout"}),
        )
        .await;
    assert!(page["assigned"].as_u64().unwrap() > 0);
    let results = api
        .answer(ADMIN, &format!("/v1/runs/{release}/results?per_page=100"))
        .await;
    let results: Value = serde_json::from_slice(&results.2).unwrap();
    let result_ids: Vec<String> = results["data"].as_array().unwrap().iter().map(id).collect();
    api.send(
        &tess_token,
        "PATCH",
        &format!("/v1/runs/{release}/results/{}", result_ids[0]),
        json!({"status": "failed", "note": "by hand", "elapsed_ms": 1234,
               "step_results": [{"status": "passed"}, {"status": "failed", "actual": "No button"}],
               "defects": ["BUG-7"]}),
    )
    .await;
    // Attachments: two files, one of them on two results.
    let shot = api
        .attach(
            release,
            &result_ids[0],
            "screen.txt",
            b"pixels \x00\x01 here",
        )
        .await;
    let log = api
        .attach(release, &result_ids[1], "log.txt", b"a log line\n")
        .await;
    api.attach(release, &result_ids[2], "again.txt", b"a log line\n")
        .await;
    // An idempotent write, replayed after the move.
    let retry_path = format!("/v1/runs/{}/results/bulk", runs[2]);
    let retry_body = json!({"results": [{"test_case_id": case_ids[5], "status": "passed"}]});
    let retry_key = "migrate-retry-1".to_string();
    let res = api
        .http
        .post(format!("{}{retry_path}", api.base))
        .bearer_auth(ADMIN)
        .header("idempotency-key", &retry_key)
        .json(&retry_body)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    api.send(
        ADMIN,
        "POST",
        &format!("/v1/runs/{}/close", runs[0]),
        json!({}),
    )
    .await;

    // Every answer worth keeping.
    for path in [
        "/v1/me".to_string(),
        "/v1/users?per_page=100".into(),
        "/v1/tokens".into(),
        "/v1/projects".into(),
        "/v1/projects/prj_001/runs?per_page=100".into(),
        "/v1/projects/prj_001/cases?per_page=100".into(),
        "/v1/projects/prj_001/trends".into(),
        "/v1/projects/prj_001/flaky".into(),
        "/v1/projects/prj_001/durations".into(),
        format!("/v1/projects/{pid}"),
        format!("/v1/projects/{pid}/members"),
        format!("/v1/projects/{pid}/cases?per_page=7&page=2"),
        format!("/v1/projects/{pid}/cases?per_page=100"),
        format!("/v1/projects/{pid}/sections"),
        format!("/v1/projects/{pid}/runs"),
        format!("/v1/projects/{pid}/trends"),
        format!("/v1/projects/{pid}/flaky"),
        format!("/v1/cases/{}", case_ids[0]),
        format!("/v1/cases/{}", case_ids[3]),
        format!("/v1/cases/{}/results", case_ids[1]),
        format!("/v1/attachments/{}", id(&shot)),
        format!("/v1/attachments/{}/content", id(&shot)),
        format!("/v1/attachments/{}/content", id(&log)),
        format!("/v1/runs/{release}/results/{}", result_ids[0]),
        format!("/v1/runs/{release}/results/{}/history", result_ids[0]),
        format!("/v1/runs/{release}/results/{}/attachments", result_ids[0]),
        format!("/v1/runs/{release}/results?status=failed&per_page=5"),
        format!("/v1/runs/{release}/results?per_page=4&page=3"),
    ] {
        gets.push(admin(path));
    }
    for run in runs
        .iter()
        .map(String::as_str)
        .chain(["run_001", "run_002", "run_030"])
    {
        for what in [
            "",
            "/results?per_page=100",
            "/failures",
            "/compare",
            "/gate?no_new_failures=true&max_failures=3",
            "/export",
        ] {
            gets.push(admin(format!("/v1/runs/{run}{what}")));
        }
        let page: Value = serde_json::from_slice(
            &api.answer(ADMIN, &format!("/v1/runs/{run}/results?per_page=3"))
                .await
                .2,
        )
        .unwrap();
        for r in page["data"].as_array().unwrap() {
            gets.push(admin(format!("/v1/runs/{run}/results/{}/history", id(r))));
        }
    }
    gets.push((tess_token.clone(), "/v1/me".into()));
    gets.push((tess_token.clone(), "/v1/me/work".into()));
    // TestRail section numbers (a table of their own) are kept.
    let number = pid.trim_start_matches("prj_").trim_start_matches('0');
    let added = api
        .http
        .post(format!(
            "{}/index.php?/api/v2/add_section/{number}",
            api.base
        ))
        .basic_auth("tess@example.com", Some(&tess_token))
        .json(&json!({"name": "From TestRail / Nested"}))
        .send()
        .await
        .unwrap();
    assert_eq!(added.status(), 200);
    gets.push((
        tess_token.clone(),
        format!("/index.php?/api/v2/get_sections/{number}"),
    ));
    Fixture {
        gets,
        retry: (retry_path, retry_key, retry_body),
    }
}

type Answers = Vec<(String, (u16, String, Vec<u8>))>;

async fn record(api: &Api, fixture: &Fixture) -> Answers {
    let mut out = Vec::new();
    for (token, path) in &fixture.gets {
        let answer = api.answer(token, path).await;
        assert_eq!(
            answer.0,
            200,
            "{path}: {}",
            String::from_utf8_lossy(&answer.2)
        );
        out.push((path.clone(), answer));
    }
    let bytes: usize = out.iter().map(|(_, a)| a.2.len()).sum();
    assert!(
        out.len() > 60 && bytes > 100_000,
        "{} answers, {bytes} bytes",
        out.len()
    );
    out
}

/// Every answer as before, byte for byte, and the retried write replayed.
async fn assert_same(api: &Api, fixture: &Fixture, before: &Answers, what: &str) {
    let now = record(api, fixture).await;
    for ((path, a), (_, b)) in before.iter().zip(&now) {
        assert!(
            a == b,
            "{what}: GET {path} differs:\nbefore: {} {}\nafter:  {} {}",
            a.0,
            String::from_utf8_lossy(&a.2),
            b.0,
            String::from_utf8_lossy(&b.2)
        );
    }
    let (path, key, body) = &fixture.retry;
    let res = api
        .http
        .post(format!("{}{path}", api.base))
        .bearer_auth(ADMIN)
        .header("idempotency-key", key)
        .json(body)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(
        res.headers()
            .get("idempotent-replayed")
            .and_then(|v| v.to_str().ok()),
        Some("true"),
        "{what}: the idempotency record came along"
    );
}

fn migrate(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_verdict"))
        .arg("admin")
        .arg("migrate")
        .args(args)
        .output()
        .unwrap()
}

fn text(out: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn assert_migrated(out: &Output) {
    let (stdout, stderr) = text(out);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    for table in ["users", "results", "history", "attachments", "idempotency"] {
        let line = stdout
            .lines()
            .find(|l| l.starts_with(&format!("{table} ")))
            .unwrap_or_else(|| panic!("no line for {table}: {stdout}"));
        assert!(line.ends_with(" ok"), "{line}");
    }
}

fn sqlite(path: &Path) -> String {
    format!("sqlite://{}", path.display())
}

fn file(path: &Path) -> String {
    format!("file://{}", path.display())
}

#[tokio::test]
async fn sqlite_to_postgres_and_back_answers_every_request_as_before() {
    let Some(pg) = TestDatabase::from_env().await else {
        eprintln!("{SKIP_MESSAGE}");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let source = dir.path().join("source.db");
    let files_pg = dir.path().join("files-pg");
    let files_back = dir.path().join("files-back");
    let back = dir.path().join("back.db");

    let server = Server::start_args(&source, Some(ADMIN), &["--demo"]);
    let api = Api::new(&server);
    let fixture = build(&api).await;
    let before = record(&api, &fixture).await;

    // The source server keeps running during the copy.
    let out = migrate(&[
        "--from",
        &sqlite(&source),
        "--to",
        pg.url(),
        "--to-attachments",
        &file(&files_pg),
    ]);
    assert_migrated(&out);
    drop(server);
    let on_pg = Server::start_url_args(pg.url(), Some(ADMIN), &["--attachments", &file(&files_pg)]);
    let api_pg = Api::new(&on_pg);
    assert_same(&api_pg, &fixture, &before, "on PostgreSQL").await;
    // PATCHes on PostgreSQL keep their count deltas in stripe rows beside
    // the run; the copy back must carry them into the run's counts.
    let run = fixture.retry.0.split('/').nth(3).unwrap().to_string();
    let page = api_pg
        .answer(ADMIN, &format!("/v1/runs/{run}/results?per_page=3"))
        .await;
    let page: Value = serde_json::from_slice(&page.2).unwrap();
    for (r, status) in page["data"]
        .as_array()
        .unwrap()
        .iter()
        .zip(["failed", "blocked", "retest"])
    {
        api_pg
            .send(
                ADMIN,
                "PATCH",
                &format!("/v1/runs/{run}/results/{}", id(r)),
                json!({"status": status, "elapsed": 1500}),
            )
            .await;
    }
    let config = verdict_postgres::PgConfig::from_url(pg.url()).unwrap();
    let client = verdict_postgres::connect_client(&config).await.unwrap();
    let stripes: i64 = client
        .query_one("SELECT count(*) FROM run_count_stripes", &[])
        .await
        .unwrap()
        .get(0);
    assert!(stripes > 0, "the PATCHes left count stripes to fold");
    drop(client);
    let before = record(&api_pg, &fixture).await;
    drop(on_pg);

    // And back, from what PostgreSQL now holds (one more replayed write
    // changes nothing).
    let out = migrate(&[
        "--from",
        pg.url(),
        "--from-attachments",
        &file(&files_pg),
        "--to",
        &sqlite(&back),
        "--to-attachments",
        &file(&files_back),
    ]);
    assert_migrated(&out);
    let on_sqlite = Server::start_args(&back, Some(ADMIN), &["--attachments", &file(&files_back)]);
    assert_same(&Api::new(&on_sqlite), &fixture, &before, "back on SQLite").await;
    drop(on_sqlite);
    pg.drop_database().await.unwrap();
}

/// A small database through the API: the admin, a project, a run with
/// results, and two attachments of which the second is then deleted (so
/// the attachment id counter is past the largest id).
async fn small(db: &Path) -> (Server, String, String) {
    let server = Server::start(db, Some(ADMIN));
    let api = Api::new(&server);
    let project = api
        .send(ADMIN, "POST", "/v1/projects", json!({"name": "P"}))
        .await;
    let pid = id(&project);
    let run = api
        .send(
            ADMIN,
            "POST",
            &format!("/v1/projects/{pid}/runs"),
            json!({"name": "r"}),
        )
        .await;
    let run = id(&run);
    let res = api
        .http
        .post(format!("{}/v1/runs/{run}/results/junit?create_missing=true", api.base))
        .bearer_auth(ADMIN)
        .header("content-type", "application/xml")
        .body(
            r#"<testsuite name="s"><testcase classname="c" name="a"/><testcase classname="c" name="b"/></testsuite>"#,
        )
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success(), "{}", res.text().await.unwrap());
    let page = api.answer(ADMIN, &format!("/v1/runs/{run}/results")).await;
    let page: Value = serde_json::from_slice(&page.2).unwrap();
    let result = id(&page["data"][0]);
    api.attach(&run, &result, "kept.txt", b"kept bytes").await;
    let gone = api.attach(&run, &result, "gone.txt", b"gone bytes").await;
    let res = api
        .http
        .delete(format!("{}/v1/attachments/{}", api.base, id(&gone)))
        .bearer_auth(ADMIN)
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success());
    (server, run, result)
}

#[tokio::test]
async fn sqlite_to_sqlite_copies_the_files_keeps_counters_and_prints_a_plain_summary() {
    let dir = tempfile::tempdir().unwrap();
    let source = dir.path().join("a").join("source.db");
    let target = dir.path().join("b").join("target.db");
    std::fs::create_dir_all(source.parent().unwrap()).unwrap();
    std::fs::create_dir_all(target.parent().unwrap()).unwrap();
    let (server, run, result) = small(&source).await;
    drop(server);

    // Each storage by default: beside its database file.
    let out = migrate(&["--from", &sqlite(&source), "--to", &sqlite(&target)]);
    assert_migrated(&out);
    let (stdout, stderr) = text(&out);
    assert!(
        !stderr.contains('\r') && !stderr.contains('\x1b'),
        "{stderr:?}"
    );
    for table in ["users", "results", "attachments"] {
        assert!(
            stderr
                .lines()
                .any(|l| l.trim_start().starts_with(table) && l.contains("rows copied")),
            "{table}: {stderr}"
        );
    }
    let files = stdout.lines().find(|l| l.starts_with("files ")).unwrap();
    assert!(files.contains("1 copied"), "{stdout}");

    let server = Server::start(&target, Some(ADMIN));
    let api = Api::new(&server);
    let (status, _, bytes) = api.answer(ADMIN, "/v1/attachments/att_001/content").await;
    assert_eq!((status, bytes.as_slice()), (200, &b"kept bytes"[..]));
    // The deleted attachment's id is not handed out again.
    let next = api.attach(&run, &result, "new.txt", b"new").await;
    assert_eq!(next["id"], "att_003");
}

#[tokio::test]
async fn a_target_that_holds_rows_is_refused_and_left_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let source = dir.path().join("source.db");
    let target = dir.path().join("target.db");
    drop(small(&source).await.0);
    drop(Server::start(&target, Some(ADMIN)));
    let files = || ["", "-wal"].map(|end| std::fs::read(format!("{}{end}", target.display())).ok());
    let before = files();

    let out = migrate(&["--from", &sqlite(&source), "--to", &sqlite(&target)]);
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stdout}{stderr}");
    assert!(
        stderr.contains("is not empty") && stderr.contains("users") && stderr.contains("untouched"),
        "{stderr}"
    );
    assert!(files() == before, "the target is untouched");

    let Some(pg) = TestDatabase::from_env().await else {
        eprintln!("{SKIP_MESSAGE}");
        return;
    };
    drop(Server::start_url(pg.url(), Some(ADMIN)));
    let client = pg.client().await.unwrap();
    let out = migrate(&["--from", &sqlite(&source), "--to", pg.url()]);
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("is not empty"), "{stderr}");
    let users: i64 = client
        .query_one("SELECT count(*) FROM users", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(users, 1, "the target is untouched");
    drop(client);
    pg.drop_database().await.unwrap();
}

#[tokio::test]
async fn bad_urls_a_missing_source_and_the_same_database_are_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let source = dir.path().join("source.db");
    drop(small(&source).await.0);
    let missing = dir.path().join("missing.db");
    let target = dir.path().join("target.db");
    let same = format!("sqlite://{}/./source.db", dir.path().display());
    let cases: [(&[&str], &str); 6] = [
        (
            &["--from", "mysql://db/x", "--to", &sqlite(&target)],
            "unsupported database URL",
        ),
        (
            &["--from", "sqlite://", "--to", &sqlite(&target)],
            "names no file",
        ),
        (
            &["--from", &sqlite(&missing), "--to", &sqlite(&target)],
            "no SQLite database at",
        ),
        (
            &["--from", &sqlite(&source), "--to", &same],
            "the same database",
        ),
        (
            &[
                "--from",
                &sqlite(&source),
                "--to",
                "postgres://postgres@127.0.0.1:1/none",
            ],
            "cannot connect",
        ),
        (
            &[
                "--from",
                &sqlite(&source),
                "--to",
                "sqlite://x.db?synchronous=maybe",
            ],
            "synchronous",
        ),
    ];
    for (args, needle) in cases {
        let out = migrate(args);
        let (stdout, stderr) = text(&out);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {stdout}{stderr}");
        assert!(stderr.contains(needle), "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
    assert!(!missing.exists() && !target.exists(), "nothing was created");
    let out = migrate(&["--from", &sqlite(&source)]);
    assert_eq!(out.status.code(), Some(2), "a usage error");
}

#[tokio::test]
async fn on_a_terminal_progress_is_redrawn_in_place() {
    let dir = tempfile::tempdir().unwrap();
    let source = dir.path().join("source.db");
    let target = dir.path().join("target.db");
    drop(small(&source).await.0);
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_verdict"));
    cmd.args([
        "admin",
        "migrate",
        "--from",
        &sqlite(&source),
        "--to",
        &sqlite(&target),
    ]);
    let mut s = rexpect::session::spawn_command(cmd, Some(30_000)).unwrap();
    let seen = s.exp_eof().unwrap();
    assert!(seen.contains("\r\x1b[K"), "{seen:?}");
    assert!(seen.contains("results") && seen.contains(" ok"), "{seen:?}");
    assert!(matches!(
        s.process().wait().unwrap(),
        rexpect::process::WaitStatus::Exited(_, 0)
    ));
}

/// A JUnit report of `n` passing or failing tests.
fn report(n: usize, seed: usize) -> String {
    let mut xml = String::from(r#"<testsuite name="s">"#);
    for i in 0..n {
        let failure = if (i + seed).is_multiple_of(3) {
            "<failure>no</failure>"
        } else {
            ""
        };
        xml.push_str(&format!(
            r#"<testcase classname="load" name="t{i}" time="0.{seed}">{failure}</testcase>"#
        ));
    }
    xml + "</testsuite>"
}

#[tokio::test]
async fn a_source_written_to_during_the_copy_is_copied_as_one_snapshot() {
    let dir = tempfile::tempdir().unwrap();
    let source = dir.path().join("source.db");
    let target = dir.path().join("target.db");
    let server = Server::start(&source, Some(ADMIN));
    let api = Api::new(&server);
    let project = api
        .send(ADMIN, "POST", "/v1/projects", json!({"name": "P"}))
        .await;
    let pid = id(&project);
    let upload = |run: String, n: usize, seed: usize| {
        let http = api.http.clone();
        let url = format!(
            "{}/v1/runs/{run}/results/junit?create_missing=true",
            api.base
        );
        async move {
            let res = http
                .post(url)
                .bearer_auth(ADMIN)
                .header("content-type", "application/xml")
                .body(report(n, seed))
                .send()
                .await
                .unwrap();
            assert!(res.status().is_success(), "{}", res.text().await.unwrap());
        }
    };
    let new_run = |name: String| {
        let api = &api;
        let pid = pid.clone();
        async move {
            let run = api
                .send(
                    ADMIN,
                    "POST",
                    &format!("/v1/projects/{pid}/runs"),
                    json!({"name": name}),
                )
                .await;
            id(&run)
        }
    };
    for i in 0..10 {
        let run = new_run(format!("before {i}")).await;
        upload(run, 2_000, i).await;
    }

    // Writes go on while the copy runs: new runs, and new executions of
    // an old run (its counts change with each).
    let copy = tokio::task::spawn_blocking({
        let (from, to) = (sqlite(&source), sqlite(&target));
        move || migrate(&["--from", &from, "--to", &to])
    });
    let mut acknowledged = 0;
    let mut round = 0;
    while !copy.is_finished() {
        round += 1;
        let run = new_run(format!("during {round}")).await;
        upload(run, 200, round).await;
        upload("run_001".into(), 300, round).await;
        acknowledged += 2;
    }
    let out = copy.await.unwrap();
    assert_migrated(&out);
    assert!(acknowledged > 0, "writes went on during the copy");

    // The copy is one moment of the source: every run's counts and time
    // match its results, every execution has its result.
    let conn = rusqlite::Connection::open(&target).unwrap();
    let broken: i64 = conn
        .query_row(
            "SELECT count(*) FROM runs r
             WHERE passed + failed + blocked + retest + not_tested
                   <> (SELECT count(*) FROM results WHERE run_id = r.id)
                OR elapsed_ms <> (SELECT coalesce(sum(elapsed_ms), 0) FROM results WHERE run_id = r.id)",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(broken, 0);
    let orphans: i64 = conn
        .query_row(
            "SELECT count(*) FROM history h WHERE NOT EXISTS (SELECT 1 FROM results WHERE id = h.result_id)",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(orphans, 0);
    let runs: i64 = conn
        .query_row("SELECT count(*) FROM runs", [], |r| r.get(0))
        .unwrap();
    eprintln!("{acknowledged} writes acknowledged during the copy; the copy has {runs} runs");
    assert!(runs >= 10);
    drop(server);
}
