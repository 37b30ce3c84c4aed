//! What a client may hold open: the real `verdict serve` binary with short
//! header and idle timeouts and a small connection limit, driven over raw
//! TCP sockets on 127.0.0.1 (half-open requests, kept-alive connections).

use crate::common;

use std::time::{Duration, Instant};

use common::Server;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Bytes that start a request and never finish its headers.
const PARTIAL: &[u8] = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ";

fn addr(server: &Server) -> String {
    server.url.trim_start_matches("http://").to_string()
}

async fn connect(server: &Server) -> TcpStream {
    TcpStream::connect(addr(server)).await.expect("connect")
}

/// Waits up to `limit` for the server to close `stream`: `Some(elapsed)`
/// once it did (end of stream or reset), `None` if it is still open.
async fn closed_within(
    stream: &mut TcpStream,
    start: Instant,
    limit: Duration,
) -> Option<Duration> {
    let mut buf = [0u8; 1024];
    loop {
        let left = limit.checked_sub(start.elapsed())?;
        match tokio::time::timeout(left, stream.read(&mut buf)).await {
            Err(_) => return None,
            Ok(Ok(0)) | Ok(Err(_)) => return Some(start.elapsed()),
            // A response (the server may answer before closing): read on.
            Ok(Ok(_)) => {}
        }
    }
}

/// One response off a kept-alive connection: head and body as text.
async fn read_response(stream: &mut TcpStream) -> String {
    let mut data = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let text = String::from_utf8_lossy(&data).to_string();
        if let Some(end) = text.find("\r\n\r\n") {
            let length: usize = text[..end]
                .lines()
                .find_map(|l| {
                    let (name, value) = l.split_once(':')?;
                    name.eq_ignore_ascii_case("content-length")
                        .then(|| value.trim().parse().ok())?
                })
                .expect("content-length");
            if data.len() >= end + 4 + length {
                return text;
            }
        }
        let n = tokio::time::timeout(Duration::from_secs(10), stream.read(&mut buf))
            .await
            .expect("a response within 10 s")
            .expect("read");
        assert!(n > 0, "the connection closed mid-response: {text}");
        data.extend_from_slice(&buf[..n]);
    }
}

async fn get_on(stream: &mut TcpStream, path: &str) -> String {
    let head = format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
    stream.write_all(head.as_bytes()).await.expect("write");
    read_response(stream).await
}

async fn metrics(server: &Server) -> String {
    let res = common::http()
        .get(format!("{}/metrics", server.url))
        .send()
        .await
        .expect("metrics");
    assert_eq!(res.status(), 200);
    res.text().await.expect("body")
}

/// The value of the sample `name` (with its labels, as printed).
fn sample(metrics: &str, name: &str) -> f64 {
    metrics
        .lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' '))
        .unwrap_or_else(|| panic!("{name} in\n{metrics}"))
        .trim()
        .parse()
        .expect("a number")
}

#[tokio::test]
async fn unfinished_request_headers_are_closed_after_the_header_timeout() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Server::start_args(
        &dir.path().join("v.db"),
        None,
        &["--header-timeout-secs", "5", "--idle-timeout-secs", "30"],
    );

    // 200 connections that start a request and never finish it, and 20 that
    // send nothing at all.
    let start = Instant::now();
    let mut held = Vec::new();
    for i in 0..220 {
        let mut stream = connect(&server).await;
        if i < 200 {
            stream.write_all(PARTIAL).await.expect("partial request");
        }
        held.push(stream);
    }

    // Meanwhile everyone else is served.
    let res = common::http()
        .get(format!("{}/healthz", server.url))
        .send()
        .await
        .expect("healthz");
    assert_eq!(res.status(), 200);
    let during = metrics(&server).await;
    assert!(
        sample(&during, "verdict_connections_open") >= 200.0,
        "{during}"
    );
    assert_eq!(sample(&during, "verdict_connections_max"), 1024.0);

    for (i, stream) in held.iter_mut().enumerate() {
        let closed = closed_within(stream, start, Duration::from_secs(15)).await;
        let closed = closed.unwrap_or_else(|| panic!("connection {i} still open after 15 s"));
        assert!(
            closed >= Duration::from_secs(5),
            "{i} closed after {closed:?}"
        );
    }

    let after = metrics(&server).await;
    assert!(
        sample(
            &after,
            "verdict_connection_timeouts_total{phase=\"headers\"}"
        ) >= 220.0,
        "{after}"
    );
    assert_eq!(
        sample(&after, "verdict_connection_timeouts_total{phase=\"idle\"}"),
        0.0
    );
    // Only the test client's own connections are left.
    assert!(sample(&after, "verdict_connections_open") <= 2.0, "{after}");
}

