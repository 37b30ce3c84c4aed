//! Webhooks: the resource, the outbox rows a write adds when the project
//! has a subscribed webhook, and the deliveries the worker claims and
//! finishes (on the writer, so a claim is one process's and atomic).

use rusqlite::{Connection, OptionalExtension, Row, params};
use verdict_store::*;

use crate::{db_err, found, ts};

const COLUMNS: &str = "id, project_id, url, events, format, active, secret, created_at";

fn webhook_row(r: &Row<'_>) -> rusqlite::Result<Webhook> {
    let format: String = r.get(4)?;
    Ok(Webhook {
        id: WebhookId::from_db(r.get(0)?),
        project_id: ProjectId::from_db(r.get(1)?),
        url: r.get(2)?,
        events: EventType::from_bits(r.get(3)?),
        format: WebhookFormat::from_name(&format).unwrap_or(WebhookFormat::Standard),
        active: r.get(5)?,
        secret: r.get(6)?,
        created_at: Timestamp::from_millis(r.get(7)?),
    })
}

pub(crate) fn create_webhook(
    c: &Connection,
    project: ProjectId,
    new: &NewWebhook,
    now: Timestamp,
) -> StoreResult<Webhook> {
    crate::projects::get_project(c, project)?;
    c.execute(
        "INSERT INTO webhooks (project_id, url, events, format, active, secret, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![
            project.get(),
            new.url,
            EventType::bits(&new.events),
            new.format.name(),
            new.active,
            new.secret,
            now.millis()
        ],
    )
    .map_err(db_err)?;
    get_webhook(c, WebhookId::from_db(c.last_insert_rowid()))
}

pub(crate) fn get_webhook(c: &Connection, id: WebhookId) -> StoreResult<Webhook> {
    let mut stmt = c
        .prepare_cached(&format!("SELECT {COLUMNS} FROM webhooks WHERE id = ?1"))
        .map_err(db_err)?;
    found(stmt.query_row([id.get()], webhook_row))
}

pub(crate) fn list_webhooks(c: &Connection, project: ProjectId) -> StoreResult<Vec<Webhook>> {
    crate::projects::get_project(c, project)?;
    let mut stmt = c
        .prepare_cached(&format!(
            "SELECT {COLUMNS} FROM webhooks WHERE project_id = ?1 ORDER BY id"
        ))
        .map_err(db_err)?;
    stmt.query_map([project.get()], webhook_row)
        .and_then(|rows| rows.collect())
        .map_err(db_err)
}

pub(crate) fn update_webhook(
    c: &Connection,
    id: WebhookId,
    patch: &WebhookPatch,
) -> StoreResult<Webhook> {
    let old = get_webhook(c, id)?;
    let events = patch.events.as_deref().unwrap_or(&old.events);
    c.execute(
        "UPDATE webhooks SET url = ?2, events = ?3, format = ?4, active = ?5 WHERE id = ?1",
        params![
            id.get(),
            patch.url.as_deref().unwrap_or(&old.url),
            EventType::bits(events),
            patch.format.unwrap_or(old.format).name(),
            patch.active.unwrap_or(old.active)
        ],
    )
    .map_err(db_err)?;
    get_webhook(c, id)
}

pub(crate) fn delete_webhook(c: &Connection, id: WebhookId) -> StoreResult<()> {
    get_webhook(c, id)?;
    for sql in [
        "DELETE FROM webhook_attempts WHERE webhook_id = ?1",
        "DELETE FROM webhook_deliveries WHERE webhook_id = ?1",
        "DELETE FROM webhooks WHERE id = ?1",
    ] {
        c.execute(sql, [id.get()]).map_err(db_err)?;
    }
    Ok(())
}

/// Adds an event of `kind` to the outbox when an active webhook of the
/// project is subscribed to it; nothing (one indexed lookup) otherwise.
/// Its deliveries are made by the worker ([`fan_out`]).
pub(crate) fn enqueue(
    c: &Connection,
    project: ProjectId,
    kind: EventType,
    data: &str,
    now: Timestamp,
) -> StoreResult<()> {
    let subscribed: bool = c
        .prepare_cached(
            "SELECT EXISTS (SELECT 1 FROM webhooks
                 WHERE project_id = ?1 AND active AND events & ?2 <> 0)",
        )
        .and_then(|mut s| s.query_row(params![project.get(), kind.bit()], |r| r.get(0)))
        .map_err(db_err)?;
    if !subscribed {
        return Ok(());
    }
    c.prepare_cached(
        "INSERT INTO webhook_events (project_id, type, data, rendered, created_at, fanned)
         VALUES (?1, ?2, ?3, 0, ?4, 0)",
    )
    .and_then(|mut s| s.execute(params![project.get(), kind.name(), data, now.millis()]))
    .map_err(db_err)?;
    Ok(())
}

