//! `verdict password set [--user USER_ID]`: sets a password for signing in
//! to the web UI. The new password is read from standard input (one line;
//! nothing is echoed back, and it never appears in the process list as a
//! flag would). Without `--user` it is the caller's own password, through
//! `PUT /v1/me/password`; when the account already has one, the current
//! password is asked for next (the second line of standard input). With
//! `--user` an admin sets another user's password (`PUT
//! /v1/users/:uid/password`).
//!
//! On a fresh install: `VERDICT_TOKEN=<the printed admin token> verdict
//! password set`, then sign in as `admin@localhost`.

use std::io::{BufRead, IsTerminal, Write};

use clap::{Args, Subcommand};
use reqwest::Method;
use serde_json::{Value, json};

use super::http::Client;
use super::{Connection, Failure};

#[derive(Args, Debug)]
pub struct PasswordArgs {
    #[command(subcommand)]
    command: PasswordCommand,
    #[command(flatten)]
    conn: Connection,
}

#[derive(Subcommand, Debug)]
enum PasswordCommand {
    /// Set a password (read from standard input) for signing in to the web UI.
    Set {
        /// Another user's id (user_…): admins only. Default: your own password.
        #[arg(long)]
        user: Option<String>,
    },
}

/// One line from standard input, without its line ending; prompts on
/// stderr when a person is typing.
fn read_secret(prompt: &str) -> Result<String, Failure> {
    let stdin = std::io::stdin();
    if stdin.is_terminal() {
        eprint!("{prompt}");
        let _ = std::io::stderr().flush();
    }
    let mut line = String::new();
    stdin
        .lock()
        .read_line(&mut line)
        .map_err(|e| Failure::new(format!("cannot read standard input: {e}")))?;
    let line = line.trim_end_matches(['\n', '\r']).to_string();
    if line.is_empty() {
        return Err(Failure::usage(format!(
            "no password on standard input ({})",
            prompt.trim_end_matches([':', ' '])
        )));
    }
    Ok(line)
}

pub async fn run(args: PasswordArgs) -> Result<(), Failure> {
    let client = Client::new(&args.conn)?;
    let PasswordCommand::Set { user } = args.command;
    let new = read_secret("New password: ")?;
    match user {
        Some(uid) => {
            let body = json!({ "new_password": new });
            client
                .send::<_, Value>(
                    Method::PUT,
                    &format!("/v1/users/{uid}/password"),
                    Some(&body),
                    None,
                )
                .await?;
            eprintln!("Password set for {uid}.");
        }
        None => {
            let body = json!({ "new_password": new });
            let first = client
                .send::<_, Value>(Method::PUT, "/v1/me/password", Some(&body), None)
                .await;
            match first {
                Ok(_) => {}
                // The account has a password: the change needs it.
                Err(e) if e.message.contains("current_password: is required") => {
                    let current = read_secret("Current password: ")?;
                    let body = json!({ "new_password": new, "current_password": current });
                    client
                        .send::<_, Value>(Method::PUT, "/v1/me/password", Some(&body), None)
                        .await?;
                }
                Err(e) => return Err(e.into()),
            }
            eprintln!("Your password is set; sign in to the web UI with your email and it.");
        }
    }
    Ok(())
}
