//! Bulk uploads of 10,000, 50,000 and 100,000 results, end to end over
//! HTTP (one request each; the server is started with a 100,000-entry
//! limit), against the raw one-transaction baseline of the same size,
//! the two alternating repetition by repetition.

use std::time::Duration;

use reqwest::Method;

use super::Ctx;
use crate::backend::Kind;
use crate::data::bulk_body;
use crate::report::{Row, server_ms};

/// Target for 50,000 results, in ms.
const FIFTY_K_MS: f64 = 500.0;
/// Target for the memory a 100,000-result bulk adds, in MB.
const ADDED_MB: f64 = 200.0;
/// Target ratio to the raw baseline.
const RATIO: f64 = 2.0;

pub async fn run(ctx: &mut Ctx<'_>) -> Result<Vec<Row>, String> {
    let mut rows = Vec::new();
    let reps = ctx.reps();
    for n in [10_000, 50_000, 100_000] {
        let project = ctx.api.project(&format!("bulk {n}")).await?;
        let cases = ctx.api.seed_cases(&project, &format!("bulk{n}"), n).await?;
        let run = ctx.api.run(&project, "bulk", None).await?;
        let path = format!("/v1/runs/{run}/results/bulk");

        // Server and raw repetitions alternate, so both see the same disk
        // and the same neighbours.
        let mut raw = (ctx.backend.baseline)(n).await?;
        let mut raw_times: Vec<Duration> = Vec::new();
        let before = ctx.server.rss_mb().unwrap_or(0.0);
        let peak = ctx.peak();
        let mark = ctx.server.log_mark();
        let mut times = Vec::new();
        // Repetition 0 warms up and is not counted; every one writes new values.
        for rep in 0..=reps {
            let body = bulk_body(&cases, 0, rep + 1);
            let (took, answer) = ctx
                .api
                .timed(Method::POST, &path, "application/json", Some(body))
                .await?;
            if answer["data"]["updated"] != n {
                return Err(format!("bulk applied {} of {n}", answer["data"]["updated"]));
            }
            let raw_took = raw.bulk(rep + 1).await?;
            if rep > 0 {
                times.push(took);
                raw_times.push(raw_took);
            }
        }
        let peak_mb = peak.stop();
        let server = ctx
            .server
            .latencies_since(mark, "POST", "/results/bulk", reps + 1);
        drop(raw);
        let raw_row = Row::timed("", &raw_times);

        let mut row = Row::timed(
            ctx.name(format!("bulk {}k results (HTTP)", n / 1000)),
            &times,
        );
        row.server = server_ms(server.get(1..).unwrap_or_default());
        row.baseline = Some(raw_row.median);
        row.peak_rss_mb = Some(peak_mb);
        row.extra = serde_json::json!({
            "results": n,
            "baseline_samples_ms": raw_row.samples,
            "rss_before_mb": before,
            "results_per_s": n as f64 / (row.median / 1000.0),
        });
        let ratio = row.ratio().unwrap_or(f64::INFINITY);
        // SQLite: 10k within 2× of raw, 50k under 0.5 s; PostgreSQL: every
        // size within 2× of its raw UNNEST baseline.
        row = match (ctx.backend.kind, n) {
            (Kind::Postgres, _) | (Kind::Sqlite, 10_000) => {
                row.target(format!("≤ {RATIO}× raw"), ratio <= RATIO)
            }
            (Kind::Sqlite, 50_000) => {
                let median = row.median;
                row.target(format!("< {FIFTY_K_MS:.0} ms"), median < FIFTY_K_MS)
            }
            _ => row,
        };
        rows.push(row);
        if n == 100_000 {
            let added = peak_mb - before;
            let mut mem = Row::value(
                ctx.name("bulk 100k: memory added (peak − before)"),
                "MB",
                added,
            )
            .target(format!("< {ADDED_MB:.0} MB"), added < ADDED_MB);
            mem.peak_rss_mb = Some(peak_mb);
            rows.push(mem);
        }
        ctx.alive()?;
    }
    Ok(rows)
}
