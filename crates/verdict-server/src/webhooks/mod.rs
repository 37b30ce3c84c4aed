//! Webhooks: events written to an outbox in the same transaction as the
//! change they report, delivered by a worker in every `verdict serve`
//! ([`worker`]), signed and sent ([`send`]) in the webhook's format
//! ([`format`]), retried with backoff for 24 hours ([`backoff`]).

pub mod backoff;
pub mod format;
pub mod send;
pub mod thread;
pub mod worker;

use std::sync::atomic::{AtomicUsize, Ordering};

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
/// goes out at once rather than at the next poll. It also counts the
/// writes being served, so the worker can hold back while writes are
/// busy.
#[derive(Debug, Default)]
pub struct Hub {
    pub config: WebhookConfig,
    notify: Notify,
    writes: AtomicUsize,
}

/// A write being served, counted until dropped.
pub struct Writing<'a>(&'a Hub);

impl Drop for Writing<'_> {
    fn drop(&mut self) {
        self.0.writes.fetch_sub(1, Ordering::Relaxed);
    }
}

impl Hub {
    pub fn new(config: WebhookConfig) -> Hub {
        Hub {
            config,
            notify: Notify::new(),
            writes: AtomicUsize::new(0),
        }
    }

    /// Counts a write request until the guard is dropped.
    pub fn writing(&self) -> Writing<'_> {
        self.writes.fetch_add(1, Ordering::Relaxed);
        Writing(self)
    }

    /// Whether write requests are being served right now.
    pub fn writes_busy(&self) -> bool {
        self.writes.load(Ordering::Relaxed) > 0
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
