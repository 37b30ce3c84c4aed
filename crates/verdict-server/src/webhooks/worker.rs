//! The delivery worker: claims due deliveries (each claim a lease, so a
//! killed instance's claims come back when it lapses, and no two workers
//! send one delivery at once), renders an event's body once, sends it,
//! records the attempt and schedules the next one. Woken by this
//! process's writes, and polls for other instances' events.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio::task::JoinSet;
use verdict_store::{
    BaselineChoice, CaseId, ClaimedDelivery, DeliveryOutcome, Page, RecordedFacts, ResultId,
    ResultQuery, RunId, Status, Store, StoreError, Timestamp, WebhookFormat,
};

use super::Hub;
use super::backoff::next_delay;
use super::format::{Format, render};
use super::send::{Sender, Target};
use crate::dto;

/// Deliveries sent at once, per instance.
pub const MAX_IN_FLIGHT: usize = 16;
/// How often the worker looks for due deliveries without being woken
/// (other instances' events, retries coming due).
pub const POLL: Duration = Duration::from_secs(1);
/// How long a claim holds: well beyond a send's 10 s timeout, so a
/// delivery is only claimed again once its sender is surely gone.
pub const LEASE: Duration = Duration::from_secs(60);
/// After a claim found nothing, wake-ups wait this long before the next
/// claim: a stream of writes to projects without webhooks costs at most
/// a few claims a second.
const QUIET: Duration = Duration::from_millis(50);
/// How long a shutdown waits for the deliveries in flight.
const DRAIN: Duration = Duration::from_secs(12);
/// New failures named in a `results.recorded` event.
const MAX_NEW_FAILURES: usize = 20;

/// The worker's handle: stop it with [`Worker::shutdown`].
pub struct Worker {
    stop: Arc<tokio::sync::Notify>,
    task: tokio::task::JoinHandle<()>,
}

impl Worker {
    /// Starts the worker on the current runtime.
    pub fn start(store: Arc<dyn Store>, hub: Arc<Hub>) -> Result<Worker, String> {
        let sender = Arc::new(Sender::new(hub.config.allow_private)?);
        let stop = Arc::new(tokio::sync::Notify::new());
        let task = tokio::spawn(run(store, hub, sender, Arc::clone(&stop)));
        Ok(Worker { stop, task })
    }

    /// Stops claiming, and waits (a while) for the deliveries in flight;
    /// any still unfinished are picked up again when their claims lapse.
    pub async fn shutdown(self) {
        self.stop.notify_one();
        let _ = self.task.await;
    }
}