/// Makes the deliveries of up to `limit` queued events (the oldest), one
/// per active webhook of the event's project subscribed to its type now,
/// due since the event's time.
///
/// Events are found from the mark `webhook_fanout.through`: every event
/// with an id up to it has its deliveries (`fanned`). An event is only
/// ever added after the newest one (ids are the largest plus one, on the
/// one writer, and retention never deletes the newest event), so the
/// events still to fan out all lie past the mark, and the table needs no
/// index for them: an index is one more page in every group commit of
/// the writes that add events.
fn fan_out(c: &Connection, limit: u32) -> StoreResult<()> {
    let from = fanned_through(c)?;
    let last: Option<i64> = c
        .prepare_cached(
            "SELECT max(id) FROM (SELECT id FROM webhook_events WHERE id > ?1 AND fanned = 0
                 ORDER BY id LIMIT ?2)",
        )
        .and_then(|mut s| s.query_row(params![from, limit], |r| r.get(0)))
        .map_err(db_err)?;
    let Some(last) = last else {
        // Nothing to fan out past the mark: move it to the newest event
        // (past pings, whose one delivery is made with them, and events
        // copied in by a migration), so the next look starts there.
        let newest: Option<i64> = c
            .prepare_cached("SELECT max(id) FROM webhook_events")
            .and_then(|mut s| s.query_row([], |r| r.get(0)))
            .map_err(db_err)?;
        return match newest {
            Some(newest) if newest > from => set_fanned_through(c, newest),
            _ => Ok(()),
        };
    };
    c.prepare_cached(&format!(
        "INSERT OR IGNORE INTO webhook_deliveries (event_id, webhook_id, next_attempt_at)
         SELECT e.id, w.id, e.created_at FROM webhook_events e
         JOIN webhooks w ON w.project_id = e.project_id AND w.active
             AND w.events & {} <> 0
         WHERE e.id > ?1 AND e.id <= ?2 AND e.fanned = 0",
        EventType::bit_sql("e.type")
    ))
    .and_then(|mut s| s.execute([from, last]))
    .map_err(db_err)?;
    c.prepare_cached(
        "UPDATE webhook_events SET fanned = 1 WHERE id > ?1 AND id <= ?2 AND fanned = 0",
    )
    .and_then(|mut s| s.execute([from, last]))
    .map_err(db_err)?;
    set_fanned_through(c, last)
}

/// The mark every event up to which has its deliveries (0 before any),
/// as an SQL expression.
const FANNED_THROUGH: &str = "coalesce((SELECT through FROM webhook_fanout WHERE id = 1), 0)";

fn fanned_through(c: &Connection) -> StoreResult<i64> {
    c.prepare_cached(&format!("SELECT {FANNED_THROUGH}"))
        .and_then(|mut s| s.query_row([], |r| r.get(0)))
        .map_err(db_err)
}

fn set_fanned_through(c: &Connection, id: i64) -> StoreResult<()> {
    c.prepare_cached(
        "INSERT INTO webhook_fanout (id, through) VALUES (1, ?1)
         ON CONFLICT (id) DO UPDATE SET through = excluded.through",
    )
    .and_then(|mut s| s.execute([id]))
    .map(drop)
    .map_err(db_err)
}

pub(crate) fn queue_ping(c: &Connection, id: WebhookId, now: Timestamp) -> StoreResult<EventId> {
    let webhook = get_webhook(c, id)?;
    let data = serde_json::json!({ "webhook_id": id.to_string() }).to_string();
    c.execute(
        "INSERT INTO webhook_events (project_id, type, data, rendered, created_at)
         VALUES (?1, ?2, ?3, 1, ?4)",
        params![
            webhook.project_id.get(),
            EventType::Ping.name(),
            data,
            now.millis()
        ],
    )
    .map_err(db_err)?;
    let event = c.last_insert_rowid();
    c.execute(
        "INSERT INTO webhook_deliveries (event_id, webhook_id, next_attempt_at) VALUES (?1, ?2, ?3)",
        params![event, id.get(), now.millis()],
    )
    .map_err(db_err)?;
    Ok(EventId::from_db(event))
}

