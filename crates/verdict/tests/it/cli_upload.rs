//! The CLI as a process against a real server: `verdict upload`, `run`,
//! `results`.

use crate::common;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::Server;
use serde_json::{Value, json};

const TOKEN: &str = "vdt_cli_admin_token_0123456789abcdef";

fn corpus() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus/junit");
    dir.is_dir().then_some(dir)
}

/// `verdict ARGS` against `server` with the test token.
fn command(server: &Server, args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_verdict"));
    cmd.args(args)
        .env("VERDICT_URL", &server.url)
        .env("VERDICT_TOKEN", TOKEN);
    cmd
}

fn verdict(server: &Server, args: &[&str]) -> Output {
    command(server, args).output().expect("run verdict")
}

fn text(out: &Output) -> String {
    format!(
        "status {:?}\nstdout:\n{}\nstderr:\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

async fn api(server: &Server, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
    common::api_as(server, TOKEN, method, path, body).await
}

async fn project(server: &Server) -> String {
    let p = api(
        server,
        reqwest::Method::POST,
        "/v1/projects",
        Some(json!({"name": "CI"})),
    )
    .await;
    p["data"]["id"].as_str().expect("id").to_string()
}

async fn runs_of(server: &Server, project: &str) -> Vec<Value> {
    let r = api(
        server,
        reqwest::Method::GET,
        &format!("/v1/projects/{project}/runs?per_page=1000"),
        None,
    )
    .await;
    r["data"].as_array().expect("runs").clone()
}

/// Last outcome per key of a corpus file under the mapping table.
fn expected_counts(file: &Path, exp: &Value) -> HashMap<&'static str, i64> {
    let parsed = verdict_junit::parse(&std::fs::read(file).expect("read")).expect("parses");
    let mut last: HashMap<String, &'static str> = HashMap::new();
    for (case, tc) in exp["cases"]
        .as_array()
        .expect("cases")
        .iter()
        .zip(&parsed.testcases)
    {
        let status = match case[2].as_str().unwrap_or("") {
            "passed" => "passed",
            "skipped" => "blocked",
            _ => "failed",
        };
        last.insert(tc.key(), status);
    }
    let mut counts = HashMap::from([("passed", 0), ("failed", 0), ("blocked", 0), ("total", 0)]);
    for s in last.values() {
        *counts.get_mut(s).expect("status") += 1;
        *counts.get_mut("total").expect("total") += 1;
    }
    counts
}

#[tokio::test]
async fn uploading_each_corpus_report_gives_the_expected_counts() {
    let Some(dir) = corpus() else {
        println!("SKIPPED: no corpus directory beside the workspace");
        return;
    };
    let expected: Value =
        serde_json::from_slice(&std::fs::read(dir.join("expected.json")).expect("expected.json"))
            .expect("json");
    let db = tempfile::tempdir().expect("tempdir");
    let server = Server::start(&db.path().join("v.db"), Some(TOKEN));
    let pid = project(&server).await;
    let (mut uploaded, mut refused) = (0, 0);
    for (file, exp) in expected.as_object().expect("object") {
        if file == "_meta" {
            continue;
        }
        let path = dir.join(file);
        let out = verdict(
            &server,
            &[
                "upload",
                "--project",
                &pid,
                "--run-name",
                file,
                "--create-missing",
                path.to_str().expect("utf-8"),
            ],
        );
        if exp.get("parse_error").is_some() {
            assert_eq!(out.status.code(), Some(1), "{file}: {}", text(&out));
            assert!(String::from_utf8_lossy(&out.stderr).contains("nothing was uploaded"));
            refused += 1;
            continue;
        }
        // A report naming files the corpus does not hold (Playwright's
        // screenshots) is uploaded, and the command fails for those files.
        if String::from_utf8_lossy(&out.stdout).contains("attached 0 files") {
            assert_eq!(out.status.code(), Some(1), "{file}: {}", text(&out));
            assert!(
                String::from_utf8_lossy(&out.stderr).contains("attachment(s) were not uploaded"),
                "{file}: {}",
                text(&out)
            );
        } else {
            assert!(out.status.success(), "{file}: {}", text(&out));
        }
        let runs = runs_of(&server, &pid).await;
        let run = runs
            .iter()
            .find(|r| r["name"] == file.as_str())
            .expect("the run");
        let want = expected_counts(&path, exp);
        for (status, n) in want {
            assert_eq!(
                run["counts"][status], n,
                "{file}: {status} in {}",
                run["counts"]
            );
        }
        uploaded += 1;
    }
    println!(
        "cli corpus upload: {uploaded} reports with the expected counts, {refused} refused before upload"
    );
    // Refused files create no run.
    assert_eq!(runs_of(&server, &pid).await.len(), uploaded);
}

#[tokio::test]
async fn dry_run_writes_nothing_and_exit_codes_tell_what_happened() {
    let Some(dir) = corpus() else {
        println!("SKIPPED: no corpus directory beside the workspace");
        return;
    };
    let db = tempfile::tempdir().expect("tempdir");
    let server = Server::start(&db.path().join("v.db"), Some(TOKEN));
    let pid = project(&server).await;
    let report = dir.join("go-junit-report/pass-fail-skip.xml");
    let report = report.to_str().expect("utf-8");
    let rid = create_run(&server, &pid, "empty");

    let out = dry_run(&server, &pid, &rid, report);
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("5 would be created"),
        "{}",
        text(&out)
    );
    let cases = api(
        &server,
        reqwest::Method::GET,
        &format!("/v1/projects/{pid}/cases"),
        None,
    )
    .await;
    assert_eq!(cases["meta"]["total"], 0, "a dry run creates nothing");

    let out = verdict(
        &server,
        &[
            "upload",
            "--project",
            &pid,
            "--run",
            &rid,
            "--create-missing",
            "--fail-on-failed",
            report,
        ],
    );
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    let out = verdict(
        &server,
        &["results", "list", &rid, "--status", "failed", "--json"],
    );
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), 1);

    let out = Command::new(env!("CARGO_BIN_EXE_verdict"))
        .args(["upload", "--project", &pid, "--run", &rid, report])
        .env("VERDICT_URL", &server.url)
        .env_remove("VERDICT_TOKEN")
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let out = verdict(
        &server,
        &[
            "upload",
            "--project",
            &pid,
            "--run",
            &rid,
            "/no/such/report.xml",
        ],
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let out = verdict(&server, &["run", "close", &rid]);
    assert!(out.status.success(), "{}", text(&out));
    let out = verdict(
        &server,
        &["upload", "--project", &pid, "--run", &rid, report],
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("run_closed"),
        "{}",
        text(&out)
    );
}

