//! Triage reads on seeded histories, each timed over HTTP (client and the
//! server's own latency from its request log) against a raw baseline: the
//! rows the answer is made of, read straight from the server's database
//! (`TriageRead`). Seeding goes through the API and is reported.
//!
//! - compare two runs of 100,000 results (statuses differ in ~60% of them);
//! - the failures of a run with 10,000 failures (40 messages, each with
//!   numbers and ids that vary, so they group into 40 signatures);
//! - flaky cases over 30 runs × 10,000 cases (5% flip, 2% always fail);
//! - trends of those 30 runs; durations over them;
//! - one case across 1,000 runs (first page).

use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{Value, json};

use super::Ctx;
use crate::backend::{Kind, TriageRead};
use crate::client::{SEED_CHUNK, db_id};
use crate::data::bulk_body;
use crate::report::{Row, server_ms};

/// Targets (server time), stated for SQLite; PostgreSQL rows show them too.
const COMPARE_MS: f64 = 200.0;
const FAILURES_MS: f64 = 150.0;
const FLAKY_MS: f64 = 500.0;
const TRENDS_MS: f64 = 20.0;
const CASE_ACROSS_MS: f64 = 20.0;

struct Read {
    what: String,
    path: String,
    /// The route's last segment, as the request log names it.
    route: &'static str,
    raw: TriageRead,
    target: Option<f64>,
}

/// Times one read: client, server (log) and the raw rows.
async fn measure(ctx: &mut Ctx<'_>, read: Read) -> Result<Row, String> {
    let samples = if ctx.quick { 10 } else { 30 };
    for _ in 0..3 {
        ctx.api.send(Method::GET, &read.path, None).await?;
    }
    let mark = ctx.server.log_mark();
    let peak = ctx.peak();
    let mut times = Vec::with_capacity(samples);
    let mut answer = Value::Null;
    for _ in 0..samples {
        let (took, a) = ctx.api.timed(Method::GET, &read.path, "", None).await?;
        times.push(took);
        answer = a;
    }
    let peak_mb = peak.stop();
    let server = ctx.server.latencies_since(mark, "GET", read.route, samples);
    let mut reader = (ctx.backend.reader)().await?;
    let mut raw = Vec::with_capacity(samples);
    let mut raw_rows = 0;
    for i in 0..=samples {
        let start = Instant::now();
        raw_rows = reader.triage(read.raw).await?;
        if i > 0 {
            raw.push(start.elapsed());
        }
    }
    let raw_row = Row::timed("", &raw);
    let mut row = Row::timed(ctx.name(&read.what), &times);
    row.server = server_ms(&server);
    row.baseline = Some(raw_row.median);
    row.peak_rss_mb = Some(peak_mb);
    row.extra = json!({
        "path": read.path,
        "raw_rows": raw_rows,
        "baseline_samples_ms": raw_row.samples,
        "meta": answer["meta"],
    });
    Ok(match read.target {
        Some(limit) => {
            let server = row.server.unwrap_or(f64::INFINITY);
            let label = if ctx.backend.kind == Kind::Sqlite {
                format!("server < {limit:.0} ms")
            } else {
                format!("server < {limit:.0} ms (stated for SQLite)")
            };
            row.target(label, server < limit)
        }
        None => row,
    })
}

