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

/// The first byte of a kept [`Rendered`](crate::Rendered) answer: never the
/// first byte of a JSON document, so it is told from a bulk's typed one.
const RENDERED: u8 = 0xff;

/// The bytes to keep for a rendered answer: the marker, the status (two
/// bytes, big-endian), then the body.
pub fn encode_rendered(answer: &crate::Rendered) -> Vec<u8> {
    let mut out = Vec::with_capacity(3 + answer.bytes.len());
    out.push(RENDERED);
    out.extend_from_slice(&answer.status.to_be_bytes());
    out.extend_from_slice(&answer.bytes);
    out
}

/// The rendered answer kept under this key, given the stored fingerprint
/// and bytes: `IdempotencyKeyReused` when the key was used for another
/// request.
pub fn decode_rendered(
    idem: &IdempotencyKey,
    fingerprint: &[u8],
    outcome: &[u8],
) -> StoreResult<crate::Answer> {
    if fingerprint != idem.fingerprint {
        return Err(StoreError::IdempotencyKeyReused);
    }
    match outcome {
        [RENDERED, hi, lo, body @ ..] => Ok(crate::Answer {
            status: u16::from_be_bytes([*hi, *lo]),
            bytes: body.to_vec(),
            replayed: true,
        }),
        _ => Err(StoreError::Other(
            "stored idempotent answer unreadable".into(),
        )),
    }
}