pub(crate) fn redeliver(
    c: &Connection,
    id: WebhookId,
    event: EventId,
    now: Timestamp,
) -> StoreResult<()> {
    get_webhook(c, id)?;
    // A delivery being sent right now is marked, and made due again when
    // that attempt finishes: never two sends of one event at once.
    let changed = c
        .execute(
            "UPDATE webhook_deliveries SET
                 redeliver = CASE WHEN claimed_until > ?3 THEN 1 ELSE 0 END,
                 state = 0,
                 attempts = CASE WHEN claimed_until > ?3 THEN attempts ELSE 0 END,
                 first_attempt_at = CASE WHEN claimed_until > ?3 THEN first_attempt_at END,
                 next_attempt_at = CASE WHEN claimed_until > ?3 THEN next_attempt_at ELSE ?3 END
             WHERE event_id = ?1 AND webhook_id = ?2",
            params![event.get(), id.get(), now.millis()],
        )
        .map_err(db_err)?;
    if changed == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

pub(crate) fn list_deliveries(
    c: &Connection,
    id: WebhookId,
    page: Page,
) -> StoreResult<Listing<DeliveryAttempt>> {
    get_webhook(c, id)?;
    let (limit, offset) = page.bounds();
    let total = c
        .query_row(
            "SELECT count(*) FROM webhook_attempts WHERE webhook_id = ?1",
            [id.get()],
            |r| r.get(0),
        )
        .map_err(db_err)?;
    let mut stmt = c
        .prepare_cached(
            "SELECT a.event_id, e.type, a.attempt, a.status_code, a.error, a.duration_ms, a.at,
                 coalesce(d.state, 0)
             FROM webhook_attempts a
             JOIN webhook_events e ON e.id = a.event_id
             LEFT JOIN webhook_deliveries d ON d.event_id = a.event_id AND d.webhook_id = a.webhook_id
             WHERE a.webhook_id = ?1 ORDER BY a.id DESC LIMIT ?2 OFFSET ?3",
        )
        .map_err(db_err)?;
    let items = stmt
        .query_map(params![id.get(), limit, offset], |r| {
            Ok(DeliveryAttempt {
                event_id: EventId::from_db(r.get(0)?),
                event_type: r.get(1)?,
                attempt: r.get(2)?,
                status_code: r.get(3)?,
                error: r.get(4)?,
                duration_ms: r.get(5)?,
                at: Timestamp::from_millis(r.get(6)?),
                state: DeliveryState::from_code(r.get(7)?).unwrap_or(DeliveryState::Pending),
            })
        })
        .and_then(|rows| rows.collect::<Result<Vec<_>, _>>())
        .map_err(db_err)?;
    Ok(Listing { items, total })
}

/// Whether any delivery is due and unclaimed: read on a read connection
/// first, so a worker that finds nothing never takes the writer.
pub(crate) fn any_due(c: &Connection, now: Timestamp) -> StoreResult<bool> {
    c.prepare_cached(&format!(
        "SELECT EXISTS (SELECT 1 FROM webhook_events WHERE id > {FANNED_THROUGH} AND fanned = 0)
             OR EXISTS (SELECT 1 FROM webhook_deliveries
                 WHERE state = 0 AND next_attempt_at <= ?1
                     AND (claimed_until IS NULL OR claimed_until <= ?1))",
    ))
    .and_then(|mut s| s.query_row([now.millis()], |r| r.get(0)))
    .map_err(db_err)
}

pub(crate) fn claim_deliveries(
    c: &Connection,
    now: Timestamp,
    until: Timestamp,
    limit: u32,
) -> StoreResult<Vec<ClaimedDelivery>> {
    fan_out(c, limit)?;
    let claimed: Vec<(i64, i64)> = c
        .prepare_cached(
            "UPDATE webhook_deliveries
             SET claimed_until = ?2, redeliver = 0, first_attempt_at = coalesce(first_attempt_at, ?1)
             WHERE rowid IN (SELECT rowid FROM webhook_deliveries
                 WHERE state = 0 AND next_attempt_at <= ?1
                     AND (claimed_until IS NULL OR claimed_until <= ?1)
                 ORDER BY next_attempt_at LIMIT ?3)
             RETURNING event_id, webhook_id",
        )
        .and_then(|mut s| {
            s.query_map(params![now.millis(), until.millis(), limit], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })?
            .collect()
        })
        .map_err(db_err)?;
    let mut detail = c
        .prepare_cached(
            "SELECT e.project_id, e.type, e.data, e.rendered, e.created_at, d.attempts,
                 d.first_attempt_at, w.url, w.secret, w.format
             FROM webhook_deliveries d
             JOIN webhook_events e ON e.id = d.event_id
             JOIN webhooks w ON w.id = d.webhook_id
             WHERE d.event_id = ?1 AND d.webhook_id = ?2",
        )
        .map_err(db_err)?;
    let mut out = Vec::with_capacity(claimed.len());
    for (event, webhook) in claimed {
        let row = detail
            .query_row([event, webhook], |r| {
                let format: String = r.get(9)?;
                Ok(ClaimedDelivery {
                    event_id: EventId::from_db(event),
                    webhook_id: WebhookId::from_db(webhook),
                    project_id: ProjectId::from_db(r.get(0)?),
                    event_type: r.get(1)?,
                    data: r.get(2)?,
                    rendered: r.get(3)?,
                    created_at: Timestamp::from_millis(r.get(4)?),
                    attempts: r.get(5)?,
                    first_attempt_at: ts(r.get(6)?).unwrap_or(now),
                    url: r.get(7)?,
                    secret: r.get(8)?,
                    format: WebhookFormat::from_name(&format).unwrap_or(WebhookFormat::Standard),
                    claimed_until: until,
                })
            })
            .optional()
            .map_err(db_err)?;
        out.extend(row);
    }
    Ok(out)
}

