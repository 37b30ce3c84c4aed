//! The real `verdict` binary as a child process on port 0, over a fresh
//! SQLite file, for end-to-end tests.

#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

pub struct Server {
    pub child: Child,
    pub url: String,
    /// Lines the server printed on stdout before it was listening.
    pub banner: Vec<String>,
    /// What the server wrote on stderr so far (drained continuously, so a
    /// chatty server never blocks on a full pipe).
    stderr: std::sync::Arc<std::sync::Mutex<String>>,
    drain: Option<std::thread::JoinHandle<()>>,
}

impl Server {
    pub fn start(db: &std::path::Path, admin_token: Option<&str>) -> Server {
        Self::start_on(db, admin_token, "127.0.0.1:0")
    }

    pub fn start_on(db: &std::path::Path, admin_token: Option<&str>, listen: &str) -> Server {
        Self::launch(&format!("sqlite://{}", db.display()), admin_token, listen)
    }

    /// A server on any database URL (PostgreSQL, say).
    pub fn start_url(url: &str, admin_token: Option<&str>) -> Server {
        Self::launch(url, admin_token, "127.0.0.1:0")
    }

    /// A server on any database URL with extra `serve` flags.
    pub fn start_url_args(url: &str, admin_token: Option<&str>, args: &[&str]) -> Server {
        Self::launch_with(url, admin_token, "127.0.0.1:0", args)
    }

    /// A server on a fresh SQLite file with extra `serve` flags (`--demo`).
    pub fn start_args(db: &std::path::Path, admin_token: Option<&str>, args: &[&str]) -> Server {
        Self::launch_with(
            &format!("sqlite://{}", db.display()),
            admin_token,
            "127.0.0.1:0",
            args,
        )
    }

    fn launch(database_url: &str, admin_token: Option<&str>, listen: &str) -> Server {
        Self::launch_with(database_url, admin_token, listen, &[])
    }

    fn launch_with(
        database_url: &str,
        admin_token: Option<&str>,
        listen: &str,
        extra: &[&str],
    ) -> Server {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_verdict"));
        cmd.args(["serve", "--listen", listen])
            .args(extra)
            .env("VERDICT_DATABASE_URL", database_url)
            .env_remove("VERDICT_ADMIN_TOKEN")
            .env_remove("VERDICT_DEMO")
            .env("VERDICT_LOG", "info")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        if let Some(t) = admin_token {
            cmd.env("VERDICT_ADMIN_TOKEN", t);
        }
        let mut child = cmd.spawn().expect("start verdict");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = mpsc::channel();
        // The server prints its address once bound; read until then.
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut banner = Vec::new();
        let url = loop {
            let line = rx
                .recv_timeout(Duration::from_secs(30))
                .expect("the server printed its address");
            if let Some(addr) = line.strip_prefix("Verdict listening on ") {
                break addr.trim().to_string();
            }
            banner.push(line);
        };
        let stderr = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
        let drain = child.stderr.take().map(|pipe| {
            let sink = std::sync::Arc::clone(&stderr);
            std::thread::spawn(move || {
                for line in BufReader::new(pipe).lines() {
                    let Ok(line) = line else { break };
                    if let Ok(mut s) = sink.lock() {
                        s.push_str(&line);
                        s.push('\n');
                    }
                }
            })
        });
        Server {
            child,
            url,
            banner,
            stderr,
            drain,
        }
    }

    pub fn terminate(&mut self) -> std::process::ExitStatus {
        let pid = self.child.id().to_string();
        let status = Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("kill");
        assert!(status.success());
        self.child.wait().expect("wait")
    }

    /// Everything logged so far; once the process has exited, everything.
    pub fn stderr_text(&mut self) -> String {
        if self.child.try_wait().ok().flatten().is_some()
            && let Some(drain) = self.drain.take()
        {
            // The pipe closed with the process: the drain ends on its own.
            let _ = drain.join();
        }
        self.stderr.lock().map(|s| s.clone()).unwrap_or_default()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// An HTTP client for tests. reqwest is built with rustls and no default
/// crypto provider (the binary picks ring), so tests install it too.
/// A v1 API call as `token`'s holder that must succeed: its JSON answer
/// (null when the body is not JSON).
pub async fn api_as(
    server: &Server,
    token: &str,
    method: reqwest::Method,
    path: &str,
    body: Option<serde_json::Value>,
) -> serde_json::Value {
    let mut req = http()
        .request(method, format!("{}{path}", server.url))
        .bearer_auth(token);
    if let Some(b) = body {
        req = req.json(&b);
    }
    let res = req.send().await.expect("request");
    let status = res.status();
    let body: serde_json::Value = res.json().await.unwrap_or(serde_json::Value::Null);
    assert!(status.is_success(), "{path}: {status} {body}");
    body
}

pub fn http() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::new()
}

/// How many kill-restart cycles a crash test runs: `VERDICT_CRASH_CYCLES`,
/// or `default`.
pub fn crash_cycles(default: usize) -> usize {
    std::env::var("VERDICT_CRASH_CYCLES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// xorshift64*: enough randomness for kill timing, reproducible by seed.
pub struct Rng(pub u64);

impl Rng {
    /// Seeded from the clock (the seed is `.0`, to print).
    pub fn from_clock() -> Rng {
        let seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(1)
            | 1;
        Rng(seed)
    }

    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
}
