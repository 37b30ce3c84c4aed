//! A small JSON client for the v1 API: bearer token, the error envelope
//! turned into a readable message, and retries with backoff for what is
//! worth retrying (429, 5xx, connection errors), honouring `Retry-After`.
//! Each retry is a line on stderr, so a server that cannot be reached is
//! never a long silence.

use std::fmt;
use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde::Serialize;
use serde::de::DeserializeOwned;
use verdict_api::ErrorBody;

use super::{Connection, Failure};

pub struct Client {
    http: reqwest::Client,
    base: String,
    token: String,
    /// Attempts for a retryable failure, the first included.
    pub attempts: u32,
}

/// An answer that was not a success.
#[derive(Debug)]
pub struct ApiFailure {
    pub message: String,
    /// The server's answer, when there was one.
    pub status: Option<StatusCode>,
}

impl From<ApiFailure> for Failure {
    fn from(f: ApiFailure) -> Self {
        Failure::new(f.message)
    }
}

impl ApiFailure {
    /// A 404 from the server, as "project prj_009 not found, or not
    /// yours": the server does not say which resource (nor whether it
    /// exists), but the command knows what it asked for. An answer that is
    /// not the server's envelope (another service at that URL) stays as is.
    pub fn naming(mut self, what: &str) -> ApiFailure {
        if self.status == Some(StatusCode::NOT_FOUND) && self.message.starts_with("404 not_found:")
        {
            self.message = format!("{what} not found, or not yours");
        }
        self
    }
}

/// A retry about to happen, printed as "retrying in 4 s: connection
/// refused (attempt 3/8)": the attempt that failed, of how many in all.
pub struct Retry<'a> {
    pub wait: Duration,
    pub reason: &'a str,
    pub attempt: u32,
    pub attempts: u32,
}

impl fmt::Display for Retry<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ms = self.wait.as_millis();
        let wait = if ms.is_multiple_of(1000) {
            format!("{} s", ms / 1000)
        } else {
            format!("{:.1} s", self.wait.as_secs_f64())
        };
        write!(
            f,
            "retrying in {wait}: {} (attempt {}/{})",
            self.reason, self.attempt, self.attempts
        )
    }
}

impl Client {
    /// A client retrying 4 times unless `--retries` says otherwise.
    pub fn new(conn: &Connection) -> Result<Client, Failure> {
        Self::with_retries(conn, 4)
    }

    /// A client retrying `default_retries` times unless `--retries` says
    /// otherwise.
    pub fn with_retries(conn: &Connection, default_retries: u32) -> Result<Client, Failure> {
        let token = conn
            .token()
            .ok_or_else(|| Failure::usage("no API token: set VERDICT_TOKEN (or pass --token)"))?;
        let tls = super::tls::client_config()
            .map_err(|e| Failure::new(format!("cannot set up TLS: {e}")))?;
        let http = reqwest::Client::builder()
            .tls_backend_preconfigured(tls)
            .connect_timeout(Duration::from_secs(10))
            .timeout(Duration::from_secs(300))
            .user_agent(concat!("verdict-cli/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| Failure::new(format!("cannot build an HTTP client: {e}")))?;
        Ok(Client {
            http,
            base: conn.url().trim_end_matches('/').to_string(),
            token,
            attempts: conn.retries_or(default_retries).saturating_add(1),
        })
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Sends a JSON request (retrying what is retryable) and parses a success.
    pub async fn send<B: Serialize, T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<&B>,
        idempotency_key: Option<&str>,
    ) -> Result<(StatusCode, T), ApiFailure> {
        let bytes = match body {
            Some(b) => Some(serde_json::to_vec(b).map_err(|e| ApiFailure {
                message: format!("cannot encode the request: {e}"),
                status: None,
            })?),
            None => None,
        };
        let body = bytes.map(|b| ("application/json", b));
        self.send_bytes(method, path, body, idempotency_key, &mut |r| {
            eprintln!("{r}")
        })
        .await
    }

    /// Sends a body of any type, retrying 429, 5xx and connection errors
    /// with backoff (or `Retry-After`); `on_retry` hears of each retry
    /// before its wait (and prints it: nothing else does).
    pub async fn send_bytes<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<(&str, Vec<u8>)>,
        idempotency_key: Option<&str>,
        on_retry: &mut dyn FnMut(&Retry),
    ) -> Result<(StatusCode, T), ApiFailure> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            let mut req = self
                .http
                .request(method.clone(), self.url(path))
                .bearer_auth(&self.token);
            if let Some(k) = idempotency_key {
                req = req.header("Idempotency-Key", k);
            }
            if let Some((content_type, b)) = &body {
                req = req.header("Content-Type", *content_type).body(b.clone());
            }
            let wait = match req.send().await {
                Ok(res) => {
                    let status = res.status();
                    let retry_after = res
                        .headers()
                        .get("retry-after")
                        .and_then(|v| v.to_str().ok())
                        .and_then(|v| v.trim().parse::<u64>().ok());
                    let text = res.text().await.unwrap_or_default();
                    if status.is_success() {
                        // A 204 has no body: read it as JSON null.
                        let text = if text.is_empty() {
                            "null"
                        } else {
                            text.as_str()
                        };
                        let value = serde_json::from_str(text).map_err(|e| ApiFailure {
                            message: format!("unexpected answer from {path}: {e}"),
                            status: Some(status),
                        })?;
                        return Ok((status, value));
                    }
                    let message = describe(status, &text);
                    let retryable =
                        status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error();
                    if !retryable || attempt >= self.attempts {
                        return Err(ApiFailure {
                            message: self.gave_up(message, retryable, attempt),
                            status: Some(status),
                        });
                    }
                    let wait = retry_after
                        .map(Duration::from_secs)
                        .unwrap_or_else(|| backoff(attempt))
                        .min(Duration::from_secs(30));
                    let reason = message.lines().next().unwrap_or_default();
                    on_retry(&Retry {
                        wait,
                        reason,
                        attempt,
                        attempts: self.attempts,
                    });
                    wait
                }
                Err(e) => {
                    let message = format!("cannot reach {}: {}", self.base, causes(&e));
                    // A certificate the client refuses stays refused.
                    let retryable = !tls_refused(&e);
                    if !retryable || attempt >= self.attempts {
                        return Err(ApiFailure {
                            message: self.gave_up(message, retryable, attempt),
                            status: None,
                        });
                    }
                    let wait = backoff(attempt);
                    on_retry(&Retry {
                        wait,
                        reason: &root_cause(&e),
                        attempt,
                        attempts: self.attempts,
                    });
                    wait
                }
            };
            tokio::time::sleep(wait).await;
        }
    }

    /// The last failure's message, saying how many attempts it took when
    /// it was retried.
    fn gave_up(&self, message: String, retryable: bool, attempt: u32) -> String {
        if retryable && attempt > 1 {
            format!("{message} (gave up after {attempt} attempts)")
        } else {
            message
        }
    }

    pub async fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T, ApiFailure> {
        self.send::<(), T>(Method::GET, path, None, None)
            .await
            .map(|(_, v)| v)
    }

    pub async fn post<B: Serialize, T: DeserializeOwned>(
        &self,
        path: &str,
        body: &B,
    ) -> Result<(StatusCode, T), ApiFailure> {
        self.send(Method::POST, path, Some(body), None).await
    }
}