#[tokio::test]
async fn parallel_jobs_with_one_run_key_share_one_run() {
    let Some(dir) = corpus() else {
        println!("SKIPPED: no corpus directory beside the workspace");
        return;
    };
    let db = tempfile::tempdir().expect("tempdir");
    let server = Server::start(&db.path().join("v.db"), Some(TOKEN));
    let pid = project(&server).await;
    let files = [
        "go-junit-report/pass-fail-skip.xml",
        "pytest/horovod-fail-multiline-message-attr.xml",
        "testng/pulsar-merged-808-tests.xml",
        "googletest/notrun-disabled.xml",
    ];
    let children: Vec<_> = files
        .iter()
        .map(|f| {
            Command::new(env!("CARGO_BIN_EXE_verdict"))
                .args([
                    "upload",
                    "--project",
                    &pid,
                    "--run-name",
                    "pipeline 7",
                    "--run-key",
                    "pipeline-7",
                    "--create-missing",
                ])
                .arg(dir.join(f))
                .env("VERDICT_URL", &server.url)
                .env("VERDICT_TOKEN", TOKEN)
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .expect("spawn")
        })
        .collect();
    for child in children {
        let out = child.wait_with_output().expect("wait");
        assert!(out.status.success(), "{}", text(&out));
    }
    let runs = runs_of(&server, &pid).await;
    assert_eq!(runs.len(), 1, "one run for all jobs: {runs:?}");
    let mut keys = std::collections::HashSet::new();
    for f in files {
        let report =
            verdict_junit::parse(&std::fs::read(dir.join(f)).expect("read")).expect("parse");
        keys.extend(report.testcases.iter().map(|t| t.key()));
    }
    assert_eq!(runs[0]["counts"]["total"], keys.len() as i64);
}

/// A report big enough to take many chunks: `n` testcases in one file.
fn big_report(dir: &Path, n: usize) -> PathBuf {
    let mut xml = String::from("<testsuite name=\"big\">\n");
    for i in 0..n {
        xml.push_str(&format!(
            "<testcase classname=\"big.Suite\" name=\"t{i}\" time=\"0.01\"/>\n"
        ));
    }
    xml.push_str("</testsuite>\n");
    let path = dir.join("big.xml");
    std::fs::write(&path, xml).expect("write report");
    path
}

