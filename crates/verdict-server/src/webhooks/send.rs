//! Sending one webhook event: a signed POST (Standard Webhooks headers),
//! to an address checked when it is resolved, within a total timeout, no
//! redirect followed. Every outcome is an [`Attempt`]: what the delivery
//! log shows and what the worker decides a retry on.
//!
//! Server-side request forgery: a webhook's URL is chosen by a project's
//! manager, so without a check the server would POST to its own loopback,
//! the cloud's metadata service (169.254.169.254) or the private network
//! behind it. The host is resolved at send time by our resolver, which
//! refuses the whole name when any of its addresses is in a refused class,
//! and the connection goes to the addresses it returned (no second lookup a
//! rebinding DNS server could answer differently). Literal IPs never reach
//! a resolver, so they are checked from the URL. No proxy is used: through
//! one, the proxy would resolve the name, unchecked.

use std::error::Error as StdError;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::DecodePaddingMode;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, STANDARD};
use reqwest::Url;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use reqwest::redirect::Policy;

/// The whole of one attempt: connecting, sending, the answer's head and
/// the first bytes of its body.
pub const TIMEOUT: Duration = Duration::from_secs(10);
/// How much of a receiver's answer is read (so a small answer leaves the
/// connection reusable); the rest is dropped with the connection.
const BODY_LIMIT: usize = 4096;
const USER_AGENT: &str = concat!("Verdict-Webhooks/", env!("CARGO_PKG_VERSION"));
const SECRET_PREFIX: &str = "whsec_";

/// Sends events; one for the process (it pools connections; clones share
/// them).
#[derive(Clone)]
pub struct Sender {
    client: reqwest::Client,
    allow_private: bool,
    timeout: Duration,
}

/// One event to one webhook.
pub struct Target<'a> {
    pub url: &'a str,
    /// `whsec_` followed by the base64 of the key.
    pub secret: &'a str,
    /// The event's id: the same on every attempt, so receivers can drop
    /// duplicates.
    pub event_id: &'a str,
    /// Unix seconds, signed with the body.
    pub timestamp: i64,
    pub body: &'a [u8],
}

/// What one attempt came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attempt {
    /// The receiver answered 2xx.
    pub delivered: bool,
    /// The receiver's status, when it answered.
    pub status_code: Option<u16>,
    /// Why it was not delivered, in a few words.
    pub error: Option<String>,
    pub duration_ms: u64,
}

impl Sender {
    /// A sender with the 10 s timeout. `allow_private` lets webhooks reach
    /// loopback, private and link-local addresses.
    pub fn new(allow_private: bool) -> Result<Sender, String> {
        Sender::with_timeout(allow_private, TIMEOUT)
    }

    /// A sender with another total timeout per attempt (tests).
    pub fn with_timeout(allow_private: bool, timeout: Duration) -> Result<Sender, String> {
        // reqwest is built with rustls and no provider of its own: ring,
        // as elsewhere in the server (keeping one already installed).
        let _ = rustls::crypto::ring::default_provider().install_default();
        let client = reqwest::Client::builder()
            .redirect(Policy::none())
            .no_proxy()
            .timeout(timeout)
            .user_agent(USER_AGENT)
            .dns_resolver(Arc::new(CheckedResolver { allow_private }))
            .build()
            .map_err(|e| {
                let why: Vec<String> = causes(&e).map(ToString::to_string).collect();
                format!("cannot build the webhook HTTP client: {}", why.join(": "))
            })?;
        Ok(Sender {
            client,
            allow_private,
            timeout,
        })
    }

    /// POSTs the body, signed, and says how it went. Never panics; every
    /// failure is an `Attempt` with `delivered: false` and an error.
    pub async fn send(&self, t: &Target<'_>) -> Attempt {
        let start = Instant::now();
        let (status_code, error) = match self.try_send(t).await {
            Ok(status) if (200..300).contains(&status) => (Some(status), None),
            Ok(status) if (300..400).contains(&status) => (
                Some(status),
                Some(format!("HTTP {status}: redirects are not followed")),
            ),
            Ok(status) => (Some(status), Some(format!("HTTP {status}"))),
            Err(e) => (None, Some(e)),
        };
        Attempt {
            delivered: error.is_none(),
            status_code,
            error,
            duration_ms: u64::try_from(start.elapsed().as_millis()).unwrap_or(u64::MAX),
        }
    }