/// An error with its causes: reqwest's own message ("error sending
/// request") says nothing of why.
fn causes(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        let more = cause.to_string();
        if !text.contains(&more) {
            text.push_str(": ");
            text.push_str(&more);
        }
        source = cause.source();
    }
    text
}

/// The innermost cause, the one that says why ("connection refused"),
/// without the OS error number.
fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut inner = e;
    while let Some(cause) = inner.source() {
        inner = cause;
    }
    let text = inner.to_string();
    let text = match text.rfind(" (os error ") {
        Some(at) if text.ends_with(')') => text[..at].to_string(),
        _ => text,
    };
    // "Connection refused" reads as part of the line; "TLS…" keeps its case.
    let mut chars = text.chars();
    match (chars.next(), chars.next()) {
        (Some(first), Some(second)) if first.is_uppercase() && second.is_lowercase() => {
            first.to_lowercase().chain(text.chars().skip(1)).collect()
        }
        _ => text,
    }
}

/// Whether TLS refused the server (its certificate, say): not worth a
/// retry. The TLS error sits inside I/O errors, which hide it from `source`.
fn tls_refused(e: &(dyn std::error::Error + 'static)) -> bool {
    if e.is::<rustls::Error>() {
        return true;
    }
    let inner = e
        .downcast_ref::<std::io::Error>()
        .and_then(std::io::Error::get_ref);
    if inner.is_some_and(|inner| tls_refused(inner)) {
        return true;
    }
    e.source().is_some_and(tls_refused)
}

/// 0.5 s, 1 s, 2 s, 4 s… capped at 10 s.
fn backoff(attempt: u32) -> Duration {
    Duration::from_millis((250u64 << attempt.min(6)).min(10_000))
}

/// "404 not_found: no such resource" from the error envelope, or the raw text.
fn describe(status: StatusCode, text: &str) -> String {
    match serde_json::from_str::<ErrorBody>(text) {
        Ok(body) => {
            let mut m = format!(
                "{} {}: {}",
                status.as_u16(),
                body.error.code,
                body.error.message
            );
            for d in body.error.details.iter().take(20) {
                m.push_str(&format!("\n  {}: {}", d.field, d.message));
            }
            if body.error.details.len() > 20 {
                m.push_str(&format!("\n  … and {} more", body.error.details.len() - 20));
            }
            m
        }
        Err(_) => format!("{status}: {}", text.chars().take(500).collect::<String>()),
    }
}
