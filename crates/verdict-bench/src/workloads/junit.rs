//! JUnit import of a 10,000-testcase report (passes, failures and errors
//! with stack traces, skips, flaky passes, reruns): through the endpoint,
//! through `verdict upload` as a process, and the reference it is held to:
//! parsing the same report in-process plus a bulk upload of the same
//! executions. Each repetition imports into a fresh run holding every case,
//! with a report whose outcomes and texts differ from the last.

use std::collections::HashMap;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{Value, json};
use verdict_junit::{Outcome, Report, TestCase};

use super::Ctx;
use crate::data::junit_report;
use crate::report::{Row, server_ms};
use crate::server::{TOKEN, sibling_binary};

const TESTCASES: usize = 10_000;
/// The server's note limit (64 KiB).
const NOTE_LIMIT: usize = 64 * 1024;
const RATIO: f64 = 2.0;
/// Executions per request of `verdict upload` (its default `--chunk-size`):
/// the report fits in one.
const CLI_CHUNK: usize = 50_000;

/// One bulk entry: what the server makes of an execution in a report.
fn entry(case: &str, status: &str, note: Option<String>, ms: Option<u64>) -> Value {
    let mut v = json!({ "test_case_id": case, "status": status });
    if let Some(n) = note.filter(|n| !n.is_empty()) {
        v["note"] = json!(n);
    }
    if let Some(ms) = ms {
        v["elapsed_ms"] = json!(ms);
    }
    v
}

/// The executions of a testcase as the import maps them (API §4).
fn executions(tc: &TestCase, case: &str, out: &mut Vec<Value>) {
    let attempts = tc
        .attempts
        .iter()
        .map(|a| entry(case, "failed", Some(a.detail.note(NOTE_LIMIT)), a.time_ms));
    match &tc.outcome {
        Outcome::Failed(d) | Outcome::Errored(d) => {
            out.push(entry(case, "failed", Some(d.note(NOTE_LIMIT)), tc.time_ms));
            out.extend(attempts);
        }
        Outcome::Passed => {
            out.extend(attempts);
            out.push(entry(case, "passed", None, tc.time_ms));
        }
        Outcome::Skipped { message } => {
            out.extend(attempts);
            let note = match message.as_deref().filter(|m| !m.is_empty()) {
                Some(m) => format!("skipped: {m}"),
                None => "skipped".into(),
            };
            out.push(entry(case, "blocked", Some(note), tc.time_ms));
        }
    }
}

fn bulk_of(report: &Report, case_of: &HashMap<String, String>) -> Result<Vec<u8>, String> {
    let mut results = Vec::new();
    for tc in &report.testcases {
        let key = tc.key();
        let case = case_of
            .get(&key)
            .ok_or_else(|| format!("no case for {key}"))?;
        executions(tc, case, &mut results);
    }
    serde_json::to_vec(&json!({ "results": results })).map_err(|e| e.to_string())
}

