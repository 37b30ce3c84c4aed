//! Webhooks: a project's subscriptions, the outbox of events written in the
//! same transaction as the change they report, and the per-(event,
//! webhook) delivery state the delivery worker claims, sends and records.

use serde::Serialize;

use crate::{EventId, ProjectId, RunId, Timestamp, WebhookId};

/// What a webhook can be told about. Stored as a bit each in a webhook's
/// `events` (so "is anyone subscribed" is one indexed test) and by name
/// on an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum EventType {
    RunCreated,
    RunClosed,
    ResultsRecorded,
    /// The test endpoint's event, for one webhook only; never subscribed.
    Ping,
}

impl EventType {
    /// The types a webhook may subscribe to, in this order.
    pub const SUBSCRIBABLE: [EventType; 3] = [
        EventType::RunCreated,
        EventType::RunClosed,
        EventType::ResultsRecorded,
    ];

    pub fn name(self) -> &'static str {
        match self {
            EventType::RunCreated => "run.created",
            EventType::RunClosed => "run.closed",
            EventType::ResultsRecorded => "results.recorded",
            EventType::Ping => "ping",
        }
    }

    pub fn from_name(name: &str) -> Option<EventType> {
        [
            EventType::RunCreated,
            EventType::RunClosed,
            EventType::ResultsRecorded,
            EventType::Ping,
        ]
        .into_iter()
        .find(|t| t.name() == name)
    }

    /// Its bit in a webhook's `events`.
    pub fn bit(self) -> i64 {
        match self {
            EventType::RunCreated => 1,
            EventType::RunClosed => 2,
            EventType::ResultsRecorded => 4,
            EventType::Ping => 0,
        }
    }

    /// The types whose bits are set, in [`SUBSCRIBABLE`](Self::SUBSCRIBABLE) order.
    pub fn from_bits(bits: i64) -> Vec<EventType> {
        Self::SUBSCRIBABLE
            .into_iter()
            .filter(|t| bits & t.bit() != 0)
            .collect()
    }

    /// An SQL expression giving the bit of the event type named by
    /// `column` (0 for a type no webhook subscribes to).
    pub fn bit_sql(column: &str) -> String {
        let arms: Vec<String> = [
            EventType::RunCreated,
            EventType::RunClosed,
            EventType::ResultsRecorded,
        ]
        .iter()
        .map(|t| format!("WHEN '{}' THEN {}", t.name(), t.bit()))
        .collect();
        format!("(CASE {column} {} ELSE 0 END)", arms.join(" "))
    }

    pub fn bits(types: &[EventType]) -> i64 {
        types.iter().fold(0, |acc, t| acc | t.bit())
    }
}

/// How a webhook's bodies are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WebhookFormat {
    /// `{"type", "timestamp", "data"}`.
    Standard,
    /// A Slack incoming-webhook message.
    Slack,
}

impl WebhookFormat {
    pub fn name(self) -> &'static str {
        match self {
            WebhookFormat::Standard => "standard",
            WebhookFormat::Slack => "slack",
        }
    }

    pub fn from_name(name: &str) -> Option<WebhookFormat> {
        match name {
            "standard" => Some(WebhookFormat::Standard),
            "slack" => Some(WebhookFormat::Slack),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Webhook {
    pub id: WebhookId,
    pub project_id: ProjectId,
    pub url: String,
    pub events: Vec<EventType>,
    pub format: WebhookFormat,
    pub active: bool,
    /// `whsec_…`: signs every body sent; the API shows it once.
    pub secret: String,
    pub created_at: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewWebhook {
    pub url: String,
    pub events: Vec<EventType>,
    pub format: WebhookFormat,
    pub active: bool,
    pub secret: String,
}

/// A webhook's changes; `None` leaves a field alone.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WebhookPatch {
    pub url: Option<String>,
    pub events: Option<Vec<EventType>>,
    pub format: Option<WebhookFormat>,
    pub active: Option<bool>,
}

/// Where a delivery stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryState {
    Pending,
    Delivered,
    Failed,
}

impl DeliveryState {
    pub fn code(self) -> i64 {
        match self {
            DeliveryState::Pending => 0,
            DeliveryState::Delivered => 1,
            DeliveryState::Failed => 2,
        }
    }

    pub fn from_code(code: i64) -> Option<DeliveryState> {
        match code {
            0 => Some(DeliveryState::Pending),
            1 => Some(DeliveryState::Delivered),
            2 => Some(DeliveryState::Failed),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            DeliveryState::Pending => "pending",
            DeliveryState::Delivered => "delivered",
            DeliveryState::Failed => "failed",
        }
    }
}

/// One attempt to deliver an event to a webhook, as the deliveries list
/// shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryAttempt {
    pub event_id: EventId,
    pub event_type: String,
    /// 1 for the first attempt of this delivery, and so on.
    pub attempt: i64,
    pub status_code: Option<i64>,
    pub error: Option<String>,
    pub duration_ms: i64,
    pub at: Timestamp,
    /// Where the delivery of this event stands now.
    pub state: DeliveryState,
}