async fn run(
    store: Arc<dyn Store>,
    hub: Arc<Hub>,
    sender: Arc<Sender>,
    stop: Arc<tokio::sync::Notify>,
) {
    let mut in_flight: JoinSet<()> = JoinSet::new();
    let mut last_empty: Option<Instant> = None;
    let baselines = Arc::new(Baselines::default());
    loop {
        let free = MAX_IN_FLIGHT.saturating_sub(in_flight.len());
        let mut claimed = 0;
        if free > 0 {
            let now = Timestamp::now();
            let until = Timestamp::from_millis(now.millis() + LEASE.as_millis() as i64);
            match store.claim_deliveries(now, until, free as u32).await {
                Ok(due) => {
                    claimed = due.len();
                    for d in due {
                        let (store, hub, sender) =
                            (Arc::clone(&store), Arc::clone(&hub), Arc::clone(&sender));
                        let baselines = Arc::clone(&baselines);
                        in_flight.spawn(async move {
                            deliver(&*store, &hub, &sender, &baselines, d).await
                        });
                    }
                }
                Err(e) => tracing::warn!(error = %e, "webhook deliveries could not be claimed"),
            }
        }
        if claimed > 0 && in_flight.len() < MAX_IN_FLIGHT {
            // More may be due.
            last_empty = None;
            continue;
        }
        if claimed == 0 && free > 0 {
            last_empty = Some(Instant::now());
        }
        tokio::select! {
            _ = stop.notified() => break,
            _ = hub.woken() => {
                if let Some(at) = last_empty {
                    let quiet = QUIET.saturating_sub(at.elapsed());
                    tokio::select! {
                        _ = stop.notified() => break,
                        _ = tokio::time::sleep(quiet) => {}
                    }
                }
            }
            _ = tokio::time::sleep(POLL) => {}
            Some(_) = in_flight.join_next(), if !in_flight.is_empty() => {}
        }
    }
    let drained = tokio::time::timeout(DRAIN, async {
        while in_flight.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        tracing::warn!(
            left = in_flight.len(),
            "webhook deliveries still in flight at shutdown are left to be sent again"
        );
        in_flight.abort_all();
    }
}

/// One attempt at one delivery, recorded.
async fn deliver(
    store: &dyn Store,
    hub: &Hub,
    sender: &Sender,
    baselines: &Baselines,
    d: ClaimedDelivery,
) {
    let data = match body_data(store, baselines, &d).await {
        Ok(data) => data,
        Err(e) => {
            // Not sent: the claim lapses and the delivery is tried again.
            tracing::warn!(event = %d.event_id, error = %e, "a webhook event could not be rendered");
            return;
        }
    };
    let format = match d.format {
        WebhookFormat::Standard => Format::Standard,
        WebhookFormat::Slack => Format::Slack,
    };
    let body = render(
        format,
        &d.event_type,
        &d.created_at.to_string(),
        &data,
        hub.config.public_url.as_deref(),
    );
    let event_id = d.event_id.to_string();
    let sent_at = Timestamp::now();
    let attempt = sender
        .send(&Target {
            url: &d.url,
            secret: &d.secret,
            event_id: &event_id,
            timestamp: sent_at.millis().div_euclid(1000),
            body: &body,
        })
        .await;
    let at = Timestamp::now();
    let since_first = Duration::from_millis(
        u64::try_from(at.millis() - d.first_attempt_at.millis()).unwrap_or(0),
    );
    let made = u32::try_from(d.attempts + 1).unwrap_or(u32::MAX);
    let next_attempt_at = if attempt.delivered {
        None
    } else {
        next_delay(made, since_first)
            .map(|delay| Timestamp::from_millis(at.millis() + delay.as_millis() as i64))
    };
    if !attempt.delivered {
        tracing::info!(
            event = %d.event_id, webhook = %d.webhook_id, status = attempt.status_code,
            error = attempt.error.as_deref().unwrap_or(""), retry = next_attempt_at.is_some(),
            "webhook delivery attempt failed"
        );
    }
    let outcome = DeliveryOutcome {
        event_id: d.event_id,
        webhook_id: d.webhook_id,
        claimed_until: d.claimed_until,
        first_attempt_at: d.first_attempt_at,
        delivered: attempt.delivered,
        status_code: attempt.status_code.map(i64::from),
        error: attempt.error,
        duration_ms: i64::try_from(attempt.duration_ms).unwrap_or(i64::MAX),
        at,
        next_attempt_at,
    };
    // A lost record means the delivery is sent again when its claim
    // lapses: at least once, never lost.
    for wait in [0, 200, 1000] {
        tokio::time::sleep(Duration::from_millis(wait)).await;
        match store.finish_delivery(outcome.clone()).await {
            Ok(()) => return,
            Err(e) => {
                tracing::warn!(event = %d.event_id, error = %e, "a webhook attempt could not be recorded")
            }
        }
    }
}

/// The event's `data`: rendered from its facts at its first delivery and
/// kept, so every attempt (and every webhook) gets the same body.
async fn body_data(
    store: &dyn Store,
    baselines: &Baselines,
    d: &ClaimedDelivery,
) -> Result<Value, StoreError> {
    let kept = if d.rendered {
        d.data.clone()
    } else {
        let data = render_data(store, baselines, &d.event_type, &d.data).await?;
        store.render_event(d.event_id, data.to_string()).await?
    };
    serde_json::from_str(&kept).map_err(|e| StoreError::Other(format!("event data: {e}")))
}

/// The data of an event from the facts its write kept.
async fn render_data(
    store: &dyn Store,
    baselines: &Baselines,
    kind: &str,
    facts: &str,
) -> Result<Value, StoreError> {
    let facts: Value =
        serde_json::from_str(facts).map_err(|e| StoreError::Other(format!("event facts: {e}")))?;
    let run = facts
        .get("run_id")
        .and_then(Value::as_i64)
        .map(RunId::from_db);
    let Some(run_id) = run else {
        return Ok(facts);
    };
    let run = match store.get_run(run_id).await {
        Ok(run) => run,
        // Pruned since: the facts are all there is.
        Err(StoreError::NotFound) => return Ok(json!({ "run_id": run_id.to_string() })),
        Err(e) => return Err(e),
    };
    let mut data =
        serde_json::to_value(dto::run(&run)).map_err(|e| StoreError::Other(format!("run: {e}")))?;
    match kind {
        "run.closed" => {
            let compared = store
                .compare_runs(
                    run_id,
                    BaselineChoice::Auto,
                    vec![],
                    Page {
                        page: 1,
                        per_page: 1,
                    },
                )
                .await?;
            if let Some(obj) = data.as_object_mut() {
                obj.insert(
                    "compare".into(),
                    json!({
                        "baseline_id": compared.baseline_id.map(|b| b.to_string()),
                        "summary": dto::compare_summary(&compared.summary),
                    }),
                );
            }
            Ok(data)
        }
        "results.recorded" => {
            let facts: RecordedFacts = serde_json::from_value(facts)
                .map_err(|e| StoreError::Other(format!("event facts: {e}")))?;
            let new_failures = new_failures(store, baselines, run_id, &facts.failed).await?;
            Ok(json!({
                "run_id": run.id.to_string(),
                "run_name": run.name,
                "project_id": run.project_id.to_string(),
                "executions": facts.executions,
                "counts": data.get("counts").cloned().unwrap_or(Value::Null),
                "new_failures": new_failures,
            }))
        }
        _ => Ok(data),
    }
}

/// Which of the results that failed in this write are new failures (as
/// the comparison defines them: failed now, and not failed in the run's
/// baseline or not in it), at most [`MAX_NEW_FAILURES`], each with its
/// case, title and the first line of its note. At most
/// [`MAX_LOOKUPS`] of the write's failed results are looked at.
async fn new_failures(
    store: &dyn Store,
    baselines: &Baselines,
    run: RunId,
    failed: &[i64],
) -> Result<Vec<Value>, StoreError> {
    if failed.is_empty() {
        return Ok(Vec::new());
    }
    let failing_before = baselines.failed(store, run).await?;
    let mut out = Vec::new();
    for &id in failed.iter().take(MAX_LOOKUPS) {
        let result = match store.get_result(run, ResultId::from_db(id)).await {
            Ok(r) => r,
            Err(StoreError::NotFound) => continue,
            Err(e) => return Err(e),
        };
        if result.status != Status::Failed || failing_before.contains(&result.case_id) {
            continue;
        }
        let note = result
            .note
            .as_deref()
            .and_then(|n| n.lines().next())
            .map(str::to_string);
        out.push(json!({
            "test_case_id": result.case_id.to_string(),
            "title": result.case_title,
            "note": note,
        }));
        if out.len() >= MAX_NEW_FAILURES {
            break;
        }
    }
    Ok(out)
}

/// Failed results of a write looked up for its new failures.
const MAX_LOOKUPS: usize = 200;
/// How long a run's baseline failures are reused.
const BASELINE_TTL: Duration = Duration::from_secs(60);

/// Cases that failed in a run.
type FailedCases = Arc<HashSet<CaseId>>;

/// The cases that failed in each run's baseline, kept a minute: a run's
/// `results.recorded` events come in streams, and finding the baseline
/// reads the whole comparison, once per run rather than once per event.
#[derive(Default)]
pub(crate) struct Baselines {
    by_run: Mutex<HashMap<RunId, (Instant, FailedCases)>>,
}

impl Baselines {
    async fn failed(&self, store: &dyn Store, run: RunId) -> Result<FailedCases, StoreError> {
        if let Ok(cache) = self.by_run.lock()
            && let Some((at, set)) = cache.get(&run)
            && at.elapsed() < BASELINE_TTL
        {
            return Ok(Arc::clone(set));
        }
        let one = Page {
            page: 1,
            per_page: 1,
        };
        let compared = store
            .compare_runs(run, BaselineChoice::Auto, vec![], one)
            .await?;
        let mut set = HashSet::new();
        if let Some(baseline) = compared.baseline_id {
            for page in 1.. {
                let query = ResultQuery {
                    statuses: vec![Status::Failed],
                    after: None,
                    q: None,
                    assignee: None,
                    key: None,
                    output: false,
                    page: Page {
                        page,
                        per_page: 1000,
                    },
                };
                let listed = store.list_results(baseline, query).await?;
                set.extend(listed.items.iter().map(|r| r.case_id));
                if listed.items.len() < 1000 {
                    break;
                }
            }
        }
        let set = Arc::new(set);
        if let Ok(mut cache) = self.by_run.lock() {
            cache.retain(|_, (at, _)| at.elapsed() < BASELINE_TTL);
            cache.insert(run, (Instant::now(), Arc::clone(&set)));
        }
        Ok(set)
    }
}