/// `verdict upload` of `file` into `run` as a process; with `compare`, as
/// CI runs it (ending with the comparison line), else the import alone
/// (`--no-compare`).
fn upload_cli(
    ctx: &Ctx<'_>,
    project: &str,
    run: &str,
    file: &std::path::Path,
    compare: bool,
) -> Result<Duration, String> {
    let bin = sibling_binary("verdict")?;
    let start = Instant::now();
    let out = Command::new(bin)
        .args([
            "upload",
            "--project",
            project,
            "--run",
            run,
            "--create-missing",
        ])
        .args((!compare).then_some("--no-compare"))
        .arg(file)
        .env("VERDICT_URL", &ctx.server.base)
        .env("VERDICT_TOKEN", TOKEN)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run verdict upload: {e}"))?;
    let took = start.elapsed();
    if !out.status.success() {
        return Err(format!(
            "verdict upload failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(took)
}

pub async fn run(ctx: &mut Ctx<'_>) -> Result<Vec<Row>, String> {
    let reps = ctx.reps();
    let project = ctx.api.project("junit").await?;
    let import = |run: &str| format!("/v1/runs/{run}/results/junit?create_missing=true");

    // The first import creates the project's cases.
    let empty = ctx.api.run(&project, "junit first", Some(&[])).await?;
    let xml = junit_report(TESTCASES, 0);
    let peak = ctx.peak();
    let mark = ctx.server.log_mark();
    let (first, answer) = ctx
        .api
        .timed(
            Method::POST,
            &import(&empty),
            "application/xml",
            Some(xml.clone().into_bytes()),
        )
        .await?;
    let mut first_row = Row::timed(
        ctx.name("JUnit 10k, first import (creates the cases)"),
        &[first],
    );
    first_row.peak_rss_mb = Some(peak.stop());
    first_row.server = server_ms(
        &ctx.server
            .latencies_since(mark, "POST", "/results/junit", 1),
    );
    rows_check(&answer, "created", TESTCASES)?;

    let report = verdict_junit::parse(xml.as_bytes()).map_err(|e| e.to_string())?;
    let cases: Vec<Value> = report
        .testcases
        .iter()
        .map(|tc| json!({ "title": tc.name, "key": tc.key(), "suite": tc.classname }))
        .collect();
    let ids = ctx.api.upsert_cases(&project, cases).await?;
    let case_of: HashMap<String, String> = report
        .testcases
        .iter()
        .map(TestCase::key)
        .zip(ids)
        .collect();

    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let (mut endpoint, mut cli, mut parse, mut bulk) = (vec![], vec![], vec![], vec![]);
    let mut cli_compared = Vec::new();
    // Server-side time of each: the endpoint's import, the sum of the CLI's
    // chunk imports (it sends 10,000 executions per request), the bulk.
    let mut server: [Vec<u64>; 3] = Default::default();
    let peak = ctx.peak();
    for rep in 1..=reps {
        let xml = junit_report(TESTCASES, rep);
        let start = Instant::now();
        let parsed = verdict_junit::parse(xml.as_bytes()).map_err(|e| e.to_string())?;
        parse.push(start.elapsed());
        let executions: usize = parsed.testcases.iter().map(|t| 1 + t.attempts.len()).sum();

        let run = ctx
            .api
            .run(&project, &format!("endpoint {rep}"), None)
            .await?;
        let mark = ctx.server.log_mark();
        let (took, answer) = ctx
            .api
            .timed(
                Method::POST,
                &import(&run),
                "application/xml",
                Some(xml.clone().into_bytes()),
            )
            .await?;
        rows_check(&answer, "matched", TESTCASES)?;
        endpoint.push(took);
        server[0].extend(
            ctx.server
                .latencies_since(mark, "POST", "/results/junit", 1),
        );

        let run = ctx.api.run(&project, &format!("cli {rep}"), None).await?;
        let file = dir.path().join(format!("report-{rep}.xml"));
        std::fs::write(&file, &xml).map_err(|e| e.to_string())?;
        let mark = ctx.server.log_mark();
        cli.push(upload_cli(ctx, &project, &run, &file, false)?);
        let expected = executions.div_ceil(CLI_CHUNK);
        let chunks = ctx
            .server
            .latencies_since(mark, "POST", "/results/junit", expected);
        server[1].push(chunks.iter().sum());
        let run = ctx
            .api
            .run(&project, &format!("cli compared {rep}"), None)
            .await?;
        cli_compared.push(upload_cli(ctx, &project, &run, &file, true)?);

        let body = bulk_of(&parsed, &case_of)?;
        let run = ctx
            .api
            .run(&project, &format!("reference {rep}"), None)
            .await?;
        let mark = ctx.server.log_mark();
        let (took, _) = ctx
            .api
            .timed(
                Method::POST,
                &format!("/v1/runs/{run}/results/bulk"),
                "application/json",
                Some(body),
            )
            .await?;
        bulk.push(took);
        server[2].extend(ctx.server.latencies_since(mark, "POST", "/results/bulk", 1));
    }
    let peak_mb = peak.stop();

    let parse_row = Row::timed(ctx.name("JUnit reference: parse 10k in-process"), &parse);
    let mut bulk_row = Row::timed(
        ctx.name("JUnit reference: bulk of the same executions"),
        &bulk,
    );
    bulk_row.server = server_ms(&server[2]);
    let reference = parse_row.median + bulk_row.median;
    let mut rows = vec![first_row];
    for (what, times, server) in [
        ("JUnit 10k → endpoint", &endpoint, &server[0]),
        (
            "JUnit 10k → verdict upload --no-compare (CLI process)",
            &cli,
            &server[1],
        ),
    ] {
        let mut row = Row::timed(ctx.name(what), times);
        row.baseline = Some(reference);
        row.peak_rss_mb = Some(peak_mb);
        row.server = server_ms(server);
        let ratio = row.ratio().unwrap_or(f64::INFINITY);
        rows.push(row.target(format!("≤ {RATIO}× (parse + bulk)"), ratio <= RATIO));
    }
    // As CI runs it: the import, then the comparison line's reads.
    let mut compared = Row::timed(
        ctx.name("JUnit 10k → verdict upload, with the comparison line"),
        &cli_compared,
    );
    compared.baseline = Some(reference);
    rows.push(compared);
    rows.push(parse_row);
    rows.push(bulk_row);
    Ok(rows)
}

/// Checks an import answer's count.
fn rows_check(answer: &Value, field: &str, want: usize) -> Result<(), String> {
    if answer["data"][field] == want {
        Ok(())
    } else {
        Err(format!(
            "import: {field} = {} (want {want})",
            answer["data"][field]
        ))
    }
}
