//! Prometheus metrics at `/metrics` (text exposition format 0.0.4, no
//! token): requests by route, method and status, a latency histogram by
//! route, results written, the database pool, the connections the server
//! holds (open, the limit, closed by a timeout), the build, and the standard
//! `process_*` metrics (on Linux). Counters live in this process; each
//! instance is scraped on its own.
//!
//! The registry and the encoding are the Prometheus project's own Rust
//! client (`prometheus-client`); this module only names the metrics.
//! `prometheus-client` ends every HELP text with a period itself, so the
//! texts below have none.

mod process;

use std::borrow::Cow;
use std::time::Duration;

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use prometheus_client::encoding::{EncodeLabelSet, prometheus_text};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::metrics::info::Info;
use prometheus_client::registry::Registry;
use verdict_store::PoolStatus;

use crate::state::AppState;

/// Upper bounds of the latency buckets, in seconds (`+Inf` is implicit).
pub const BUCKETS: [f64; 12] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0,
];

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    route: String,
    method: Cow<'static, str>,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabel {
    route: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StateLabel {
    state: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PhaseLabel {
    phase: &'static str,
}

type U64Gauge = Gauge<u64, std::sync::atomic::AtomicU64>;

/// This process's metrics; one per [`AppState`](crate::AppState).
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: Family<RouteLabel, Histogram, fn() -> Histogram>,
    results_written: Counter,
    db_in_use: U64Gauge,
    db_idle: U64Gauge,
    db_connections_max: U64Gauge,
    db_waiting: U64Gauge,
    connections_open: U64Gauge,
    connections_max: U64Gauge,
    connections_accepted: Counter,
    connections_limit_reached: Counter,
    header_timeouts: Counter,
    idle_timeouts: Counter,
}

fn latency_histogram() -> Histogram {
    Histogram::new(BUCKETS)
}

const HEADERS: PhaseLabel = PhaseLabel { phase: "headers" };
const IDLE: PhaseLabel = PhaseLabel { phase: "idle" };
const IN_USE: StateLabel = StateLabel { state: "in_use" };
const IDLE_STATE: StateLabel = StateLabel { state: "idle" };

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::default();
        let requests = Family::default();
        registry.register(
            "verdict_http_requests",
            "HTTP requests by matched route, method and status",
            requests.clone(),
        );
        let latency = Family::new_with_constructor(latency_histogram as fn() -> Histogram);
        registry.register(
            "verdict_http_request_duration_seconds",
            "Time to answer, by matched route",
            latency.clone(),
        );
        let results_written = Counter::default();
        registry.register(
            "verdict_results_written",
            "Executions recorded (PATCH, bulk and import entries)",
            results_written.clone(),
        );
        let db_connections = Family::<StateLabel, U64Gauge>::default();
        // Handles to both series: they are shown from the start.
        let db_in_use = db_connections.get_or_create_owned(&IN_USE);
        let db_idle = db_connections.get_or_create_owned(&IDLE_STATE);
        registry.register(
            "verdict_db_connections",
            "Database connections of this process by state",
            db_connections.clone(),
        );
        let db_connections_max = U64Gauge::default();
        registry.register(
            "verdict_db_connections_max",
            "Most connections the pool opens",
            db_connections_max.clone(),
        );
        let db_waiting = U64Gauge::default();
        registry.register(
            "verdict_db_waiting",
            "Requests waiting for the database (queued writes or pool waiters)",
            db_waiting.clone(),
        );
        let connections_open = U64Gauge::default();
        registry.register(
            "verdict_connections_open",
            "Client connections open now",
            connections_open.clone(),
        );
        let connections_max = U64Gauge::default();
        registry.register(
            "verdict_connections_max",
            "Most client connections open at once (--max-connections)",
            connections_max.clone(),
        );
        let connections_accepted = Counter::default();
        registry.register(
            "verdict_connections_accepted",
            "Client connections accepted",
            connections_accepted.clone(),
        );
        let connections_limit_reached = Counter::default();
        registry.register(
            "verdict_connections_limit_reached",
            "Times the server reached --max-connections and stopped accepting until a connection closed",
            connections_limit_reached.clone(),
        );
        let connection_timeouts = Family::<PhaseLabel, Counter>::default();
        let header_timeouts = connection_timeouts.get_or_create_owned(&HEADERS);
        let idle_timeouts = connection_timeouts.get_or_create_owned(&IDLE);
        registry.register(
            "verdict_connection_timeouts",
            "Connections closed for sending no complete request headers in time (headers) or no request while kept alive (idle)",
            connection_timeouts.clone(),
        );
        registry.register(
            "verdict_build",
            "The running build: its version in a label, the value always 1",
            Info::new([("version", env!("CARGO_PKG_VERSION"))]),
        );
        registry.register_collector(Box::new(process::Collector));
        Self {
            registry,
            requests,
            latency,
            results_written,
            db_in_use,
            db_idle,
            db_connections_max,
            db_waiting,
            connections_open,
            connections_max,
            connections_accepted,
            connections_limit_reached,
            header_timeouts,
            idle_timeouts,
        }
    }
}

