//! What every handler shares: the store, the configured limits and the
//! web UI's settings. The server keeps nothing else, so any number of
//! instances can share one database.

use std::sync::Arc;
use std::time::Duration;

use verdict_store::Store;

use crate::client::Cidr;
use crate::guard::RateLimiter;
use crate::metrics::Metrics;

/// Limits on what one request may ask for (API §7).
#[derive(Debug, Clone)]
pub struct Limits {
    /// Request body size, after any content decoding.
    pub max_body_bytes: usize,
    /// Entries in one bulk request.
    pub max_bulk_results: usize,
    /// Largest `per_page`.
    pub max_per_page: u32,
    /// Largest note, in bytes of UTF-8.
    pub max_note_bytes: usize,
    /// Deepest element nesting in an XML report.
    pub max_xml_depth: usize,
    /// Requests per minute per token (0: no limit).
    pub rate_limit_per_minute: u32,
    /// Requests a token may make at once before the rate applies.
    pub rate_limit_burst: u32,
    /// Longest a request may take before it is answered 503 `timeout`.
    pub request_timeout: Duration,
    /// Origins allowed to call the API from a browser (CORS); none by default.
    pub cors_origins: Vec<String>,
    /// Failed web sign-ins per client address and email per hour, after
    /// the first `sign_in_burst` (0: no limit); an address across all
    /// emails gets [`SIGN_IN_ADDRESS_FACTOR`] times both.
    pub sign_in_failures_per_hour: u32,
    /// Failed web sign-ins an address may make for one email at once.
    pub sign_in_burst: u32,
    /// Proxies whose `X-Forwarded-For` names the client (see `client`).
    pub trusted_proxies: Vec<Cidr>,
    /// The bytes of one attachment upload request (413 beyond).
    pub max_attachment_bytes: u64,
    /// The output kept per execution: its last this many bytes.
    pub max_output_bytes: usize,
}

/// How many times the per-(address, email) sign-in allowance one address
/// has across all emails: enough for the people behind one office NAT to
/// mistype, too few to try a password on many accounts.
pub const SIGN_IN_ADDRESS_FACTOR: u32 = 10;

/// The defaults, written once: `Limits::default()` and `verdict serve`'s
/// flags both read them.
impl Limits {
    /// `--max-body-bytes`' default: 32 MiB.
    pub const DEFAULT_MAX_BODY_BYTES: usize = 32 * 1024 * 1024;
    /// `--max-bulk-results`' default.
    pub const DEFAULT_MAX_BULK_RESULTS: usize = 50_000;
    /// `--max-per-page`'s default.
    pub const DEFAULT_MAX_PER_PAGE: u32 = 1000;
    /// `--max-note-bytes`' default: 64 KiB.
    pub const DEFAULT_MAX_NOTE_BYTES: usize = 64 * 1024;
    /// `--max-xml-depth`'s default.
    pub const DEFAULT_MAX_XML_DEPTH: usize = 32;
    /// `--rate-limit-per-minute`'s default: generous, CI bursts fit.
    pub const DEFAULT_RATE_LIMIT_PER_MINUTE: u32 = 60_000;
    /// `--rate-limit-burst`'s default.
    pub const DEFAULT_RATE_LIMIT_BURST: u32 = 2_000;
    /// `--request-timeout-secs`' default.
    pub const DEFAULT_REQUEST_TIMEOUT_SECS: u64 = 60;
    /// `--sign-in-failures-per-hour`'s default.
    pub const DEFAULT_SIGN_IN_FAILURES_PER_HOUR: u32 = 30;
    /// `--sign-in-burst`'s default.
    pub const DEFAULT_SIGN_IN_BURST: u32 = 10;
    /// `--max-attachment-bytes`' default: 256 MiB.
    pub const DEFAULT_MAX_ATTACHMENT_BYTES: u64 = 256 * 1024 * 1024;
    /// `--max-output-bytes`' default: 1 MiB.
    pub const DEFAULT_MAX_OUTPUT_BYTES: usize = 1024 * 1024;
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_body_bytes: Self::DEFAULT_MAX_BODY_BYTES,
            max_bulk_results: Self::DEFAULT_MAX_BULK_RESULTS,
            max_per_page: Self::DEFAULT_MAX_PER_PAGE,
            max_note_bytes: Self::DEFAULT_MAX_NOTE_BYTES,
            max_xml_depth: Self::DEFAULT_MAX_XML_DEPTH,
            rate_limit_per_minute: Self::DEFAULT_RATE_LIMIT_PER_MINUTE,
            rate_limit_burst: Self::DEFAULT_RATE_LIMIT_BURST,
            request_timeout: Duration::from_secs(Self::DEFAULT_REQUEST_TIMEOUT_SECS),
            cors_origins: Vec::new(),
            sign_in_failures_per_hour: Self::DEFAULT_SIGN_IN_FAILURES_PER_HOUR,
            sign_in_burst: Self::DEFAULT_SIGN_IN_BURST,
            trusted_proxies: Vec::new(),
            max_attachment_bytes: Self::DEFAULT_MAX_ATTACHMENT_BYTES,
            max_output_bytes: Self::DEFAULT_MAX_OUTPUT_BYTES,
        }
    }
}