#[tokio::test]
async fn past_max_connections_a_client_waits_until_a_connection_closes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Server::start_args(
        &dir.path().join("v.db"),
        None,
        &[
            "--max-connections",
            "3",
            "--header-timeout-secs",
            "60",
            "--idle-timeout-secs",
            "60",
        ],
    );
    // Three connections take every slot: two half-open requests and one
    // kept-alive connection this test reads /metrics on.
    let mut first = connect(&server).await;
    first.write_all(PARTIAL).await.expect("partial");
    let mut second = connect(&server).await;
    second.write_all(PARTIAL).await.expect("partial");
    let mut kept = connect(&server).await;
    let before = get_on(&mut kept, "/metrics").await;
    assert_eq!(sample(&before, "verdict_connections_open"), 3.0, "{before}");
    assert_eq!(sample(&before, "verdict_connections_max"), 3.0);

    // A fourth client gets no answer while the three are held...
    let mut fourth = connect(&server).await;
    fourth
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        .await
        .expect("request");
    let mut buf = [0u8; 1024];
    assert!(
        tokio::time::timeout(Duration::from_millis(1500), fourth.read(&mut buf))
            .await
            .is_err(),
        "the fourth connection was served past the limit"
    );
    let at_limit = get_on(&mut kept, "/metrics").await;
    assert_eq!(sample(&at_limit, "verdict_connections_open"), 3.0);
    assert!(sample(&at_limit, "verdict_connections_limit_reached_total") >= 1.0);

    // ...and is served as soon as one of them closes.
    drop(first);
    let mut response = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), fourth.read_to_end(&mut response))
        .await
        .expect("served once a slot freed")
        .expect("read");
    let response = String::from_utf8_lossy(&response);
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    drop(second);
    drop(kept);
}

#[tokio::test]
async fn an_idle_kept_alive_connection_is_closed_after_the_idle_timeout() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Server::start_args(
        &dir.path().join("v.db"),
        None,
        &["--idle-timeout-secs", "1", "--header-timeout-secs", "30"],
    );
    let mut stream = connect(&server).await;
    let response = get_on(&mut stream, "/healthz").await;
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    let idle_from = Instant::now();
    let closed = closed_within(&mut stream, idle_from, Duration::from_secs(8))
        .await
        .expect("the idle connection closed within 8 s");
    assert!(
        closed >= Duration::from_millis(900),
        "closed after {closed:?}"
    );

    let after = metrics(&server).await;
    assert_eq!(
        sample(&after, "verdict_connection_timeouts_total{phase=\"idle\"}"),
        1.0,
        "{after}"
    );
}

#[tokio::test]
async fn the_idle_timeout_and_not_the_header_timeout_bounds_a_kept_alive_connection() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Server::start_args(
        &dir.path().join("v.db"),
        None,
        &["--header-timeout-secs", "1", "--idle-timeout-secs", "30"],
    );
    let mut stream = connect(&server).await;
    let response = get_on(&mut stream, "/healthz").await;
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    // Idle for twice the header timeout, and still good for a request.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let response = get_on(&mut stream, "/metrics").await;
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert_eq!(
        sample(
            &response,
            "verdict_connection_timeouts_total{phase=\"headers\"}"
        ),
        0.0
    );
    // A request begun on it must still finish its headers in time.
    let start = Instant::now();
    stream.write_all(PARTIAL).await.expect("partial");
    let closed = closed_within(&mut stream, start, Duration::from_secs(8))
        .await
        .expect("closed by the header timeout");
    assert!(
        closed >= Duration::from_millis(900),
        "closed after {closed:?}"
    );
}

#[tokio::test]
async fn sigterm_does_not_wait_forever_for_unfinished_headers() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut server = Server::start_args(
        &dir.path().join("v.db"),
        None,
        &["--header-timeout-secs", "2"],
    );
    let mut half_open = connect(&server).await;
    half_open.write_all(PARTIAL).await.expect("partial");
    let mut kept = connect(&server).await;
    let response = get_on(&mut kept, "/healthz").await;
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");

    let start = Instant::now();
    let pid = server.child.id().to_string();
    let kill = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("kill");
    assert!(kill.success());
    // The kept-alive connection waits for no request: closed at once.
    let closed = closed_within(&mut kept, start, Duration::from_secs(1)).await;
    assert!(closed.is_some(), "the idle connection is closed on SIGTERM");
    // The unfinished request has until its header timeout, not forever.
    let status = loop {
        if let Some(status) = server.child.try_wait().expect("try_wait") {
            break status;
        }
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "still running 10 s after SIGTERM"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(status.success(), "{status}");
    drop(half_open);
}