    async fn try_send(&self, t: &Target<'_>) -> Result<u16, String> {
        let url = parse_url(t.url, self.allow_private)?;
        let signature = signature(t.secret, t.event_id, t.timestamp, t.body)?;
        let request = self
            .client
            .post(url)
            .header("content-type", "application/json")
            .header("webhook-id", t.event_id)
            .header("webhook-timestamp", t.timestamp.to_string())
            .header("webhook-signature", signature)
            .body(t.body.to_vec());
        // reqwest's timeout covers the request and its body; this deadline
        // also covers anything else that could hang.
        let deadline = tokio::time::Instant::now() + self.timeout;
        let mut response = tokio::time::timeout_at(deadline, request.send())
            .await
            .map_err(|_| timed_out(self.timeout))?
            .map_err(|e| self.describe(&e))?;
        let status = response.status().as_u16();
        // Read only so a short answer leaves the connection reusable: the
        // status has said what the receiver did with the event, so how the
        // body ends (or that it never does) changes nothing.
        let _ = tokio::time::timeout_at(deadline, async {
            let mut read = 0;
            while read < BODY_LIMIT {
                match response.chunk().await {
                    Ok(Some(chunk)) => read += chunk.len(),
                    _ => break,
                }
            }
        })
        .await;
        Ok(status)
    }

    /// A short, clear reason for a failed request.
    fn describe(&self, e: &reqwest::Error) -> String {
        for cause in causes(e) {
            if let Some(refused) = cause.downcast_ref::<ResolveError>() {
                return refused.0.clone();
            }
            if let Some(tls) = cause.downcast_ref::<rustls::Error>() {
                return format!("TLS: {tls}");
            }
            if let Some(io) = cause.downcast_ref::<std::io::Error>() {
                match io.kind() {
                    std::io::ErrorKind::ConnectionRefused => return "connection refused".into(),
                    std::io::ErrorKind::ConnectionReset => return "connection reset".into(),
                    std::io::ErrorKind::TimedOut => return timed_out(self.timeout),
                    _ => {}
                }
            }
        }
        if e.is_timeout() {
            return timed_out(self.timeout);
        }
        let what = if e.is_connect() {
            "cannot connect"
        } else {
            "request failed"
        };
        let innermost = causes(e).last().map(ToString::to_string);
        format!("{what}: {}", innermost.unwrap_or_default())
    }
}

/// An error and its causes, outermost first. An `io::Error`'s `source`
/// skips the error it wraps (and its wrapper may wrap another), so its
/// inner error is taken instead.
fn causes<'a>(
    e: &'a (dyn StdError + 'static),
) -> impl Iterator<Item = &'a (dyn StdError + 'static)> {
    std::iter::successors(Some(e), |&cause| {
        match cause.downcast_ref::<std::io::Error>() {
            Some(io) => io.get_ref().map(|inner| inner as &(dyn StdError + 'static)),
            None => cause.source(),
        }
    })
}

fn timed_out(timeout: Duration) -> String {
    if timeout.subsec_millis() == 0 {
        format!("timed out after {} s", timeout.as_secs())
    } else {
        format!("timed out after {} ms", timeout.as_millis())
    }
}

/// The `webhook-signature` header's value, `v1,` and the base64 of
/// HMAC-SHA256(key, "<id>.<timestamp>.<body>"), the key being the base64
/// after `whsec_` (Standard Webhooks).
pub fn signature(
    secret: &str,
    event_id: &str,
    timestamp: i64,
    body: &[u8],
) -> Result<String, String> {
    let key = secret_key(secret)?;
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, &key);
    let mut ctx = ring::hmac::Context::with_key(&key);
    ctx.update(event_id.as_bytes());
    ctx.update(b".");
    ctx.update(timestamp.to_string().as_bytes());
    ctx.update(b".");
    ctx.update(body);
    Ok(format!("v1,{}", STANDARD.encode(ctx.sign().as_ref())))
}

/// The key of a `whsec_…` secret (padding optional, as receivers' libraries
/// accept it).
fn secret_key(secret: &str) -> Result<Vec<u8>, String> {
    const LENIENT: GeneralPurpose = GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
    );
    let bad = || "the webhook's secret is not whsec_ followed by base64".to_string();
    let encoded = secret.strip_prefix(SECRET_PREFIX).ok_or_else(bad)?;
    let key = LENIENT.decode(encoded).map_err(|_| bad())?;
    if key.is_empty() {
        return Err(bad());
    }
    Ok(key)
}

/// Checks a webhook URL before it is stored: `http` or `https`, a host,
/// and, unless `allow_private`, no literal address (or `localhost` name) in
/// a refused class. Names are resolved and checked again at send time.
pub fn check_url(url: &str, allow_private: bool) -> Result<(), String> {
    let parsed = parse_url(url, allow_private)?;
    if !allow_private
        && let Some(host) = parsed.host_str()
        && is_localhost_name(host)
    {
        return Err(format!("refused: {host} is a loopback address"));
    }
    Ok(())
}