/// A bulk body setting `statuses[i]` (with `notes[i]` and `elapsed[i]`) on
/// `cases[i]`.
fn body(cases: &[String], entry: impl Fn(usize) -> (&'static str, Option<String>, i64)) -> Vec<u8> {
    let results: Vec<Value> = cases
        .iter()
        .enumerate()
        .map(|(i, id)| {
            let (status, note, elapsed) = entry(i);
            let mut v = json!({ "test_case_id": id, "status": status, "elapsed_ms": elapsed });
            if let Some(n) = note {
                v["note"] = json!(n);
            }
            v
        })
        .collect();
    serde_json::to_vec(&json!({ "results": results })).unwrap_or_default()
}

async fn bulk(ctx: &Ctx<'_>, run: &str, body: Vec<u8>) -> Result<(), String> {
    ctx.api
        .timed(
            Method::POST,
            &format!("/v1/runs/{run}/results/bulk"),
            "application/json",
            Some(body),
        )
        .await
        .map(|_| ())
}

/// The 40 failure messages of the failures run, with what varies filled
/// in from `i`.
fn failure_note(i: usize) -> String {
    let n = i * 7919;
    let text = match i % 40 {
        0 => format!("AssertionError: expected {} but got {}", n % 100, n % 97),
        1 => format!(
            "java.lang.NullPointerException at com.acme.Cart.total(Cart.java:{})",
            n % 500
        ),
        2 => format!(
            "TimeoutError: page.click: Timeout {}ms exceeded.",
            30_000 + n % 5
        ),
        3 => format!(
            "ConnectionRefusedError: [Errno 111] connect to 10.0.{}.{}:5432",
            n % 250,
            n % 199
        ),
        4 => format!("KeyError: 'user_{}'", n),
        5 => format!(
            "expected status 200 but was {} for /api/orders/{}",
            500 + n % 4,
            n
        ),
        6 => format!(
            "FileNotFoundError: /tmp/pytest-of-ci/pytest-{}/data.json",
            n % 1000
        ),
        7 => format!("Order 3f2a{:06x} not found", n % 0xffffff),
        _ => format!(
            "Error {} in module m{}: value {} out of range at 2026-12-0{}T10:{:02}:00Z",
            i % 40,
            i % 40,
            n % 1000,
            1 + n % 9,
            n % 60
        ),
    };
    format!("{text}\n    at frame one\n    at frame two")
}

pub async fn run(ctx: &mut Ctx<'_>) -> Result<Vec<Row>, String> {
    let mut rows = Vec::new();
    let mut seeded = |ctx: &Ctx<'_>, what: &str, took: Duration| {
        rows.push(Row::timed(ctx.name(format!("seed: {what}")), &[took]));
    };

    // 1. Compare two runs of 100,000 results.
    let n = 100_000;
    let start = Instant::now();
    let project = ctx.api.project("triage-compare").await?;
    let cases = ctx.api.seed_cases(&project, "cmp", n).await?;
    let base = ctx.api.run(&project, "base", None).await?;
    let head = ctx.api.run(&project, "head", None).await?;
    for (run, rep) in [(&base, 1), (&head, 2)] {
        for (c, chunk) in cases.chunks(SEED_CHUNK).enumerate() {
            bulk(ctx, run, bulk_body(chunk, c * SEED_CHUNK, rep)).await?;
        }
    }
    drop(cases);
    seeded(ctx, "2 runs × 100k results", start.elapsed());
    let compare = measure(
        ctx,
        Read {
            what: "compare two 100k runs (page 1)".into(),
            path: format!("/v1/runs/{head}/compare?per_page=20"),
            route: "/compare",
            raw: TriageRead::Compare {
                run: db_id(&head)?,
                base: db_id(&base)?,
            },
            target: Some(COMPARE_MS),
        },
    )
    .await?;

    // 2. The failures of a run with 10,000 failures.
    let start = Instant::now();
    let project = ctx.api.project("triage-failures").await?;
    let cases = ctx.api.seed_cases(&project, "fail", 10_000).await?;
    let failing = ctx.api.run(&project, "all failing", None).await?;
    bulk(
        ctx,
        &failing,
        body(&cases, |i| ("failed", Some(failure_note(i)), 10 + i as i64)),
    )
    .await?;
    seeded(ctx, "a run of 10k failures", start.elapsed());
    let failures = measure(
        ctx,
        Read {
            what: "failures of a run with 10k failures".into(),
            path: format!("/v1/runs/{failing}/failures?per_page=20"),
            route: "/failures",
            raw: TriageRead::Failures {
                run: db_id(&failing)?,
            },
            target: Some(FAILURES_MS),
        },
    )
    .await?;

    // 3. 30 runs × 10,000 cases: flaky, trends, durations.
    let start = Instant::now();
    let project = ctx.api.project("triage-history").await?;
    let cases = ctx.api.seed_cases(&project, "hist", 10_000).await?;
    for r in 0..30usize {
        let run = ctx.api.run(&project, &format!("nightly {r}"), None).await?;
        bulk(
            ctx,
            &run,
            body(&cases, |i| {
                let status = if i % 20 == 0 {
                    // Flips every other night.
                    if (r + i / 20) % 2 == 0 {
                        "passed"
                    } else {
                        "failed"
                    }
                } else if i % 50 == 1 {
                    "failed"
                } else {
                    "passed"
                };
                let note = (status == "failed").then(|| format!("expected {i} but got {r}"));
                (status, note, (i % 1000) as i64 + (r * i % 7) as i64)
            }),
        )
        .await?;
    }
    seeded(ctx, "30 runs × 10k results", start.elapsed());
    let project_id = db_id(&project)?;
    let flaky = measure(
        ctx,
        Read {
            what: "flaky over 30 runs × 10k cases (page 1)".into(),
            path: format!("/v1/projects/{project}/flaky?window=30&per_page=20"),
            route: "/flaky",
            raw: TriageRead::Window {
                project: project_id,
                runs: 30,
            },
            target: Some(FLAKY_MS),
        },
    )
    .await?;
    let trends = measure(
        ctx,
        Read {
            what: "trends of 30 runs".into(),
            path: format!("/v1/projects/{project}/trends?runs=30"),
            route: "/trends",
            raw: TriageRead::Trends {
                project: project_id,
                runs: 30,
            },
            target: Some(TRENDS_MS),
        },
    )
    .await?;
    let durations = measure(
        ctx,
        Read {
            what: "durations over 30 runs × 10k cases (page 1)".into(),
            path: format!("/v1/projects/{project}/durations?window=30&per_page=20"),
            route: "/durations",
            raw: TriageRead::Window {
                project: project_id,
                runs: 30,
            },
            target: None,
        },
    )
    .await?;

    // 4. One case across 1,000 runs.
    let start = Instant::now();
    let project = ctx.api.project("triage-case").await?;
    let cases = ctx.api.seed_cases(&project, "one", 10).await?;
    for r in 0..1_000usize {
        let run = ctx.api.run(&project, &format!("build {r}"), None).await?;
        bulk(
            ctx,
            &run,
            body(&cases, |i| {
                let status = if (r + i) % 9 == 0 { "failed" } else { "passed" };
                (status, None, (r + i) as i64)
            }),
        )
        .await?;
    }
    seeded(ctx, "1,000 runs × 10 results", start.elapsed());
    let case = cases.first().ok_or("no case")?.clone();
    let across = measure(
        ctx,
        Read {
            what: "a case across 1,000 runs (page 1)".into(),
            path: format!("/v1/cases/{case}/results?per_page=20"),
            route: "/results",
            raw: TriageRead::CaseAcross {
                case: db_id(&case)?,
                limit: 20,
            },
            target: Some(CASE_ACROSS_MS),
        },
    )
    .await?;

    rows.extend([compare, failures, flaky, trends, durations, across]);
    Ok(rows)
}