/// A delivery the worker has claimed: what it needs to send it. The claim
/// holds until `claimed_until`; a worker that dies lets it lapse, and the
/// delivery is due again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimedDelivery {
    pub event_id: EventId,
    pub webhook_id: WebhookId,
    pub project_id: ProjectId,
    pub event_type: String,
    /// The event's data (JSON text): its facts until first rendered
    /// ([`rendered`](Self::rendered) false), then the body's `data`, kept.
    pub data: String,
    pub rendered: bool,
    pub created_at: Timestamp,
    /// Attempts made before this one.
    pub attempts: i64,
    /// When the first attempt was made (this claim's time for the first).
    pub first_attempt_at: Timestamp,
    pub url: String,
    pub secret: String,
    pub format: WebhookFormat,
    pub claimed_until: Timestamp,
}

/// What one attempt came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryOutcome {
    pub event_id: EventId,
    pub webhook_id: WebhookId,
    /// The claim this attempt was made under: an outcome whose claim has
    /// lapsed and been taken by another worker is still logged, but does
    /// not change the delivery's state.
    pub claimed_until: Timestamp,
    pub first_attempt_at: Timestamp,
    pub delivered: bool,
    pub status_code: Option<i64>,
    pub error: Option<String>,
    pub duration_ms: i64,
    pub at: Timestamp,
    /// When to try again (not delivered); `None`: give up, failed.
    pub next_attempt_at: Option<Timestamp>,
}

impl DeliveryOutcome {
    /// The delivery's state as this attempt leaves it: delivered; pending
    /// while a retry is scheduled; failed once the retries are given up.
    pub fn state(&self) -> DeliveryState {
        match (self.delivered, self.next_attempt_at) {
            (true, _) => DeliveryState::Delivered,
            (false, Some(_)) => DeliveryState::Pending,
            (false, None) => DeliveryState::Failed,
        }
    }

    /// The delivery's `next_attempt_at` as this attempt leaves it: the
    /// retry's time, or the attempt's own when there is none.
    pub fn next_due(&self) -> Timestamp {
        self.next_attempt_at.unwrap_or(self.at)
    }
}

/// The facts of a `results.recorded` event, written with the write: the
/// body is rendered from them (and the run as it is then) at the first
/// claim, and kept.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct RecordedFacts {
    pub run_id: i64,
    pub executions: i64,
    /// The results whose (last) execution in this write failed, at most
    /// [`RecordedFacts::MAX_FAILED`] of them.
    pub failed: Vec<i64>,
    /// The run's counts as this write left them (absent in events queued
    /// before they were kept: then the run's counts when first sent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub counts: Option<crate::Counts>,
}

impl RecordedFacts {
    /// Failed results kept per event: the body names at most 20 new
    /// failures, and most failures in a big upload are not new.
    pub const MAX_FAILED: usize = 1000;

    pub fn of(
        run: RunId,
        executions: &[(i64, &crate::Execution)],
        counts_after: crate::Counts,
    ) -> String {
        let mut last: std::collections::HashMap<i64, crate::Status> =
            std::collections::HashMap::with_capacity(executions.len());
        for (result, e) in executions {
            last.insert(*result, e.status);
        }
        let mut failed: Vec<i64> = last
            .into_iter()
            .filter(|(_, s)| *s == crate::Status::Failed)
            .map(|(r, _)| r)
            .collect();
        failed.sort_unstable();
        failed.truncate(Self::MAX_FAILED);
        let facts = RecordedFacts {
            run_id: run.get(),
            executions: executions.len() as i64,
            failed,
            counts: Some(counts_after),
        };
        serde_json::to_string(&facts).unwrap_or_else(|_| "{}".into())
    }
}

/// The facts of a run event (`run.created`, `run.closed`).
pub fn run_facts(run: RunId) -> String {
    format!("{{\"run_id\":{}}}", run.get())
}
