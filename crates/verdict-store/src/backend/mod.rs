//! What the backends decide without touching the database, written once:
//! the plain functions a backend calls between its reads and its writes
//! (which bulk entries are refused and why, what an import will do, how an
//! idempotent answer is kept), and the constants both must agree on. A
//! backend does the I/O only: it reads what these functions need, and
//! writes what they decided.

pub mod bulk;
pub mod idempotency;
pub mod import;
pub mod manual;
pub mod triage;

use crate::{NewUser, Status, StoreError, Timestamp, TokenHash};

/// Token use is noted at most this often, so authenticating stays a read.
pub const TOUCH_EVERY_MS: i64 = 60_000;

/// Whether a token last used at `last_used` is worth noting as used `now`
/// (see [`TOUCH_EVERY_MS`]).
pub fn needs_touch(last_used: Option<Timestamp>, now: Timestamp) -> bool {
    last_used.is_none_or(|t| now.millis() - t.millis() > TOUCH_EVERY_MS)
}

/// The email of the admin a bootstrap creates (lower-case, as the unique
/// index on users compares them).
pub const BOOTSTRAP_EMAIL: &str = "admin@localhost";
/// The name of the token a bootstrap gives its admin.
pub const BOOTSTRAP_TOKEN_NAME: &str = "bootstrap";

/// The admin a bootstrap creates when there is none with
/// [`BOOTSTRAP_EMAIL`].
pub fn bootstrap_admin() -> NewUser {
    NewUser {
        name: "admin".into(),
        email: BOOTSTRAP_EMAIL.into(),
        password_hash: None,
        admin: true,
    }
}

/// Whether a stored token hash is `hash`. The database found the row by
/// hash already; comparing again in constant time keeps any code path from
/// leaking how much of a hash matched.
pub fn same_hash(stored: &[u8], hash: &TokenHash) -> bool {
    stored.len() == hash.0.len()
        && stored
            .iter()
            .zip(&hash.0)
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// The conflict of creating a user whose email is taken (in any case).
pub fn duplicate_email(email: &str) -> StoreError {
    StoreError::Conflict {
        code: "duplicate_email",
        message: format!("a user with email {email:?} already exists"),
    }
}

/// The query for one page of a run's result ids under a status filter:
/// `all` when there is none; otherwise one `arm` per status (each its own
/// ordered index range, `(run_id, status, id)`), their ids merged with
/// `UNION ALL` and paged by `tail`, so any filter is served without sorting
/// the whole run. Each arm must yield at most offset + limit ids.
pub fn ids_by_status(
    statuses: &[Status],
    all: &str,
    arm: impl Fn(Status) -> String,
    tail: &str,
) -> String {
    if statuses.is_empty() {
        return all.to_string();
    }
    let arms: Vec<String> = statuses.iter().map(|s| arm(*s)).collect();
    format!("{} {tail}", arms.join(" UNION ALL "))
}
