//! The server under test: the release `verdict serve` binary as a child
//! process (its own runtime, its own memory), its address, its per-request
//! log lines (for server-side latency) and its resident memory read from
//! `/proc/<pid>/status`.

use std::collections::VecDeque;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// The admin token the server is started with.
pub const TOKEN: &str = "vdt_bench_admin_token_0123456789abcdef";

/// Bulk requests of 100,000 results are one request in this benchmark.
pub const MAX_BULK: usize = 100_000;

/// One `verdict::http` log line: what the server itself measured.
#[derive(Debug, Clone)]
pub struct LogLine {
    pub method: String,
    pub route: String,
    pub latency_us: u64,
}

#[derive(Default)]
struct Log {
    requests: Vec<LogLine>,
    /// The last other lines, to explain a failure.
    other: VecDeque<String>,
}

pub struct Server {
    child: Child,
    pub base: String,
    pub pid: u32,
    log: Arc<Mutex<Log>>,
}

/// A binary built next to this one (`target/release/NAME`).
pub fn sibling_binary(name: &str) -> Result<PathBuf, String> {
    let exe = std::env::current_exe().map_err(|e| format!("cannot find the benchmark: {e}"))?;
    let dir = exe.parent().ok_or("the benchmark has no directory")?;
    let path = dir.join(name);
    if path.is_file() {
        Ok(path)
    } else {
        Err(format!(
            "{} is missing: run `cargo build --release -p verdict` first",
            path.display()
        ))
    }
}

/// `key=value` out of a tracing line; quotes are dropped.
fn field<'a>(line: &'a str, key: &str) -> Option<&'a str> {
    let start = line.find(&format!(" {key}="))? + key.len() + 2;
    let rest = &line[start..];
    let value = match rest.strip_prefix('"') {
        Some(quoted) => &quoted[..quoted.find('"')?],
        None => rest.split_whitespace().next()?,
    };
    Some(value)
}

fn parse_request(line: &str) -> Option<LogLine> {
    if !line.contains("verdict::http") {
        return None;
    }
    Some(LogLine {
        method: field(line, "method")?.to_string(),
        route: field(line, "route")?.to_string(),
        latency_us: field(line, "latency_us")?.parse().ok()?,
    })
}

