//! The machine the numbers come from: cores, CPU model, memory, kernel,
//! the filesystem holding the temporary databases, and how long an fsync
//! takes there right now (on a shared virtual disk it drifts, and every
//! durable commit waits for one).

use std::io::Write;
use std::path::Path;
use std::time::Instant;

use crate::report::Summary;

use serde_json::{Value, json};

fn read(path: &str) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

/// The filesystem type of the mount holding `path` (longest mount prefix).
fn filesystem_of(path: &Path) -> String {
    let path = path.canonicalize().unwrap_or_else(|_| path.to_path_buf());
    read("/proc/self/mounts")
        .lines()
        .filter_map(|l| {
            let mut f = l.split_whitespace();
            let (_, mount, fs) = (f.next()?, f.next()?, f.next()?);
            path.starts_with(mount)
                .then(|| (mount.len(), format!("{fs} ({mount})")))
        })
        .max()
        .map_or_else(|| "unknown".into(), |(_, fs)| fs)
}

/// What `describe` reports, as JSON.
pub fn describe() -> Value {
    let cpuinfo = read("/proc/cpuinfo");
    let model = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name"))
        .map(|m| m.trim_start_matches([' ', '\t', ':']).to_string())
        .unwrap_or_else(|| "unknown".into());
    let mem_gib = read("/proc/meminfo")
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|v| v.split_whitespace().next()?.parse::<f64>().ok())
        .map(|kb| kb / 1024.0 / 1024.0);
    json!({
        "cpus": std::thread::available_parallelism().map_or(0, |n| n.get()),
        "model": model,
        "memory_gib": mem_gib.map(|g| (g * 10.0).round() / 10.0),
        "kernel": read("/proc/sys/kernel/osrelease").trim(),
        "tmp_filesystem": filesystem_of(&std::env::temp_dir()),
    })
}

/// One line for the console.
pub fn line(m: &Value) -> String {
    format!(
        "{} CPU(s), {}, {} GiB RAM, Linux {}, temp files on {}",
        m["cpus"],
        m["model"].as_str().unwrap_or("?"),
        m["memory_gib"],
        m["kernel"].as_str().unwrap_or("?"),
        m["tmp_filesystem"].as_str().unwrap_or("?"),
    )
}

/// Latency of a 4 KiB append + fsync in the temp directory, 200 times:
/// (p50, p99) in ms.
pub fn fsync_probe() -> Result<(f64, f64), String> {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let mut file = std::fs::File::create(dir.path().join("probe")).map_err(|e| e.to_string())?;
    let page = [7u8; 4096];
    let mut ms = Vec::with_capacity(200);
    for _ in 0..200 {
        let start = Instant::now();
        file.write_all(&page).map_err(|e| e.to_string())?;
        file.sync_all().map_err(|e| e.to_string())?;
        ms.push(start.elapsed().as_secs_f64() * 1000.0);
    }
    let s = Summary::of(&ms);
    Ok((s.median, s.p99))
}
