//! `verdict serve`: configuration (flags with environment fallbacks),
//! logging, the database, the admin bootstrap, and graceful shutdown.

use std::io::IsTerminal;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::Args;
use tracing_subscriber::EnvFilter;
use verdict_postgres::{PgConfig, PgStore};
use verdict_server::{AppState, ConnectionLimits, Limits, WebConfig, demo};
use verdict_sqlite::{SqliteConfig, SqliteStore};
use verdict_store::Store;

#[derive(Args, Debug)]
pub struct ServeArgs {
    /// Database: sqlite://FILE[?synchronous=full|normal] or
    /// postgres://USER[:PASSWORD]@HOST[:PORT]/DB[?pool_size=N].
    #[arg(
        long,
        env = "VERDICT_DATABASE_URL",
        default_value = "sqlite://verdict.db",
        hide_env_values = true
    )]
    database_url: String,
    /// Address to listen on (port 0 picks a free port).
    #[arg(long, env = "VERDICT_LISTEN", default_value = "127.0.0.1:8080")]
    listen: String,
    /// An admin user holding this token exists after start (vdt_…).
    #[arg(long, env = "VERDICT_ADMIN_TOKEN", hide_env_values = true)]
    admin_token: Option<String>,
    /// Log filter (info, debug, verdict=debug,…); add `json` for JSON lines.
    #[arg(long, env = "VERDICT_LOG", default_value = "info")]
    log: String,
    /// Largest request body in bytes (after decoding).
    #[arg(long, env = "VERDICT_MAX_BODY_BYTES", default_value_t = Limits::DEFAULT_MAX_BODY_BYTES)]
    max_body_bytes: usize,
    /// Most entries in one bulk request.
    #[arg(long, env = "VERDICT_MAX_BULK_RESULTS", default_value_t = Limits::DEFAULT_MAX_BULK_RESULTS)]
    max_bulk_results: usize,
    /// Largest per_page of any list.
    #[arg(long, env = "VERDICT_MAX_PER_PAGE", default_value_t = Limits::DEFAULT_MAX_PER_PAGE, value_parser = clap::value_parser!(u32).range(1..))]
    max_per_page: u32,
    /// Largest note on a result, in bytes.
    #[arg(long, env = "VERDICT_MAX_NOTE_BYTES", default_value_t = Limits::DEFAULT_MAX_NOTE_BYTES)]
    max_note_bytes: usize,
    /// Deepest element nesting accepted in a JUnit XML report.
    #[arg(long, env = "VERDICT_MAX_XML_DEPTH", default_value_t = Limits::DEFAULT_MAX_XML_DEPTH)]
    max_xml_depth: usize,
    /// Requests per minute per token (0 turns the limit off).
    #[arg(long, env = "VERDICT_RATE_LIMIT_PER_MINUTE", default_value_t = Limits::DEFAULT_RATE_LIMIT_PER_MINUTE)]
    rate_limit_per_minute: u32,
    /// Requests a token may make at once before the per-minute rate applies.
    #[arg(long, env = "VERDICT_RATE_LIMIT_BURST", default_value_t = Limits::DEFAULT_RATE_LIMIT_BURST)]
    rate_limit_burst: u32,
    /// Seconds a request may take before it is answered 503 `timeout`.
    #[arg(long, env = "VERDICT_REQUEST_TIMEOUT_SECS", default_value_t = Limits::DEFAULT_REQUEST_TIMEOUT_SECS, value_parser = clap::value_parser!(u64).range(1..))]
    request_timeout_secs: u64,
    /// Client connections open at once; at the limit new clients wait until one closes.
    #[arg(long, env = "VERDICT_MAX_CONNECTIONS", default_value_t = ConnectionLimits::DEFAULT_MAX_CONNECTIONS, value_parser = clap::value_parser!(u32).range(1..))]
    max_connections: u32,
    /// Seconds a client has to send a request's headers (from the connect, or its first byte on a kept-alive connection).
    #[arg(long, env = "VERDICT_HEADER_TIMEOUT_SECS", default_value_t = ConnectionLimits::DEFAULT_HEADER_TIMEOUT_SECS, value_parser = clap::value_parser!(u64).range(1..=86_400))]
    header_timeout_secs: u64,
    /// Seconds a kept-alive connection may wait for its next request before it is closed.
    #[arg(long, env = "VERDICT_IDLE_TIMEOUT_SECS", default_value_t = ConnectionLimits::DEFAULT_IDLE_TIMEOUT_SECS, value_parser = clap::value_parser!(u64).range(1..=86_400))]
    idle_timeout_secs: u64,
    /// Origins allowed to call the API from a browser (CORS), comma-separated; none by default.
    #[arg(long, env = "VERDICT_CORS_ORIGINS", value_delimiter = ',')]
    cors_origins: Vec<String>,
    /// Failed web sign-ins allowed per client address and email per hour once the burst is used
    /// (an address across all emails: 10 times as many; 0 turns the limit off).
    #[arg(long, env = "VERDICT_SIGN_IN_FAILURES_PER_HOUR", default_value_t = Limits::DEFAULT_SIGN_IN_FAILURES_PER_HOUR)]
    sign_in_failures_per_hour: u32,
    /// Failed web sign-ins an address may make for one email in a row before the hourly rate applies.
    #[arg(long, env = "VERDICT_SIGN_IN_BURST", default_value_t = Limits::DEFAULT_SIGN_IN_BURST, value_parser = clap::value_parser!(u32).range(1..))]
    sign_in_burst: u32,
    /// Proxies (CIDR, comma-separated) whose X-Forwarded-For names the client; none by default.
    #[arg(long, env = "VERDICT_TRUSTED_PROXIES", value_delimiter = ',')]
    trusted_proxies: Vec<verdict_server::Cidr>,
    /// Hours a web sign-in lasts, counted from the sign-in.
    #[arg(long, env = "VERDICT_SESSION_HOURS", default_value_t = WebConfig::DEFAULT_SESSION_HOURS, value_parser = clap::value_parser!(u64).range(1..=8760))]
    session_hours: u64,
    /// Mark the web session cookie Secure (set this when serving over HTTPS).
    #[arg(long, env = "VERDICT_SECURE_COOKIES")]
    secure_cookies: bool,
    /// Load a sample project (clearly marked as demo data) and a demo user
    /// into an empty database, for a first look at the web UI.
    #[arg(long, env = "VERDICT_DEMO")]
    demo: bool,
    /// Where attachment bytes are kept: `file:///path` (default: the
    /// folder `verdict-attachments` beside the SQLite file, or in the
    /// current directory on PostgreSQL) or `s3://bucket/prefix?endpoint=…&region=…`
    /// (credentials from the AWS environment variables).
    #[arg(long, env = "VERDICT_ATTACHMENTS")]
    attachments: Option<String>,
    /// The bytes one attachment upload may hold (413 beyond).
    #[arg(long, env = "VERDICT_MAX_ATTACHMENT_BYTES", default_value_t = Limits::DEFAULT_MAX_ATTACHMENT_BYTES, value_parser = clap::value_parser!(u64).range(1..))]
    max_attachment_bytes: u64,
    /// The output kept per execution (its last this many bytes).
    #[arg(long, env = "VERDICT_MAX_OUTPUT_BYTES", default_value_t = Limits::DEFAULT_MAX_OUTPUT_BYTES)]
    max_output_bytes: usize,
    /// Prune closed runs older than this many days, daily (like
    /// `verdict admin prune --older-than Nd`); off by default.
    #[arg(long, env = "VERDICT_RETENTION_DAYS", value_parser = clap::value_parser!(u32).range(1..))]
    retention_days: Option<u32>,
    /// Let webhooks target loopback, link-local, private and unspecified
    /// addresses (refused by default: a webhook must not reach into the
    /// server's own network). Needed for an internal Slack proxy.
    #[arg(long, env = "VERDICT_WEBHOOK_ALLOW_PRIVATE")]
    webhook_allow_private: bool,
    /// The server's address as users reach it (`https://verdict.example.com`),
    /// for links to runs in Slack messages; without it they name runs
    /// unlinked.
    #[arg(long, env = "VERDICT_PUBLIC_URL")]
    public_url: Option<String>,
}