/// Keeps each event's rendering unless it has one; the data kept for each
/// event still there.
pub(crate) fn render_events(
    c: &Connection,
    events: &[(EventId, String)],
) -> StoreResult<Vec<(EventId, String)>> {
    let mut out = Vec::with_capacity(events.len());
    for (event, data) in events {
        c.prepare_cached(
            "UPDATE webhook_events SET data = ?2, rendered = 1 WHERE id = ?1 AND rendered = 0",
        )
        .and_then(|mut s| s.execute(params![event.get(), data]))
        .map_err(db_err)?;
        let kept: Option<String> = c
            .prepare_cached("SELECT data FROM webhook_events WHERE id = ?1")
            .and_then(|mut s| s.query_row([event.get()], |r| r.get(0)).optional())
            .map_err(db_err)?;
        out.extend(kept.map(|kept| (*event, kept)));
    }
    Ok(out)
}

pub(crate) fn finish_deliveries(c: &Connection, outcomes: &[DeliveryOutcome]) -> StoreResult<()> {
    for o in outcomes {
        finish_delivery(c, o)?;
    }
    Ok(())
}

fn finish_delivery(c: &Connection, o: &DeliveryOutcome) -> StoreResult<()> {
    let (event, webhook) = (o.event_id.get(), o.webhook_id.get());
    c.prepare_cached(
        "INSERT INTO webhook_attempts (webhook_id, event_id, attempt, status_code, error,
             duration_ms, at)
         SELECT ?1, ?2, count(*) + 1, ?3, ?4, ?5, ?6 FROM webhook_attempts
         WHERE event_id = ?2 AND webhook_id = ?1",
    )
    .and_then(|mut s| {
        s.execute(params![
            webhook,
            event,
            o.status_code,
            o.error,
            o.duration_ms,
            o.at.millis()
        ])
    })
    .map_err(db_err)?;
    let (state, next) = (o.state(), o.next_due().millis());
    c.prepare_cached(
        "UPDATE webhook_deliveries SET
             state = CASE WHEN redeliver = 1 THEN 0 ELSE ?4 END,
             attempts = CASE WHEN redeliver = 1 THEN 0 ELSE attempts + 1 END,
             next_attempt_at = CASE WHEN redeliver = 1 THEN ?5 ELSE ?6 END,
             first_attempt_at = CASE WHEN redeliver = 1 THEN NULL ELSE first_attempt_at END,
             redeliver = 0, claimed_until = NULL, last_status = ?7, last_error = ?8
         WHERE event_id = ?1 AND webhook_id = ?2 AND claimed_until = ?3",
    )
    .and_then(|mut s| {
        s.execute(params![
            event,
            webhook,
            o.claimed_until.millis(),
            state.code(),
            o.at.millis(),
            next,
            o.status_code,
            o.error
        ])
    })
    .map_err(db_err)?;
    Ok(())
}
