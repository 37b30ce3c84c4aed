//! Sending a webhook event (webhooks::send) to real receivers on loopback:
//! what is delivered and what is not, with which error; the headers and a
//! signature a Standard Webhooks library accepts; the addresses refused
//! unless private ones are allowed.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use verdict_server::webhooks::format::{Format, render};
use verdict_server::webhooks::send::{Attempt, Sender, Target, check_url};

/// `whsec_` and the base64 of a random key.
const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

/// One request as the receiver read it.
#[derive(Debug, Clone)]
struct Received {
    head: String,
    body: Vec<u8>,
}

impl Received {
    fn header(&self, name: &str) -> Option<String> {
        self.head.lines().skip(1).find_map(|line| {
            let (k, v) = line.split_once(':')?;
            k.trim()
                .eq_ignore_ascii_case(name)
                .then(|| v.trim().to_string())
        })
    }
}

/// What the receiver does with each request.
#[derive(Clone, Copy)]
enum Behaviour {
    /// Answers with this status line and a short body.
    Status(&'static str),
    /// Reads the request and never answers.
    Hang,
    /// Answers 200 with a head that promises a body it never finishes.
    OkThenStall,
}

/// An HTTP receiver on 127.0.0.1 recording what it is sent.
struct Receiver {
    addr: SocketAddr,
    received: Arc<Mutex<Vec<Received>>>,
}

impl Receiver {
    async fn start(behaviour: Behaviour) -> Receiver {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let received = Arc::new(Mutex::new(Vec::new()));
        let log = Arc::clone(&received);
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let log = Arc::clone(&log);
                tokio::spawn(serve(stream, behaviour, log));
            }
        });
        Receiver { addr, received }
    }

    fn url(&self) -> String {
        format!("http://{}/hook", self.addr)
    }

    fn received(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }
}

