//! Listing a large run (1,000,000 results; 100,000 with `--quick`), seeded
//! through the API: cases in 50,000-case bulk upserts, one run over all of
//! them, then mixed statuses in 50,000-result bulks (seeding is timed and
//! reported). Each page is fetched sequentially over one keep-alive
//! connection; the server's own latency comes from its request log; the
//! baseline is the same page read straight from the server's file.

use std::time::{Duration, Instant};

use reqwest::Method;
use verdict_store::Status;

use super::Ctx;
use crate::client::{SEED_CHUNK, db_id};
use crate::data::{bulk_body, execution};
use crate::raw::PageQuery;
use crate::report::{Row, server_ms};

const PER_PAGE: usize = 20;
const PAGE1_MS: f64 = 1.0;
const ANY_PAGE_MS: f64 = 50.0;
/// The small run whose page 1 shows whether cost grows with run size.
const SMALL: usize = 1_000;

pub(super) struct Query {
    pub what: String,
    pub url: String,
    pub raw: PageQuery,
    pub total: i64,
}

pub(super) fn page_query(status: Option<Status>, page: usize, after: i64) -> PageQuery {
    PageQuery {
        status,
        after,
        limit: PER_PAGE as i64,
        offset: ((page - 1) * PER_PAGE) as i64,
    }
}

/// Times one query: client, server (log) and raw; checks `meta.total`.
pub(super) async fn measure(
    ctx: &mut Ctx<'_>,
    run: &str,
    q: Query,
    samples: usize,
) -> Result<Row, String> {
    let path = format!("/v1/runs/{run}/results?{}", q.url);
    for _ in 0..3 {
        ctx.api.send(Method::GET, &path, None).await?;
    }
    let mark = ctx.server.log_mark();
    let peak = ctx.peak();
    let mut times = Vec::with_capacity(samples);
    for _ in 0..samples {
        let (took, answer) = ctx.api.timed(Method::GET, &path, "", None).await?;
        if answer["meta"]["total"] != q.total {
            return Err(format!(
                "{}: meta.total {} (want {})",
                q.what, answer["meta"]["total"], q.total
            ));
        }
        if answer["data"].as_array().is_none_or(|d| d.is_empty()) {
            return Err(format!("{}: an empty page", q.what));
        }
        times.push(took);
    }
    let peak_mb = peak.stop();
    let server = ctx.server.latencies_since(mark, "GET", "/results", samples);

    let mut reader = (ctx.backend.reader)().await?;
    let run_id = db_id(run)?;
    let mut raw = Vec::with_capacity(samples);
    for i in 0..=samples {
        let start = Instant::now();
        let (_, total) = reader.page(run_id, q.raw).await?;
        if total != q.total {
            return Err(format!("{}: raw total {total} (want {})", q.what, q.total));
        }
        if i > 0 {
            raw.push(start.elapsed());
        }
    }
    let raw_row = Row::timed("", &raw);

    let mut row = Row::timed(ctx.name(&q.what), &times);
    row.server = server_ms(&server);
    row.baseline = Some(raw_row.median);
    row.peak_rss_mb = Some(peak_mb);
    row.extra = serde_json::json!({ "query": q.url, "total": q.total, "baseline_samples_ms": raw_row.samples });
    Ok(row)
}