/// The web UI's settings (see `web::session`).
#[derive(Debug, Clone)]
pub struct WebConfig {
    /// How long a sign-in lasts, counted from the sign-in (not from the
    /// last request), so a stolen cookie is good for a bounded time.
    pub session_lifetime: Duration,
    /// Mark the session cookie `Secure` (serve behind HTTPS).
    pub secure_cookies: bool,
    /// Email and password the sign-in page offers when the server holds
    /// demo data (`verdict serve --demo`); never set otherwise.
    pub demo_login: Option<(String, String)>,
}

impl WebConfig {
    /// `--session-hours`' default.
    pub const DEFAULT_SESSION_HOURS: u64 = 12;
}

impl Default for WebConfig {
    fn default() -> Self {
        Self {
            session_lifetime: Duration::from_secs(Self::DEFAULT_SESSION_HOURS * 3600),
            secure_cookies: false,
            demo_login: None,
        }
    }
}

#[derive(Clone)]
pub struct AppState {
    pub store: Arc<dyn Store>,
    /// Where attachment bytes live.
    pub blobs: Arc<crate::blobs::Blobs>,
    pub limits: Arc<Limits>,
    pub metrics: Arc<Metrics>,
    pub limiter: Arc<RateLimiter>,
    /// Failed web sign-ins, per client address and email.
    pub sign_in_limiter: Arc<RateLimiter>,
    /// Failed web sign-ins, per client address.
    pub sign_in_address_limiter: Arc<RateLimiter>,
    pub web: Arc<WebConfig>,
    /// Webhook settings and the delivery worker's wake-up.
    pub webhooks: Arc<crate::webhooks::Hub>,
}

impl AppState {
    pub fn new(store: Arc<dyn Store>, limits: Limits, blobs: Arc<crate::blobs::Blobs>) -> Self {
        Self {
            store,
            blobs,
            limiter: Arc::new(RateLimiter::new(
                limits.rate_limit_per_minute,
                limits.rate_limit_burst,
            )),
            sign_in_limiter: Arc::new(RateLimiter::per_hour(
                limits.sign_in_failures_per_hour,
                limits.sign_in_burst,
            )),
            sign_in_address_limiter: Arc::new(RateLimiter::per_hour(
                limits
                    .sign_in_failures_per_hour
                    .saturating_mul(SIGN_IN_ADDRESS_FACTOR),
                limits.sign_in_burst.saturating_mul(SIGN_IN_ADDRESS_FACTOR),
            )),
            limits: Arc::new(limits),
            metrics: Arc::new(Metrics::default()),
            web: Arc::new(WebConfig::default()),
            webhooks: Arc::new(crate::webhooks::Hub::default()),
        }
    }

    /// The same state with these webhook settings.
    pub fn with_webhooks(mut self, config: crate::webhooks::WebhookConfig) -> Self {
        self.webhooks = Arc::new(crate::webhooks::Hub::new(config));
        self
    }

    /// The same state with these web UI settings.
    pub fn with_web(mut self, web: WebConfig) -> Self {
        self.web = Arc::new(web);
        self
    }
}
