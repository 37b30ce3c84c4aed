//! Protective layers around every route: a per-token rate limit (429 with
//! `Retry-After` and `RateLimit-*` headers), a request timeout, and security
//! headers. Rate limits are kept per instance, in memory.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

use crate::error::ApiError;
use crate::state::AppState;

/// A token bucket per bearer token (keyed by the token's hash, so the
/// limit costs no database lookup and holds for bad tokens too).
pub struct RateLimiter {
    per_second: f64,
    burst: f64,
    buckets: Mutex<HashMap<[u8; 32], (f64, Instant)>>,
}

/// What a request may do now.
struct Decision {
    allowed: bool,
    remaining: u64,
    /// Seconds until the bucket is full again (or, when refused, until one
    /// request is allowed).
    reset: u64,
}

impl RateLimiter {
    /// `per_minute` 0 turns the limit off.
    pub fn new(per_minute: u32, burst: u32) -> Self {
        Self::per_second(f64::from(per_minute) / 60.0, burst)
    }

    /// `per_hour` 0 turns the limit off.
    pub fn per_hour(per_hour: u32, burst: u32) -> Self {
        Self::per_second(f64::from(per_hour) / 3600.0, burst)
    }

    fn per_second(per_second: f64, burst: u32) -> Self {
        Self {
            per_second,
            burst: f64::from(burst.max(1)),
            buckets: Mutex::new(HashMap::new()),
        }
    }

    fn enabled(&self) -> bool {
        self.per_second > 0.0
    }

    fn check(&self, key: [u8; 32], now: Instant) -> Decision {
        self.take(key, now, true)
    }

    /// Whether a request under `key` would be allowed now, and how soon
    /// one will be if not; nothing is used up (see [`charge`](Self::charge)).
    pub(crate) fn peek(&self, key: [u8; 32], now: Instant) -> (bool, u64) {
        if !self.enabled() {
            return (true, 0);
        }
        let d = self.take(key, now, false);
        (d.allowed, d.reset)
    }

    /// Uses up one request under `key` (for limits that count only some
    /// outcomes, such as failed sign-ins).
    pub(crate) fn charge(&self, key: [u8; 32], now: Instant) {
        if self.enabled() {
            self.take(key, now, true);
        }
    }

    fn take(&self, key: [u8; 32], now: Instant, consume: bool) -> Decision {
        let Ok(mut buckets) = self.buckets.lock() else {
            return Decision {
                allowed: true,
                remaining: 0,
                reset: 0,
            };
        };
        if buckets.len() > 100_000 {
            // Forget buckets that have refilled: they hold no information.
            let (rate, burst) = (self.per_second, self.burst);
            buckets.retain(|_, (tokens, at)| {
                *tokens + now.duration_since(*at).as_secs_f64() * rate < burst
            });
        }
        let (tokens, at) = buckets.entry(key).or_insert((self.burst, now));
        *tokens =
            (*tokens + now.duration_since(*at).as_secs_f64() * self.per_second).min(self.burst);
        *at = now;
        let allowed = *tokens >= 1.0;
        if allowed && consume {
            *tokens -= 1.0;
        }
        let reset = if allowed {
            ((self.burst - *tokens) / self.per_second).ceil()
        } else {
            ((1.0 - *tokens) / self.per_second).ceil()
        };
        Decision {
            allowed,
            remaining: tokens.floor() as u64,
            reset: reset.max(1.0) as u64,
        }
    }

    fn limit(&self) -> u64 {
        self.burst as u64
    }
}

pub async fn rate_limit(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let limiter = &state.limiter;
    let token = req
        .headers()
        .get(header::AUTHORIZATION)
        .map(|v| Sha256::digest(v.as_bytes()).into());
    let (Some(key), true) = (token, limiter.enabled()) else {
        return next.run(req).await;
    };
    let d = limiter.check(key, Instant::now());
    let testrail = req.uri().path() == crate::testrail::PATH;
    let mut response = if d.allowed {
        next.run(req).await
    } else if testrail {
        crate::testrail::TrError::rate_limited(d.reset).into_response()
    } else {
        ApiError::RateLimited(format!(
            "too many requests for this token; retry in {} s",
            d.reset
        ))
        .into_response()
    };
    let headers = response.headers_mut();
    headers.insert("ratelimit-limit", HeaderValue::from(limiter.limit()));
    headers.insert("ratelimit-remaining", HeaderValue::from(d.remaining));
    headers.insert("ratelimit-reset", HeaderValue::from(d.reset));
    if !d.allowed {
        headers.insert(header::RETRY_AFTER, HeaderValue::from(d.reset));
    }
    response
}

/// The routes (POST) whose whole request is not bounded by the request
/// timeout: attachment uploads.
pub const UNTIMED: &[&str] = &[
    "/v1/runs/{rid}/results/{id}/attachments",
    // The web UI's form for the same.
    "/runs/{rid}/results/{id}/attachments",
];

/// Answers 503 `timeout` when a request takes longer than the limit. A
/// write already handed to the database still completes; retry with the
/// same Idempotency-Key to learn its outcome.
///
/// Uploads of attachments ([`UNTIMED`]) are exempt: a large file on a slow
/// link may take longer, and their bodies are cut instead when no byte
/// arrives for as long (see `attachments`).
pub async fn timeout(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let limit = state.limits.request_timeout;
    let untimed = req.method() == axum::http::Method::POST
        && req
            .extensions()
            .get::<MatchedPath>()
            .is_some_and(|p| UNTIMED.contains(&p.as_str()));
    if untimed {
        return next.run(req).await;
    }
    let testrail = req.uri().path() == crate::testrail::PATH;
    match tokio::time::timeout(limit, next.run(req)).await {
        Ok(response) => response,
        Err(_) if testrail => {
            crate::testrail::TrError::from(ApiError::Timeout(limit)).into_response()
        }
        Err(_) => ApiError::Timeout(limit).into_response(),
    }
}

/// Headers every answer carries; HTML also gets a strict CSP.
pub async fn security_headers(req: Request, next: Next) -> Response {
    let mut response = next.run(req).await;
    let is_html = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"));
    let h = response.headers_mut();
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    // An answer that set its own policy (an attachment's `sandbox`) keeps it.
    if is_html && !h.contains_key(header::CONTENT_SECURITY_POLICY) {
        h.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(
                "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; \
                 frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
            ),
        );
    }
    if !h.contains_key(header::CACHE_CONTROL) {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}