pub async fn run(ctx: &mut Ctx<'_>) -> Result<Vec<Row>, String> {
    let n: usize = if ctx.quick { 100_000 } else { 1_000_000 };
    let label = if n >= 1_000_000 {
        format!("{}M", n / 1_000_000)
    } else {
        format!("{}k", n / 1000)
    };
    let samples = if ctx.quick { 20 } else { 50 };
    let chunks = n.div_ceil(SEED_CHUNK);
    let mut rows = Vec::new();
    let mut seeding = |what: String, took: Duration, peak: f64| {
        let mut row = Row::timed(ctx.name(what), &[took]);
        row.peak_rss_mb = Some(peak);
        rows.push(row);
    };

    let project = ctx.api.project("listing").await?;
    let (start, peak) = (Instant::now(), ctx.peak());
    let cases = ctx.api.seed_cases(&project, "list", n).await?;
    seeding(
        format!("seed: {label} cases ({chunks} × 50k upserts)"),
        start.elapsed(),
        peak.stop(),
    );

    let (start, peak) = (Instant::now(), ctx.peak());
    let run = ctx.api.run(&project, "big", None).await?;
    seeding(
        format!("seed: one run of {label} results"),
        start.elapsed(),
        peak.stop(),
    );

    let (start, peak) = (Instant::now(), ctx.peak());
    let mut last_ids = Vec::new();
    for (c, chunk) in cases.chunks(SEED_CHUNK).enumerate() {
        let body = bulk_body(chunk, c * SEED_CHUNK, 1);
        let (_, answer) = ctx
            .api
            .timed(
                Method::POST,
                &format!("/v1/runs/{run}/results/bulk"),
                "application/json",
                Some(body),
            )
            .await?;
        last_ids = answer["data"]["results"]
            .as_array()
            .ok_or("no results in the bulk answer")?
            .iter()
            .filter_map(|r| r["id"].as_str().map(str::to_string))
            .collect();
    }
    seeding(
        format!("seed: statuses ({chunks} × 50k bulks)"),
        start.elapsed(),
        peak.stop(),
    );
    let small = ctx
        .api
        .run(&project, "small", Some(&cases[..SMALL]))
        .await?;
    drop(cases);

    let failed = (0..n)
        .filter(|i| execution(*i, 1).status == Status::Failed)
        .count();
    let after = last_ids
        .get(last_ids.len().saturating_sub(PER_PAGE + 1))
        .ok_or("no result ids")?
        .clone();
    let last = n / PER_PAGE;
    let last_failed = failed / PER_PAGE;
    let (n_i, f_i) = (n as i64, failed as i64);
    let queries = [
        Query {
            what: format!("list {label} run: page 1"),
            url: "per_page=20".into(),
            raw: page_query(None, 1, 0),
            total: n_i,
        },
        Query {
            what: format!("list {label} run: deep page {last}"),
            url: format!("per_page=20&page={last}"),
            raw: page_query(None, last, 0),
            total: n_i,
        },
        Query {
            what: format!("list {label} run: failed, page 1"),
            url: "per_page=20&status=failed".into(),
            raw: page_query(Some(Status::Failed), 1, 0),
            total: f_i,
        },
        Query {
            what: format!("list {label} run: failed, deep page {last_failed}"),
            url: format!("per_page=20&status=failed&page={last_failed}"),
            raw: page_query(Some(Status::Failed), last_failed, 0),
            total: f_i,
        },
        Query {
            what: format!("list {label} run: after= (cursor) near the end"),
            url: format!("per_page=20&after={after}"),
            raw: page_query(None, 1, db_id(&after)?),
            total: n_i,
        },
    ];
    let mut page1 = None;
    for q in queries {
        let first = page1.is_none();
        let row = measure(ctx, &run, q, samples).await?;
        let server = row.server.unwrap_or(f64::INFINITY);
        if first {
            page1 = Some(server);
            rows.push(row.target(format!("server < {PAGE1_MS} ms"), server < PAGE1_MS));
        } else {
            rows.push(row.target(
                format!("server < {ANY_PAGE_MS:.0} ms"),
                server < ANY_PAGE_MS,
            ));
        }
        ctx.alive()?;
    }
    let q = Query {
        what: "list 1k run: page 1".into(),
        url: "per_page=20".into(),
        raw: page_query(None, 1, 0),
        total: SMALL as i64,
    };
    let small_row = measure(ctx, &small, q, samples).await?;
    let small_ms = small_row.server.unwrap_or(f64::INFINITY);
    rows.push(small_row);
    // meta.total comes from the run's counters: page 1 costs the same on
    // 1k and on 1M results (every total above was also checked exactly).
    let growth = page1.unwrap_or(f64::INFINITY) / small_ms;
    rows.push(
        Row::value(
            ctx.name(format!(
                "meta.total without a scan: page 1 {label} ÷ 1k (server)"
            )),
            "×",
            growth,
        )
        .target("≤ 2× (totals exact)", growth <= 2.0),
    );
    Ok(rows)
}
