//! Webhooks: the resource, the outbox rows a write adds when the project
//! has a subscribed webhook, and the deliveries the workers of every
//! instance claim (`FOR UPDATE SKIP LOCKED`, then held by a lease, so two
//! instances never send one delivery at once) and finish.

use deadpool_postgres::{GenericClient, Transaction};
use tokio_postgres::Row;
use verdict_store::*;

use crate::error::Result;
use crate::pool::{col, execute, query, query_found, query_opt};
use crate::projects::get_project;

const COLUMNS: &str = "id, project_id, url, events, format, active, secret, created_at";

fn webhook_row(r: &Row) -> Result<Webhook> {
    let format: String = col(r, 4)?;
    Ok(Webhook {
        id: WebhookId::from_db(col(r, 0)?),
        project_id: ProjectId::from_db(col(r, 1)?),
        url: col(r, 2)?,
        events: EventType::from_bits(col(r, 3)?),
        format: WebhookFormat::from_name(&format).unwrap_or(WebhookFormat::Standard),
        active: col(r, 5)?,
        secret: col(r, 6)?,
        created_at: Timestamp::from_millis(col(r, 7)?),
    })
}

pub(crate) async fn create_webhook(
    tx: &Transaction<'_>,
    project: ProjectId,
    new: &NewWebhook,
    now: Timestamp,
) -> Result<Webhook> {
    get_project(tx, project).await?;
    let sql = format!(
        "INSERT INTO webhooks (project_id, url, events, format, active, secret, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING {COLUMNS}"
    );
    let row = query_found(
        tx,
        &sql,
        &[
            &project.get(),
            &new.url,
            &EventType::bits(&new.events),
            &new.format.name(),
            &new.active,
            &new.secret,
            &now.millis(),
        ],
    )
    .await?;
    webhook_row(&row)
}

pub(crate) async fn get_webhook<C: GenericClient>(c: &C, id: WebhookId) -> Result<Webhook> {
    let sql = format!("SELECT {COLUMNS} FROM webhooks WHERE id = $1");
    webhook_row(&query_found(c, &sql, &[&id.get()]).await?)
}

pub(crate) async fn list_webhooks<C: GenericClient>(
    c: &C,
    project: ProjectId,
) -> Result<Vec<Webhook>> {
    get_project(c, project).await?;
    let sql = format!("SELECT {COLUMNS} FROM webhooks WHERE project_id = $1 ORDER BY id");
    query(c, &sql, &[&project.get()])
        .await?
        .iter()
        .map(webhook_row)
        .collect()
}

pub(crate) async fn update_webhook(
    tx: &Transaction<'_>,
    id: WebhookId,
    patch: &WebhookPatch,
) -> Result<Webhook> {
    let sql = format!(
        "UPDATE webhooks SET url = coalesce($2, url), events = coalesce($3, events),
             format = coalesce($4, format), active = coalesce($5, active)
         WHERE id = $1 RETURNING {COLUMNS}"
    );
    let events = patch.events.as_deref().map(EventType::bits);
    let format = patch.format.map(WebhookFormat::name);
    let row = query_found(
        tx,
        &sql,
        &[&id.get(), &patch.url, &events, &format, &patch.active],
    )
    .await?;
    webhook_row(&row)
}

pub(crate) async fn delete_webhook(tx: &Transaction<'_>, id: WebhookId) -> Result<()> {
    get_webhook(tx, id).await?;
    for sql in [
        "DELETE FROM webhook_attempts WHERE webhook_id = $1",
        "DELETE FROM webhook_deliveries WHERE webhook_id = $1",
        "DELETE FROM webhooks WHERE id = $1",
    ] {
        execute(tx, sql, &[&id.get()]).await?;
    }
    Ok(())
}

/// The statement that adds an event of type `$2` (bit `$3`) for project
/// `$1` with data `$4` at `$5`, with a delivery per active webhook of the
/// project subscribed to it, only when there is one.
/// The event only: its deliveries are made by the worker's claim
/// ([`fan_out`]).
const ENQUEUE: &str =
    "INSERT INTO webhook_events (project_id, type, data, rendered, created_at, fanned)
     SELECT $1::bigint, $2::text, $4::text, false, $5::bigint, false
     WHERE EXISTS (SELECT 1 FROM webhooks
         WHERE project_id = $1 AND active AND events & $3 <> 0)";

pub(crate) async fn enqueue<C: GenericClient>(
    c: &C,
    project: ProjectId,
    kind: EventType,
    data: &str,
    now: Timestamp,
) -> Result<()> {
    execute(
        c,
        ENQUEUE,
        &[
            &project.get(),
            &kind.name(),
            &kind.bit(),
            &data,
            &now.millis(),
        ],
    )
    .await?;
    Ok(())
}

