//! Stored answers for `Idempotency-Key` retries. The answer is written in
//! the same transaction as the work it describes, so there is never one
//! without the other.
//!
//! Two requests with the same key may arrive at two instances at once: a
//! transaction-scoped advisory lock on (user, key) is taken before looking
//! for a stored answer, so the second waits for the first to commit and
//! then replays its answer, exactly as if they had come one after another.

use deadpool_postgres::Transaction;
use serde::Serialize;
use serde::de::DeserializeOwned;
use verdict_store::backend::idempotency::{decode, encode, expired_at};
use verdict_store::{IdempotencyKey, Timestamp, UserId};

use crate::error::{Result, db_err};
use crate::pool::{Param, col, execute};
/// Old records removed per write at most, so cleaning never makes one
/// request slow.
const SWEEP_BATCH: i64 = 500;
/// The first key of the two-key advisory locks on idempotency keys. The
/// two-key space never overlaps the one-key space (migrations, bootstrap).
const LOCK_CLASS: i32 = 0x7664_6b01;

/// The stored answer for this key, if the same request was made before;
/// `IdempotencyKeyReused` if the key was used for another request. Holds
/// the key's lock until the transaction ends.
pub(crate) async fn replay<T: DeserializeOwned>(
    tx: &Transaction<'_>,
    actor: UserId,
    idem: &IdempotencyKey,
    now: Timestamp,
) -> Result<Option<T>> {
    match stored(tx, actor, idem, now).await? {
        Some((fingerprint, outcome)) => Ok(Some(decode(idem, &fingerprint, &outcome)?)),
        None => Ok(None),
    }
}

/// The live record under this key, if any (its fingerprint and bytes),
/// looked for once the key's lock is held; the lock is held until the
/// transaction ends.
pub(crate) async fn stored(
    tx: &Transaction<'_>,
    actor: UserId,
    idem: &IdempotencyKey,
    now: Timestamp,
) -> Result<Option<(Vec<u8>, Vec<u8>)>> {
    // Separate statements, so the look-up's snapshot is taken after the
    // lock is granted. Both are prepared first and then sent together
    // (pipelined, one round trip): the server runs them in the order sent.
    let (lock, look) = tokio::try_join!(
        tx.prepare_cached(
            "SELECT pg_advisory_xact_lock($1, hashtext($2::bigint::text || ':' || $3::text))"
        ),
        tx.prepare_cached(
            "SELECT fingerprint, outcome FROM idempotency
             WHERE user_id = $1 AND key = $2 AND created_at > $3"
        ),
    )
    .map_err(db_err)?;
    let (user, since) = (actor.get(), expired_at(now));
    let lock_params: [&Param<'_>; 3] = [&LOCK_CLASS, &user, &idem.key];
    let look_params: [&Param<'_>; 3] = [&user, &idem.key, &since];
    let (_, stored) = tokio::try_join!(
        tx.execute(&lock, &lock_params),
        tx.query_opt(&look, &look_params),
    )
    .map_err(db_err)?;
    let Some(row) = stored else {
        return Ok(None);
    };
    Ok(Some((col(&row, 0)?, col(&row, 1)?)))
}

/// Keeps the answer for retries with the same key (and forgets a batch of
/// old ones, skipping any another transaction is removing right now).
pub(crate) async fn remember<T: Serialize>(
    tx: &Transaction<'_>,
    actor: UserId,
    idem: &IdempotencyKey,
    now: Timestamp,
    outcome: &T,
) -> Result<()> {
    keep(tx, actor, idem, now, &encode(outcome)?).await
}

/// Keeps these bytes under the key (and forgets a batch of old records).
pub(crate) async fn keep(
    tx: &Transaction<'_>,
    actor: UserId,
    idem: &IdempotencyKey,
    now: Timestamp,
    stored: &[u8],
) -> Result<()> {
    let (user, at, expired) = (actor.get(), now.millis(), expired_at(now));
    let fingerprint = &idem.fingerprint[..];
    let sweep_params: [&Param<'_>; 2] = [&expired, &SWEEP_BATCH];
    let keep_params: [&Param<'_>; 5] = [&user, &idem.key, &fingerprint, &stored, &at];
    let sweep = execute(
        tx,
        "DELETE FROM idempotency WHERE (user_id, key) IN (
             SELECT user_id, key FROM idempotency WHERE created_at <= $1
             ORDER BY created_at LIMIT $2 FOR UPDATE SKIP LOCKED)",
        &sweep_params,
    );
    let keep = execute(
        tx,
        "INSERT INTO idempotency (user_id, key, fingerprint, outcome, created_at)
         VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (user_id, key) DO UPDATE SET fingerprint = excluded.fingerprint,
             outcome = excluded.outcome, created_at = excluded.created_at",
        &keep_params,
    );
    tokio::try_join!(sweep, keep)?;
    Ok(())
}
