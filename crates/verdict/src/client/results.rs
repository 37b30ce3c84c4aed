//! `verdict results list RUN`: a run's results as a table or JSON lines.

use clap::{Args, Subcommand};
use verdict_api as api;

use super::http::Client;
use super::{Connection, Failure, table};

#[derive(Args, Debug)]
pub struct ResultsArgs {
    #[command(subcommand)]
    command: ResultsCommand,
    #[command(flatten)]
    conn: Connection,
}

#[derive(Subcommand, Debug)]
enum ResultsCommand {
    /// List a run's results (all of them, following the cursor).
    List {
        /// The run id (run_…).
        run: String,
        /// Only these statuses (comma-separated: failed,blocked).
        #[arg(long)]
        status: Option<String>,
        /// Stop after this many results.
        #[arg(long)]
        limit: Option<usize>,
        /// One JSON object per line instead of a table.
        #[arg(long)]
        json: bool,
    },
}

pub async fn run(args: ResultsArgs) -> Result<(), Failure> {
    let client = Client::new(&args.conn)?;
    let ResultsCommand::List {
        run,
        status,
        limit,
        json,
    } = args.command;
    let limit = limit.unwrap_or(usize::MAX);
    let mut results: Vec<api::TestResult> = Vec::new();
    let mut after: Option<String> = None;
    while results.len() < limit {
        let mut query = vec![("per_page".to_string(), "1000".to_string())];
        if let Some(s) = &status {
            query.push(("status".into(), s.clone()));
        }
        if let Some(a) = &after {
            query.push(("after".into(), a.clone()));
        }
        let qs: Vec<String> = query
            .iter()
            .map(|(k, v)| format!("{k}={}", super::encode(v)))
            .collect();
        let page: api::Page<api::TestResult> = client
            .get(&format!("/v1/runs/{run}/results?{}", qs.join("&")))
            .await
            .map_err(|f| f.naming(&format!("run {run}")))?;
        let next = page.meta.next_after.clone();
        results.extend(page.data);
        match next {
            Some(n) => after = Some(n),
            None => break,
        }
    }
    results.truncate(limit);
    if json {
        for r in &results {
            let line = serde_json::to_string(r).map_err(|e| Failure::new(e.to_string()))?;
            println!("{line}");
        }
        return Ok(());
    }
    let rows: Vec<Vec<String>> = results
        .iter()
        .map(|r| {
            vec![
                r.id.clone(),
                r.test_case_id.clone(),
                r.status.clone(),
                r.elapsed_ms
                    .map(|ms| format!("{:.3}s", ms as f64 / 1000.0))
                    .unwrap_or_default(),
                table::short(Some(&r.test_case_title), 50),
                table::short(r.note.as_deref(), 60),
            ]
        })
        .collect();
    print!(
        "{}",
        table::render(&["id", "case", "status", "elapsed", "title", "note"], &rows)
    );
    eprintln!("{} results", results.len());
    Ok(())
}
