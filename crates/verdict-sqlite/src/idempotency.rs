//! Stored answers for `Idempotency-Key` retries. The answer is written in
//! the same transaction as the work it describes, so there is never one
//! without the other.

use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;
use serde::de::DeserializeOwned;
use verdict_store::backend::idempotency::{decode, encode, expired_at};
use verdict_store::{IdempotencyKey, StoreResult, Timestamp, UserId};

use crate::db_err;

/// The stored answer for this key, if the same request was made before;
/// `IdempotencyKeyReused` if the key was used for another request.
pub(crate) fn replay<T: DeserializeOwned>(
    c: &Connection,
    actor: UserId,
    idem: &IdempotencyKey,
    now: Timestamp,
) -> StoreResult<Option<T>> {
    stored(c, actor, idem, now)?
        .map(|(fingerprint, outcome)| decode(idem, &fingerprint, &outcome))
        .transpose()
}

/// The live record under this key, if any: its fingerprint and bytes.
pub(crate) fn stored(
    c: &Connection,
    actor: UserId,
    idem: &IdempotencyKey,
    now: Timestamp,
) -> StoreResult<Option<(Vec<u8>, Vec<u8>)>> {
    c.query_row(
        "SELECT fingerprint, outcome FROM idempotency
             WHERE user_id = ?1 AND key = ?2 AND created_at > ?3",
        params![actor.get(), idem.key, expired_at(now)],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )
    .optional()
    .map_err(db_err)
}

/// Keeps the answer for retries with the same key (and forgets old ones).
pub(crate) fn remember<T: Serialize>(
    c: &Connection,
    actor: UserId,
    idem: &IdempotencyKey,
    now: Timestamp,
    outcome: &T,
) -> StoreResult<()> {
    keep(c, actor, idem, now, &encode(outcome)?)
}

/// Keeps these bytes under the key (and forgets old records).
pub(crate) fn keep(
    c: &Connection,
    actor: UserId,
    idem: &IdempotencyKey,
    now: Timestamp,
    stored: &[u8],
) -> StoreResult<()> {
    c.execute(
        "DELETE FROM idempotency WHERE created_at <= ?1",
        [expired_at(now)],
    )
    .map_err(db_err)?;
    c.execute(
        "INSERT OR REPLACE INTO idempotency (user_id, key, fingerprint, outcome, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5)",
        params![
            actor.get(),
            idem.key,
            &idem.fingerprint[..],
            stored,
            now.millis()
        ],
    )
    .map_err(db_err)?;
    Ok(())
}
