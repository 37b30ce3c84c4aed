//! The delivery worker: claims due deliveries in batches (each claim a
//! lease, so a killed instance's claims come back when it lapses, and no
//! two workers send one delivery at once), renders each event's data once,
//! sends (on the low-priority [`DeliveryThread`]), records the attempts
//! finished together in one write and schedules the next ones. Woken by
//! this process's writes, and polls for other instances' events.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio::task::JoinSet;
use verdict_store::{
    BaselineChoice, CaseId, ClaimedDelivery, DeliveryOutcome, EventId, Page, RecordedFacts,
    ResultId, ResultQuery, Run, RunId, Status, Store, StoreError, Timestamp, WebhookFormat,
};

use super::Hub;
use super::backoff::next_delay;
use super::format::{Format, render};
use super::send::{Sender, Target};
use super::thread::DeliveryThread;
use crate::dto;

/// Deliveries sent at once, per instance.
pub const MAX_IN_FLIGHT: usize = 16;
/// Deliveries claimed at most at once: twice what is sent at once, so the
/// next sends are claimed while the current ones finish (a claim is one
/// write for many deliveries, not one per delivery).
const CLAIM: usize = 2 * MAX_IN_FLIGHT;
/// While writes are being served, the worker claims at most this many
/// deliveries per [`BUSY_PAUSE`] (160 a second): a storm of writes is
/// slowed by its deliveries only that much, and the backlog goes out at
/// full speed once it passes. Never busier than this, the worker keeps
/// pace: a team's manual testing or a CI's uploads are far below it.
const BUSY_CLAIM: usize = 8;
const BUSY_PAUSE: Duration = Duration::from_millis(50);
/// How often the worker looks for due deliveries without being woken
/// (other instances' events, retries coming due).
pub const POLL: Duration = Duration::from_secs(1);
/// How long a claim holds: well beyond a send's 10 s timeout (and the
/// time a claimed delivery waits for a free sender), so a delivery is
/// only claimed again once its sender is surely gone.
pub const LEASE: Duration = Duration::from_secs(60);
/// After a claim found nothing, the next wake-up waits this long before
/// claiming again, doubling with each claim that finds nothing up to
/// [`QUIET_MAX`]: a lone event goes out within milliseconds, and a stream
/// of writes to projects without webhooks costs at most a few claims a
/// second.
const QUIET_MIN: Duration = Duration::from_millis(2);
const QUIET_MAX: Duration = Duration::from_millis(50);
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
    /// Starts the worker on the current runtime; its sends run on a
    /// thread of their own at low priority ([`DeliveryThread`]).
    pub fn start(store: Arc<dyn Store>, hub: Arc<Hub>) -> Result<Worker, String> {
        let sender = Arc::new(Sender::new(hub.config.allow_private)?);
        let thread = Arc::new(DeliveryThread::start()?);
        let stop = Arc::new(tokio::sync::Notify::new());
        let task = tokio::spawn(run(store, hub, sender, thread, Arc::clone(&stop)));
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
    thread: Arc<DeliveryThread>,
    stop: Arc<tokio::sync::Notify>,
) {
    let mut in_flight: JoinSet<Option<DeliveryOutcome>> = JoinSet::new();
    let mut queued: VecDeque<Prepared> = VecDeque::new();
    let mut finished: Vec<DeliveryOutcome> = Vec::new();
    // Since when claims have found nothing, and how long a wake-up waits.
    let mut empty: Option<(Instant, Duration)> = None;
    let baselines = Baselines::default();
    // The earliest next claim (later than now only while writes are busy).
    let mut next_claim = Instant::now();
    // Whether a claim may find something: not after one that found
    // nothing, until woken or the poll comes round.
    let mut want = true;
    // When to look again unwoken (a deadline, not a sleep per loop, so
    // sends finishing one after another do not keep pushing it back).
    let mut poll_at = Instant::now() + POLL;
    loop {
        // Claim when what is queued and in flight runs low.
        let held = queued.len() + in_flight.len();
        let mut claimed = 0;
        if want && held <= MAX_IN_FLIGHT && Instant::now() >= next_claim {
            let busy = hub.writes_busy();
            let room = if busy { BUSY_CLAIM } else { CLAIM - held };
            let now = Timestamp::now();
            let until = Timestamp::from_millis(now.millis() + LEASE.as_millis() as i64);
            match store.claim_deliveries(now, until, room as u32).await {
                Ok(due) => {
                    claimed = due.len();
                    queued.extend(prepare(&*store, &baselines, due).await);
                }
                Err(e) => tracing::warn!(error = %e, "webhook deliveries could not be claimed"),
            }
            if busy && claimed > 0 {
                next_claim = Instant::now() + BUSY_PAUSE;
            }
            want = claimed > 0;
            poll_at = Instant::now() + POLL;
            empty = match (claimed, empty) {
                (0, None) => Some((Instant::now(), QUIET_MIN)),
                (0, Some((_, quiet))) => Some((Instant::now(), (quiet * 2).min(QUIET_MAX))),
                _ => None,
            };
        }
        while in_flight.len() < MAX_IN_FLIGHT
            && let Some(p) = queued.pop_front()
        {
            let (sender, thread) = (Arc::clone(&sender), Arc::clone(&thread));
            let public_url = hub.config.public_url.clone();
            in_flight.spawn(async move { deliver(&sender, &thread, public_url, p).await });
        }
        let held = queued.len() + in_flight.len();
        if claimed > 0 && held <= MAX_IN_FLIGHT && Instant::now() >= next_claim {
            // More may be due.
            continue;
        }
        let paused = next_claim > Instant::now();
        tokio::select! {
            _ = stop.notified() => break,
            _ = hub.woken() => {
                if let Some((at, quiet)) = empty {
                    tokio::select! {
                        _ = stop.notified() => break,
                        _ = tokio::time::sleep(quiet.saturating_sub(at.elapsed())) => {}
                    }
                }
                want = true;
            }
            _ = tokio::time::sleep_until(poll_at.into()) => {
                want = true;
                poll_at = Instant::now() + POLL;
            }
            _ = tokio::time::sleep_until(next_claim.into()), if paused => {}
            Some(done) = in_flight.join_next(), if !in_flight.is_empty() => {
                finished.extend(done.ok().flatten());
                // Every send finished by now is recorded in one write;
                // while writes are busy, one write per busy claim's worth
                // of sends (each write of the worker is one more
                // transaction for the database's writer).
                while let Some(done) = in_flight.try_join_next() {
                    finished.extend(done.ok().flatten());
                }
                if in_flight.is_empty() || finished.len() >= BUSY_CLAIM || !hub.writes_busy() {
                    finish(&*store, std::mem::take(&mut finished)).await;
                }
            }
        }
    }
    let drained = tokio::time::timeout(DRAIN, async {
        while let Some(done) = in_flight.join_next().await {
            finished.extend(done.ok().flatten());
        }
    })
    .await;
    if drained.is_err() {
        tracing::warn!(
            left = in_flight.len(),
            "webhook deliveries still in flight at shutdown are left to be sent again"
        );
        in_flight.abort_all();
    }
    finish(&*store, finished).await;
}

