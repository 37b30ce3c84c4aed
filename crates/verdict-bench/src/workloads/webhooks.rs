//! What webhooks cost the writes: bulk uploads of 10,000 results and
//! PATCHes by 8 concurrent clients, into a project without webhooks and
//! into one with 3 (subscribed to every event, pointing at a receiver in
//! this process that answers 200 at once), alternating in the same run;
//! the rows' ratio is with ÷ without (for PATCHes, the median of each
//! round's ratio, after a round that warms up). After each span with webhooks the
//! receiver must have every event before the next span starts, so the
//! worker's backlog never weighs on a span without them (how long that
//! took is reported too). Then the delivery latency: sequential
//! single-result uploads, each into its own run, from the moment the client
//! has its answer (the write is committed) to each receipt. Numbers only.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use super::Ctx;
use super::patch::drive;
use crate::backend::Kind;
use crate::data::bulk_body;
use crate::report::{Row, Summary, ms, num};
use crate::server::{cpu_us_per, processes_cpu_ns, thread_cpu_ns, us_per};

const WEBHOOKS: usize = 3;
const BULK: usize = 10_000;
const PATCH_RESULTS: usize = 2_000;
const CLIENTS: usize = 8;
/// How long the receiver may take to get every event of a span.
const DRAIN_LIMIT: Duration = Duration::from_secs(120);
/// The rest after each PATCH span (and its drain), before the next.
const SETTLE: Duration = Duration::from_millis(500);
/// The SQLite store's one writing thread.
const WRITER: &str = "verdict-writer";

/// CPU time per PATCH in one span, µs: the server's SQLite writer
/// thread's (0 on PostgreSQL) and all the server's threads', and the
/// database's.
#[derive(Debug, Clone, Copy)]
struct SpanCpu {
    writer: f64,
    all: f64,
    /// The `postgres` processes' on this machine (0 without them).
    database: f64,
}

/// A round's two spans: without and with webhooks.
struct RoundCpu {
    plain: SpanCpu,
    hooked: SpanCpu,
}

/// What the receiver saw: how many requests, and when each run's first
/// arrived per webhook.
#[derive(Default)]
struct Seen {
    requests: u64,
    /// Run id → receipt instants (one per webhook).
    by_run: HashMap<String, Vec<Instant>>,
}

/// A loopback HTTP/1.1 receiver (keep-alive) answering 200 with no body.
struct Receiver {
    url: String,
    seen: Arc<Mutex<Seen>>,
}

impl Receiver {
    async fn start() -> Result<Receiver, String> {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .map_err(|e| format!("receiver: {e}"))?;
        let addr = listener
            .local_addr()
            .map_err(|e| format!("receiver: {e}"))?;
        let seen = Arc::new(Mutex::new(Seen::default()));
        let shared = Arc::clone(&seen);
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(connection(stream, Arc::clone(&shared)));
            }
        });
        Ok(Receiver {
            url: format!("http://{addr}/hook"),
            seen,
        })
    }

    fn requests(&self) -> u64 {
        self.seen.lock().map_or(0, |s| s.requests)
    }

    /// Waits until `expected` requests have come in all; how long it took.
    async fn drained(&self, expected: u64) -> Result<Duration, String> {
        let start = Instant::now();
        while self.requests() < expected {
            if start.elapsed() > DRAIN_LIMIT {
                return Err(format!(
                    "the receiver got {} of {expected} webhook requests in {} s",
                    self.requests(),
                    DRAIN_LIMIT.as_secs()
                ));
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        Ok(start.elapsed())
    }
}

/// One keep-alive connection: requests answered 200 until it closes.
async fn connection(mut stream: TcpStream, seen: Arc<Mutex<Seen>>) {
    let mut buf: Vec<u8> = Vec::with_capacity(16 * 1024);
    let mut chunk = vec![0u8; 16 * 1024];
    loop {
        // Headers.
        let head_end = loop {
            if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break i + 4;
            }
            match stream.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        };
        let head = String::from_utf8_lossy(&buf[..head_end]).to_ascii_lowercase();
        let length: usize = head
            .lines()
            .find_map(|l| l.strip_prefix("content-length:"))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0);
        while buf.len() < head_end + length {
            match stream.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        }
        let at = Instant::now();
        let body = &buf[head_end..head_end + length];
        let run = run_id(body);
        if let Ok(mut s) = seen.lock() {
            s.requests += 1;
            if let Some(run) = run {
                s.by_run.entry(run).or_default().push(at);
            }
        }
        buf.drain(..head_end + length);
        if stream
            .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n")
            .await
            .is_err()
        {
            return;
        }
    }
}

