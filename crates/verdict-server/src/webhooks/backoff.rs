//! When a failed delivery is tried again: about 5 s, 30 s, 2 min, 10 min,
//! 1 h, then every hour, each delay within ±20% at random so the retries
//! of many events that failed together (a receiver down for a while) do
//! not all arrive in the same second when it comes back; and no attempt
//! later than 24 h after the first.

use std::time::Duration;

/// The delays after the first five attempts; hourly after that.
const SCHEDULE: [u64; 5] = [5, 30, 120, 600, 3600];
const HOURLY: u64 = 3600;
/// How long an event is tried for, counted from its first attempt.
pub const GIVE_UP_AFTER: Duration = Duration::from_secs(24 * 3600);
/// The jitter: a delay is its scheduled value times a factor in
/// [1 - JITTER, 1 + JITTER].
pub const JITTER: f64 = 0.2;

/// The delay before the next attempt, given how many were made (the
/// first included) and the time since the first; `None` when the next
/// one would fall past 24 h: the delivery has failed. With no attempt
/// made, the first is due now.
pub fn next_delay(attempts_made: u32, since_first: Duration) -> Option<Duration> {
    if attempts_made == 0 {
        return Some(Duration::ZERO);
    }
    let index = usize::try_from(attempts_made - 1).unwrap_or(usize::MAX);
    let base = SCHEDULE.get(index).copied().unwrap_or(HOURLY);
    let delay = Duration::from_secs(base).mul_f64(jitter_factor());
    if since_first.saturating_add(delay) > GIVE_UP_AFTER {
        return None;
    }
    Some(delay)
}

/// A factor uniformly in [1 - JITTER, 1 + JITTER] (1 when the system has
/// no randomness to give, which only loses the spreading).
fn jitter_factor() -> f64 {
    let unit = getrandom::u32().map_or(0.5, |r| f64::from(r) / f64::from(u32::MAX));
    1.0 - JITTER + 2.0 * JITTER * unit
}
