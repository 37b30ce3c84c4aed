//! `verdict password set [--user USER_ID]`: sets a password for signing in
//! to the web UI. Passwords never appear in the process list as a flag
//! would. On a terminal they are typed without echo: the current password
//! first (only when the account has one), then the new one twice, which
//! must match. From a pipe the same come one line each, without the
//! repetition: the current password (only when the account has one), then
//! the new one. Without `--user` it is the caller's own password, through
//! `PUT /v1/me/password`; with `--user` an admin sets another user's
//! password (`PUT /v1/users/:uid/password`), which needs no current one.
//!
//! On a fresh install: `VERDICT_TOKEN=<the printed admin token> verdict
//! password set`, then sign in as `admin@localhost`.

use std::io::{BufRead, IsTerminal};

use clap::{Args, Subcommand};
use reqwest::Method;
use serde_json::{Value, json};

use super::http::{ApiFailure, Client};
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
    /// Set a password (typed without echo, or one line from a pipe) for
    /// signing in to the web UI.
    Set {
        /// Another user's id (user_…): admins only. Default: your own password.
        #[arg(long)]
        user: Option<String>,
    },
}

/// Where passwords come from: a person at a terminal, or lines on a pipe.
struct Input {
    terminal: bool,
}

impl Input {
    fn new() -> Self {
        Input {
            terminal: std::io::stdin().is_terminal(),
        }
    }

    /// One password: typed without echo after `prompt` on a terminal, else
    /// the next line of standard input (without its line ending).
    fn secret(&self, prompt: &str) -> Result<String, Failure> {
        let what = prompt.trim_end_matches([':', ' ']).to_lowercase();
        let line = if self.terminal {
            rpassword::prompt_password(prompt)
                .map_err(|e| Failure::new(format!("cannot read the {what}: {e}")))?
        } else {
            let mut line = String::new();
            std::io::stdin()
                .lock()
                .read_line(&mut line)
                .map_err(|e| Failure::new(format!("cannot read standard input: {e}")))?;
            line.trim_end_matches(['\n', '\r']).to_string()
        };
        if line.is_empty() {
            return Err(Failure::usage(if self.terminal {
                format!("no {what} given")
            } else {
                format!("no {what} on standard input (one line each)")
            }));
        }
        Ok(line)
    }

    /// The new password: twice on a terminal (a typo unseen without echo
    /// would lock the account), once from a pipe.
    fn new_password(&self) -> Result<String, Failure> {
        let new = self.secret("New password: ")?;
        if self.terminal && self.secret("New password again: ")? != new {
            return Err(Failure::usage(
                "the two new passwords differ; nothing was changed",
            ));
        }
        Ok(new)
    }
}

/// One line for a refused change: "current_password: is not the account's
/// current password" rather than the whole envelope (whose first detail
/// repeats its message).
fn one_line(e: ApiFailure) -> Failure {
    let mut lines = e.message.lines().map(str::trim);
    let first = lines.next().unwrap_or_default();
    let message = match lines.next() {
        // "422 validation_failed: …", then one line per field: the fields say it all.
        Some(detail) if e.status.is_some_and(|s| s.as_u16() == 422) => detail.to_string(),
        _ => first.to_string(),
    };
    Failure::new(message)
}

/// Whether the caller's account has a password, asked without changing
/// anything: an empty new password is refused, and the refusal also says
/// whether the current one would have been required. A bad token or an
/// unreachable server fails here, before anything is typed.
async fn has_password(client: &Client) -> Result<bool, Failure> {
    let probe = json!({ "new_password": "" });
    match client
        .send::<_, Value>(Method::PUT, "/v1/me/password", Some(&probe), None)
        .await
    {
        Err(e) if e.status.is_some_and(|s| s.as_u16() == 422) => {
            Ok(e.message.contains("current_password: is required"))
        }
        Err(e) => Err(one_line(e)),
        Ok(_) => Err(Failure::new(
            "the server accepted an empty password; nothing more was sent",
        )),
    }
}

pub async fn run(args: PasswordArgs) -> Result<(), Failure> {
    let client = Client::new(&args.conn)?;
    let PasswordCommand::Set { user } = args.command;
    let input = Input::new();
    match user {
        Some(uid) => {
            let new = input.new_password()?;
            let body = json!({ "new_password": new });
            client
                .send::<_, Value>(
                    Method::PUT,
                    &format!("/v1/users/{uid}/password"),
                    Some(&body),
                    None,
                )
                .await
                .map_err(one_line)?;
            eprintln!("Password set for {uid}.");
        }
        None => {
            let current = if has_password(&client).await? {
                Some(input.secret("Current password: ")?)
            } else {
                None
            };
            let new = input.new_password()?;
            let mut body = json!({ "new_password": new });
            if let Some(current) = current {
                body["current_password"] = json!(current);
            }
            client
                .send::<_, Value>(Method::PUT, "/v1/me/password", Some(&body), None)
                .await
                .map_err(one_line)?;
            eprintln!("Your password is set; sign in to the web UI with your email and it.");
        }
    }
    Ok(())
}
