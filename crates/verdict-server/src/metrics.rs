//! Prometheus metrics at `/metrics` (text exposition format, no token):
//! requests by route, method and status, a latency histogram by route,
//! results written, the database pool, and the connections the server holds
//! (open, the limit, closed by a timeout). Counters live in this process;
//! each instance is scraped on its own.

use std::collections::HashMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};

use crate::state::AppState;

/// Upper bounds of the latency buckets, in seconds.
const BUCKETS: [f64; 12] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0,
];

#[derive(Default)]
struct Histogram {
    counts: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
}

#[derive(Default)]
pub struct Metrics {
    requests: Mutex<HashMap<(String, String, u16), u64>>,
    latency: Mutex<HashMap<String, Histogram>>,
    results_written: AtomicU64,
    connections: Connections,
}

/// The accept loop's counts (`listener`).
#[derive(Default)]
struct Connections {
    open: AtomicU64,
    max: AtomicU64,
    accepted: AtomicU64,
    limit_reached: AtomicU64,
    header_timeouts: AtomicU64,
    idle_timeouts: AtomicU64,
}

impl Metrics {
    pub fn observe(&self, route: &str, method: &str, status: u16, latency: Duration) {
        if let Ok(mut m) = self.requests.lock() {
            *m.entry((route.to_string(), method.to_string(), status))
                .or_default() += 1;
        }
        if let Ok(mut m) = self.latency.lock() {
            let h = m.entry(route.to_string()).or_default();
            let secs = latency.as_secs_f64();
            for (i, bound) in BUCKETS.iter().enumerate() {
                if secs <= *bound {
                    h.counts[i] += 1;
                }
            }
            h.count += 1;
            h.sum += secs;
        }
    }

    /// Executions recorded (PATCH, bulk and import entries applied).
    pub fn results_written(&self, n: u64) {
        self.results_written.fetch_add(n, Ordering::Relaxed);
    }

    pub(crate) fn set_connection_limit(&self, max: u32) {
        self.connections
            .max
            .store(u64::from(max), Ordering::Relaxed);
    }

    pub(crate) fn connection_opened(&self) {
        self.connections.accepted.fetch_add(1, Ordering::Relaxed);
        self.connections.open.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn connection_closed(&self) {
        self.connections.open.fetch_sub(1, Ordering::Relaxed);
    }

    pub(crate) fn connection_limit_reached(&self) {
        self.connections
            .limit_reached
            .fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn header_timeout(&self) {
        self.connections
            .header_timeouts
            .fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn idle_timeout(&self) {
        self.connections
            .idle_timeouts
            .fetch_add(1, Ordering::Relaxed);
    }
}

/// Escapes a label value for the exposition format.
fn label(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// One unlabelled metric: its HELP and TYPE lines and its value.
fn one(out: &mut String, name: &str, kind: &str, help: &str, value: impl std::fmt::Display) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
    let _ = writeln!(out, "{name} {value}");
}

/// Prometheus metrics of this instance.
#[utoipa::path(
    get, path = "/metrics", tag = "operations", operation_id = "metrics",
    summary = "Prometheus metrics (text exposition format)",
    responses((status = 200, description = "Requests by route, method and status; latency; results written; database connections.",
        content_type = "text/plain", body = String)),
)]
pub async fn render(State(state): State<AppState>) -> Response {
    let m = &state.metrics;
    let mut out = String::new();
    out.push_str(
        "# HELP verdict_http_requests_total HTTP requests by matched route, method and status.\n",
    );
    out.push_str("# TYPE verdict_http_requests_total counter\n");
    if let Ok(requests) = m.requests.lock() {
        let mut rows: Vec<_> = requests.iter().collect();
        rows.sort();
        for ((route, method, status), n) in rows {
            let _ = writeln!(
                out,
                "verdict_http_requests_total{{route=\"{}\",method=\"{}\",status=\"{status}\"}} {n}",
                label(route),
                label(method)
            );
        }
    }
    out.push_str(
        "# HELP verdict_http_request_duration_seconds Time to answer, by matched route.\n",
    );
    out.push_str("# TYPE verdict_http_request_duration_seconds histogram\n");
    if let Ok(latency) = m.latency.lock() {
        let mut rows: Vec<_> = latency.iter().collect();
        rows.sort_by(|a, b| a.0.cmp(b.0));
        for (route, h) in rows {
            let route = label(route);
            for (i, bound) in BUCKETS.iter().enumerate() {
                let _ = writeln!(
                    out,
                    "verdict_http_request_duration_seconds_bucket{{route=\"{route}\",le=\"{bound}\"}} {}",
                    h.counts[i]
                );
            }
            let _ = writeln!(
                out,
                "verdict_http_request_duration_seconds_bucket{{route=\"{route}\",le=\"+Inf\"}} {}",
                h.count
            );
            let _ = writeln!(
                out,
                "verdict_http_request_duration_seconds_sum{{route=\"{route}\"}} {}",
                h.sum
            );
            let _ = writeln!(
                out,
                "verdict_http_request_duration_seconds_count{{route=\"{route}\"}} {}",
                h.count
            );
        }
    }
    let load = |n: &AtomicU64| n.load(Ordering::Relaxed);
    one(
        &mut out,
        "verdict_results_written_total",
        "counter",
        "Executions recorded (PATCH, bulk and import entries).",
        load(&m.results_written),
    );
    let pool = state.store.pool_status();
    out.push_str("# HELP verdict_db_connections Database connections of this process by state.\n");
    out.push_str("# TYPE verdict_db_connections gauge\n");
    let _ = writeln!(
        out,
        "verdict_db_connections{{state=\"in_use\"}} {}",
        pool.in_use
    );
    let _ = writeln!(
        out,
        "verdict_db_connections{{state=\"idle\"}} {}",
        pool.idle
    );
    one(
        &mut out,
        "verdict_db_connections_max",
        "gauge",
        "Most connections the pool opens.",
        pool.max,
    );
    one(
        &mut out,
        "verdict_db_waiting",
        "gauge",
        "Requests waiting for the database (queued writes or pool waiters).",
        pool.waiting,
    );
    let c = &m.connections;
    one(
        &mut out,
        "verdict_connections_open",
        "gauge",
        "Client connections open now.",
        load(&c.open),
    );
    one(
        &mut out,
        "verdict_connections_max",
        "gauge",
        "Most client connections open at once (--max-connections).",
        load(&c.max),
    );
    one(
        &mut out,
        "verdict_connections_accepted_total",
        "counter",
        "Client connections accepted.",
        load(&c.accepted),
    );
    one(
        &mut out,
        "verdict_connections_limit_reached_total",
        "counter",
        "Times the server reached --max-connections and stopped accepting until a connection closed.",
        load(&c.limit_reached),
    );
    out.push_str("# HELP verdict_connection_timeouts_total Connections closed for sending no complete request headers in time (headers) or no request while kept alive (idle).\n");
    out.push_str("# TYPE verdict_connection_timeouts_total counter\n");
    let _ = writeln!(
        out,
        "verdict_connection_timeouts_total{{phase=\"headers\"}} {}",
        load(&c.header_timeouts)
    );
    let _ = writeln!(
        out,
        "verdict_connection_timeouts_total{{phase=\"idle\"}} {}",
        load(&c.idle_timeouts)
    );
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        out,
    )
        .into_response()
}
