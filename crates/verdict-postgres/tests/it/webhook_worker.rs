//! The delivery worker's store calls on PostgreSQL: a claim fans out only
//! the events its deliveries lack, and the attempts finished together are
//! recorded in one statement with the same outcome as one by one.

use crate::common;

use common::{fresh, t};
use verdict_store::*;

/// A project with three webhooks subscribed to every event type, and
/// `events` queued `run.created` events not fanned out yet.
async fn queued(client: &tokio_postgres::Client, events: i64) {
    client
        .batch_execute(
            "INSERT INTO projects (name, created_at) VALUES ('hooked', 0);
             INSERT INTO webhooks (project_id, url, events, format, active, secret, created_at)
                 SELECT p.id, 'https://example.com/' || n, 7, 'standard', true,
                     'whsec_dGVzdHNlY3JldHRlc3RzZWNyZXQ=', 0
                 FROM projects p, generate_series(1, 3) n;",
        )
        .await
        .unwrap();
    client
        .execute(
            "INSERT INTO webhook_events (project_id, type, data, rendered, created_at, fanned)
                 SELECT p.id, 'run.created', '{}', false, n, false
                 FROM projects p, generate_series(1, $1::bigint) n",
            &[&events],
        )
        .await
        .unwrap();
}

/// A delivery's key: (event, webhook).
fn key(d: &ClaimedDelivery) -> (i64, i64) {
    (d.event_id.get(), d.webhook_id.get())
}

async fn count(client: &tokio_postgres::Client, sql: &str) -> i64 {
    client.query_one(sql, &[]).await.unwrap().get(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_claim_fans_out_only_the_events_its_deliveries_lack() {
    let Some((db, store)) = fresh().await else {
        return;
    };
    let client = db.client().await.unwrap();
    queued(&client, 10).await;
    let fanned = "SELECT count(*) FROM webhook_events WHERE fanned";
    let made = "SELECT count(*) FROM webhook_deliveries";
    let (now, until) = (t(100), t(160));

    // Nothing made yet: 4 events fanned out (12 deliveries), 4 claimed.
    let first = store.claim_deliveries(now, until, 4).await.unwrap();
    assert_eq!(first.len(), 4);
    assert_eq!(count(&client, fanned).await, 4);
    assert_eq!(count(&client, made).await, 12);

    // 8 made and unclaimed: taken without fanning out more.
    let second = store.claim_deliveries(now, until, 4).await.unwrap();
    assert_eq!(second.len(), 4);
    assert_eq!(
        count(&client, fanned).await,
        4,
        "no fan-out while enough are made"
    );

    // Claims of 5 (more than the planner's first few calls of a statement)
    // until nothing is left: every delivery claimed exactly once.
    let mut claimed: Vec<(i64, i64)> = first.iter().chain(&second).map(key).collect();
    for _ in 0..20 {
        let more = store.claim_deliveries(now, until, 5).await.unwrap();
        if more.is_empty() {
            break;
        }
        claimed.extend(more.iter().map(key));
    }
    let n = claimed.len();
    claimed.sort_unstable();
    claimed.dedup();
    assert_eq!(claimed.len(), n, "a delivery claimed twice");
    assert_eq!(n, 30, "10 events × 3 webhooks");
    assert_eq!(count(&client, fanned).await, 10);
    assert!(
        store
            .claim_deliveries(now, until, 5)
            .await
            .unwrap()
            .is_empty()
    );
    db.drop_database().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attempts_finished_together_are_recorded_as_one_by_one() {
    let Some((db, store)) = fresh().await else {
        return;
    };
    let client = db.client().await.unwrap();
    queued(&client, 2).await;
    let (now, until) = (t(100), t(160));
    let mut claimed = store.claim_deliveries(now, until, 6).await.unwrap();
    assert_eq!(claimed.len(), 6);
    claimed.sort_by_key(key);
    let at = t(101);
    let retry_at = t(131);
    let outcome = |d: &ClaimedDelivery, delivered: bool, next: Option<Timestamp>| DeliveryOutcome {
        event_id: d.event_id,
        webhook_id: d.webhook_id,
        claimed_until: d.claimed_until,
        first_attempt_at: d.first_attempt_at,
        delivered,
        status_code: Some(if delivered { 204 } else { 500 }),
        error: (!delivered).then(|| "HTTP 500".to_string()),
        duration_ms: 3,
        at,
        next_attempt_at: next,
    };
    // A redelivery asked for while the fourth is in flight.
    store
        .redeliver(claimed[3].webhook_id, claimed[3].event_id, t(100))
        .await
        .unwrap();
    let mut stale = outcome(&claimed[5], true, None);
    stale.claimed_until = t(150);
    let outcomes = vec![
        outcome(&claimed[0], true, None),
        outcome(&claimed[1], false, Some(retry_at)),
        outcome(&claimed[2], false, None),
        outcome(&claimed[3], true, None),
        outcome(&claimed[4], true, None),
        // Made under a claim that is not the delivery's any more.
        stale,
    ];
    store.finish_deliveries(outcomes).await.unwrap();

    let rows = client
        .query(
            "SELECT event_id, webhook_id, state, attempts, next_attempt_at, claimed_until,
                 last_status
             FROM webhook_deliveries ORDER BY event_id, webhook_id",
            &[],
        )
        .await
        .unwrap();
    let state: Vec<(i64, i64, Option<i64>, i64)> = rows
        .iter()
        .map(|r| (r.get(2), r.get(3), r.get(5), r.get(4)))
        .collect();
    let (delivered, pending, failed) = (
        DeliveryState::Delivered.code(),
        DeliveryState::Pending.code(),
        DeliveryState::Failed.code(),
    );
    assert_eq!(rows.len(), 6);
    for (i, r) in rows.iter().enumerate() {
        assert_eq!((r.get::<_, i64>(0), r.get::<_, i64>(1)), key(&claimed[i]));
    }
    assert_eq!(state[0], (delivered, 1, None, at.millis()));
    assert_eq!(state[1], (pending, 1, None, retry_at.millis()));
    assert_eq!(state[2], (failed, 1, None, at.millis()));
    // The redelivery makes it due again from the attempt's end, as new.
    assert_eq!(state[3], (pending, 0, None, at.millis()));
    assert_eq!(state[4], (delivered, 1, None, at.millis()));
    // The stale outcome leaves the delivery as its claim has it.
    assert_eq!(
        state[5],
        (
            pending,
            0,
            Some(until.millis()),
            claimed[5].created_at.millis()
        )
    );
    let status: Option<i64> = rows[1].get(6);
    assert_eq!(status, Some(500));

    // Every attempt is in the log, numbered; the retry is attempt 2.
    assert_eq!(
        count(&client, "SELECT count(*) FROM webhook_attempts").await,
        6
    );
    let retry = store.claim_deliveries(retry_at, t(200), 10).await.unwrap();
    let retried: Vec<(i64, i64)> = retry.iter().map(key).collect();
    assert!(retried.contains(&key(&claimed[1])));
    assert!(retried.contains(&key(&claimed[3])));
    let again: Vec<DeliveryOutcome> = retry
        .iter()
        .filter(|d| key(d) == key(&claimed[1]))
        .map(|d| outcome(d, true, None))
        .collect();
    store.finish_deliveries(again).await.unwrap();
    let numbers: Vec<i64> = client
        .query(
            "SELECT attempt FROM webhook_attempts WHERE event_id = $1 AND webhook_id = $2
             ORDER BY id",
            &[&claimed[1].event_id.get(), &claimed[1].webhook_id.get()],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(numbers, [1, 2]);
    db.drop_database().await.unwrap();
}