fn is_localhost_name(host: &str) -> bool {
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    host == "localhost" || host.ends_with(".localhost")
}

/// Parses a target URL and checks a literal IP host (which reqwest
/// connects to without asking the resolver).
fn parse_url(url: &str, allow_private: bool) -> Result<Url, String> {
    let parsed = Url::parse(url).map_err(|e| format!("not a valid URL: {e}"))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(format!(
            "the URL's scheme must be http or https, not {}",
            parsed.scheme()
        ));
    }
    // The URL parser has already turned every IPv4 spelling (0x7f.1,
    // 2130706433) into dotted decimal, and put IPv6 in brackets.
    let host = parsed
        .host_str()
        .filter(|h| !h.is_empty())
        .ok_or("the URL has no host")?;
    let ip = host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .parse::<IpAddr>()
        .ok();
    if let Some(ip) = ip
        && !allow_private
        && let Some(class) = refused_class(ip)
    {
        return Err(format!("refused: {ip} is {class} address"));
    }
    Ok(parsed)
}

/// The class of an address webhooks may not reach, with its article
/// ("a private"), or `None` for a public address.
pub fn refused_class(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => refused_v4(v4),
        IpAddr::V6(v6) => refused_v6(v6),
    }
}

fn refused_v4(ip: Ipv4Addr) -> Option<&'static str> {
    let [a, b, ..] = ip.octets();
    if a == 0 {
        Some("an unspecified")
    } else if ip.is_loopback() {
        Some("a loopback")
    } else if ip.is_private() {
        Some("a private")
    } else if a == 100 && (64..128).contains(&b) {
        Some("a shared (carrier-grade NAT)")
    } else if ip.is_link_local() {
        Some("a link-local")
    } else if ip.is_multicast() {
        Some("a multicast")
    } else if ip.is_broadcast() {
        Some("a broadcast")
    } else if a >= 240 {
        Some("a reserved")
    } else {
        None
    }
}

fn refused_v6(ip: Ipv6Addr) -> Option<&'static str> {
    let seg = ip.segments();
    if ip.is_unspecified() {
        return Some("an unspecified");
    }
    if ip.is_loopback() {
        return Some("a loopback");
    }
    // IPv4-mapped (::ffff:a.b.c.d), IPv4-compatible (::a.b.c.d) and NAT64
    // (64:ff9b::a.b.c.d) addresses reach the IPv4 address inside them.
    let embedded = seg[..5] == [0; 5] && (seg[5] == 0xffff || seg[5] == 0)
        || seg[..6] == [0x64, 0xff9b, 0, 0, 0, 0];
    if embedded {
        let [.., hi, lo] = seg;
        let v4 = Ipv4Addr::from((u32::from(hi) << 16) | u32::from(lo));
        return refused_v4(v4);
    }
    match seg[0] {
        s if s & 0xffc0 == 0xfe80 => Some("a link-local"),
        s if s & 0xffc0 == 0xfec0 => Some("a private (site-local)"),
        s if s & 0xfe00 == 0xfc00 => Some("a private (unique local)"),
        s if s & 0xff00 == 0xff00 => Some("a multicast"),
        _ => None,
    }
}

/// The resolver of the webhook client: the system's lookup, then every
/// address checked.
struct CheckedResolver {
    allow_private: bool,
}

/// Why a name was not resolved to a usable address; its text is the
/// attempt's error as it stands.
#[derive(Debug)]
struct ResolveError(String);

impl fmt::Display for ResolveError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl StdError for ResolveError {}

impl Resolve for CheckedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let host = name.as_str().to_string();
        let allow_private = self.allow_private;
        Box::pin(async move {
            // Boxed as the trait object itself (not a Box of a Box), so
            // `describe` finds it by downcasting.
            let fail = |message: String| -> Box<dyn StdError + Send + Sync> {
                Box::new(ResolveError(message))
            };
            let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0))
                .await
                .map_err(|e| fail(format!("cannot resolve {host}: {e}")))?
                .collect();
            if addrs.is_empty() {
                return Err(fail(format!("cannot resolve {host}: no address")));
            }
            if !allow_private {
                for addr in &addrs {
                    if let Some(class) = refused_class(addr.ip()) {
                        let ip = addr.ip();
                        return Err(fail(format!(
                            "refused: {host} resolves to {ip}, {class} address"
                        )));
                    }
                }
            }
            let addrs: Addrs = Box::new(addrs.into_iter());
            Ok(addrs)
        })
    }
}
