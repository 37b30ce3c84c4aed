//! `cargo run --release -p verdict-bench -- [--postgres URL] [--quick] [--json PATH]`
//!
//! Starts the release `verdict serve` binary as a separate process on a
//! fresh database, seeds it through the API, and times each workload of
//! issue #6 end to end over HTTP against a raw baseline measured in the
//! same run (the same rows straight through the database driver). Prints
//! one table and writes the same numbers as JSON. Exits non-zero only when
//! something broke (a request failed, the server did not start), never
//! because a number missed its target. See docs/PERFORMANCE.md.
//!
//! Modules: `server` (the child process, its log and memory), `client`
//! (HTTP and seeding), `data` (generated bodies and reports), `backend` and
//! `raw` / `raw_pg` (raw baselines), `workloads/*`, `report` (table and
//! JSON), `machine`, `postgres`.

mod backend;
mod client;
mod data;
mod load;
mod machine;
mod postgres;
mod raw;
mod raw_pg;
mod report;
mod server;
mod workloads;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use clap::Parser;
use serde_json::json;

#[derive(Parser, Debug)]
#[command(
    name = "verdict-bench",
    about = "Times a real Verdict server against raw database baselines"
)]
struct Args {
    /// A shorter run (under a minute): fewer repetitions, shorter spans, a
    /// 100,000-result listing run instead of 1,000,000.
    #[arg(long)]
    quick: bool,
    /// Also benchmark PostgreSQL at this URL (postgres://user:pw@host/db).
    #[arg(long, value_name = "URL")]
    postgres: Option<String>,
    /// Run one workload only (for profiling): bulk, patch, junit, triage,
    /// attachments, listing, deep or webhooks.
    #[arg(long, value_name = "NAME", value_parser = clap::builder::PossibleValuesParser::new(workloads::NAMES))]
    only: Option<String>,
    /// Where to write the JSON results.
    #[arg(long, value_name = "PATH", default_value = "target/verdict-bench.json")]
    json: PathBuf,
}

async fn run(args: &Args) -> Result<(), String> {
    let started = Instant::now();
    let machine = machine::describe();
    let mode = if args.quick { "quick" } else { "full" };
    println!("verdict-bench ({mode}): {}", machine::line(&machine));
    let fsync_before = machine::fsync_probe()?;
    println!(
        "fsync of 4 KiB in the temp dir: p50 {:.3} ms, p99 {:.3} ms",
        fsync_before.0, fsync_before.1
    );
    println!(
        "SQLite: synchronous=FULL, WAL; server and client are separate processes on loopback HTTP"
    );
    let sqlite = backend::sqlite()?;
    let mut rows = workloads::run(&sqlite, args.quick, args.only.as_deref()).await?;
    drop(sqlite);
    if let Some(url) = &args.postgres {
        rows.extend(postgres::run(url, args.quick, args.only.as_deref()).await?);
    }
    let fsync_after = machine::fsync_probe()?;
    let seconds = started.elapsed().as_secs_f64();
    println!();
    println!(
        "fsync of 4 KiB: p50 {:.3} ms before, {:.3} ms after the workloads",
        fsync_before.0, fsync_after.0
    );
    print!("{}", report::table(&rows));
    let met = rows
        .iter()
        .filter(|r| r.verdict == report::Verdict::Met)
        .count();
    let missed: Vec<&str> = rows
        .iter()
        .filter(|r| r.verdict == report::Verdict::Missed)
        .map(|r| r.workload.as_str())
        .collect();
    println!(
        "\ntargets: {met} met, {} missed{}; total {seconds:.1} s",
        missed.len(),
        if missed.is_empty() {
            String::new()
        } else {
            format!(" ({})", missed.join("; "))
        }
    );
    let command: Vec<String> = std::env::args().collect();
    let meta = json!({
        "mode": mode,
        "command": format!("cargo run --release -p verdict-bench -- {}", command.get(1..).unwrap_or_default().join(" ")),
        "machine": machine,
        "fsync_ms": { "before": { "p50": fsync_before.0, "p99": fsync_before.1 }, "after": { "p50": fsync_after.0, "p99": fsync_after.1 } },
        "seconds": seconds,
        "ratio": "median ÷ baseline in the row's unit",
    });
    let doc = report::json_report(&rows, meta);
    if let Some(dir) = args.json.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    let text = serde_json::to_string_pretty(&doc).map_err(|e| e.to_string())?;
    std::fs::write(&args.json, text).map_err(|e| format!("{}: {e}", args.json.display()))?;
    println!("JSON: {}", args.json.display());
    Ok(())
}

fn main() -> ExitCode {
    let args = Args::parse();
    // The workspace builds reqwest with rustls and no default provider.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("verdict-bench: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(&args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("verdict-bench: {e}");
            ExitCode::FAILURE
        }
    }
}
