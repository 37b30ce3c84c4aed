//! `cargo run --release -p verdict-bench --bin verdict-registry-bench -- [N]`
//!
//! The cost of recording one request in `/metrics`: the server's registry
//! (`prometheus-client`) against the hand-written one it replaced (kept
//! below, as it was, as the baseline). Each of N requests (default
//! 1,000,000) counts by route, method and status and observes its latency
//! by route, over a realistic mix of routes, on 1 and on 2 threads (the
//! server's runtime runs one worker per core). Rounds alternate old and new
//! so a noisy machine hurts both alike; prints each round and the medians in
//! ns per request, and the ratio new ÷ old. Also times one scrape (the
//! exposition text) of each.

use std::time::{Duration, Instant};

use verdict_server::metrics::Metrics;
use verdict_store::PoolStatus;

const ROUNDS: usize = 7;

/// Routes, methods and statuses as a test-results workload hits them.
const MIX: [(&str, &str, u16); 8] = [
    ("/v1/runs/{rid}/results/{id}", "PATCH", 200),
    ("/v1/runs/{rid}/results/{id}", "PATCH", 200),
    ("/v1/runs/{rid}/results/{id}", "PATCH", 200),
    ("/v1/runs/{rid}/results/bulk", "POST", 200),
    ("/v1/runs/{rid}/results", "GET", 200),
    ("/v1/runs/{rid}/results/{id}", "GET", 404),
    ("/v1/me", "GET", 200),
    ("/v1/projects/{pid}/runs", "POST", 201),
];

trait Registry: Sync {
    fn observe(&self, route: &str, method: &str, status: u16, latency: Duration);
    fn scrape(&self) -> String;
}

impl Registry for Metrics {
    fn observe(&self, route: &str, method: &str, status: u16, latency: Duration) {
        Metrics::observe(self, route, method, status, latency);
    }
    fn scrape(&self) -> String {
        self.encode(PoolStatus {
            in_use: 1,
            idle: 3,
            max: 4,
            waiting: 0,
        })
    }
}

impl Registry for old::Metrics {
    fn observe(&self, route: &str, method: &str, status: u16, latency: Duration) {
        old::Metrics::observe(self, route, method, status, latency);
    }
    fn scrape(&self) -> String {
        self.render()
    }
}

/// ns per request for `n` requests split over `threads` threads.
fn time(registry: &dyn Registry, n: usize, threads: usize) -> f64 {
    let per_thread = n / threads;
    let start = Instant::now();
    std::thread::scope(|s| {
        for t in 0..threads {
            s.spawn(move || {
                // Latencies spread over the buckets, 50 µs to ~13 ms.
                let mut x: u64 = 0x9e37_79b9_7f4a_7c15 ^ t as u64;
                for i in 0..per_thread {
                    x = x
                        .wrapping_mul(6_364_136_223_846_793_005)
                        .wrapping_add(1_442_695_040_888_963_407);
                    let (route, method, status) = MIX[i % MIX.len()];
                    let latency = Duration::from_micros(50 + (x >> 51));
                    registry.observe(route, method, status, latency);
                }
            });
        }
    });
    start.elapsed().as_nanos() as f64 / (per_thread * threads) as f64
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(1_000_000);
    println!("{n} requests a round, {ROUNDS} rounds, old and new alternating");
    for threads in [1, 2] {
        let (mut olds, mut news) = (Vec::new(), Vec::new());
        for round in 0..ROUNDS {
            // A fresh registry each round, as at a server's start.
            let (o, m) = (old::Metrics::default(), Metrics::default());
            let (a, b) = if round % 2 == 0 {
                let a = time(&o, n, threads);
                (a, time(&m, n, threads))
            } else {
                let b = time(&m, n, threads);
                (time(&o, n, threads), b)
            };
            println!("  {threads} thread(s), round {round}: old {a:.1} ns, new {b:.1} ns");
            olds.push(a);
            news.push(b);
        }
        let (o, m) = (median(olds), median(news));
        println!(
            "{threads} thread(s): median ns/request: old {o:.1}, new {m:.1}; new ÷ old = {:.2}",
            m / o
        );
    }
    let (o, m) = (old::Metrics::default(), Metrics::default());
    time(&o, 100_000, 1);
    time(&m, 100_000, 1);
    let scrape = |r: &dyn Registry| {
        let times: Vec<f64> = (0..51)
            .map(|_| {
                let start = Instant::now();
                std::hint::black_box(r.scrape());
                start.elapsed().as_secs_f64() * 1e6
            })
            .collect();
        median(times)
    };
    println!(
        "one scrape (8 series of requests, 6 histograms): old {:.1} µs (requests and latency only), \
         new {:.1} µs (every metric, process_* read from /proc)",
        scrape(&o),
        scrape(&m)
    );
}

/// The hand-written registry `/metrics` used before `prometheus-client`,
/// as it was (requests and latency, the part a request pays for).
mod old {
    use std::collections::HashMap;
    use std::fmt::Write;
    use std::sync::Mutex;
    use std::time::Duration;

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

        fn label(v: &str) -> String {
            v.replace('\\', "\\\\")
                .replace('"', "\\\"")
                .replace('\n', "\\n")
        }

        pub fn render(&self) -> String {
            let mut out = String::new();
            if let Ok(requests) = self.requests.lock() {
                let mut rows: Vec<_> = requests.iter().collect();
                rows.sort();
                for ((route, method, status), n) in rows {
                    let _ = writeln!(
                        out,
                        "verdict_http_requests_total{{route=\"{}\",method=\"{}\",status=\"{status}\"}} {n}",
                        Self::label(route),
                        Self::label(method)
                    );
                }
            }
            if let Ok(latency) = self.latency.lock() {
                let mut rows: Vec<_> = latency.iter().collect();
                rows.sort_by(|a, b| a.0.cmp(b.0));
                for (route, h) in rows {
                    let route = Self::label(route);
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
            out
        }
    }
}
