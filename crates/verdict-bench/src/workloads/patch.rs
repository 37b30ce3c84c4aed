//! PATCH of single results by 1, 8 and 32 concurrent clients, each its own
//! keep-alive connection issuing sequential requests with a new body every
//! time, for a fixed span after a warm-up; against the raw rate of
//! sequential single-execution transactions. Afterwards the history table
//! must hold exactly the executions the server acknowledged.

use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::Method;

use super::Ctx;
use crate::backend::Kind;
use crate::client::db_id;
use crate::data::{bulk_body, patch_body};
use crate::load::Conn;
use crate::report::{Row, Summary, num, server_ms};
use crate::server::cpu_seconds;

/// Results in the run the clients write to.
const RESULTS: usize = 10_000;
/// Targets at 32 connections.
const MIN_RATE: f64 = 7_000.0;
const MAX_P99_MS: f64 = 20.0;

/// What a span of load gave: acknowledged requests, wall time, latencies (ms).
pub(super) struct Load {
    pub acked: u64,
    pub took: Duration,
    pub latencies: Vec<f64>,
}

/// Clients spread over the instances at `bases` (client `i` on
/// `bases[i % len]`).
pub(super) async fn drive(
    bases: &[&str],
    run: &str,
    ids: &Arc<Vec<String>>,
    clients: usize,
    span: Duration,
    seed: usize,
) -> Result<Load, String> {
    let start = Instant::now();
    let deadline = start + span;
    let mut tasks = Vec::with_capacity(clients);
    for task in 0..clients {
        let mut conn = Conn::connect(bases[task % bases.len()]).await?;
        let ids = Arc::clone(ids);
        let prefix = format!("/v1/runs/{run}/results/");
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let first = task * ids.len() / clients;
            let mut k = 0;
            while Instant::now() < deadline {
                let id = &ids[(first + k) % ids.len()];
                let path = format!("{prefix}{id}");
                let body = patch_body(seed + task, k);
                let sent = Instant::now();
                let answer = conn.send("PATCH", &path, &body).await?;
                if !(200..300).contains(&answer.status) {
                    return Err(format!(
                        "PATCH: {} {}",
                        answer.status,
                        String::from_utf8_lossy(answer.body)
                    ));
                }
                latencies.push(sent.elapsed().as_secs_f64() * 1000.0);
                k += 1;
            }
            Ok::<_, String>(latencies)
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(
            t.await
                .map_err(|e| format!("a client task failed: {e}"))??,
        );
    }
    Ok(Load {
        acked: all.len() as u64,
        took: start.elapsed(),
        latencies: all,
    })
}

pub async fn run(ctx: &mut Ctx<'_>) -> Result<Vec<Row>, String> {
    let (span, warm) = if ctx.quick {
        (Duration::from_secs(1), Duration::from_millis(300))
    } else {
        (Duration::from_secs(4), Duration::from_millis(500))
    };
    let project = ctx.api.project("patch").await?;
    let cases = ctx.api.seed_cases(&project, "patch", RESULTS).await?;
    let run = ctx.api.run(&project, "patch", None).await?;
    let (_, answer) = ctx
        .api
        .timed(
            Method::POST,
            &format!("/v1/runs/{run}/results/bulk"),
            "application/json",
            Some(bulk_body(&cases, 0, 1)),
        )
        .await?;
    let ids: Vec<String> = answer["data"]["results"]
        .as_array()
        .ok_or("no results in the bulk answer")?
        .iter()
        .filter_map(|r| r["id"].as_str().map(str::to_string))
        .collect();
    if ids.len() != RESULTS {
        return Err(format!("bulk answered {} result ids", ids.len()));
    }
    let ids = Arc::new(ids);
    let mut acked = RESULTS as u64;

    // The raw rate is measured before each level (fsync latency drifts on
    // a shared disk); the baseline is the median of the three.
    let mut raw = (ctx.backend.baseline)(RESULTS).await?;
    let mut raw_rates = Vec::new();
    let mut rows = Vec::new();

    for (round, clients) in [1usize, 8, 32].into_iter().enumerate() {
        let seed = round * 1_000;
        let (raw_tx, raw_took) = raw.single_rate(span).await?;
        raw_rates.push(raw_tx as f64 / raw_took.as_secs_f64());
        acked += drive(&[&ctx.server.base], &run, &ids, clients, warm, seed)
            .await?
            .acked;
        let mark = ctx.server.log_mark();
        let peak = ctx.peak();
        let cpu = (cpu_seconds(ctx.server.pid), cpu_seconds(0));
        let load = drive(&[&ctx.server.base], &run, &ids, clients, span, seed + 100).await?;
        let peak_mb = peak.stop();
        let busy = |before: Option<f64>, pid| {
            Some((cpu_seconds(pid)? - before?) / load.took.as_secs_f64())
        };
        let (server_cores, client_cores) = (busy(cpu.0, ctx.server.pid), busy(cpu.1, 0));
        acked += load.acked;
        let server =
            ctx.server
                .latencies_since(mark, "PATCH", "/results/{id}", load.acked as usize);
        let s = Summary::of(&load.latencies);
        let rate = load.acked as f64 / load.took.as_secs_f64();
        let mut row = Row::value(
            ctx.name(format!(
                "PATCH, {clients} connection{}",
                if clients == 1 { "" } else { "s" }
            )),
            "/s",
            rate,
        );
        row.spread = format!("p50 {} / p99 {} ms", num(s.median), num(s.p99));
        row.server = server_ms(&server);
        row.peak_rss_mb = Some(peak_mb);
        row.extra = serde_json::json!({
            "clients": clients,
            "requests": load.acked,
            "seconds": load.took.as_secs_f64(),
            "p50_ms": s.median,
            "p99_ms": s.p99,
            "max_ms": s.max,
            "server_p99_ms": Summary::of(&server.iter().map(|u| *u as f64 / 1000.0).collect::<Vec<_>>()).p99,
            "baseline": "sequential single-execution transactions (UPDATE + history INSERT + run counts), synchronous=FULL",
            "baseline_rate_before_this_level": raw_rates.last(),
            "server_cpu_cores": server_cores,
            "client_cpu_cores": client_cores,
        });
        // The target is stated for SQLite (group commit) on this machine.
        if clients == 32 && ctx.backend.kind == Kind::Sqlite {
            row = row.target(
                format!("≥ {MIN_RATE:.0}/s, p99 < {MAX_P99_MS:.0} ms"),
                rate >= MIN_RATE && s.p99 < MAX_P99_MS,
            );
        }
        rows.push(row);
        ctx.alive()?;
    }

    let raw_rate = Summary::of(&raw_rates).median;
    for row in &mut rows {
        row.baseline = Some(raw_rate);
    }
    if ctx.backend.kind == Kind::Postgres {
        let (row, more) = two_instances(ctx, &run, &ids, span, warm, raw.as_mut()).await?;
        acked += more;
        rows.push(row);
    }
    drop(raw);

    let mut reader = (ctx.backend.reader)().await?;
    let stored = reader.history_count(db_id(&run)?).await?;
    rows.push(
        Row::value(
            ctx.name("PATCH: executions stored = acknowledged"),
            "rows",
            stored as f64,
        )
        .target(format!("= {acked}"), stored == acked as i64),
    );
    Ok(rows)
}