/// A claimed delivery with its event's data, ready to send.
struct Prepared {
    delivery: ClaimedDelivery,
    data: Value,
}

/// The data of each claimed delivery's event: an event not rendered yet is
/// rendered from its facts once for all its deliveries, and the renderings
/// of the whole claim kept in one write (the first rendering of an event
/// wins, so every attempt and every webhook gets the same body). A
/// delivery whose event cannot be rendered now is left: its claim lapses
/// and it is tried again.
async fn prepare(
    store: &dyn Store,
    baselines: &Baselines,
    due: Vec<ClaimedDelivery>,
) -> Vec<Prepared> {
    let mut rendered: HashMap<EventId, String> = HashMap::new();
    let mut failed: HashSet<EventId> = HashSet::new();
    let mut runs = HashMap::new();
    for d in due.iter().filter(|d| !d.rendered) {
        if rendered.contains_key(&d.event_id) || failed.contains(&d.event_id) {
            continue;
        }
        match render_data(store, baselines, &mut runs, &d.event_type, &d.data).await {
            Ok(data) => {
                rendered.insert(d.event_id, data.to_string());
            }
            Err(e) => {
                tracing::warn!(event = %d.event_id, error = %e, "a webhook event could not be rendered");
                failed.insert(d.event_id);
            }
        }
    }
    if !rendered.is_empty() {
        match store.render_events(rendered.into_iter().collect()).await {
            Ok(kept) => rendered = kept.into_iter().collect(),
            Err(e) => {
                tracing::warn!(error = %e, "webhook events could not be kept");
                rendered = HashMap::new();
            }
        }
    }
    due.into_iter()
        .filter_map(|d| {
            let kept = if d.rendered {
                &d.data
            } else {
                rendered.get(&d.event_id)?
            };
            match serde_json::from_str(kept) {
                Ok(data) => Some(Prepared { data, delivery: d }),
                Err(e) => {
                    tracing::warn!(event = %d.event_id, error = %e, "a webhook event's data is not JSON");
                    None
                }
            }
        })
        .collect()
}