/// `postgres://user:secret@host/db` → `postgres://user:***@host/db`.
pub(crate) fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let userinfo = &url[scheme + 3..at];
            match userinfo.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme + 3], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

fn init_logging(spec: &str) {
    let mut json = false;
    let directives: Vec<&str> = spec
        .split(',')
        .map(str::trim)
        .filter(|d| {
            let is_json = d.eq_ignore_ascii_case("json");
            json |= is_json;
            !is_json && !d.is_empty()
        })
        .collect();
    let filter = if directives.is_empty() {
        EnvFilter::new("info")
    } else {
        EnvFilter::new(directives.join(","))
    };
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr);
    if json {
        builder.json().init();
    } else {
        builder.init();
    }
}

/// Completes on SIGTERM or SIGINT. The handlers are registered here, before
/// the server says it is listening: a signal sent right after that line
/// stops the server gracefully instead of killing it (a handler registered
/// only when the future is first polled leaves that window open).
#[cfg(unix)]
fn shutdown_signal() -> Result<impl Future<Output = ()> + Send + 'static, String> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut terminate =
        signal(SignalKind::terminate()).map_err(|e| format!("cannot listen for SIGTERM: {e}"))?;
    let mut interrupt =
        signal(SignalKind::interrupt()).map_err(|e| format!("cannot listen for SIGINT: {e}"))?;
    Ok(async move {
        tokio::select! {
            _ = terminate.recv() => {},
            _ = interrupt.recv() => {},
        }
        tracing::info!("shutting down: finishing requests in flight");
    })
}