pub(crate) async fn queue_ping(
    tx: &Transaction<'_>,
    id: WebhookId,
    now: Timestamp,
) -> Result<EventId> {
    let webhook = get_webhook(tx, id).await?;
    let data = serde_json::json!({ "webhook_id": id.to_string() }).to_string();
    let row = query_found(
        tx,
        "WITH ev AS (
             INSERT INTO webhook_events (project_id, type, data, rendered, created_at)
             VALUES ($1, $2, $3, true, $4) RETURNING id
         )
         INSERT INTO webhook_deliveries (event_id, webhook_id, next_attempt_at)
         SELECT ev.id, $5::bigint, $4::bigint FROM ev RETURNING event_id",
        &[
            &webhook.project_id.get(),
            &EventType::Ping.name(),
            &data,
            &now.millis(),
            &id.get(),
        ],
    )
    .await?;
    Ok(EventId::from_db(col(&row, 0)?))
}

pub(crate) async fn redeliver(
    tx: &Transaction<'_>,
    id: WebhookId,
    event: EventId,
    now: Timestamp,
) -> Result<()> {
    get_webhook(tx, id).await?;
    // A delivery being sent right now is marked, and made due again when
    // that attempt finishes: never two sends of one event at once.
    let changed = execute(
        tx,
        "UPDATE webhook_deliveries SET
             redeliver = coalesce(claimed_until > $3::bigint, false),
             state = 0,
             attempts = CASE WHEN claimed_until > $3::bigint THEN attempts ELSE 0 END,
             first_attempt_at = CASE WHEN claimed_until > $3::bigint THEN first_attempt_at END,
             next_attempt_at = CASE WHEN claimed_until > $3::bigint THEN next_attempt_at
                                    ELSE $3::bigint END
         WHERE event_id = $1 AND webhook_id = $2",
        &[&event.get(), &id.get(), &now.millis()],
    )
    .await?;
    if changed == 0 {
        return Err(StoreError::NotFound.into());
    }
    Ok(())
}

pub(crate) async fn list_deliveries<C: GenericClient>(
    c: &C,
    id: WebhookId,
    page: Page,
) -> Result<Listing<DeliveryAttempt>> {
    get_webhook(c, id).await?;
    let (limit, offset) = page.bounds();
    let total: i64 = col(
        &query_found(
            c,
            "SELECT count(*) FROM webhook_attempts WHERE webhook_id = $1",
            &[&id.get()],
        )
        .await?,
        0,
    )?;
    let rows = query(
        c,
        "SELECT a.event_id, e.type, a.attempt, a.status_code, a.error, a.duration_ms, a.at,
             coalesce(d.state, 0)
         FROM webhook_attempts a
         JOIN webhook_events e ON e.id = a.event_id
         LEFT JOIN webhook_deliveries d ON d.event_id = a.event_id AND d.webhook_id = a.webhook_id
         WHERE a.webhook_id = $1 ORDER BY a.id DESC LIMIT $2 OFFSET $3",
        &[&id.get(), &limit, &offset],
    )
    .await?;
    let items = rows
        .iter()
        .map(|r| {
            Ok(DeliveryAttempt {
                event_id: EventId::from_db(col(r, 0)?),
                event_type: col(r, 1)?,
                attempt: col(r, 2)?,
                status_code: col(r, 3)?,
                error: col(r, 4)?,
                duration_ms: col(r, 5)?,
                at: Timestamp::from_millis(col(r, 6)?),
                state: DeliveryState::from_code(col(r, 7)?).unwrap_or(DeliveryState::Pending),
            })
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(Listing { items, total })
}

/// Makes the deliveries of up to `limit` queued events (the oldest not
/// being fanned out by another instance), one per active webhook of the
/// event's project subscribed to its type now, due since the event's time.
/// One statement: the events are marked and their deliveries made
/// together.
async fn fan_out<C: GenericClient>(c: &C, limit: u32) -> Result<()> {
    let sql = format!(
        "WITH ev AS (
             UPDATE webhook_events SET fanned = true
             WHERE id IN (SELECT id FROM webhook_events WHERE NOT fanned
                 ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED)
             RETURNING id, project_id, type, created_at
         )
         INSERT INTO webhook_deliveries (event_id, webhook_id, next_attempt_at)
         SELECT ev.id, w.id, ev.created_at FROM ev
         JOIN webhooks w ON w.project_id = ev.project_id AND w.active
             AND w.events & {} <> 0
         ON CONFLICT DO NOTHING",
        EventType::bit_sql("ev.type")
    );
    execute(c, &sql, &[&i64::from(limit)]).await?;
    Ok(())
}

pub(crate) async fn claim_deliveries<C: GenericClient>(
    c: &C,
    now: Timestamp,
    until: Timestamp,
    limit: u32,
) -> Result<Vec<ClaimedDelivery>> {
    fan_out(c, limit).await?;
    // Rows another instance is claiming right now are skipped, not waited
    // for; a claimed row stays claimed until its lease ends.
    let rows = query(
        c,
        "WITH due AS (
             SELECT event_id, webhook_id FROM webhook_deliveries
             WHERE state = 0 AND next_attempt_at <= $1
                 AND (claimed_until IS NULL OR claimed_until <= $1)
             ORDER BY next_attempt_at LIMIT $3
             FOR UPDATE SKIP LOCKED
         ),
         claimed AS (
             UPDATE webhook_deliveries d
             SET claimed_until = $2::bigint, redeliver = false,
                 first_attempt_at = coalesce(d.first_attempt_at, $1::bigint)
             FROM due WHERE d.event_id = due.event_id AND d.webhook_id = due.webhook_id
             RETURNING d.event_id, d.webhook_id, d.attempts, d.first_attempt_at
         )
         SELECT c.event_id, c.webhook_id, e.project_id, e.type, e.data, e.rendered, e.created_at,
             c.attempts, c.first_attempt_at, w.url, w.secret, w.format
         FROM claimed c
         JOIN webhook_events e ON e.id = c.event_id
         JOIN webhooks w ON w.id = c.webhook_id",
        &[&now.millis(), &until.millis(), &i64::from(limit)],
    )
    .await?;
    rows.iter()
        .map(|r| {
            let format: String = col(r, 11)?;
            Ok(ClaimedDelivery {
                event_id: EventId::from_db(col(r, 0)?),
                webhook_id: WebhookId::from_db(col(r, 1)?),
                project_id: ProjectId::from_db(col(r, 2)?),
                event_type: col(r, 3)?,
                data: col(r, 4)?,
                rendered: col(r, 5)?,
                created_at: Timestamp::from_millis(col(r, 6)?),
                attempts: col(r, 7)?,
                first_attempt_at: Timestamp::from_millis(col(r, 8)?),
                url: col(r, 9)?,
                secret: col(r, 10)?,
                format: WebhookFormat::from_name(&format).unwrap_or(WebhookFormat::Standard),
                claimed_until: until,
            })
        })
        .collect()
}

