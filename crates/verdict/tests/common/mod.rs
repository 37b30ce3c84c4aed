//! The real `verdict` binary as a child process on port 0, over a fresh
//! SQLite file, for end-to-end tests.

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

pub struct Server {
    pub child: Child,
    pub url: String,
    /// Lines the server printed on stdout before it was listening.
    pub banner: Vec<String>,
    stderr: Option<std::process::ChildStderr>,
}

impl Server {
    pub fn start(db: &std::path::Path, admin_token: Option<&str>) -> Server {
        Self::start_on(db, admin_token, "127.0.0.1:0")
    }

    pub fn start_on(db: &std::path::Path, admin_token: Option<&str>, listen: &str) -> Server {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_verdict"));
        cmd.args(["serve", "--listen", listen])
            .env("VERDICT_DATABASE_URL", format!("sqlite://{}", db.display()))
            .env_remove("VERDICT_ADMIN_TOKEN")
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
        let stderr = child.stderr.take();
        Server {
            child,
            url,
            banner,
            stderr,
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

    pub fn stderr_text(&mut self) -> String {
        let mut s = String::new();
        if let Some(mut e) = self.stderr.take() {
            let _ = e.read_to_string(&mut s);
        }
        s
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
pub fn http() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::new()
}
