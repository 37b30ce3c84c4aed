//! The standard `process_*` metrics, with the names, types and HELP texts
//! of the Prometheus Go client's process collector, so dashboards made for
//! any Prometheus client work: CPU time, memory, file descriptors and the
//! start time, read from `/proc` at each scrape. Elsewhere than Linux they
//! are absent, as is any one whose `/proc` file cannot be read.

use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;

#[derive(Debug)]
pub(super) struct Collector;

impl prometheus_client::collector::Collector for Collector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let p = Process::read();
        if let Some(v) = p.cpu_seconds {
            let m = ConstCounter::new(v);
            m.encode(encoder.encode_descriptor(
                "process_cpu_seconds",
                "Total user and system CPU time spent in seconds.",
                None,
                m.metric_type(),
            )?)?;
        }
        let gauges = [
            (
                "process_open_fds",
                "Number of open file descriptors.",
                p.open_fds,
            ),
            (
                "process_max_fds",
                "Maximum number of open file descriptors.",
                p.max_fds,
            ),
            (
                "process_virtual_memory_bytes",
                "Virtual memory size in bytes.",
                p.virtual_memory_bytes,
            ),
            (
                "process_resident_memory_bytes",
                "Resident memory size in bytes.",
                p.resident_memory_bytes,
            ),
        ];
        for (name, help, value) in gauges {
            if let Some(v) = value {
                let m = ConstGauge::new(v);
                m.encode(encoder.encode_descriptor(name, help, None, m.metric_type())?)?;
            }
        }
        if let Some(v) = p.start_time_seconds {
            let m = ConstGauge::new(v);
            m.encode(encoder.encode_descriptor(
                "process_start_time_seconds",
                "Start time of the process since unix epoch in seconds.",
                None,
                m.metric_type(),
            )?)?;
        }
        Ok(())
    }
}

/// What one scrape read; `None` where it could not be read.
#[derive(Default)]
struct Process {
    cpu_seconds: Option<f64>,
    open_fds: Option<u64>,
    max_fds: Option<u64>,
    virtual_memory_bytes: Option<u64>,
    resident_memory_bytes: Option<u64>,
    start_time_seconds: Option<f64>,
}

impl Process {
    #[cfg(not(target_os = "linux"))]
    fn read() -> Self {
        Self::default()
    }

    #[cfg(target_os = "linux")]
    fn read() -> Self {
        use std::fs;
        // Clock ticks per second of /proc's times: USER_HZ, which Linux
        // fixes at 100 for user space (the Go client assumes the same).
        const USER_HZ: f64 = 100.0;
        let mut p = Self::default();
        if let Ok(stat) = fs::read_to_string("/proc/self/stat") {
            // Fields after the command name, which may itself hold spaces
            // or parentheses: field 3 (state) is index 0.
            let rest: Vec<&str> = stat
                .rsplit_once(')')
                .map(|(_, rest)| rest.split_whitespace().collect())
                .unwrap_or_default();
            let field = |n: usize| rest.get(n - 3).and_then(|v| v.parse::<u64>().ok());
            if let (Some(utime), Some(stime)) = (field(14), field(15)) {
                p.cpu_seconds = Some((utime + stime) as f64 / USER_HZ);
            }
            p.virtual_memory_bytes = field(23);
            let boot = fs::read_to_string("/proc/stat").ok().and_then(|s| {
                s.lines()
                    .find_map(|l| l.strip_prefix("btime "))
                    .and_then(|v| v.trim().parse::<f64>().ok())
            });
            if let (Some(boot), Some(start)) = (boot, field(22)) {
                p.start_time_seconds = Some(boot + start as f64 / USER_HZ);
            }
        }
        // VmRSS in kB: stat's resident pages would need the page size.
        p.resident_memory_bytes = fs::read_to_string("/proc/self/status")
            .ok()
            .and_then(|s| {
                s.lines()
                    .find_map(|l| l.strip_prefix("VmRSS:"))
                    .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            })
            .map(|kb| kb * 1024);
        p.open_fds = fs::read_dir("/proc/self/fd")
            .ok()
            .map(|dir| dir.count() as u64);
        // "Max open files  <soft>  <hard>  files"; an unlimited soft limit
        // has no number to show.
        p.max_fds = fs::read_to_string("/proc/self/limits").ok().and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("Max open files"))
                .and_then(|v| v.split_whitespace().next())
                .and_then(|v| v.parse::<u64>().ok())
        });
        p
    }
}