#[cfg(not(unix))]
fn shutdown_signal() -> Result<impl Future<Output = ()> + Send + 'static, String> {
    Ok(async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::error!(error = %e, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
        tracing::info!("shutting down: finishing requests in flight");
    })
}

/// The store at `url`, the backend chosen by its scheme; on PostgreSQL each
/// statement is bounded by `request_timeout` too, when one is given (a
/// prune's single transaction may take longer than any request).
pub(crate) async fn open_store(
    url: &str,
    request_timeout: Option<Duration>,
) -> Result<Arc<dyn Store>, String> {
    if url.starts_with("sqlite:") {
        let config = SqliteConfig::from_url(url)?;
        let store =
            SqliteStore::open(&config).map_err(|e| format!("cannot open {}: {e}", redact(url)))?;
        Ok(Arc::new(store))
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        let mut config = PgConfig::from_url(url).map_err(|e| format!("{}: {e}", redact(url)))?;
        if let Some(limit) = request_timeout {
            config.bound_statements(limit);
        }
        let store = PgStore::connect(&config)
            .await
            .map_err(|e| format!("cannot open {}: {e}", redact(url)))?;
        Ok(Arc::new(store))
    } else {
        Err(format!(
            "unsupported database URL {} (use sqlite://FILE or postgres://USER@HOST/DB)",
            redact(url)
        ))
    }
}

/// The attachment storage: as configured, or a folder beside the SQLite
/// file (in the current directory for PostgreSQL).
pub fn open_blobs(
    location: Option<&str>,
    database_url: &str,
) -> Result<verdict_server::blobs::Blobs, String> {
    use verdict_server::blobs::Blobs;
    if let Some(location) = location {
        return Blobs::open(location).map_err(|e| format!("--attachments {location}: {e}"));
    }
    let dir = match SqliteConfig::from_url(database_url) {
        Ok(config) if database_url.starts_with("sqlite:") => config
            .path
            .parent()
            .map(|p| p.join("verdict-attachments"))
            .unwrap_or_else(|| "verdict-attachments".into()),
        _ => "verdict-attachments".into(),
    };
    Blobs::folder(&dir).map_err(|e| format!("attachment folder {}: {e}", dir.display()))
}