async fn serve(mut stream: TcpStream, behaviour: Behaviour, log: Arc<Mutex<Vec<Received>>>) {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        if let Some(at) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break at + 4;
        }
        match stream.read(&mut chunk).await {
            Ok(0) | Err(_) => return,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
    let length: usize = head
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case("content-length")
                .then(|| v.trim().parse().ok())?
        })
        .unwrap_or(0);
    while buf.len() < head_end + length {
        match stream.read(&mut chunk).await {
            Ok(0) | Err(_) => return,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
    let body = buf[head_end..head_end + length].to_vec();
    log.lock().unwrap().push(Received { head, body });
    match behaviour {
        Behaviour::Status(status) => {
            let answer = format!(
                "HTTP/1.1 {status}\r\nlocation: http://127.0.0.1:1/elsewhere\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok"
            );
            let _ = stream.write_all(answer.as_bytes()).await;
        }
        Behaviour::Hang => {
            tokio::time::sleep(Duration::from_secs(30)).await;
        }
        Behaviour::OkThenStall => {
            let _ = stream
                .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 100000\r\n\r\nstarted")
                .await;
            tokio::time::sleep(Duration::from_secs(30)).await;
        }
    }
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

async fn send_to(sender: &Sender, url: &str, body: &[u8]) -> Attempt {
    sender
        .send(&Target {
            url,
            secret: SECRET,
            event_id: "evt_0001",
            timestamp: now(),
            body,
        })
        .await
}

fn allowing() -> Sender {
    Sender::new(true).unwrap()
}

#[tokio::test]
async fn a_2xx_is_delivered_with_the_standard_webhooks_headers() {
    let receiver = Receiver::start(Behaviour::Status("204 No Content")).await;
    let body =
        br#"{"type":"ping","timestamp":"2026-12-04T12:00:00Z","data":{"webhook_id":"wh_1"}}"#;
    let at = now();
    let attempt = allowing()
        .send(&Target {
            url: &receiver.url(),
            secret: SECRET,
            event_id: "evt_0001",
            timestamp: at,
            body,
        })
        .await;
    assert!(attempt.delivered, "{attempt:?}");
    assert_eq!(attempt.status_code, Some(204));
    assert_eq!(attempt.error, None);

    let got = receiver.received();
    assert_eq!(got.len(), 1);
    let r = &got[0];
    assert!(r.head.starts_with("POST /hook HTTP/1.1\r\n"), "{}", r.head);
    assert_eq!(r.body, body);
    assert_eq!(
        r.header("content-type").as_deref(),
        Some("application/json")
    );
    assert_eq!(r.header("webhook-id").as_deref(), Some("evt_0001"));
    assert_eq!(r.header("webhook-timestamp"), Some(at.to_string()));
    let ua = r.header("user-agent").unwrap();
    assert!(ua.starts_with("Verdict-Webhooks/"), "{ua}");
    let signature = r.header("webhook-signature").unwrap();
    // v1, and the base64 of a 32-byte HMAC-SHA256.
    let sig = signature.strip_prefix("v1,").unwrap();
    assert_eq!(sig.len(), 44, "{signature}");
    // The same key, id, timestamp and body sign the same; any other body not.
    let again = verdict_server::webhooks::send::signature(SECRET, "evt_0001", at, body).unwrap();
    assert_eq!(again, signature);
    let other = verdict_server::webhooks::send::signature(SECRET, "evt_0001", at, b"{}").unwrap();
    assert_ne!(other, signature);
}

#[tokio::test]
async fn a_500_is_not_delivered_and_says_its_status() {
    let receiver = Receiver::start(Behaviour::Status("500 Internal Server Error")).await;
    let attempt = send_to(&allowing(), &receiver.url(), b"{}").await;
    assert!(!attempt.delivered);
    assert_eq!(attempt.status_code, Some(500));
    assert_eq!(attempt.error.as_deref(), Some("HTTP 500"));
    assert_eq!(receiver.received().len(), 1);
}

#[tokio::test]
async fn a_redirect_is_not_followed_and_not_delivered() {
    let receiver = Receiver::start(Behaviour::Status("302 Found")).await;
    let attempt = send_to(&allowing(), &receiver.url(), b"{}").await;
    assert!(!attempt.delivered);
    assert_eq!(attempt.status_code, Some(302));
    assert_eq!(
        attempt.error.as_deref(),
        Some("HTTP 302: redirects are not followed")
    );
    // Only the one request: the location (port 1) was not tried.
    assert_eq!(receiver.received().len(), 1);
}

#[tokio::test]
async fn a_receiver_that_never_answers_times_out() {
    let receiver = Receiver::start(Behaviour::Hang).await;
    let sender = Sender::with_timeout(true, Duration::from_millis(300)).unwrap();
    let attempt = send_to(&sender, &receiver.url(), b"{}").await;
    assert!(!attempt.delivered);
    assert_eq!(attempt.status_code, None);
    assert_eq!(attempt.error.as_deref(), Some("timed out after 300 ms"));
    assert!(
        (300..5000).contains(&attempt.duration_ms),
        "{}",
        attempt.duration_ms
    );
    assert_eq!(receiver.received().len(), 1);
}

/// The status decides: a 2xx whose body never ends is delivered, within
/// the timeout.
#[tokio::test]
async fn a_2xx_whose_body_stalls_is_still_delivered() {
    let receiver = Receiver::start(Behaviour::OkThenStall).await;
    // Long enough for the head to arrive on a busy machine.
    let sender = Sender::with_timeout(true, Duration::from_secs(2)).unwrap();
    let attempt = send_to(&sender, &receiver.url(), b"{}").await;
    assert!(attempt.delivered, "{attempt:?}");
    assert_eq!(attempt.status_code, Some(200));
    assert!(attempt.duration_ms < 10_000, "{}", attempt.duration_ms);
}

#[tokio::test]
async fn a_closed_port_is_connection_refused() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let attempt = send_to(&allowing(), &format!("http://{addr}/hook"), b"{}").await;
    assert!(!attempt.delivered);
    assert_eq!(attempt.status_code, None);
    assert_eq!(attempt.error.as_deref(), Some("connection refused"));
}

#[tokio::test]
async fn a_name_that_does_not_resolve_says_so() {
    let sender = Sender::with_timeout(false, Duration::from_secs(5)).unwrap();
    let attempt = send_to(&sender, "http://no-such-host.invalid/hook", b"{}").await;
    assert!(!attempt.delivered);
    assert_eq!(attempt.status_code, None);
    let error = attempt.error.unwrap();
    assert!(
        error.starts_with("cannot resolve no-such-host.invalid: "),
        "{error}"
    );
}

/// https:// to a server that does not speak TLS: a TLS error, not delivered.
#[tokio::test]
async fn a_tls_failure_is_not_delivered_and_says_tls() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let _ = stream
                .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n")
                .await;
        }
    });
    let attempt = send_to(&allowing(), &format!("https://{addr}/hook"), b"{}").await;
    assert!(!attempt.delivered);
    assert_eq!(attempt.status_code, None);
    let error = attempt.error.unwrap();
    assert!(error.starts_with("TLS: "), "{error}");
}