/// The run holds `n` results and every `step`-th has exactly one execution
/// in its history: nothing was applied twice.
async fn assert_applied_once(server: &Server, rid: &str, n: usize, step: usize) {
    let out = verdict(server, &["results", "list", rid, "--json"]);
    assert!(out.status.success(), "{}", text(&out));
    let ids: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| {
            serde_json::from_str::<Value>(l).expect("json")["id"]
                .as_str()
                .expect("id")
                .to_string()
        })
        .collect();
    assert_eq!(ids.len(), n);
    for id in ids.iter().step_by(step) {
        let h = api(
            server,
            reqwest::Method::GET,
            &format!("/v1/runs/{rid}/results/{id}/history"),
            None,
        )
        .await;
        assert_eq!(h["meta"]["total"], 1, "{id} applied once");
    }
}

/// `verdict upload --dry-run --create-missing` of one report into a run.
fn dry_run(server: &Server, project: &str, run: &str, report: &str) -> Output {
    verdict(
        server,
        &[
            "upload",
            "--project",
            project,
            "--run",
            run,
            "--dry-run",
            "--create-missing",
            report,
        ],
    )
}

/// A run made with `verdict run create`; its id.
fn create_run(server: &Server, project: &str, name: &str) -> String {
    let out = verdict(
        server,
        &[
            "run",
            "create",
            "--project",
            project,
            "--name",
            name,
            "--json",
        ],
    );
    assert!(out.status.success(), "{}", text(&out));
    let run: Value = serde_json::from_slice(&out.stdout).expect("run json");
    run["id"].as_str().expect("id").to_string()
}

#[tokio::test]
async fn an_upload_survives_a_server_restart_without_duplicates() {
    let db = tempfile::tempdir().expect("tempdir");
    let db_path = db.path().join("v.db");
    // A fixed port, so the restarted server is where the client expects it.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    let listen = format!("127.0.0.1:{port}");
    let mut server = Server::start_on(&db_path, Some(TOKEN), &listen);
    let pid = project(&server).await;
    let n = 20_000;
    let report = big_report(db.path(), n);
    let upload = Command::new(env!("CARGO_BIN_EXE_verdict"))
        .args([
            "upload",
            "--project",
            &pid,
            "--run-name",
            "restart",
            "--create-missing",
            "--chunk-size",
            "100",
        ])
        .arg(&report)
        .env("VERDICT_URL", &server.url)
        .env("VERDICT_TOKEN", TOKEN)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn upload");
    // Wait until some chunks are in, then kill the server mid-upload.
    let mut seen = 0;
    for _ in 0..2000 {
        let runs = runs_of(&server, &pid).await;
        seen = runs
            .first()
            .map_or(0, |r| r["counts"]["total"].as_i64().unwrap_or(0));
        if seen > 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    assert!(
        seen > 0 && seen < n as i64,
        "caught the upload mid-way ({seen} of {n})"
    );
    server.child.kill().expect("kill server");
    server.child.wait().expect("reap");
    let server = Server::start_on(&db_path, Some(TOKEN), &listen);
    let out = tokio::task::spawn_blocking(move || upload.wait_with_output())
        .await
        .expect("join")
        .expect("upload output");
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("retrying in "),
        "{}",
        text(&out)
    );
    let runs = runs_of(&server, &pid).await;
    assert_eq!(runs[0]["counts"]["total"], n as i64);
    assert_eq!(runs[0]["counts"]["passed"], n as i64);
    // Exactly one execution per testcase: nothing applied twice.
    let rid = runs[0]["id"].as_str().expect("run id");
    assert_applied_once(&server, rid, n, 97).await;
}

