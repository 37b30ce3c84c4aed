//! The `verdict` binary: `verdict serve` runs the server; client commands
//! talk to a server over HTTP only.

mod admin;
mod alloc;
mod client;
mod migrate;
mod serve;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "verdict",
    version,
    about = "Verdict: a self-hosted test results server"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server (SQLite by default).
    Serve(serve::ServeArgs),
    /// Upload JUnit XML reports into a run (creating or joining it).
    Upload(client::upload::UploadArgs),
    /// Create, show or close a run.
    Run(client::run::RunArgs),
    /// List a run's results.
    Results(client::results::ResultsArgs),
    /// Set a password for signing in to the web UI.
    Password(client::password::PasswordArgs),
    /// Check a run against quality rules; exit code 3 when it fails them.
    Gate(client::triage::GateArgs),
    /// Maintenance on the server's machine: `verdict admin prune` deletes
    /// old closed runs and frees their space; `verdict admin migrate`
    /// copies a database into another (SQLite ↔ PostgreSQL).
    Admin(admin::AdminArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Serve(args) => serve::run(args),
        Command::Upload(args) => client::block_on(client::upload::run(args)),
        Command::Run(args) => client::block_on(client::run::run(args)),
        Command::Results(args) => client::block_on(client::results::run(args)),
        Command::Password(args) => client::block_on(client::password::run(args)),
        Command::Gate(args) => client::block_on(client::triage::gate(args)),
        Command::Admin(args) => admin::run(args),
    }
}