/// Keeps each event's rendering unless it has one; the data kept for each
/// event still there. Events are taken in id order, so two instances
/// rendering the same events never wait on each other in a cycle.
pub(crate) async fn render_events(
    tx: &Transaction<'_>,
    events: &[(EventId, String)],
) -> Result<Vec<(EventId, String)>> {
    let mut sorted: Vec<&(EventId, String)> = events.iter().collect();
    sorted.sort_by_key(|(event, _)| event.get());
    let mut out = Vec::with_capacity(sorted.len());
    for (event, data) in sorted {
        // The first rendering wins. A concurrent one waits for it on the
        // row, changes nothing, and reads what was kept in a statement of
        // its own (whose snapshot, unlike this one's, sees the winner's
        // commit).
        execute(
            tx,
            "UPDATE webhook_events SET data = $2, rendered = true WHERE id = $1 AND NOT rendered",
            &[&event.get(), data],
        )
        .await?;
        let row = query_opt(
            tx,
            "SELECT data FROM webhook_events WHERE id = $1",
            &[&event.get()],
        )
        .await?;
        if let Some(row) = row {
            out.push((*event, col(&row, 0)?));
        }
    }
    Ok(out)
}

/// Each outcome in turn, in (event, webhook) order.
pub(crate) async fn finish_deliveries(
    tx: &Transaction<'_>,
    outcomes: &[DeliveryOutcome],
) -> Result<()> {
    let mut sorted: Vec<&DeliveryOutcome> = outcomes.iter().collect();
    sorted.sort_by_key(|o| (o.event_id.get(), o.webhook_id.get()));
    for o in sorted {
        finish_delivery(tx, o).await?;
    }
    Ok(())
}

async fn finish_delivery(tx: &Transaction<'_>, o: &DeliveryOutcome) -> Result<()> {
    let (event, webhook) = (o.event_id.get(), o.webhook_id.get());
    let status = o.status_code;
    execute(
        tx,
        "INSERT INTO webhook_attempts (webhook_id, event_id, attempt, status_code, error,
             duration_ms, at)
         SELECT $1::bigint, $2::bigint, count(*) + 1, $3::bigint, $4::text, $5::bigint,
             $6::bigint
         FROM webhook_attempts
         WHERE event_id = $2 AND webhook_id = $1",
        &[
            &webhook,
            &event,
            &status,
            &o.error,
            &o.duration_ms,
            &o.at.millis(),
        ],
    )
    .await?;
    let state = match (o.delivered, o.next_attempt_at) {
        (true, _) => DeliveryState::Delivered,
        (false, Some(_)) => DeliveryState::Pending,
        (false, None) => DeliveryState::Failed,
    };
    let next = o.next_attempt_at.unwrap_or(o.at).millis();
    execute(
        tx,
        "UPDATE webhook_deliveries SET
             state = CASE WHEN redeliver THEN 0 ELSE $4::bigint END,
             attempts = CASE WHEN redeliver THEN 0 ELSE attempts + 1 END,
             next_attempt_at = CASE WHEN redeliver THEN $5::bigint ELSE $6::bigint END,
             first_attempt_at = CASE WHEN redeliver THEN NULL ELSE first_attempt_at END,
             redeliver = false, claimed_until = NULL, last_status = $7::bigint,
             last_error = $8::text
         WHERE event_id = $1 AND webhook_id = $2 AND claimed_until = $3",
        &[
            &event,
            &webhook,
            &o.claimed_until.millis(),
            &state.code(),
            &o.at.millis(),
            &next,
            &status,
            &o.error,
        ],
    )
    .await?;
    Ok(())
}