#[tokio::test]
async fn a_bad_secret_or_url_is_an_attempt_that_failed_not_a_panic() {
    let sender = allowing();
    let attempt = sender
        .send(&Target {
            url: "http://127.0.0.1:1/",
            secret: "not-a-secret",
            event_id: "evt_0001",
            timestamp: now(),
            body: b"{}",
        })
        .await;
    assert!(!attempt.delivered);
    assert_eq!(
        attempt.error.as_deref(),
        Some("the webhook's secret is not whsec_ followed by base64")
    );
    let attempt = send_to(&sender, "ftp://example.com/x", b"{}").await;
    assert_eq!(
        attempt.error.as_deref(),
        Some("the URL's scheme must be http or https, not ftp")
    );
    let attempt = send_to(&sender, "not a url", b"{}").await;
    assert!(
        attempt
            .error
            .as_deref()
            .unwrap()
            .starts_with("not a valid URL"),
        "{attempt:?}"
    );
}

/// Each refused class, as a literal in the URL: refused before any
/// connection (the receiver on 127.0.0.1 sees nothing) with the address
/// and its class named.
#[tokio::test]
async fn private_literal_addresses_are_refused_by_default() {
    let receiver = Receiver::start(Behaviour::Status("200 OK")).await;
    let port = receiver.addr.port();
    let sender = Sender::new(false).unwrap();
    let cases = [
        ("127.0.0.1", "refused: 127.0.0.1 is a loopback address"),
        ("127.8.9.10", "refused: 127.8.9.10 is a loopback address"),
        ("10.0.0.5", "refused: 10.0.0.5 is a private address"),
        ("172.16.3.4", "refused: 172.16.3.4 is a private address"),
        ("192.168.1.1", "refused: 192.168.1.1 is a private address"),
        (
            "100.64.0.1",
            "refused: 100.64.0.1 is a shared (carrier-grade NAT) address",
        ),
        (
            "169.254.169.254",
            "refused: 169.254.169.254 is a link-local address",
        ),
        ("0.0.0.0", "refused: 0.0.0.0 is an unspecified address"),
        ("224.0.0.1", "refused: 224.0.0.1 is a multicast address"),
        (
            "255.255.255.255",
            "refused: 255.255.255.255 is a broadcast address",
        ),
        // Other spellings of 127.0.0.1, normalized by the URL parser.
        ("0x7f.1", "refused: 127.0.0.1 is a loopback address"),
        ("2130706433", "refused: 127.0.0.1 is a loopback address"),
        ("[::1]", "refused: ::1 is a loopback address"),
        ("[::]", "refused: :: is an unspecified address"),
        ("[fe80::1]", "refused: fe80::1 is a link-local address"),
        (
            "[fd00::1]",
            "refused: fd00::1 is a private (unique local) address",
        ),
        ("[ff02::1]", "refused: ff02::1 is a multicast address"),
        (
            "[::ffff:127.0.0.1]",
            "refused: ::ffff:127.0.0.1 is a loopback address",
        ),
        (
            "[::ffff:169.254.169.254]",
            "refused: ::ffff:169.254.169.254 is a link-local address",
        ),
        (
            "[::ffff:10.1.2.3]",
            "refused: ::ffff:10.1.2.3 is a private address",
        ),
        (
            "[64:ff9b::a01:203]",
            "refused: 64:ff9b::a01:203 is a private address",
        ),
    ];
    for (host, want) in cases {
        let url = format!("http://{host}:{port}/hook");
        let attempt = send_to(&sender, &url, b"{}").await;
        assert!(!attempt.delivered, "{url}");
        assert_eq!(attempt.status_code, None, "{url}");
        assert_eq!(attempt.error.as_deref(), Some(want), "{url}");
        assert_eq!(check_url(&url, false).err().as_deref(), Some(want), "{url}");
        assert_eq!(check_url(&url, true), Ok(()), "{url}");
    }
    assert!(receiver.received().is_empty());
}

/// A name is resolved when the event is sent and refused when it resolves
/// to a refused address; the API's early check cannot know what a name
/// will resolve to, except `localhost`.
#[tokio::test]
async fn a_name_resolving_to_loopback_is_refused_at_send_time() {
    let receiver = Receiver::start(Behaviour::Status("200 OK")).await;
    let url = format!("http://localhost:{}/hook", receiver.addr.port());
    let attempt = send_to(&Sender::new(false).unwrap(), &url, b"{}").await;
    assert!(!attempt.delivered);
    let error = attempt.error.unwrap();
    assert!(
        error == "refused: localhost resolves to 127.0.0.1, a loopback address"
            || error == "refused: localhost resolves to ::1, a loopback address",
        "{error}"
    );
    assert!(receiver.received().is_empty());
    assert_eq!(
        check_url(&url, false),
        Err("refused: localhost is a loopback address".to_string())
    );
    // A public name passes the early check (it is checked again when sent).
    assert_eq!(
        check_url("https://hooks.slack.com/services/T/B/X", false),
        Ok(())
    );

    // Allowed, the same name is delivered to.
    let attempt = send_to(&allowing(), &url, b"{}").await;
    assert!(attempt.delivered, "{attempt:?}");
    assert_eq!(receiver.received().len(), 1);
}

