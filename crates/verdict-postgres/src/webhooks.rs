//! Webhooks: the resource, the outbox rows a write adds when the project
//! has a subscribed webhook, and the deliveries the workers of every
//! instance claim (`FOR UPDATE SKIP LOCKED`, then held by a lease, so two
//! instances never send one delivery at once) and finish.

use deadpool_postgres::{GenericClient, Transaction};
use tokio_postgres::Row;
use tokio_postgres::types::Type;
use verdict_store::*;

use crate::error::Result;
use crate::pool::{col, execute, execute_planned, query, query_found, query_planned};
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
/// together. Answers how many deliveries it made.
async fn fan_out(c: &tokio_postgres::Client, limit: usize) -> Result<u64> {
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
    execute_planned(c, &sql, &[(&count(limit), Type::INT8)]).await
}

/// A count as a statement parameter.
fn count(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// Claims up to `limit` due deliveries. Events are fanned out only when the
/// deliveries already made fall short, and only as many as are missing
/// (each event makes at least one delivery): while writes are busy the
/// worker claims a few at a time, and fanning out every event it could
/// would make deliveries far ahead of the claims, each one more row for
/// the claims to pass over. The claim and the fan-out are planned for each
/// call: see [`query_planned`].
pub(crate) async fn claim_deliveries(
    c: &tokio_postgres::Client,
    now: Timestamp,
    until: Timestamp,
    limit: u32,
) -> Result<Vec<ClaimedDelivery>> {
    let limit = usize::try_from(limit).unwrap_or(usize::MAX);
    let mut claimed = claim_due(c, now, until, limit).await?;
    // A fan-out that made nothing leaves nothing more to claim: an idle
    // worker's wake-up costs two statements, not three.
    if claimed.len() < limit && fan_out(c, limit - claimed.len()).await? > 0 {
        claimed.extend(claim_due(c, now, until, limit - claimed.len()).await?);
    }
    Ok(claimed)
}

async fn claim_due(
    c: &tokio_postgres::Client,
    now: Timestamp,
    until: Timestamp,
    limit: usize,
) -> Result<Vec<ClaimedDelivery>> {
    // Rows another instance is claiming right now are skipped, not waited
    // for; a claimed row stays claimed until its lease ends.
    let rows = query_planned(
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
        &[
            (&now.millis(), Type::INT8),
            (&until.millis(), Type::INT8),
            (&count(limit), Type::INT8),
        ],
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
/// event still there. Two statements for all the events: the first
/// rendering wins, and the events' rows are locked in id order first, so
/// two instances rendering the same events never wait on each other in a
/// cycle. A concurrent rendering waits for the winner on the row and
/// changes nothing; the data is then read in a statement of its own, whose
/// snapshot, unlike the first one's, sees the winner's commit.
pub(crate) async fn render_events(
    tx: &tokio_postgres::Transaction<'_>,
    events: &[(EventId, String)],
) -> Result<Vec<(EventId, String)>> {
    let ids: Vec<i64> = events.iter().map(|(event, _)| event.get()).collect();
    let data: Vec<&str> = events.iter().map(|(_, data)| data.as_str()).collect();
    execute_planned(
        tx,
        "WITH r AS (
             SELECT * FROM unnest($1::bigint[], $2::text[]) AS r(id, data)
         ),
         locked AS MATERIALIZED (
             SELECT e.id FROM webhook_events e
             WHERE e.id IN (SELECT id FROM r) AND NOT e.rendered
             ORDER BY e.id
             FOR UPDATE
         )
         UPDATE webhook_events e SET data = r.data, rendered = true
         FROM locked JOIN r ON r.id = locked.id
         WHERE e.id = locked.id AND NOT e.rendered",
        &[(&ids, Type::INT8_ARRAY), (&data, Type::TEXT_ARRAY)],
    )
    .await?;
    let rows = query_planned(
        tx,
        "SELECT id, data FROM webhook_events WHERE id = ANY($1::bigint[])",
        &[(&ids, Type::INT8_ARRAY)],
    )
    .await?;
    rows.iter()
        .map(|r| Ok((EventId::from_db(col(r, 0)?), col(r, 1)?)))
        .collect()
}

/// Records finished attempts, all in one statement: each attempt's row
/// (numbered after the delivery's earlier ones), and each delivery's new
/// state, if its claim is still the one the attempt was made under. The
/// deliveries are locked in (event, webhook) order first.
pub(crate) async fn finish_deliveries(
    tx: &tokio_postgres::Transaction<'_>,
    outcomes: &[DeliveryOutcome],
) -> Result<()> {
    let n = outcomes.len();
    let (mut events, mut webhooks, mut claims, mut states) = (
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
    );
    let (mut ats, mut nexts, mut statuses, mut errors, mut durations) = (
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
    );
    for o in outcomes {
        events.push(o.event_id.get());
        webhooks.push(o.webhook_id.get());
        claims.push(o.claimed_until.millis());
        states.push(o.state().code());
        ats.push(o.at.millis());
        nexts.push(o.next_due().millis());
        statuses.push(o.status_code);
        errors.push(o.error.as_deref());
        durations.push(o.duration_ms);
    }
    execute_planned(
        tx,
        "WITH o AS (
             SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::bigint[], $4::bigint[],
                 $5::bigint[], $6::bigint[], $7::bigint[], $8::text[], $9::bigint[])
                 AS o(event_id, webhook_id, claimed_until, state, at, next_attempt_at,
                     status_code, error, duration_ms)
         ),
         locked AS MATERIALIZED (
             SELECT d.event_id, d.webhook_id FROM webhook_deliveries d
             WHERE (d.event_id, d.webhook_id) IN (SELECT event_id, webhook_id FROM o)
             ORDER BY d.event_id, d.webhook_id
             FOR UPDATE
         ),
         a AS (
             INSERT INTO webhook_attempts (webhook_id, event_id, attempt, status_code, error,
                 duration_ms, at)
             SELECT o.webhook_id, o.event_id,
                 (SELECT count(*) FROM webhook_attempts x
                  WHERE x.event_id = o.event_id AND x.webhook_id = o.webhook_id) + 1,
                 o.status_code, o.error, o.duration_ms, o.at
             FROM o ORDER BY o.event_id, o.webhook_id
         )
         UPDATE webhook_deliveries d SET
             state = CASE WHEN d.redeliver THEN 0 ELSE o.state END,
             attempts = CASE WHEN d.redeliver THEN 0 ELSE d.attempts + 1 END,
             next_attempt_at = CASE WHEN d.redeliver THEN o.at ELSE o.next_attempt_at END,
             first_attempt_at = CASE WHEN d.redeliver THEN NULL ELSE d.first_attempt_at END,
             redeliver = false, claimed_until = NULL, last_status = o.status_code,
             last_error = o.error
         FROM locked JOIN o ON o.event_id = locked.event_id AND o.webhook_id = locked.webhook_id
         WHERE d.event_id = locked.event_id AND d.webhook_id = locked.webhook_id
             AND d.claimed_until = o.claimed_until",
        &[
            (&events, Type::INT8_ARRAY),
            (&webhooks, Type::INT8_ARRAY),
            (&claims, Type::INT8_ARRAY),
            (&states, Type::INT8_ARRAY),
            (&ats, Type::INT8_ARRAY),
            (&nexts, Type::INT8_ARRAY),
            (&statuses, Type::INT8_ARRAY),
            (&errors, Type::TEXT_ARRAY),
            (&durations, Type::INT8_ARRAY),
        ],
    )
    .await?;
    Ok(())
}