/// The CLI sends up to 50,000 executions per request by default; a server
/// configured with a lower limit answers 413, and the CLI sends that chunk
/// again in halves until each fits. Nothing is lost or applied twice.
#[tokio::test]
async fn chunks_over_the_servers_limit_are_split_until_they_fit() {
    let db = tempfile::tempdir().expect("tempdir");
    let server = Server::start_args(
        &db.path().join("v.db"),
        Some(TOKEN),
        &["--max-bulk-results", "300"],
    );
    let pid = project(&server).await;
    let n = 1_000;
    let report = big_report(db.path(), n);
    let report = report.to_str().expect("utf-8");

    // A dry run splits the same way and reports on every testcase.
    let dry = create_run(&server, &pid, "dry");
    let out = dry_run(&server, &pid, &dry, report);
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("dry run: 1000 executions"),
        "{}",
        text(&out)
    );

    let out = verdict(
        &server,
        &[
            "upload",
            "--project",
            &pid,
            "--run-name",
            "split",
            "--create-missing",
            report,
        ],
    );
    assert!(out.status.success(), "{}", text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("too large for the server, sending it in two halves")
            && stderr.contains("the limit is 300 per request"),
        "{}",
        text(&out)
    );
    assert!(
        String::from_utf8_lossy(&out.stdout)
            .contains("uploaded 1000 executions (1000 cases created"),
        "{}",
        text(&out)
    );
    let runs = runs_of(&server, &pid).await;
    let run = runs
        .iter()
        .find(|r| r["name"] == "split")
        .expect("the upload's run");
    assert_eq!(run["counts"]["total"], n as i64);
    assert_eq!(run["counts"]["passed"], n as i64);
    let rid = run["id"].as_str().expect("run id");
    assert_applied_once(&server, rid, n, 37).await;
}

/// The client reads the system's root certificates only for `https://`: a
/// plain-HTTP server works on a machine with none. TLS refusing a server
/// is final, so it fails at once with TLS's reason instead of retrying.
#[tokio::test]
async fn plain_http_needs_no_root_certificates_and_tls_refusals_are_not_retried() {
    let db = tempfile::tempdir().expect("tempdir");
    let server = Server::start(&db.path().join("v.db"), Some(TOKEN));
    let pid = project(&server).await;
    let missing = db.path().join("no-certificates-here");
    let without_roots = |url: &str, args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_verdict"))
            .args(args)
            .env("VERDICT_URL", url)
            .env("VERDICT_TOKEN", TOKEN)
            .env("SSL_CERT_FILE", &missing)
            .env("SSL_CERT_DIR", &missing)
            .output()
            .expect("run verdict")
    };
    let out = without_roots(
        &server.url,
        &["run", "create", "--project", &pid, "--name", "r", "--json"],
    );
    assert!(out.status.success(), "{}", text(&out));
    let run: Value = serde_json::from_slice(&out.stdout).expect("run json");
    let rid = run["id"].as_str().expect("id");

    // TLS to a server that speaks plain HTTP: the handshake fails.
    let https = server.url.replacen("http://", "https://", 1);
    let started = std::time::Instant::now();
    let out = without_roots(&https, &["run", "show", rid]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("cannot reach https://") && stderr.contains("corrupt message"),
        "{}",
        text(&out)
    );
    // Four retries would wait 0.5 + 1 + 2 + 4 s first.
    assert!(
        started.elapsed() < std::time::Duration::from_secs(5),
        "retried: {:?}",
        started.elapsed()
    );
}

/// `verdict` with none of the CI variables set but those in `env`.
fn verdict_in_ci(server: &Server, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = command(server, args);
    for var in crate::cli_triage::CI_VARIABLES {
        cmd.env_remove(var);
    }
    cmd.envs(env.iter().copied());
    cmd.output().expect("run verdict")
}

