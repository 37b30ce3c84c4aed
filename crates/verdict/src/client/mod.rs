//! The client side of the binary: commands that talk to a Verdict server
//! over HTTP only, configured by flags or `VERDICT_URL` / `VERDICT_TOKEN`.
//! The token is never printed.

mod attach;
mod ci;
pub mod http;
pub mod password;
pub mod results;
pub mod run;
mod table;
mod tls;
pub mod triage;
pub mod upload;

use clap::Args;

/// Where the server is and how to sign in. The environment is read here
/// rather than by clap: clap counts a value from the environment as given,
/// and its usage errors then list `--url`/`--token` as if they were needed.
#[derive(Args, Debug, Clone)]
pub struct Connection {
    /// The server's base URL [env: VERDICT_URL] [default: http://127.0.0.1:8080]
    #[arg(long, global = true, value_name = "URL")]
    url: Option<String>,
    /// An API token (vdt_…) [env: VERDICT_TOKEN]. Prefer the environment variable: flags show up in process lists.
    #[arg(long, global = true, value_name = "TOKEN")]
    token: Option<String>,
    /// Retries of a request that failed in a way that may pass (no connection, 429, 5xx), after 0.5 s, 1 s, 2 s… up to 10 s [default: 7 for upload, 4 otherwise]
    #[arg(long, global = true, value_name = "N", value_parser = clap::value_parser!(u32).range(0..=100))]
    retries: Option<u32>,
}

/// Percent-encodes a query value (commas and ids pass through).
pub fn encode(v: &str) -> String {
    v.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b',' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// A variable of the environment, unless unset or empty.
fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

impl Connection {
    pub fn url(&self) -> String {
        self.url
            .clone()
            .or_else(|| env("VERDICT_URL"))
            .unwrap_or_else(|| "http://127.0.0.1:8080".to_string())
    }

    pub fn token(&self) -> Option<String> {
        self.token.clone().or_else(|| env("VERDICT_TOKEN"))
    }

    /// `--retries`, or the command's default.
    pub fn retries_or(&self, default: u32) -> u32 {
        self.retries.unwrap_or(default)
    }
}

/// A failed command: what to print, and the exit code.
#[derive(Debug)]
pub struct Failure {
    pub message: String,
    pub code: u8,
}

impl Failure {
    pub fn new(message: impl Into<String>) -> Self {
        Failure {
            message: message.into(),
            code: 1,
        }
    }

    /// Bad usage or configuration (exit code 2).
    pub fn usage(message: impl Into<String>) -> Self {
        Failure {
            message: message.into(),
            code: 2,
        }
    }
}

/// Runs a client command on a fresh runtime and turns its failure into an
/// exit code with the message on stderr.
pub fn block_on<F>(f: F) -> std::process::ExitCode
where
    F: std::future::Future<Output = Result<(), Failure>>,
{
    // rustls with the ring provider: pure Rust and C, nothing to download.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("verdict: cannot start the runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match runtime.block_on(f) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(f) => {
            eprintln!("verdict: {}", f.message);
            std::process::ExitCode::from(f.code)
        }
    }
}