#[tokio::test]
async fn private_addresses_are_delivered_to_when_allowed() {
    let receiver = Receiver::start(Behaviour::Status("200 OK")).await;
    let port = receiver.addr.port();
    for url in [
        format!("http://127.0.0.1:{port}/hook"),
        format!("http://[::ffff:127.0.0.1]:{port}/hook"),
    ] {
        let attempt = send_to(&allowing(), &url, b"{}").await;
        assert!(attempt.delivered, "{url}: {attempt:?}");
    }
    assert_eq!(receiver.received().len(), 2);
}

/// The signature of a real delivery, checked by the Standard Webhooks
/// library for Python (standardwebhooks, pinned in .ci/webhook-verifier.sh)
/// as a receiver would: accepted as sent, rejected once the body is changed.
#[tokio::test]
async fn signature_verifies_with_the_standard_webhooks_library() {
    let Some(python) = verifier_python() else {
        return;
    };
    let receiver = Receiver::start(Behaviour::Status("200 OK")).await;
    let data = json!({"run_id": "run_001", "note": "ünïcode & <markup>", "executions": 2});
    let body = render(
        Format::Standard,
        "results.recorded",
        "2026-12-04T12:00:00Z",
        &data,
        None,
    );
    let attempt = allowing()
        .send(&Target {
            url: &receiver.url(),
            secret: SECRET,
            event_id: "evt_01HZY",
            timestamp: now(),
            body: &body,
        })
        .await;
    assert!(attempt.delivered, "{attempt:?}");
    let got = receiver.received().pop().unwrap();
    let headers = json!({
        "webhook-id": got.header("webhook-id").unwrap(),
        "webhook-timestamp": got.header("webhook-timestamp").unwrap(),
        "webhook-signature": got.header("webhook-signature").unwrap(),
    });
    let dir = tempfile::tempdir().unwrap();
    let headers_path = dir.path().join("headers.json");
    std::fs::write(&headers_path, headers.to_string()).unwrap();
    let verify = |body: &[u8]| {
        let body_path = dir.path().join("body");
        std::fs::write(&body_path, body).unwrap();
        std::process::Command::new(&python)
            .arg(script())
            .arg(SECRET)
            .arg(&headers_path)
            .arg(&body_path)
            .output()
            .unwrap()
    };
    let out = verify(&got.body);
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "verified");

    let mut tampered = got.body.clone();
    let at = tampered.iter().position(|&b| b == b'2').unwrap();
    tampered[at] = b'3';
    let out = verify(&tampered);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "not verified: No matching signature found"
    );
}

fn script() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.ci/webhook_verify.py")
}

/// The Python that has standardwebhooks: `VERDICT_WEBHOOK_VERIFIER`, else
/// the virtualenv .ci/webhook-verifier.sh makes; `None` (the test says it
/// was skipped) when neither has it, unless it is required.
fn verifier_python() -> Option<std::path::PathBuf> {
    let venv = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../target/webhook-verifier-venv/bin/python");
    let python = match std::env::var("VERDICT_WEBHOOK_VERIFIER") {
        Ok(p) if !p.is_empty() => std::path::PathBuf::from(p),
        _ => venv,
    };
    let why = match std::process::Command::new(&python)
        .arg(script())
        .arg("--version")
        .output()
    {
        Ok(out) if out.status.success() => return Some(python),
        Ok(out) => format!(
            "{} cannot load standardwebhooks: {}",
            python.display(),
            // The traceback's last line: the ModuleNotFoundError.
            String::from_utf8_lossy(&out.stderr)
                .lines()
                .last()
                .unwrap_or("")
        ),
        Err(e) => format!("{} cannot run: {e}", python.display()),
    };
    let why = format!("{why} (install it with `. .ci/webhook-verifier.sh`)");
    if std::env::var("VERDICT_REQUIRE_WEBHOOK_VERIFIER").as_deref() == Ok("1") {
        panic!("VERDICT_REQUIRE_WEBHOOK_VERIFIER=1 but {why}");
    }
    println!("SKIPPED: signature_verifies_with_the_standard_webhooks_library: {why}");
    None
}