/// Targets at 32 connections on two instances of one PostgreSQL database.
const TWO_MIN_RATE: f64 = 3_000.0;
const TWO_MIN_RATIO: f64 = 0.6;
const TWO_MAX_P99_MS: f64 = 50.0;

/// 32 clients over two instances on one database (a second `verdict
/// serve` on the same URL), against 32 raw connections sending the same
/// statements per write at the same time (measured right before). Returns
/// the row and the requests acknowledged.
async fn two_instances(
    ctx: &mut Ctx<'_>,
    run: &str,
    ids: &Arc<Vec<String>>,
    span: Duration,
    warm: Duration,
    raw: &mut dyn crate::backend::Baseline,
) -> Result<(Row, u64), String> {
    const CLIENTS: usize = 32;
    let second = crate::server::Server::start(&ctx.backend.database_url)?;
    let (raw_writes, raw_took, raw_latencies) = raw.concurrent_rate(CLIENTS, span).await?;
    let raw_rate = raw_writes as f64 / raw_took.as_secs_f64();
    let bases = [ctx.server.base.as_str(), second.base.as_str()];
    let mut acked = drive(&bases, run, ids, CLIENTS, warm, 50_000).await?.acked;
    let load = drive(&bases, run, ids, CLIENTS, span, 60_000).await?;
    acked += load.acked;
    drop(second);
    let s = Summary::of(&load.latencies);
    let raw_s = Summary::of(&raw_latencies);
    let rate = load.acked as f64 / load.took.as_secs_f64();
    let mut row = Row::value(ctx.name("PATCH, 32 connections, two instances"), "/s", rate);
    row.spread = format!("p50 {} / p99 {} ms", num(s.median), num(s.p99));
    row.baseline = Some(raw_rate);
    row.extra = serde_json::json!({
        "clients": CLIENTS,
        "instances": 2,
        "requests": load.acked,
        "seconds": load.took.as_secs_f64(),
        "p50_ms": s.median,
        "p99_ms": s.p99,
        "max_ms": s.max,
        "baseline": "32 connections at once, each sending the server's statements per PATCH (token look-up, one-statement checked write)",
        "baseline_p99_ms": raw_s.p99,
    });
    let ratio = rate / raw_rate;
    let row = row.target(
        format!("≥ {TWO_MIN_RATE:.0}/s, ≥ {TWO_MIN_RATIO}× raw, p99 < {TWO_MAX_P99_MS:.0} ms"),
        rate >= TWO_MIN_RATE && ratio >= TWO_MIN_RATIO && s.p99 < TWO_MAX_P99_MS,
    );
    ctx.alive()?;
    Ok((row, acked))
}
