//! `verdict password set` as a process against a real server: on a
//! pseudo-terminal as a person types (no echo, the current password first,
//! the new one twice, one line for an error), and from a pipe.

use crate::common;

use std::io::Write;
use std::process::{Command, Stdio};

use common::Server;
use rexpect::process::WaitStatus;
use rexpect::session::PtySession;
use serde_json::{Value, json};

const TOKEN: &str = "vdt_password_admin_token_0123456789abcdef";
const OLD: &str = "old-secret-words";
const NEW: &str = "new-secret-words";

/// A user `name@example.com` with `password` (if any): their API token.
async fn user(server: &Server, name: &str, password: Option<&str>) -> String {
    let http = common::http();
    let mut body = json!({"name": name, "email": format!("{name}@example.com")});
    if let Some(p) = password {
        body["password"] = json!(p);
    }
    let created: Value = http
        .post(format!("{}/v1/users", server.url))
        .bearer_auth(TOKEN)
        .json(&body)
        .send()
        .await
        .expect("create user")
        .json()
        .await
        .expect("json");
    let uid = created["data"]["id"].as_str().expect("user id");
    let token: Value = http
        .post(format!("{}/v1/tokens", server.url))
        .bearer_auth(TOKEN)
        .json(&json!({"name": "cli", "user_id": uid}))
        .send()
        .await
        .expect("create token")
        .json()
        .await
        .expect("json");
    token["data"]["token"].as_str().expect("token").to_string()
}

/// The web sign-in's answer to this email and password: 303 signs in.
async fn sign_in(server: &Server, email: &str, password: &str) -> u16 {
    common::http();
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let enc = |s: &str| s.replace('@', "%40");
    http.post(format!("{}/login", server.url))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("email={}&password={}", enc(email), enc(password)))
        .send()
        .await
        .expect("sign in")
        .status()
        .as_u16()
}

/// `verdict password set` on a pseudo-terminal that echoes what is typed,
/// as a terminal does unless the program turns echo off.
fn on_terminal(server: &Server, token: &str) -> PtySession {
    let mut cmd = Command::new("sh");
    cmd.args([
        "-c",
        "stty echo && exec \"$0\" password set",
        env!("CARGO_BIN_EXE_verdict"),
    ])
    .env("VERDICT_URL", &server.url)
    .env("VERDICT_TOKEN", token);
    rexpect::session::spawn_command(cmd, Some(30_000)).expect("spawn on a pty")
}

/// Everything the session printed until it ended, and its exit code.
fn finish(mut s: PtySession) -> (String, i32) {
    let rest = s.exp_eof().expect("the command ends");
    let code = match s.process().wait().expect("wait") {
        WaitStatus::Exited(_, code) => code,
        other => panic!("{other:?}"),
    };
    (rest, code)
}

#[tokio::test]
async fn on_a_terminal_the_current_password_comes_first_and_the_new_one_twice_unechoed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Server::start(&dir.path().join("v.db"), Some(TOKEN));
    let ann = user(&server, "ann", Some(OLD)).await;

    let mut s = on_terminal(&server, &ann);
    let mut seen = s
        .exp_string("Current password: ")
        .expect("asks the current first");
    s.send_line(OLD).expect("type");
    seen += &s.exp_string("New password: ").expect("then the new one");
    s.send_line(NEW).expect("type");
    seen += &s.exp_string("New password again: ").expect("twice");
    s.send_line(NEW).expect("type");
    let (rest, code) = finish(s);
    seen += &rest;
    assert_eq!(code, 0, "{seen}");
    assert!(seen.contains("Your password is set"), "{seen}");
    assert!(
        !seen.contains("secret-words"),
        "a password was echoed: {seen}"
    );
    assert_eq!(sign_in(&server, "ann@example.com", NEW).await, 303);
    assert_eq!(sign_in(&server, "ann@example.com", OLD).await, 401);
}

#[tokio::test]
async fn on_a_terminal_differing_new_passwords_change_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Server::start(&dir.path().join("v.db"), Some(TOKEN));
    // No password yet: only the new one is asked for.
    let bob = user(&server, "bob", None).await;

    let mut s = on_terminal(&server, &bob);
    let mut seen = s.exp_string("New password: ").expect("asks");
    s.send_line(NEW).expect("type");
    seen += &s.exp_string("New password again: ").expect("twice");
    s.send_line("new-secret-wordz").expect("type");
    let (rest, code) = finish(s);
    seen += &rest;
    assert_ne!(code, 0, "{seen}");
    assert!(seen.contains("differ"), "{seen}");
    assert_eq!(sign_in(&server, "bob@example.com", NEW).await, 401);
}

#[tokio::test]
async fn a_wrong_current_password_is_one_error_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Server::start(&dir.path().join("v.db"), Some(TOKEN));
    let ann = user(&server, "ann", Some(OLD)).await;

    let mut s = on_terminal(&server, &ann);
    s.exp_string("Current password: ").expect("asks");
    s.send_line("not-the-password").expect("type");
    s.exp_string("New password: ").expect("asks");
    s.send_line(NEW).expect("type");
    s.exp_string("New password again: ").expect("asks");
    s.send_line(NEW).expect("type");
    let (rest, code) = finish(s);
    assert_eq!(code, 1, "{rest}");
    let lines: Vec<&str> = rest.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(
        lines,
        ["verdict: current_password: is not the account's current password"],
        "{rest}"
    );
    assert_eq!(sign_in(&server, "ann@example.com", OLD).await, 303);
}

/// `verdict password set` with `input` on standard input (a pipe).
fn piped(server: &Server, token: &str, input: &str) -> std::process::Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_verdict"))
        .args(["password", "set"])
        .env("VERDICT_URL", &server.url)
        .env("VERDICT_TOKEN", token)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run verdict");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(input.as_bytes())
        .expect("write");
    child.wait_with_output().expect("wait")
}

#[tokio::test]
async fn from_a_pipe_the_new_password_is_one_line_after_the_current_one() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Server::start(&dir.path().join("v.db"), Some(TOKEN));

    // The README's fresh install: the admin has no password yet.
    let out = piped(&server, TOKEN, &format!("{NEW}\n"));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(!stderr.contains(NEW), "{stderr}");
    assert_eq!(sign_in(&server, "admin@localhost", NEW).await, 303);

    // With a password: the current one first, then the new one.
    let ann = user(&server, "ann", Some(OLD)).await;
    let out = piped(&server, &ann, &format!("{OLD}\n{NEW}\n"));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(sign_in(&server, "ann@example.com", NEW).await, 303);

    // A refused password: one line saying why, nothing changed.
    let out = piped(&server, &ann, &format!("{NEW}\nshort\n"));
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "verdict: new_password: must be at least 8 characters\n"
    );
    assert_eq!(sign_in(&server, "ann@example.com", NEW).await, 303);
}
