//! Stored answers for `Idempotency-Key` retries: how long they last and how
//! they are written and read back. Each backend keeps the bytes in its own
//! table, in the same transaction as the work they describe.

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::{IdempotencyKey, StoreError, StoreResult, Timestamp};

/// Idempotency records older than this are forgotten.
pub const TTL_MS: i64 = 24 * 60 * 60 * 1000;

/// Records created at or before this instant have expired by `now`.
pub fn expired_at(now: Timestamp) -> i64 {
    now.millis() - TTL_MS
}

/// The bytes to keep for an answer.
pub fn encode<T: Serialize>(outcome: &T) -> StoreResult<Vec<u8>> {
    serde_json::to_vec(outcome)
        .map_err(|e| StoreError::Other(format!("cannot store idempotent answer: {e}")))
}

/// The answer kept under this key, given the stored fingerprint and bytes:
/// `IdempotencyKeyReused` when the key was used for another request.
pub fn decode<T: DeserializeOwned>(
    idem: &IdempotencyKey,
    fingerprint: &[u8],
    outcome: &[u8],
) -> StoreResult<T> {
    if fingerprint != idem.fingerprint {
        return Err(StoreError::IdempotencyKeyReused);
    }
    serde_json::from_slice(outcome)
        .map_err(|e| StoreError::Other(format!("stored idempotent answer unreadable: {e}")))
}