pub fn run(args: ServeArgs) -> ExitCode {
    // Before the runtime starts its threads.
    let allocator = crate::alloc::tune();
    init_logging(&args.log);
    tracing::debug!(allocator, "allocator tuned");
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("verdict: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(serve(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e}");
            eprintln!("verdict: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(args: ServeArgs) -> Result<(), String> {
    verdict_server::check_admin_token_exposure(args.admin_token.as_deref(), &args.listen).await?;
    let store = open_store(
        &args.database_url,
        Some(Duration::from_secs(args.request_timeout_secs)),
    )
    .await?;
    tracing::info!(database = %redact(&args.database_url), "database ready");
    // Checked before the bootstrap creates the admin: demo data goes only
    // into a database that holds nothing, never beside real data.
    if args.demo && !demo::is_empty(store.as_ref()).await? {
        return Err(format!(
            "--demo loads sample data only into an empty database, and {} already holds users; \
             start without --demo, or point --database-url at a new file (sqlite://verdict-demo.db)",
            redact(&args.database_url)
        ));
    }
    if let Some(secret) =
        verdict_server::bootstrap(store.as_ref(), args.admin_token.as_deref()).await?
    {
        // Printed once, on stdout, not in the log.
        println!(
            "Created the first admin user (admin@localhost). Its API token, shown only now:\n\n    {}\n",
            secret.expose()
        );
    }
    let demo = if args.demo {
        Some(demo::seed(store.as_ref(), verdict_store::Timestamp::now()).await?)
    } else {
        None
    };
    let listener = tokio::net::TcpListener::bind(&args.listen)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", args.listen))?;
    let addr = listener
        .local_addr()
        .map_err(|e| format!("cannot read the bound address: {e}"))?;
    tracing::info!(%addr, "listening");
    if demo.is_some() {
        println!(
            "DEMO DATA: loaded the sample project {:?} (40 cases, 3 runs).\n\
             Sign in at http://{addr}/login as {} with the password {} \
             (demo credentials: do not keep real work in this database).",
            demo::DEMO_PROJECT,
            demo::DEMO_EMAIL,
            demo::DEMO_PASSWORD
        );
    }
    let shutdown = shutdown_signal()?;
    println!("Verdict listening on http://{addr}");
    let limits = Limits {
        max_body_bytes: args.max_body_bytes,
        max_bulk_results: args.max_bulk_results,
        max_per_page: args.max_per_page,
        max_note_bytes: args.max_note_bytes,
        max_xml_depth: args.max_xml_depth,
        rate_limit_per_minute: args.rate_limit_per_minute,
        rate_limit_burst: args.rate_limit_burst,
        request_timeout: std::time::Duration::from_secs(args.request_timeout_secs),
        cors_origins: args.cors_origins.clone(),
        sign_in_failures_per_hour: args.sign_in_failures_per_hour,
        sign_in_burst: args.sign_in_burst,
        trusted_proxies: args.trusted_proxies.clone(),
        max_attachment_bytes: args.max_attachment_bytes,
        max_output_bytes: args.max_output_bytes,
    };
    let web = WebConfig {
        session_lifetime: std::time::Duration::from_secs(args.session_hours * 3600),
        secure_cookies: args.secure_cookies,
        demo_login: demo.is_some().then(|| {
            (
                demo::DEMO_EMAIL.to_string(),
                demo::DEMO_PASSWORD.to_string(),
            )
        }),
    };
    let blobs = Arc::new(open_blobs(args.attachments.as_deref(), &args.database_url)?);
    // A bucket that cannot be reached (or is missing, or refuses the
    // credentials) stops the start, in bounded time, rather than failing
    // every upload later.
    blobs
        .check()
        .await
        .map_err(|e| format!("--attachments {}: {e}", blobs.describe()))?;
    tracing::info!(attachments = %blobs.describe(), "attachment storage ready");
    if let Some(days) = args.retention_days {
        // On PostgreSQL the prune gets its own connections without the
        // per-request statement bound: deleting a large run in one
        // transaction, and vacuuming after it, may take minutes.
        let prune_store = if args.database_url.starts_with("sqlite:") {
            Arc::clone(&store)
        } else {
            open_store(&args.database_url, None).await?
        };
        tracing::info!(
            retention_days = days,
            "retention on: closed runs older than this are pruned shortly after start and then daily"
        );
        tokio::spawn(verdict_server::retention::run_daily(
            prune_store,
            Arc::clone(&blobs),
            days,
        ));
    }
    if let Some(url) = &args.public_url
        && !(url.starts_with("http://") || url.starts_with("https://"))
    {
        return Err(format!(
            "--public-url {url}: must be an absolute http or https URL"
        ));
    }
    let webhooks = verdict_server::webhooks::WebhookConfig {
        allow_private: args.webhook_allow_private,
        public_url: args.public_url.clone(),
    };
    let state = AppState::new(store, limits, blobs)
        .with_web(web)
        .with_webhooks(webhooks);
    // Every instance delivers: claims keep them from sending one event twice.
    let worker = verdict_server::webhooks::worker::Worker::start(
        Arc::clone(&state.store),
        Arc::clone(&state.webhooks),
    )?;
    let connections = ConnectionLimits {
        max_connections: args.max_connections,
        header_timeout: Duration::from_secs(args.header_timeout_secs),
        idle_timeout: Duration::from_secs(args.idle_timeout_secs),
    };
    let served = verdict_server::serve(listener, state, connections, shutdown).await;
    worker.shutdown().await;
    served.map_err(|e| format!("server error: {e}"))?;
    tracing::info!("stopped");
    Ok(())
}
