//! `verdict run create|show|close`: runs for scripts and CI.

use clap::{Args, Subcommand};
use verdict_api as api;

use super::http::Client;
use super::{Connection, Failure, table};

#[derive(Args, Debug)]
pub struct RunArgs {
    #[command(subcommand)]
    command: RunCommand,
    #[command(flatten)]
    conn: Connection,
}

#[derive(Subcommand, Debug)]
enum RunCommand {
    /// Create a run over the project's cases (or find the run with --key).
    Create {
        /// The project id (prj_…).
        #[arg(long)]
        project: String,
        /// The run's name (shown in lists and on its page).
        #[arg(long)]
        name: String,
        /// A key shared by parallel jobs: all of them get the same run.
        #[arg(long)]
        key: Option<String>,
        /// What the run is for (shown on its page).
        #[arg(long)]
        description: Option<String>,
        /// The branch it tests (its baseline is the latest earlier run of the same branch).
        #[arg(long)]
        branch: Option<String>,
        /// The commit it tests (4–64 hex digits).
        #[arg(long)]
        commit: Option<String>,
        /// The CI build's page.
        #[arg(long)]
        build_url: Option<String>,
        /// Where the tests run, e.g. "linux / chromium 131".
        #[arg(long)]
        environment: Option<String>,
        /// Print the run as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Show a run and its counts.
    Show {
        /// The run id (run_…).
        run: String,
        /// Print the run as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Close a run: it accepts no more result changes.
    Close {
        /// The run id (run_…).
        run: String,
        /// Print the closed run as JSON.
        #[arg(long)]
        json: bool,
    },
}

/// What a run built, as `main @ 3f2a1c9` (the commit's first 7 digits),
/// `main` or `@ 3f2a1c9`; `None` without either.
pub fn branch_at_commit(branch: Option<&str>, commit: Option<&str>) -> Option<String> {
    let commit: Option<String> = commit.map(|c| c.chars().take(7).collect());
    match (branch, commit) {
        (Some(b), Some(c)) => Some(format!("{b} @ {c}")),
        (Some(b), None) => Some(b.to_string()),
        (None, Some(c)) => Some(format!("@ {c}")),
        (None, None) => None,
    }
}

pub fn print_run(run: &api::Run, json: bool) -> Result<(), Failure> {
    if json {
        let text = serde_json::to_string_pretty(run).map_err(|e| Failure::new(e.to_string()))?;
        println!("{text}");
        return Ok(());
    }
    let c = &run.counts;
    println!("{}  {}  ({})", run.id, run.name, run.state);
    let about: Vec<String> = branch_at_commit(run.branch.as_deref(), run.commit.as_deref())
        .into_iter()
        .chain(run.environment.clone())
        .chain(run.build_url.clone())
        .collect();
    if !about.is_empty() {
        println!("{}", about.join("  "));
    }
    print!(
        "{}",
        table::render(
            &[
                "passed",
                "failed",
                "blocked",
                "retest",
                "not_tested",
                "total"
            ],
            &[vec![
                c.passed.to_string(),
                c.failed.to_string(),
                c.blocked.to_string(),
                c.retest.to_string(),
                c.not_tested.to_string(),
                c.total.to_string(),
            ]],
        )
    );
    Ok(())
}

pub async fn run(args: RunArgs) -> Result<(), Failure> {
    let client = Client::new(&args.conn)?;
    match args.command {
        RunCommand::Create {
            project,
            name,
            key,
            description,
            branch,
            commit,
            build_url,
            environment,
            json,
        } => {
            let body = api::CreateRun {
                name,
                description,
                key,
                case_ids: None,
                suite: None,
                branch,
                commit,
                build_url,
                environment,
            };
            let (status, run): (_, api::Data<api::Run>) = client
                .post(&format!("/v1/projects/{project}/runs"), &body)
                .await
                .map_err(|f| f.naming(&format!("project {project}")))?;
            if !json {
                let what = if status.as_u16() == 201 {
                    "created"
                } else {
                    "found"
                };
                eprintln!("{what} run {}", run.data.id);
            }
            print_run(&run.data, json)
        }
        RunCommand::Show { run, json } => {
            let run: api::Data<api::Run> = client
                .get(&format!("/v1/runs/{run}"))
                .await
                .map_err(|f| f.naming(&format!("run {run}")))?;
            print_run(&run.data, json)
        }
        RunCommand::Close { run, json } => {
            let (_, run): (_, api::Data<api::Run>) = client
                .post(&format!("/v1/runs/{run}/close"), &serde_json::json!({}))
                .await
                .map_err(|f| f.naming(&format!("run {run}")))?;
            print_run(&run.data, json)
        }
    }
}
