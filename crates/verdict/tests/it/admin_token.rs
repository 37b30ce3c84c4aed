//! The start-up admin token (`VERDICT_ADMIN_TOKEN`) across restarts of the
//! real binary: valid only while starts give it, and the README's public
//! token refused beyond loopback.

use crate::common;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::Server;

const TOKEN: &str = "vdt_restart_admin_token_0123456789abcdef";
const QUICKSTART: &str = "vdt_quickstart_0123456789abcdef";

async fn me(server: &Server, token: &str) -> u16 {
    common::http()
        .get(format!("{}/v1/me", server.url))
        .bearer_auth(token)
        .send()
        .await
        .expect("request")
        .status()
        .as_u16()
}

#[tokio::test]
async fn a_start_without_the_admin_token_revokes_it_and_a_start_with_it_restores_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("v.db");

    let mut first = Server::start(&db, Some(TOKEN));
    assert_eq!(me(&first, TOKEN).await, 200);
    first.terminate();

    let mut without = Server::start(&db, None);
    assert_eq!(me(&without, TOKEN).await, 401, "revoked");
    without.terminate();
    let log = without.stderr_text();
    assert!(
        log.lines().any(
            |l| l.contains("revoked the admin token given by VERDICT_ADMIN_TOKEN")
                && l.contains("this start is without it")
        ),
        "{log}"
    );

    let mut again = Server::start(&db, Some(TOKEN));
    assert_eq!(me(&again, TOKEN).await, 200, "valid again");
    again.terminate();
    assert!(!again.stderr_text().contains("revoked"));

    // Another token given: the one before goes.
    let other = "vdt_restart_other_token_0123456789abcdef";
    let rotated = Server::start(&db, Some(other));
    assert_eq!(me(&rotated, other).await, 200);
    assert_eq!(me(&rotated, TOKEN).await, 401);
}

/// `verdict serve` with the quick-start token on `listen`: its exit code and
/// stderr, or None if it was still running after 20 s (it was serving).
fn serve_quickstart(db: &std::path::Path, listen: &str) -> Option<(i32, String)> {
    let mut child = Command::new(env!("CARGO_BIN_EXE_verdict"))
        .args(["serve", "--listen", listen])
        .env("VERDICT_DATABASE_URL", format!("sqlite://{}", db.display()))
        .env("VERDICT_ADMIN_TOKEN", QUICKSTART)
        .env_remove("VERDICT_DEMO")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start verdict");
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        if child.try_wait().expect("wait").is_some() {
            let out = child.wait_with_output().expect("output");
            return Some((
                out.status.code().unwrap_or(-1),
                String::from_utf8_lossy(&out.stderr).into_owned(),
            ));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    let _ = child.wait();
    None
}

#[tokio::test]
async fn the_readme_token_is_refused_beyond_loopback_and_accepted_on_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("v.db");
    let (code, stderr) =
        serve_quickstart(&db, "0.0.0.0:0").expect("refuses to start on 0.0.0.0, not serve");
    assert_ne!(code, 0, "{stderr}");
    assert!(
        stderr.contains("quick-start token") && stderr.contains("0.0.0.0"),
        "says why: {stderr}"
    );
    assert!(!db.exists(), "nothing was written");

    let server = Server::start_on(&db, Some(QUICKSTART), "127.0.0.1:0");
    assert_eq!(me(&server, QUICKSTART).await, 200);
}

#[test]
fn every_token_in_the_readme_is_known_to_be_public() {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../README.md"))
        .expect("README.md");
    let mut found = Vec::new();
    for (at, _) in readme.match_indices("vdt_") {
        let token: String = readme[at..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        // "vdt_…" stands for a token; a real one has 16 characters or more after vdt_.
        if token.len() >= 4 + 16 {
            found.push(token);
        }
    }
    assert!(found.iter().any(|t| t == QUICKSTART), "{found:?}");
    for token in &found {
        assert!(
            verdict_server::auth::PUBLIC_TOKENS.contains(&token.as_str()),
            "README.md shows {token}: add it to PUBLIC_TOKENS"
        );
    }
}
