//! End to end: the real `verdict` binary, started on port 0 over a fresh
//! SQLite file, driven over TCP like any client would.

use crate::common;

use std::process::Command;

use common::Server;

use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const TOKEN: &str = "vdt_e2e_admin_token_0123456789abcdef";

async fn call(
    method: reqwest::Method,
    url: String,
    token: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let client = common::http();
    let mut req = client.request(method, url).bearer_auth(token);
    if let Some(b) = body {
        req = req.json(&b);
    }
    let res = req.send().await.expect("request");
    let status = res.status().as_u16();
    let text = res.text().await.expect("body");
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

#[tokio::test]
async fn serve_on_port_zero_runs_the_api_and_logs_one_line_per_request() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut server = Server::start(&dir.path().join("v.db"), Some(TOKEN));
    let u = server.url.clone();

    let health = common::http()
        .get(format!("{u}/healthz"))
        .send()
        .await
        .expect("healthz");
    assert_eq!(health.status(), 200);
    let ready = common::http()
        .get(format!("{u}/readyz"))
        .send()
        .await
        .expect("readyz");
    assert_eq!(ready.status(), 200);

    let (s, me) = call(reqwest::Method::GET, format!("{u}/v1/me"), TOKEN, None).await;
    assert_eq!(s, 200);
    assert_eq!(me["data"]["admin"], true);

    let (s, p) = call(
        reqwest::Method::POST,
        format!("{u}/v1/projects"),
        TOKEN,
        Some(json!({"name": "E2E"})),
    )
    .await;
    assert_eq!(s, 201);
    let pid = p["data"]["id"].as_str().expect("project id").to_string();
    let (s, _) = call(
        reqwest::Method::POST,
        format!("{u}/v1/projects/{pid}/cases/bulk"),
        TOKEN,
        Some(json!({"cases": [{"title": "a", "key": "a"}, {"title": "b", "key": "b"}]})),
    )
    .await;
    assert_eq!(s, 200);
    let (s, run) = call(
        reqwest::Method::POST,
        format!("{u}/v1/projects/{pid}/runs"),
        TOKEN,
        Some(json!({"name": "r"})),
    )
    .await;
    assert_eq!(s, 201);
    let rid = run["data"]["id"].as_str().expect("run id").to_string();
    let (s, bulk) = call(
        reqwest::Method::POST,
        format!("{u}/v1/runs/{rid}/results/bulk"),
        TOKEN,
        Some(json!({"results": [{"test_case_id": "tc_001", "status": "passed"}]})),
    )
    .await;
    assert_eq!(s, 200, "{bulk}");
    let (s, _) = call(
        reqwest::Method::GET,
        format!("{u}/v1/runs/{rid}/results/res_999"),
        TOKEN,
        None,
    )
    .await;
    assert_eq!(s, 404);

    let status = server.terminate();
    assert!(status.success(), "clean exit on SIGTERM: {status}");
    let log = server.stderr_text();
    let bulk_lines: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("/v1/runs/{rid}/results/bulk"))
        .collect();
    assert_eq!(bulk_lines.len(), 1, "one line per request:\n{log}");
    // The line is written inside the request's span, which names the
    // method and the route, so the work a request does nests under it.
    for needle in [
        r#"request{method=POST route="/v1/runs/{rid}/results/bulk"}"#,
        "status=200",
        "latency_us=",
    ] {
        assert!(
            bulk_lines[0].contains(needle),
            "{needle} in {}",
            bulk_lines[0]
        );
    }
    assert!(
        log.contains("route=\"/v1/runs/{rid}/results/{id}\" status=404"),
        "{log}"
    );
    assert!(!log.contains(TOKEN), "the token must never be logged");
}

#[tokio::test]
async fn first_start_on_an_empty_database_prints_an_admin_token_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("v.db");
    let mut first = Server::start(&db, None);
    let token = first
        .banner
        .iter()
        .find_map(|l| {
            l.trim()
                .strip_prefix("vdt_")
                .map(|rest| format!("vdt_{rest}"))
        })
        .expect("a token in the banner");
    let (s, me) = call(
        reqwest::Method::GET,
        format!("{}/v1/me", first.url),
        &token,
        None,
    )
    .await;
    assert_eq!(s, 200);
    assert_eq!(me["data"]["admin"], true);
    assert!(first.terminate().success());

    let mut second = Server::start(&db, None);
    assert!(
        second.banner.iter().all(|l| !l.contains("vdt_")),
        "the token is shown only once: {:?}",
        second.banner
    );
    let (s, _) = call(
        reqwest::Method::GET,
        format!("{}/v1/me", second.url),
        &token,
        None,
    )
    .await;
    assert_eq!(s, 200);
    let status = second.terminate();
    assert!(status.success(), "{status:?}\n{}", second.stderr_text());
}

#[test]
fn sigterm_sent_as_soon_as_the_server_says_it_listens_stops_it_gracefully() {
    // A process manager may signal the moment the server is ready. The
    // handlers must already be there: without them the signal kills the
    // process (exit by signal, no "stopped" line). Five starts, since an
    // unguarded window is short.
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("v.db");
    for attempt in 0..5 {
        let mut server = Server::start(&db, Some(TOKEN));
        let status = server.terminate();
        let log = server.stderr_text();
        assert!(status.success(), "start {attempt}: {status:?}\n{log}");
        assert!(log.contains("stopped"), "start {attempt}: {log}");
    }
}

#[tokio::test]
async fn sigterm_lets_the_request_in_flight_finish() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut server = Server::start(&dir.path().join("v.db"), Some(TOKEN));
    let u = server.url.clone();
    let (_, p) = call(
        reqwest::Method::POST,
        format!("{u}/v1/projects"),
        TOKEN,
        Some(json!({"name": "P"})),
    )
    .await;
    let pid = p["data"]["id"].as_str().expect("project").to_string();

    // The body arrives only after the server has begun the request (it
    // asks for it with 100 Continue) and after SIGTERM has been sent.
    let body = json!({"title": "written during shutdown"}).to_string();
    let addr = u.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let head = format!(
        "POST /v1/projects/{pid}/cases HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {TOKEN}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\nExpect: 100-continue\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await.expect("write head");
    let mut buf = vec![0u8; 1024];
    let n = stream.read(&mut buf).await.expect("read 100");
    assert!(
        String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 100"),
        "{}",
        String::from_utf8_lossy(&buf[..n])
    );
    let pid_num = server.child.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid_num])
            .status()
            .expect("kill")
            .success()
    );
    stream.write_all(body.as_bytes()).await.expect("write body");
    let mut response = Vec::new();
    stream
        .read_to_end(&mut response)
        .await
        .expect("read response");
    let response = String::from_utf8_lossy(&response);
    assert!(response.starts_with("HTTP/1.1 201"), "{response}");
    assert!(response.contains("written during shutdown"), "{response}");
    let status = server.child.wait().expect("wait");
    assert!(status.success(), "{status}");

    // And it is there after a restart.
    let again = Server::start(&dir.path().join("v.db"), Some(TOKEN));
    let (s, list) = call(
        reqwest::Method::GET,
        format!("{}/v1/projects/{pid}/cases", again.url),
        TOKEN,
        None,
    )
    .await;
    assert_eq!(s, 200);
    assert_eq!(list["meta"]["total"], 1);
}
