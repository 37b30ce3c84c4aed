//! Webhooks: events written to an outbox in the same transaction as the
//! change they report, delivered by a worker in every `verdict serve`
//! ([`worker`]), signed and sent ([`send`]) in the webhook's format
//! ([`format`]), retried with backoff for 24 hours ([`backoff`]).

pub mod backoff;
pub mod format;
pub mod send;
pub mod worker;

use tokio::sync::Notify;

/// What `verdict serve` says about webhooks.
#[derive(Debug, Clone, Default)]
pub struct WebhookConfig {
    /// Send to (and accept URLs naming) loopback, link-local, private and
    /// unspecified addresses (`--webhook-allow-private`).
    pub allow_private: bool,
    /// The server's address as users reach it (`--public-url`), for links
    /// to runs in Slack messages.
    pub public_url: Option<String>,
}

/// The webhook settings every handler shares, and the delivery worker's
/// wake-up: a write that may have queued an event wakes it, so the event
/// goes out at once rather than at the next poll.
#[derive(Debug, Default)]
pub struct Hub {
    pub config: WebhookConfig,
    notify: Notify,
}

impl Hub {
    pub fn new(config: WebhookConfig) -> Hub {
        Hub {
            config,
            notify: Notify::new(),
        }
    }

    /// Tells the worker a delivery may be due (cheap; wake-ups coalesce).
    pub fn wake(&self) {
        self.notify.notify_one();
    }

    /// Waits for a [`wake`](Self::wake).
    pub async fn woken(&self) {
        self.notify.notified().await;
    }
}