/// One attempt at one delivery (rendered, signed and sent on the delivery
/// thread), and what is to be recorded of it; `None` if the delivery
/// thread is gone (shutting down: the claim lapses).
async fn deliver(
    sender: &Arc<Sender>,
    thread: &DeliveryThread,
    public_url: Option<String>,
    p: Prepared,
) -> Option<DeliveryOutcome> {
    let Prepared { delivery: d, data } = p;
    let format = match d.format {
        WebhookFormat::Standard => Format::Standard,
        WebhookFormat::Slack => Format::Slack,
    };
    let (sender, event_type, created_at) = (
        Arc::clone(sender),
        d.event_type.clone(),
        d.created_at.to_string(),
    );
    let (url, secret, event_id) = (d.url.clone(), d.secret.clone(), d.event_id.to_string());
    let attempt = thread
        .run(async move {
            let body = render(
                format,
                &event_type,
                &created_at,
                &data,
                public_url.as_deref(),
            );
            let sent_at = Timestamp::now();
            sender
                .send(&Target {
                    url: &url,
                    secret: &secret,
                    event_id: &event_id,
                    timestamp: sent_at.millis().div_euclid(1000),
                    body: &body,
                })
                .await
        })
        .await?;
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
    Some(DeliveryOutcome {
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
    })
}

/// Records finished attempts, all in one write. A lost record means the
/// delivery is sent again when its claim lapses: at least once, never
/// lost.
async fn finish(store: &dyn Store, outcomes: Vec<DeliveryOutcome>) {
    if outcomes.is_empty() {
        return;
    }
    for wait in [0, 200, 1000] {
        tokio::time::sleep(Duration::from_millis(wait)).await;
        match store.finish_deliveries(outcomes.clone()).await {
            Ok(()) => return,
            Err(e) => {
                tracing::warn!(attempts = outcomes.len(), error = %e, "webhook attempts could not be recorded")
            }
        }
    }
}

/// The data of an event from the facts its write kept.
async fn render_data(
    store: &dyn Store,
    baselines: &Baselines,
    runs: &mut HashMap<RunId, Option<Run>>,
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
    // The events of one claim often share a run: read once.
    let run = match runs.get(&run_id) {
        Some(run) => run.clone(),
        None => {
            let run = match store.get_run(run_id).await {
                Ok(run) => Some(run),
                Err(StoreError::NotFound) => None,
                Err(e) => return Err(e),
            };
            runs.insert(run_id, run.clone());
            run
        }
    };
    let Some(run) = run else {
        // Pruned since: the facts are all there is.
        return Ok(json!({ "run_id": run_id.to_string() }));
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
                // As the write left them; an event queued before they
                // were kept says the run's counts now.
                "counts": match &facts.counts {
                    Some(counts) => serde_json::to_value(dto::counts(counts))
                        .map_err(|e| StoreError::Other(format!("counts: {e}")))?,
                    None => data.get("counts").cloned().unwrap_or(Value::Null),
                },
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