impl Server {
    /// Starts `verdict serve` on `database_url`, on a free loopback port.
    pub fn start(database_url: &str) -> Result<Server, String> {
        let bin = sibling_binary("verdict")?;
        let mut child = Command::new(&bin)
            .args(["serve", "--listen", "127.0.0.1:0", "--database-url"])
            .arg(database_url)
            // The webhooks workload's receiver is on loopback.
            .arg("--webhook-allow-private")
            .env("VERDICT_MAX_BULK_RESULTS", MAX_BULK.to_string())
            // The limiter stays in the path (its cost counts) but never
            // refuses: one token is the whole load here.
            .env("VERDICT_RATE_LIMIT_PER_MINUTE", "1000000000")
            .env("VERDICT_RATE_LIMIT_BURST", "1000000")
            .env("VERDICT_ADMIN_TOKEN", TOKEN)
            .env("VERDICT_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", bin.display()))?;
        let pid = child.id();
        let log = Arc::new(Mutex::new(Log::default()));
        if let Some(stderr) = child.stderr.take() {
            let log = Arc::clone(&log);
            std::thread::spawn(move || {
                for line in BufReader::new(stderr).lines() {
                    let Ok(line) = line else { break };
                    let Ok(mut log) = log.lock() else { break };
                    match parse_request(&line) {
                        Some(req) => log.requests.push(req),
                        None => {
                            log.other.push_back(line);
                            if log.other.len() > 40 {
                                log.other.pop_front();
                            }
                        }
                    }
                }
            });
        }
        let stdout = child.stdout.take().ok_or("no stdout from the server")?;
        let (tx, rx) = mpsc::channel();
        // Reads until the address, then keeps draining so the server never blocks.
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if let Some(addr) = line.strip_prefix("Verdict listening on ") {
                    let _ = tx.send(addr.trim().to_string());
                }
            }
        });
        let mut server = Server {
            child,
            base: String::new(),
            pid,
            log,
        };
        match rx.recv_timeout(Duration::from_secs(60)) {
            Ok(base) => {
                server.base = base;
                Ok(server)
            }
            Err(_) => {
                let _ = server.child.kill();
                let _ = server.child.wait();
                std::thread::sleep(Duration::from_millis(100));
                Err(format!("the server did not start:\n{}", server.log_tail()))
            }
        }
    }

    /// The last non-request lines of the server's log.
    pub fn log_tail(&self) -> String {
        self.log
            .lock()
            .map(|l| l.other.iter().cloned().collect::<Vec<_>>().join("\n"))
            .unwrap_or_default()
    }

    /// Fails when the server process has exited.
    pub fn check_alive(&mut self) -> Result<(), String> {
        match self.child.try_wait() {
            Ok(None) => Ok(()),
            Ok(Some(status)) => Err(format!(
                "the server exited ({status}):\n{}",
                self.log_tail()
            )),
            Err(e) => Err(format!("cannot check the server: {e}")),
        }
    }

    /// Where the request log is now; pass it to [`Server::latencies_since`].
    pub fn log_mark(&self) -> usize {
        self.log.lock().map(|l| l.requests.len()).unwrap_or(0)
    }

    /// Server-side latencies (µs) of `method` requests to a route ending in
    /// `route_suffix` logged since `mark`. Waits (briefly) for `expected`
    /// of them: the log line is written before the response is sent, but
    /// read here by another thread.
    pub fn latencies_since(
        &self,
        mark: usize,
        method: &str,
        route_suffix: &str,
        expected: usize,
    ) -> Vec<u64> {
        let deadline = Instant::now() + Duration::from_secs(2);
        loop {
            let found: Vec<u64> = self
                .log
                .lock()
                .map(|l| {
                    l.requests
                        .get(mark..)
                        .unwrap_or_default()
                        .iter()
                        .filter(|r| r.method == method && r.route.ends_with(route_suffix))
                        .map(|r| r.latency_us)
                        .collect()
                })
                .unwrap_or_default();
            if found.len() >= expected || Instant::now() > deadline {
                return found;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// Resident memory now, in MiB.
    pub fn rss_mb(&self) -> Option<f64> {
        status_kb(self.pid, "VmRSS:").map(|kb| kb as f64 / 1024.0)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A `kB` line of `/proc/<pid>/status`.
fn status_kb(pid: u32, key: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with(key))?;
    line[key.len()..].split_whitespace().next()?.parse().ok()
}

/// CPU time (user + system) a process has used, in seconds; `pid` 0 is
/// this process. Reads `/proc/<pid>/stat` (clock ticks of 1/100 s).
pub fn cpu_seconds(pid: u32) -> Option<f64> {
    let who = if pid == 0 {
        "self".to_string()
    } else {
        pid.to_string()
    };
    let stat = std::fs::read_to_string(format!("/proc/{who}/stat")).ok()?;
    // Fields after the command name (which may hold spaces) in parentheses.
    let rest = &stat[stat.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks: u64 = f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?;
    Some(ticks as f64 / 100.0)
}

/// A task's (thread's or process's) name and the CPU time it has run, in
/// nanoseconds, from its `/proc` directory's `comm` and `schedstat`
/// (nanoseconds, not the 10 ms ticks of `stat`). `None` when it ended
/// meanwhile or the kernel has no schedstat.
fn task_ran_ns(dir: &std::path::Path) -> Option<(String, u64)> {
    let name = std::fs::read_to_string(dir.join("comm")).ok()?;
    let stat = std::fs::read_to_string(dir.join("schedstat")).ok()?;
    let ran = stat.split_whitespace().next()?.parse().ok()?;
    Some((name.trim().to_string(), ran))
}

/// CPU time each thread of a process has run, in nanoseconds, summed by
/// thread name (`verdict-writer`, `tokio-runtime-w`, …). Threads that
/// ended are missing: use it around spans in which the server's threads
/// live on. `None` without `/proc`.
pub fn thread_cpu_ns(pid: u32) -> Option<std::collections::BTreeMap<String, u64>> {
    let mut by_name = std::collections::BTreeMap::new();
    for task in std::fs::read_dir(format!("/proc/{pid}/task")).ok()? {
        let Ok(task) = task else { continue };
        if let Some((name, ran)) = task_ran_ns(&task.path()) {
            *by_name.entry(name).or_insert(0) += ran;
        }
    }
    Some(by_name)
}

/// CPU time all processes named `name` (`postgres`: the database's
/// backends and helpers on this machine) have run, in nanoseconds.
/// Processes that ended are missing: use it around spans whose
/// connections stay open. `None` without `/proc`.
pub fn processes_cpu_ns(name: &str) -> Option<u64> {
    let mut ran = 0;
    for entry in std::fs::read_dir("/proc").ok()? {
        let Ok(entry) = entry else { continue };
        let numeric = entry
            .file_name()
            .to_str()
            .is_some_and(|f| f.bytes().all(|b| b.is_ascii_digit()));
        if !numeric {
            continue;
        }
        if let Some((comm, ns)) = task_ran_ns(&entry.path())
            && comm == name
        {
            ran += ns;
        }
    }
    Some(ran)
}

/// Nanoseconds of CPU time as microseconds per operation.
pub fn us_per(ns: u64, ops: u64) -> f64 {
    ns as f64 / 1000.0 / ops.max(1) as f64
}

/// The CPU time between two [`thread_cpu_ns`] readings, in microseconds
/// per operation (`ops` done in between): the whole process's, and by
/// thread name.
pub fn cpu_us_per(
    before: &std::collections::BTreeMap<String, u64>,
    after: &std::collections::BTreeMap<String, u64>,
    ops: u64,
) -> (f64, std::collections::BTreeMap<String, f64>) {
    let by_name: std::collections::BTreeMap<String, f64> = after
        .iter()
        .map(|(name, ns)| {
            let ran = ns.saturating_sub(before.get(name).copied().unwrap_or(0));
            (name.clone(), us_per(ran, ops))
        })
        .collect();
    (by_name.values().sum(), by_name)
}

/// The peak resident memory of a process during a workload: VmRSS sampled
/// every 10 ms, and the kernel's high-water mark (VmHWM) reset at the start
/// through `/proc/<pid>/clear_refs` when allowed, so short spikes between
/// samples count too.
pub struct PeakRss {
    pid: u32,
    hwm_reset: bool,
    stop: Arc<AtomicBool>,
    sampler: JoinHandle<u64>,
}

impl PeakRss {
    pub fn start(pid: u32) -> PeakRss {
        let hwm_reset = std::fs::write(format!("/proc/{pid}/clear_refs"), "5").is_ok();
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let sampler = std::thread::spawn(move || {
            let mut peak = 0;
            while !flag.load(Ordering::Relaxed) {
                peak = peak.max(status_kb(pid, "VmRSS:").unwrap_or(0));
                std::thread::sleep(Duration::from_millis(10));
            }
            peak.max(status_kb(pid, "VmRSS:").unwrap_or(0))
        });
        PeakRss {
            pid,
            hwm_reset,
            stop,
            sampler,
        }
    }

    /// The peak since [`PeakRss::start`], in MiB.
    pub fn stop(self) -> f64 {
        self.stop.store(true, Ordering::Relaxed);
        let sampled = self.sampler.join().unwrap_or(0);
        let hwm = if self.hwm_reset {
            status_kb(self.pid, "VmHWM:").unwrap_or(0)
        } else {
            0
        };
        sampled.max(hwm) as f64 / 1024.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_request_log_line() {
        let line = r#"2026-11-28T16:05:43.535432Z  INFO verdict::http: request method=GET route="/v1/runs/{rid}/results" status=200 latency_us=749"#;
        let req = parse_request(line).expect("a request line");
        assert_eq!(req.method, "GET");
        assert_eq!(req.route, "/v1/runs/{rid}/results");
        assert_eq!(req.latency_us, 749);
        assert!(parse_request("2026 INFO verdict::serve: listening addr=1").is_none());
    }
}
