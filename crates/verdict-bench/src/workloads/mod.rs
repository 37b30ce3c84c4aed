//! The workloads, run in order against one server process on a fresh
//! database: bulk uploads, concurrent PATCHes, JUnit imports, triage reads
//! on seeded histories, a 256 MiB attachment up and down (SQLite only: the
//! bytes go to the same folder whatever the database), then listing a large
//! run (last, so its million rows do not weigh on the others), with the
//! server's resident memory at rest before and after.

mod attachments;
mod bulk;
mod deep;
mod junit;
mod listing;
mod patch;
mod triage;
mod webhooks;

use std::time::{Duration, Instant};

use crate::backend::Backend;
use crate::client::Api;
use crate::report::Row;
use crate::server::{PeakRss, Server};

/// Target for the server's resident memory at rest, in MB.
const REST_MB: f64 = 100.0;

/// What every workload needs.
pub struct Ctx<'a> {
    pub api: Api,
    pub server: Server,
    pub backend: &'a Backend,
    pub quick: bool,
}

impl Ctx<'_> {
    /// Timed repetitions of a workload.
    pub fn reps(&self) -> usize {
        if self.quick { 3 } else { 7 }
    }

    /// Starts sampling the server's peak memory.
    pub fn peak(&self) -> PeakRss {
        PeakRss::start(self.server.pid)
    }

    /// A workload name with the backend's label.
    pub fn name(&self, what: impl AsRef<str>) -> String {
        format!("{}{}", self.backend.label, what.as_ref())
    }

    /// Fails if the server died.
    pub fn alive(&mut self) -> Result<(), String> {
        self.server.check_alive()
    }
}

fn rest_row(ctx: &Ctx<'_>, what: &str) -> Result<Row, String> {
    let mb = ctx
        .server
        .rss_mb()
        .ok_or("cannot read the server's memory from /proc")?;
    Ok(Row::value(ctx.name(what), "MB", mb).target(format!("< {REST_MB:.0} MB"), mb < REST_MB))
}

async fn settle(ctx: &Ctx<'_>, secs: f64) -> Result<(), String> {
    ctx.api.send(reqwest::Method::GET, "/healthz", None).await?;
    tokio::time::sleep(Duration::from_secs_f64(secs)).await;
    Ok(())
}

/// The workloads by name, for `--only`.
pub const NAMES: [&str; 8] = [
    "bulk",
    "patch",
    "junit",
    "triage",
    "attachments",
    "listing",
    "deep",
    "webhooks",
];

/// Runs every workload (or only the one named) against `backend`; rows in
/// table order.
pub async fn run(backend: &Backend, quick: bool, only: Option<&str>) -> Result<Vec<Row>, String> {
    let started = Instant::now();
    let server = Server::start(&backend.database_url)?;
    println!(
        "{}server pid {} on {} ({})",
        backend.label, server.pid, server.base, backend.database_url
    );
    let api = Api::new(&server.base)?;
    let mut ctx = Ctx {
        api,
        server,
        backend,
        quick,
    };
    settle(&ctx, 0.3).await?;
    let mut rows = vec![rest_row(&ctx, "memory at rest, fresh server")?];
    macro_rules! step {
        ($name:literal, $what:literal, $f:path) => {
            if only.is_none_or(|o| o == $name) {
                let t = Instant::now();
                eprintln!("== {}{} …", backend.label, $what);
                let got = $f(&mut ctx).await.map_err(|e| format!("{}: {e}", $what))?;
                ctx.alive()?;
                eprintln!("   {}: {:.1} s", $what, t.elapsed().as_secs_f64());
                rows.extend(got);
            }
        };
    }
    step!("bulk", "bulk uploads", bulk::run);
    step!("patch", "PATCH concurrency", patch::run);
    step!("junit", "JUnit import", junit::run);
    step!("triage", "triage reads", triage::run);
    step!("webhooks", "webhooks", webhooks::run);
    if backend.kind == crate::backend::Kind::Sqlite {
        step!("attachments", "attachments", attachments::run);
    }
    step!("listing", "listing", listing::run);
    if backend.kind == crate::backend::Kind::Postgres {
        step!("deep", "deep page", deep::run);
    }
    settle(&ctx, 1.0).await?;
    rows.push(rest_row(&ctx, "memory at rest, after all workloads")?);
    eprintln!(
        "{}all workloads: {:.1} s",
        backend.label,
        started.elapsed().as_secs_f64()
    );
    Ok(rows)
}