/// A small report of `n` passing tests named `prefix0…`.
fn report(dir: &Path, file: &str, prefix: &str, n: usize) -> PathBuf {
    let mut xml = String::from("<testsuite name=\"s\">\n");
    for i in 0..n {
        xml.push_str(&format!(
            "<testcase classname=\"app.{prefix}\" name=\"{prefix}{i}\" time=\"0.1\"/>\n"
        ));
    }
    xml.push_str("</testsuite>\n");
    let path = dir.join(file);
    std::fs::write(&path, xml).expect("write report");
    path
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Without `--run`/`--run-key` each upload creates a run, named after the
/// CI build when a CI variable says which, else after the time; options
/// that do not go together are a usage error listing every way.
#[tokio::test]
async fn an_upload_without_run_options_creates_a_run_named_after_the_build() {
    let db = tempfile::tempdir().expect("tempdir");
    let server = Server::start(&db.path().join("v.db"), Some(TOKEN));
    let pid = project(&server).await;
    let file = report(db.path(), "r.xml", "T", 3);
    let file = file.to_str().expect("utf-8");
    let upload = ["upload", "--project", &pid, "--create-missing", file];

    for _ in 0..2 {
        let out = verdict_in_ci(
            &server,
            &upload,
            &[("GITHUB_ACTIONS", "true"), ("GITHUB_RUN_ID", "4242")],
        );
        assert!(out.status.success(), "{}", text(&out));
    }
    let out = verdict_in_ci(
        &server,
        &upload,
        &[("GITLAB_CI", "true"), ("CI_PIPELINE_ID", "77")],
    );
    assert!(out.status.success(), "{}", text(&out));
    let out = verdict_in_ci(&server, &upload, &[("BUILD_NUMBER", "9")]);
    assert!(out.status.success(), "{}", text(&out));
    let out = verdict_in_ci(&server, &upload, &[]);
    assert!(out.status.success(), "{}", text(&out));
    let with_name = [
        "upload",
        "--project",
        &pid,
        "--run-name",
        "nightly",
        "--create-missing",
        file,
    ];
    for _ in 0..2 {
        let out = verdict_in_ci(
            &server,
            &with_name,
            &[("GITHUB_ACTIONS", "true"), ("GITHUB_RUN_ID", "4242")],
        );
        assert!(out.status.success(), "{}", text(&out));
    }
    // A run key alone: the first job creates the run, the next joins it.
    let with_key = [
        "upload",
        "--project",
        &pid,
        "--run-key",
        "pipe-5",
        "--create-missing",
        file,
    ];
    for _ in 0..2 {
        let out = verdict_in_ci(
            &server,
            &with_key,
            &[("GITLAB_CI", "true"), ("CI_PIPELINE_ID", "5")],
        );
        assert!(out.status.success(), "{}", text(&out));
    }

    let runs = runs_of(&server, &pid).await;
    let mut names: Vec<String> = runs
        .iter()
        .map(|r| r["name"].as_str().expect("name").to_string())
        .collect();
    names.sort();
    assert_eq!(
        names[..7],
        [
            "GitHub Actions run 4242",
            "GitHub Actions run 4242",
            "GitLab pipeline 5",
            "GitLab pipeline 77",
            "build 9",
            "nightly",
            "nightly",
        ],
        "{names:?}"
    );
    assert_eq!(names.len(), 8, "{names:?}");
    // The time, as the API writes times.
    let timed = names[7]
        .strip_prefix("upload ")
        .expect("named after the time");
    assert!(
        timed.len() == 20 && timed.starts_with("20") && timed.ends_with('Z'),
        "{timed}"
    );
    assert!(runs.iter().all(|r| r["counts"]["total"] == 3), "{runs:?}");

    // Options that do not go together, and a dry run that would have to
    // create a run: usage errors listing every way, and no run created.
    let every_way = [
        "--run RUN",
        "--run-name NAME",
        "--run-key KEY",
        "(no run option)",
        "GitHub Actions",
    ];
    for args in [
        vec!["--run", "run_001", "--run-name", "x"],
        vec!["--run", "run_001", "--run-key", "k"],
        vec!["--dry-run"],
        vec!["--dry-run", "--run-name", "x"],
    ] {
        let mut all = vec!["upload", "--project", &pid];
        all.extend(args);
        all.push(file);
        let out = verdict_in_ci(&server, &all, &[]);
        assert_eq!(out.status.code(), Some(2), "{all:?}: {}", text(&out));
        for way in every_way {
            assert!(
                stderr(&out).contains(way),
                "{all:?} lists {way}: {}",
                text(&out)
            );
        }
    }
    assert_eq!(runs_of(&server, &pid).await.len(), 8);
}

/// One unreadable report stops the upload unless `--skip-invalid`: then
/// the others are uploaded, the skipped ones listed, and the exit code is 1.
#[tokio::test]
async fn skip_invalid_uploads_the_readable_reports_and_fails() {
    let db = tempfile::tempdir().expect("tempdir");
    let server = Server::start(&db.path().join("v.db"), Some(TOKEN));
    let pid = project(&server).await;
    let reports = db.path().join("reports");
    std::fs::create_dir(&reports).expect("mkdir");
    report(&reports, "a.xml", "A", 3);
    report(&reports, "b.xml", "B", 2);
    let whole = std::fs::read_to_string(report(&reports, "c.xml", "C", 4)).expect("read");
    let truncated = reports.join("c.xml");
    std::fs::write(&truncated, &whole[..whole.len() / 2]).expect("truncate");
    let dir = reports.to_str().expect("utf-8");
    let bad = truncated.display().to_string();

    let out = verdict(
        &server,
        &["upload", "--project", &pid, "--create-missing", dir],
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        stderr(&out).contains("nothing was uploaded") && stderr(&out).contains(&bad),
        "{}",
        text(&out)
    );
    assert!(runs_of(&server, &pid).await.is_empty(), "strict by default");

    let out = verdict(
        &server,
        &[
            "upload",
            "--project",
            &pid,
            "--run-name",
            "partial",
            "--create-missing",
            "--skip-invalid",
            dir,
        ],
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let err = stderr(&out);
    assert!(
        err.contains(&format!("skipping {bad}"))
            && err.contains("1 report(s) cannot be read and were skipped")
            && err.lines().last().is_some_and(|l| l.contains(&bad)),
        "{}",
        text(&out)
    );
    let runs = runs_of(&server, &pid).await;
    assert_eq!(runs.len(), 1, "{runs:?}");
    assert_eq!(runs[0]["counts"]["total"], 5);
    assert_eq!(runs[0]["counts"]["passed"], 5);
    let rid = runs[0]["id"].as_str().expect("id");
    let out = verdict(&server, &["results", "list", rid, "--json"]);
    assert!(out.status.success(), "{}", text(&out));
    let titles: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| {
            serde_json::from_str::<Value>(l).expect("json")["test_case_title"]
                .as_str()
                .expect("title")
                .to_string()
        })
        .collect();
    assert_eq!(titles.len(), 5);
    assert!(
        titles
            .iter()
            .all(|t| t.starts_with('A') || t.starts_with('B'))
    );

    // Every report unreadable: nothing to upload, and no run.
    let out = verdict(
        &server,
        &[
            "upload",
            "--project",
            &pid,
            "--skip-invalid",
            "--create-missing",
            &bad,
        ],
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        stderr(&out).contains("nothing was uploaded"),
        "{}",
        text(&out)
    );
    assert_eq!(runs_of(&server, &pid).await.len(), 1);
}

/// The "total" (or only) row of `verdict upload`'s summary table:
/// tests, passed, failed, skipped.
fn summary_row(stdout: &str, label: &str) -> [i64; 4] {
    let row = stdout
        .lines()
        .find(|l| l.split_whitespace().next() == Some(label))
        .unwrap_or_else(|| panic!("a {label} row in:\n{stdout}"));
    let cells: Vec<i64> = row
        .split_whitespace()
        .skip(1)
        .map(|c| c.parse().expect("a count"))
        .collect();
    cells.try_into().expect("four counts")
}

/// The CLI counts as the run does: one test per key, the last testcase
/// deciding; duplicates and reruns are folded, and it says how many.
#[tokio::test]
async fn the_summary_counts_what_the_run_counts() {
    let Some(dir) = corpus() else {
        println!("SKIPPED: no corpus directory beside the workspace");
        return;
    };
    let db = tempfile::tempdir().expect("tempdir");
    let server = Server::start(&db.path().join("v.db"), Some(TOKEN));
    let pid = project(&server).await;
    let files = [
        "gotestsum/duplicate-rerun-testcases.xml",
        "maven-surefire/surefire-3.0-flaky-mixed.xml",
        "maven-surefire/surefire-2.x-rerunFailure.xml",
        "testng/pulsar-merged-808-tests.xml",
        "nested-deep/four-level-testsuites.xml",
    ];
    let paths: Vec<String> = files
        .iter()
        .map(|f| dir.join(f).to_str().expect("utf-8").to_string())
        .collect();
    // What was folded, by the junit crate's key.
    let (mut testcases, mut reruns) = (0, 0);
    let mut per_key: HashMap<String, usize> = HashMap::new();
    for p in &paths {
        let parsed = verdict_junit::parse(&std::fs::read(p).expect("read")).expect("parse");
        for tc in &parsed.testcases {
            testcases += 1;
            reruns += tc.attempts.len();
            *per_key.entry(tc.key()).or_default() += 1;
        }
    }
    let duplicate_keys = per_key.values().filter(|n| **n > 1).count();
    let duplicates = testcases - per_key.len();
    assert!(duplicates > 0 && reruns > 0, "the files fold something");

    let mut args = vec![
        "upload",
        "--project",
        &pid,
        "--run-name",
        "folded",
        "--create-missing",
        "--fail-on-failed",
    ];
    args.extend(paths.iter().map(String::as_str));
    let out = verdict(&server, &args);
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let runs = runs_of(&server, &pid).await;
    let counts = &runs[0]["counts"];
    let [tests, passed, failed, skipped] = summary_row(&stdout, "total");
    assert_eq!(tests, counts["total"], "{}", text(&out));
    assert_eq!(passed, counts["passed"], "{}", text(&out));
    assert_eq!(failed, counts["failed"], "{}", text(&out));
    assert_eq!(skipped, counts["blocked"], "{}", text(&out));
    assert!(
        stdout.contains(&format!(
            "folded {duplicates} duplicate testcase(s) of {duplicate_keys} key(s) and {reruns} rerun(s)"
        )),
        "{}",
        text(&out)
    );
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    assert!(
        stderr(&out).contains(&format!("verdict: {failed} test(s) failed")),
        "{}",
        text(&out)
    );

    // A test that failed and then passed on a rerun passed, as in the run:
    // --fail-on-failed has nothing to fail on.
    let out = verdict(
        &server,
        &[
            "upload",
            "--project",
            &pid,
            "--run-name",
            "rerun passed",
            "--create-missing",
            "--fail-on-failed",
            &paths[0],
        ],
    );
    let runs = runs_of(&server, &pid).await;
    let run = runs
        .iter()
        .find(|r| r["name"] == "rerun passed")
        .expect("the run");
    assert_eq!(run["counts"]["failed"], 0);
    let row = summary_row(&String::from_utf8_lossy(&out.stdout), &paths[0]);
    assert_eq!(row, [3, 2, 0, 1], "{}", text(&out));
    assert!(out.status.success(), "{}", text(&out));
}

/// A 404 says what was not found.
#[tokio::test]
async fn not_found_names_the_resource() {
    let db = tempfile::tempdir().expect("tempdir");
    let server = Server::start(&db.path().join("v.db"), Some(TOKEN));
    let pid = project(&server).await;
    let file = report(db.path(), "r.xml", "T", 1);
    let file = file.to_str().expect("utf-8");
    let cases: [(Vec<&str>, &str); 7] = [
        (vec!["run", "show", "run_042"], "run run_042"),
        (vec!["run", "close", "run_042"], "run run_042"),
        (vec!["results", "list", "run_042"], "run run_042"),
        (
            vec!["run", "create", "--project", "prj_009", "--name", "x"],
            "project prj_009",
        ),
        (
            vec![
                "upload",
                "--project",
                "prj_009",
                "--run-name",
                "x",
                "--create-missing",
                file,
            ],
            "project prj_009",
        ),
        (
            vec!["upload", "--project", &pid, "--run", "run_042", file],
            "run run_042",
        ),
        (vec!["run", "show", "nonsense"], "run nonsense"),
    ];
    for (args, what) in cases {
        let out = verdict(&server, &args);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {}", text(&out));
        assert!(
            stderr(&out).contains(&format!("verdict: {what} not found, or not yours")),
            "{args:?}: {}",
            text(&out)
        );
    }
}

/// Options and arguments in `--help` whose help text is empty. Handles
/// both layouts clap uses: text beside the name, or on the next line.
fn without_help(help: &str) -> Vec<String> {
    let lines: Vec<&str> = help.lines().collect();
    let mut missing = Vec::new();
    let mut in_list = false;
    for (i, line) in lines.iter().enumerate() {
        if !line.starts_with(' ') {
            in_list = ["Arguments:", "Options:", "Commands:"].contains(&line.trim());
            continue;
        }
        let entry = line.trim_start();
        let indent = line.len() - entry.len();
        // Entries start within the first columns; a long help's text lines
        // are indented further.
        if !in_list || indent > 6 || entry.is_empty() {
            continue;
        }
        let (name, beside) = entry.split_once("  ").unwrap_or((entry, ""));
        let below = lines
            .get(i + 1)
            .filter(|next| next.len() - next.trim_start().len() > 6)
            .map_or("", |next| next.trim());
        if beside.trim().is_empty() && below.is_empty() {
            missing.push(name.to_string());
        }
    }
    missing
}

/// The names in the "Commands:" list of a `--help`.
fn subcommands(help: &str) -> Vec<String> {
    help.split("Commands:\n")
        .nth(1)
        .map(|list| {
            list.lines()
                .take_while(|l| l.starts_with(' '))
                .filter_map(|l| l.split_whitespace().next())
                .filter(|name| *name != "help")
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn every_option_of_every_command_has_help_text() {
    let mut queue: Vec<Vec<String>> = vec![vec![]];
    let mut seen = 0;
    while let Some(path) = queue.pop() {
        let out = Command::new(env!("CARGO_BIN_EXE_verdict"))
            .args(&path)
            .arg("--help")
            .output()
            .expect("run verdict");
        assert!(out.status.success(), "{path:?}: {}", text(&out));
        let help = String::from_utf8_lossy(&out.stdout);
        assert!(help.contains("Options:"), "{path:?}: {help}");
        let missing = without_help(&help);
        assert!(
            missing.is_empty(),
            "verdict {} --help: no text for {missing:?}\n{help}",
            path.join(" ")
        );
        for sub in subcommands(&help) {
            let mut next = path.clone();
            next.push(sub);
            queue.push(next);
        }
        seen += 1;
    }
    // verdict, serve, upload, run (create, show, close), results (list),
    // password (set).
    assert!(seen >= 11, "{seen} commands");
}

/// With the server and token in the environment, a usage error does not
/// ask for `--url`/`--token`; a flag still wins over the environment.
#[tokio::test]
async fn usage_errors_leave_out_what_the_environment_gives() {
    let db = tempfile::tempdir().expect("tempdir");
    let server = Server::start(&db.path().join("v.db"), Some(TOKEN));
    for args in [
        vec!["upload"],
        vec!["upload", "--project", "prj_001"],
        vec!["run", "show"],
        vec!["run", "create", "--project", "prj_001"],
        vec!["results", "list"],
    ] {
        let out = verdict(&server, &args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", text(&out));
        let err = stderr(&out);
        assert!(err.contains("Usage:"), "{args:?}: {}", text(&out));
        assert!(
            !err.contains("--url") && !err.contains("--token"),
            "{args:?}: {}",
            text(&out)
        );
    }
    let pid = project(&server).await;
    let out = Command::new(env!("CARGO_BIN_EXE_verdict"))
        .args(["run", "create", "--project", &pid, "--name", "r"])
        .args(["--url", &server.url])
        .env("VERDICT_URL", "http://127.0.0.1:1")
        .env("VERDICT_TOKEN", TOKEN)
        .output()
        .expect("run verdict");
    assert!(out.status.success(), "{}", text(&out));
}

/// A server that cannot be reached: one line on stderr per retry, in the
/// form "retrying in 0.5 s: connection refused (attempt 1/4)", then the
/// failure saying how many attempts it took.
#[test]
fn each_retry_is_a_line_on_stderr() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = report(dir.path(), "r.xml", "T", 1);
    // A port nothing listens on: bound, then let go.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    let closed = format!("http://127.0.0.1:{port}");
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_verdict"))
            .args(args)
            .env("VERDICT_URL", &closed)
            .env("VERDICT_TOKEN", TOKEN)
            .output()
            .expect("run verdict")
    };
    let cases = [
        (
            vec![
                "upload",
                "--project",
                "prj_001",
                "--run-name",
                "r",
                "--retries",
                "3",
            ],
            ["0.5 s", "1 s", "2 s"].as_slice(),
        ),
        (
            vec!["run", "show", "run_001", "--retries", "2"],
            ["0.5 s", "1 s"].as_slice(),
        ),
    ];
    for (mut args, waits) in cases {
        if args[0] == "upload" {
            args.push(file.to_str().expect("utf-8"));
        }
        let out = run(&args);
        assert_eq!(out.status.code(), Some(1), "{}", text(&out));
        let stderr = stderr(&out);
        let retries: Vec<&str> = stderr
            .lines()
            .filter(|l| l.starts_with("retrying"))
            .collect();
        let attempts = waits.len() + 1;
        let want: Vec<String> = waits
            .iter()
            .enumerate()
            .map(|(i, wait)| {
                format!(
                    "retrying in {wait}: connection refused (attempt {}/{attempts})",
                    i + 1
                )
            })
            .collect();
        assert_eq!(retries, want, "{}", text(&out));
        let last = stderr.lines().last().unwrap_or("");
        assert!(
            last.starts_with("verdict: cannot reach")
                && last.ends_with(&format!("(gave up after {attempts} attempts)")),
            "{}",
            text(&out)
        );
    }
    // No retries at all: one attempt, no retry line.
    let out = run(&["run", "show", "run_001", "--retries", "0"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(!stderr(&out).contains("retrying"), "{}", text(&out));
}