/// The `run_id` a body names (`"run_id":"run_…"`), found without parsing
/// the whole body.
fn run_id(body: &[u8]) -> Option<String> {
    let text = std::str::from_utf8(body).ok()?;
    let at = text.find("\"run_id\":\"")? + "\"run_id\":\"".len();
    let end = text[at..].find('"')?;
    Some(text[at..at + end].to_string())
}

/// A project with (or without) the receiver's webhooks.
async fn project(ctx: &Ctx<'_>, name: &str, hook: Option<&str>) -> Result<String, String> {
    let project = ctx.api.project(name).await?;
    if let Some(url) = hook {
        for k in 0..WEBHOOKS {
            ctx.api
                .send(
                    Method::POST,
                    &format!("/v1/projects/{project}/webhooks"),
                    Some(&json!({
                        "url": format!("{url}/{k}"),
                        "events": ["run.created", "run.closed", "results.recorded"],
                        "format": "standard",
                    })),
                )
                .await?;
        }
    }
    Ok(project)
}

pub async fn run(ctx: &mut Ctx<'_>) -> Result<Vec<Row>, String> {
    let receiver = Receiver::start().await?;
    let reps = ctx.reps();
    let mut rows = Vec::new();
    let hook = receiver.url.clone();
    // Events so far: each run created in the hooked projects is one per
    // webhook too.
    let mut expected: u64 = 0;

    // Bulk uploads, alternating without and with.
    let plain = project(ctx, "webhooks: none", None).await?;
    let hooked = project(ctx, "webhooks: 3", Some(&hook)).await?;
    let plain_cases = ctx.api.seed_cases(&plain, "whn", BULK).await?;
    let hooked_cases = ctx.api.seed_cases(&hooked, "whh", BULK).await?;
    let plain_run = ctx.api.run(&plain, "bulk", None).await?;
    let hooked_run = ctx.api.run(&hooked, "bulk", None).await?;
    expected += WEBHOOKS as u64;
    receiver.drained(expected).await?;
    let (mut without, mut with, mut drains) = (Vec::new(), Vec::new(), Vec::new());
    for rep in 0..=reps {
        let path = format!("/v1/runs/{plain_run}/results/bulk");
        let body = bulk_body(&plain_cases, 0, rep + 1);
        let (took_plain, _) = ctx
            .api
            .timed(Method::POST, &path, "application/json", Some(body))
            .await?;
        let path = format!("/v1/runs/{hooked_run}/results/bulk");
        let body = bulk_body(&hooked_cases, 0, rep + 1);
        let (took_hooked, _) = ctx
            .api
            .timed(Method::POST, &path, "application/json", Some(body))
            .await?;
        expected += WEBHOOKS as u64;
        let drain = receiver.drained(expected).await?;
        // Repetition 0 warms up.
        if rep > 0 {
            without.push(took_plain);
            with.push(took_hooked);
            drains.push(ms(drain));
        }
    }
    let base = Row::timed("", &without);
    let mut row = Row::timed(
        ctx.name(format!(
            "bulk {}k, {WEBHOOKS} webhooks (÷ none)",
            BULK / 1000
        )),
        &with,
    );
    row.baseline = Some(base.median);
    row.extra = json!({
        "without_ms": base.samples,
        "with_ms": row.samples,
        "drained_after_ms": drains,
    });
    println!(
        "{}webhooks: bulk {}k median {} ms with {WEBHOOKS} webhooks, {} ms without: {:.3}×; every event received {} ms (median) after the answer",
        ctx.backend.label,
        BULK / 1000,
        num(row.median),
        num(base.median),
        row.ratio().unwrap_or(f64::NAN),
        num(Summary::of(&drains).median),
    );
    rows.push(row);
    ctx.alive()?;

    // PATCHes by 8 clients, alternating without and with.
    let (span, warm) = if ctx.quick {
        (Duration::from_secs(1), Duration::from_millis(300))
    } else {
        (Duration::from_secs(2), Duration::from_millis(500))
    };
    let mut ids = Vec::new();
    for (p, prefix) in [(&plain, "whpn"), (&hooked, "whph")] {
        let cases = ctx.api.seed_cases(p, prefix, PATCH_RESULTS).await?;
        let run = ctx.api.run(p, "patch", None).await?;
        let (_, answer) = ctx
            .api
            .timed(
                Method::POST,
                &format!("/v1/runs/{run}/results/bulk"),
                "application/json",
                Some(bulk_body(&cases, 0, 1)),
            )
            .await?;
        let results: Vec<String> = answer["data"]["results"]
            .as_array()
            .ok_or("no results in the bulk answer")?
            .iter()
            .filter_map(|r| r["id"].as_str().map(str::to_string))
            .collect();
        ids.push((run, Arc::new(results)));
    }
    // The hooked run's creation and bulk.
    expected += 2 * WEBHOOKS as u64;
    receiver.drained(expected).await?;
    let base_url = ctx.server.base.clone();
    // Per counted round: (without, with) rates, the p99s, the drain.
    let (mut pairs, mut p99s, mut drains) = (Vec::new(), Vec::new(), Vec::new());
    // Per counted round: the CPU per PATCH of its two spans.
    let mut cpus: Vec<RoundCpu> = Vec::new();
    let rounds = if ctx.quick { 2 } else { 6 };
    // Round 0 warms up and is not counted: the first span after the setup
    // ran 10–20% faster than any later one, whichever project it wrote.
    for round in 0..=rounds {
        let seed = 900_000 + round * 10_000;
        // Which project goes first alternates: the second span of a round
        // ran 11–15% faster when both projects were without webhooks.
        let order: [usize; 2] = if round % 2 == 0 { [0, 1] } else { [1, 0] };
        let mut rate = [0.0; 2];
        // The CPU per PATCH in each span.
        let mut cpu: [Option<SpanCpu>; 2] = [None; 2];
        let mut p99 = [0.0; 2];
        for k in order {
            let (run, results) = &ids[k];
            let warmed = drive(&[&base_url], run, results, CLIENTS, warm, seed + k * 100).await?;
            let before = thread_cpu_ns(ctx.server.pid);
            let database_before = processes_cpu_ns("postgres");
            let load = drive(
                &[&base_url],
                run,
                results,
                CLIENTS,
                span,
                seed + k * 100 + 50,
            )
            .await?;
            if let (Some(before), Some(after)) = (before, thread_cpu_ns(ctx.server.pid)) {
                let (all, by_thread) = cpu_us_per(&before, &after, load.acked);
                let database = processes_cpu_ns("postgres")
                    .zip(database_before)
                    .map_or(0.0, |(after, before)| {
                        us_per(after.saturating_sub(before), load.acked)
                    });
                cpu[k] = Some(SpanCpu {
                    writer: by_thread.get(WRITER).copied().unwrap_or(0.0),
                    all,
                    database,
                });
            }
            rate[k] = load.acked as f64 / load.took.as_secs_f64();
            p99[k] = Summary::of(&load.latencies).p99;
            if k == 1 {
                expected += (warmed.acked + load.acked) * WEBHOOKS as u64;
                let drain = receiver.drained(expected).await?;
                if round > 0 {
                    drains.push(ms(drain));
                }
            }
            // Every span starts from a server that has had a moment's
            // rest, after either kind.
            tokio::time::sleep(SETTLE).await;
        }
        if round > 0 {
            if let [Some(plain), Some(hooked)] = cpu {
                cpus.push(RoundCpu { plain, hooked });
            }
            pairs.push((rate[0], rate[1]));
            p99s.push((p99[0], p99[1]));
        }
    }
    let median = |xs: Vec<f64>| Summary::of(&xs).median;
    let without = median(pairs.iter().map(|p| p.0).collect());
    let with_rate = median(pairs.iter().map(|p| p.1).collect());
    let without_p99 = median(p99s.iter().map(|p| p.0).collect());
    let with_p99 = median(p99s.iter().map(|p| p.1).collect());
    // The ratio: the median of each round's with ÷ without (the two spans
    // of a round are seconds apart, so the machine's drift over the
    // minutes of the whole workload cancels), beside the ratio of the
    // medians.
    let paired = median(pairs.iter().map(|p| p.1 / p.0).collect());
    // The CPU per PATCH, a steadier signal than the rate on a shared
    // machine: what the outbox row costs the writer, the server in all,
    // and the database.
    let cpu_json = (!cpus.is_empty()).then(|| {
        let col = |f: fn(&RoundCpu) -> f64| -> Vec<f64> { cpus.iter().map(f).collect() };
        json!({
            "writer_without": col(|c| c.plain.writer),
            "writer_with": col(|c| c.hooked.writer),
            "all_without": col(|c| c.plain.all),
            "all_with": col(|c| c.hooked.all),
            "postgres_without": col(|c| c.plain.database),
            "postgres_with": col(|c| c.hooked.database),
        })
    });
    if !cpus.is_empty() {
        let delta = |f: fn(&RoundCpu) -> f64| median(cpus.iter().map(f).collect());
        // PostgreSQL has no writer thread of its own.
        let writer = if delta(|c| c.plain.writer) > 0.0 {
            format!(
                "writer thread {:.1} without, {:.1} with (Δ {:.1}); ",
                delta(|c| c.plain.writer),
                delta(|c| c.hooked.writer),
                delta(|c| c.hooked.writer - c.plain.writer),
            )
        } else {
            String::new()
        };
        println!(
            "{}webhooks: server CPU per PATCH (µs, medians of {} rounds): {writer}all threads {:.1} without, {:.1} with (Δ {:.1})",
            ctx.backend.label,
            cpus.len(),
            delta(|c| c.plain.all),
            delta(|c| c.hooked.all),
            delta(|c| c.hooked.all - c.plain.all),
        );
        if matches!(ctx.backend.kind, Kind::Postgres) {
            println!(
                "{}webhooks: database CPU per PATCH (µs, the postgres processes on this machine, medians): {:.1} without, {:.1} with (Δ {:.1})",
                ctx.backend.label,
                delta(|c| c.plain.database),
                delta(|c| c.hooked.database),
                delta(|c| c.hooked.database - c.plain.database),
            );
        }
    }
    let mut row = Row::value(
        ctx.name(format!(
            "PATCH, {CLIENTS} connections, {WEBHOOKS} webhooks (÷ none)"
        )),
        "/s",
        with_rate,
    );
    row.baseline = Some(without);
    row.paired = Some(paired);
    row.spread = format!("p99 {} ms (none: {} ms)", num(with_p99), num(without_p99));
    row.samples = pairs.iter().map(|p| p.1).collect();
    row.extra = json!({
        "without_per_s": pairs.iter().map(|p| p.0).collect::<Vec<_>>(),
        "with_per_s": pairs.iter().map(|p| p.1).collect::<Vec<_>>(),
        "ratio_per_round": pairs.iter().map(|p| p.1 / p.0).collect::<Vec<_>>(),
        "ratio_of_medians": with_rate / without,
        "without_p99_ms": without_p99,
        "with_p99_ms": with_p99,
        "drained_after_ms": drains,
        "server_cpu_us_per_patch": cpu_json,
    });
    println!(
        "{}webhooks: PATCH ×{CLIENTS} {} /s with {WEBHOOKS} webhooks, {} /s without: {:.3}× (median of {} rounds' ratios; ratio of the medians {:.3}×); p99 {} vs {} ms; the span's events all received {} ms (median) after its end",
        ctx.backend.label,
        num(with_rate),
        num(without),
        paired,
        pairs.len(),
        with_rate / without,
        num(with_p99),
        num(without_p99),
        num(Summary::of(&drains).median),
    );
    rows.push(row);
    ctx.alive()?;

    // Delivery latency: one result per upload, each into its own run.
    let writes = if ctx.quick { 30 } else { 100 };
    let latency = project(ctx, "webhooks: latency", Some(&hook)).await?;
    let cases = ctx.api.seed_cases(&latency, "whl", 1).await?;
    let mut runs = Vec::new();
    for i in 0..writes {
        runs.push(ctx.api.run(&latency, &format!("latency {i}"), None).await?);
    }
    expected += (writes * WEBHOOKS) as u64;
    receiver.drained(expected).await?;
    let mut committed: Vec<(String, Instant)> = Vec::new();
    for (i, run) in runs.iter().enumerate() {
        ctx.api
            .timed(
                Method::POST,
                &format!("/v1/runs/{run}/results/bulk"),
                "application/json",
                Some(bulk_body(&cases, 0, i + 1)),
            )
            .await?;
        committed.push((run.clone(), Instant::now()));
        // One write at a time, each delivered before the next: the latency
        // of an idle system.
        expected += WEBHOOKS as u64;
        receiver.drained(expected).await?;
    }
    // Receipts naming a run by `run_id` are its upload's (a run.created
    // body is the run itself, with `id`). One that came before the
    // client had its answer (the worker is woken by the commit, the answer
    // still on its way) counts as 0 ms.
    let mut latencies = Vec::new();
    let mut early = 0;
    if let Ok(seen) = receiver.seen.lock() {
        for (run, at) in &committed {
            let got = seen.by_run.get(run).map(Vec::as_slice).unwrap_or_default();
            for got in got {
                early += usize::from(got < at);
                latencies.push(ms(got.saturating_duration_since(*at)));
            }
        }
    }
    let s = Summary::of(&latencies);
    let mut row = Row::value(
        ctx.name("webhook delivery latency, commit → receipt (p50)"),
        "ms",
        s.median,
    );
    row.spread = format!("p99 {} ms, max {} ms", num(s.p99), num(s.max));
    row.samples = latencies.clone();
    row.extra = json!({ "writes": writes, "webhooks": WEBHOOKS, "p99_ms": s.p99, "before_the_answer": early });
    println!(
        "{}webhooks: delivery latency from commit to receipt p50 {} ms, p99 {} ms ({} receipts)",
        ctx.backend.label,
        num(s.median),
        num(s.p99),
        latencies.len()
    );
    rows.push(row);
    ctx.alive()?;
    Ok(rows)
}
