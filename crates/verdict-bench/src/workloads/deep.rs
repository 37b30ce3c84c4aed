//! A page deep in a run of 1,000,000 results (250,000 with `--quick`) on
//! PostgreSQL, without a cursor (`?page=`): the run is made through the
//! API, its cases and results written straight in SQL (seeding through
//! the API is the listing workload's; this one only needs the rows), with
//! positions as the server assigns them. The baseline is the server's own
//! statement read raw; the OFFSET statement that served such a page
//! before is timed raw too, and the storage the results take.

use std::time::Instant;

use super::Ctx;
use super::listing::{Query, measure, page_query};
use crate::client::db_id;
use crate::raw_pg::connect;
use crate::report::Row;

const PER_PAGE: usize = 20;
/// Target for any page of the run, in ms.
const DEEP_MS: f64 = 50.0;

fn pg(e: tokio_postgres::Error) -> String {
    format!("deep: {e}")
}

pub async fn run(ctx: &mut Ctx<'_>) -> Result<Vec<Row>, String> {
    let n: i64 = if ctx.quick { 250_000 } else { 1_000_000 };
    let label = format!("{}k", n / 1000);
    let samples = if ctx.quick { 20 } else { 50 };
    let project = ctx.api.project("deep").await?;
    let run = ctx.api.run(&project, "deep", None).await?;
    let (project_id, run_id) = (db_id(&project)?, db_id(&run)?);
    let client = connect(&ctx.backend.database_url).await?;
    let start = Instant::now();
    client
        .execute(
            "INSERT INTO cases (project_id, title, key, created_at)
             SELECT $1, 'Deep case ' || i, 'deep.k' || i, 0 FROM generate_series(1, $2::bigint) AS i",
            &[&project_id, &n],
        )
        .await
        .map_err(pg)?;
    client
        .execute(
            "INSERT INTO results (run_id, case_id, pos, status)
             SELECT $1, id, row_number() OVER (ORDER BY id), (id % 5)::smallint
             FROM cases WHERE project_id = $2 ORDER BY id",
            &[&run_id, &project_id],
        )
        .await
        .map_err(pg)?;
    client
        .execute(
            "UPDATE runs SET (not_tested, passed, failed, blocked, retest) =
                 (SELECT count(*) FILTER (WHERE status = 0), count(*) FILTER (WHERE status = 1),
                         count(*) FILTER (WHERE status = 2), count(*) FILTER (WHERE status = 3),
                         count(*) FILTER (WHERE status = 4)
                  FROM results WHERE run_id = $1)
             WHERE id = $1",
            &[&run_id],
        )
        .await
        .map_err(pg)?;
    client
        .batch_execute("ANALYZE cases; ANALYZE results")
        .await
        .map_err(pg)?;
    let mut rows = vec![Row::timed(
        ctx.name(format!("deep: seed {label} results in SQL")),
        &[start.elapsed()],
    )];

    let last = (n as usize).div_ceil(PER_PAGE);
    let mut row = measure(
        ctx,
        &run,
        Query {
            what: format!("deep: page {last} of a {label} run (no cursor)"),
            url: format!("per_page={PER_PAGE}&page={last}"),
            raw: page_query(None, last, 0),
            total: n,
        },
        samples,
    )
    .await?;
    let met = row.median < DEEP_MS;
    row = row.target(format!("< {DEEP_MS:.0} ms"), met);
    rows.push(row);

    // What served this page before positions: an OFFSET walk, raw.
    let offset = ((last - 1) * PER_PAGE) as i64;
    let stmt = client
        .prepare(
            "SELECT id FROM results WHERE run_id = $1 AND id > 0 ORDER BY id LIMIT $2 OFFSET $3",
        )
        .await
        .map_err(pg)?;
    let mut times = Vec::new();
    for i in 0..=samples.min(10) {
        let t = Instant::now();
        client
            .query(&stmt, &[&run_id, &(PER_PAGE as i64), &offset])
            .await
            .map_err(pg)?;
        if i > 0 {
            times.push(t.elapsed());
        }
    }
    rows.push(Row::timed(
        ctx.name("deep: the same page by OFFSET (before), raw"),
        &times,
    ));

    // Storage: the results table with its indexes per million results,
    // and the position index's share of it.
    let sizes = client
        .query_one(
            "SELECT pg_total_relation_size('results')::float8,
                    pg_relation_size('results_run_pos')::float8,
                    (SELECT count(*) FROM results)::float8",
            &[],
        )
        .await
        .map_err(pg)?;
    let (total, pos, count): (f64, f64, f64) = (sizes.get(0), sizes.get(1), sizes.get(2));
    let per_million = |bytes: f64| bytes / count * 1e6 / (1024.0 * 1024.0);
    rows.push(Row::value(
        ctx.name("deep: results with indexes, per 1M results"),
        "MB",
        per_million(total),
    ));
    rows.push(Row::value(
        ctx.name("deep: of which the position index, per 1M results"),
        "MB",
        per_million(pos),
    ));
    Ok(rows)
}