/// The method as a label without allocating for the standard ones.
fn method_label(method: &str) -> Cow<'static, str> {
    const KNOWN: [&str; 9] = [
        "GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "CONNECT", "TRACE",
    ];
    match KNOWN.iter().find(|m| **m == method) {
        Some(m) => Cow::Borrowed(m),
        None => Cow::Owned(method.to_owned()),
    }
}

impl Metrics {
    /// One answered request: counted by route, method and status, its
    /// latency observed by route.
    pub fn observe(&self, route: &str, method: &str, status: u16, latency: Duration) {
        let labels = RequestLabels {
            route: route.to_owned(),
            method: method_label(method),
            status,
        };
        self.requests.get_or_create(&labels).inc();
        let route = RouteLabel {
            route: labels.route,
        };
        self.latency
            .get_or_create(&route)
            .observe(latency.as_secs_f64());
    }

    /// Executions recorded (PATCH, bulk and import entries applied).
    pub fn results_written(&self, n: u64) {
        self.results_written.inc_by(n);
    }

    pub(crate) fn set_connection_limit(&self, max: u32) {
        self.connections_max.set(u64::from(max));
    }

    pub(crate) fn connection_opened(&self) {
        self.connections_accepted.inc();
        self.connections_open.inc();
    }

    pub(crate) fn connection_closed(&self) {
        self.connections_open.dec();
    }

    pub(crate) fn connection_limit_reached(&self) {
        self.connections_limit_reached.inc();
    }

    pub(crate) fn header_timeout(&self) {
        self.header_timeouts.inc();
    }

    pub(crate) fn idle_timeout(&self) {
        self.idle_timeouts.inc();
    }

    /// The exposition text, with the database pool as it is now.
    pub fn encode(&self, pool: PoolStatus) -> String {
        self.db_in_use.set(pool.in_use);
        self.db_idle.set(pool.idle);
        self.db_connections_max.set(pool.max);
        self.db_waiting.set(pool.waiting);
        let mut out = String::with_capacity(16 * 1024);
        // Writing to a String cannot fail; an error would be the encoder's
        // own, and the text so far is still the best answer.
        if let Err(e) = prometheus_text::encode(&mut out, &self.registry) {
            tracing::error!(error = %e, "encoding the metrics failed");
        }
        out
    }
}

/// Prometheus metrics of this instance.
#[utoipa::path(
    get, path = "/metrics", tag = "operations", operation_id = "metrics",
    summary = "Prometheus metrics (text exposition format)",
    responses((status = 200, description = "Requests by route, method and status; latency; results written; database connections.",
        content_type = "text/plain", body = String)),
)]
pub async fn render(State(state): State<AppState>) -> Response {
    let out = state.metrics.encode(state.store.pool_status());
    ([(header::CONTENT_TYPE, prometheus_text::CONTENT_TYPE)], out).into_response()
}
