//! Allocator tuning for `verdict serve` on glibc (issue #6: resident memory
//! at rest under 100 MB after any workload).
//!
//! glibc's defaults suit short programs, not a server that handles a 10 MB
//! bulk upload now and then:
//! - it raises its mmap threshold each time a big block is freed, so later
//!   request bodies and parsed entries are carved out of the heap arenas
//!   instead of being mapped, and what an arena once held it keeps;
//! - it creates up to 8 arenas per core, one per thread that contends, and
//!   the blocking threads that read SQLite each end up with their own.
//!
//! Measured with the benchmark (docs/PERFORMANCE.md): RSS at rest after all
//! workloads fell from 180 MB to 72 MB with both settings below, with bulk
//! and PATCH rates within the run-to-run spread.
//!
//! An operator who sets `GLIBC_TUNABLES` with any `glibc.malloc.` tunable
//! keeps full control: nothing is changed then.

/// Arenas at most (glibc's default is 8 per core).
const ARENA_MAX: i32 = 2;
/// Blocks from this size up are mapped on their own and unmapped when freed
/// (glibc's initial value, now fixed instead of growing).
const MMAP_THRESHOLD: i32 = 128 * 1024;

/// Applies the settings; call before any thread is started. Returns what
/// was done, for the start-up log.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
pub fn tune() -> &'static str {
    let operator_tuned = std::env::var("GLIBC_TUNABLES")
        .map(|t| t.contains("glibc.malloc."))
        .unwrap_or(false);
    if operator_tuned {
        return "left to GLIBC_TUNABLES";
    }
    // SAFETY: mallopt only changes allocator parameters; it is called once,
    // from the main thread, before the runtime starts any other thread.
    #[allow(unsafe_code)]
    let ok = unsafe {
        libc::mallopt(libc::M_ARENA_MAX, ARENA_MAX) == 1
            && libc::mallopt(libc::M_MMAP_THRESHOLD, MMAP_THRESHOLD) == 1
    };
    if ok {
        "glibc: 2 arenas, fixed 128 KiB mmap threshold"
    } else {
        "glibc refused the settings; its defaults apply"
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
pub fn tune() -> &'static str {
    "the platform's defaults"
}
