//! Webhooks on the wire: the resource (its secret only in the answer to
//! its creation), its changes and its delivery attempts.

use serde::{Deserialize, Serialize};

/// A webhook of a project (never its secret).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Webhook {
    #[cfg_attr(feature = "openapi", schema(value_type = crate::schema::WebhookId))]
    pub id: String,
    #[cfg_attr(feature = "openapi", schema(value_type = crate::schema::ProjectId))]
    pub project_id: String,
    /// Where events are POSTed (http or https).
    pub url: String,
    /// The event types it is sent: `run.created`, `run.closed`,
    /// `results.recorded`.
    pub events: Vec<String>,
    /// `standard` (`{"type", "timestamp", "data"}`) or `slack` (an
    /// incoming-webhook message).
    pub format: String,
    /// A paused webhook is sent nothing (but its test pings).
    pub active: bool,
    #[cfg_attr(feature = "openapi", schema(value_type = crate::schema::Timestamp))]
    pub created_at: String,
}

/// A webhook as created: the only time its secret is shown.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NewWebhook {
    #[serde(flatten)]
    pub webhook: Webhook,
    /// `whsec_` and the base64 of 32 random bytes: the key of every
    /// body's `webhook-signature` (Standard Webhooks).
    pub secret: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CreateWebhook {
    /// An absolute http or https URL.
    pub url: String,
    /// One or more of `run.created`, `run.closed`, `results.recorded`.
    pub events: Vec<String>,
    /// `standard` or `slack`.
    pub format: String,
    /// Default true.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub active: Option<bool>,
}

/// A webhook's changes: a field not given is left alone.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct UpdateWebhook {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub events: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub active: Option<bool>,
}

/// One attempt to deliver an event.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Delivery {
    /// The event (`webhook-id` header), the same on every attempt.
    #[cfg_attr(feature = "openapi", schema(value_type = crate::schema::EventId))]
    pub event_id: String,
    #[serde(rename = "type")]
    pub event_type: String,
    /// 1 for the first attempt at this event, and so on.
    pub attempt: i64,
    /// The receiver's HTTP status; none when it did not answer.
    pub status_code: Option<i64>,
    /// Why the attempt failed (none when delivered).
    pub error: Option<String>,
    pub duration_ms: i64,
    #[cfg_attr(feature = "openapi", schema(value_type = crate::schema::Timestamp))]
    pub at: String,
    /// Where the event's delivery stands now: `pending` (to be tried
    /// again), `delivered` or `failed` (gave up after 24 hours).
    pub state: String,
}

/// An event queued for delivery.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Queued {
    #[cfg_attr(feature = "openapi", schema(value_type = crate::schema::EventId))]
    pub event_id: String,
}
