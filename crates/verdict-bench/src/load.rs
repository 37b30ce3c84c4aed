//! A lean HTTP/1.1 load client for the concurrency workloads: one
//! keep-alive TCP connection, each request written in one piece and each
//! answer read by its `Content-Length`, in the spirit of wrk. The load
//! generator shares the machine's two cores with the server, so every
//! microsecond it spends is one the server does not get; a general client
//! (reqwest) cost about three times as much CPU per request.

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::server::TOKEN;

pub struct Conn {
    stream: TcpStream,
    host: String,
    request: Vec<u8>,
    answer: Vec<u8>,
}

/// An answer: its status code and body.
pub struct Answer<'a> {
    pub status: u16,
    pub body: &'a [u8],
}

impl Conn {
    /// Connects to `base` (`http://HOST:PORT`).
    pub async fn connect(base: &str) -> Result<Conn, String> {
        let host = base
            .strip_prefix("http://")
            .ok_or_else(|| format!("not an http:// address: {base}"))?
            .trim_end_matches('/')
            .to_string();
        let stream = TcpStream::connect(&host)
            .await
            .map_err(|e| format!("connect {host}: {e}"))?;
        stream
            .set_nodelay(true)
            .map_err(|e| format!("TCP_NODELAY: {e}"))?;
        Ok(Conn {
            stream,
            host,
            request: Vec::with_capacity(1024),
            answer: Vec::with_capacity(4096),
        })
    }

    /// Sends one JSON request with the admin token and reads the whole answer.
    pub async fn send(
        &mut self,
        method: &str,
        path: &str,
        body: &[u8],
    ) -> Result<Answer<'_>, String> {
        self.request.clear();
        self.request.extend_from_slice(
            format!(
                "{method} {path} HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {TOKEN}\r\n\
                 Content-Type: application/json\r\nContent-Length: {}\r\n\r\n",
                self.host,
                body.len()
            )
            .as_bytes(),
        );
        self.request.extend_from_slice(body);
        self.stream
            .write_all(&self.request)
            .await
            .map_err(|e| format!("{method} {path}: {e}"))?;

        self.answer.clear();
        let (head, length) = loop {
            if let Some(end) = find(&self.answer, b"\r\n\r\n") {
                let head = end + 4;
                break (head, content_length(&self.answer[..head])?);
            }
            self.fill(method, path).await?;
        };
        while self.answer.len() < head + length {
            self.fill(method, path).await?;
        }
        if self.answer.len() > head + length {
            return Err(format!(
                "{method} {path}: more bytes than the answer's length"
            ));
        }
        let status = status_code(&self.answer[..head])?;
        Ok(Answer {
            status,
            body: &self.answer[head..head + length],
        })
    }

    async fn fill(&mut self, method: &str, path: &str) -> Result<(), String> {
        let mut chunk = [0u8; 8192];
        let n = self
            .stream
            .read(&mut chunk)
            .await
            .map_err(|e| format!("{method} {path}: {e}"))?;
        if n == 0 {
            return Err(format!("{method} {path}: the server closed the connection"));
        }
        self.answer.extend_from_slice(&chunk[..n]);
        Ok(())
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn status_code(head: &[u8]) -> Result<u16, String> {
    let line = head.split(|b| *b == b'\n').next().unwrap_or_default();
    let text = String::from_utf8_lossy(line);
    text.split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .ok_or_else(|| format!("not an HTTP status line: {text:?}"))
}

/// The answer's `Content-Length`; chunked answers are not expected here.
fn content_length(head: &[u8]) -> Result<usize, String> {
    let text = String::from_utf8_lossy(head);
    for line in text.split("\r\n") {
        if let Some((name, value)) = line.split_once(':') {
            if name.eq_ignore_ascii_case("content-length") {
                return value
                    .trim()
                    .parse()
                    .map_err(|_| format!("bad Content-Length: {value:?}"));
            }
            if name.eq_ignore_ascii_case("transfer-encoding") {
                return Err("a chunked answer; this client reads Content-Length only".into());
            }
        }
    }
    Err("an answer without Content-Length".into())
}
