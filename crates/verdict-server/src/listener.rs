//! The accept loop behind [`crate::serve`]. axum's own `serve` holds a
//! connection for as long as the client keeps it open, even one that never
//! finishes its request headers; this one bounds what a client can hold:
//!
//! - at most `max_connections` connections at once: at the limit the server
//!   stops accepting, so further clients wait in the kernel's listen queue
//!   and are served as soon as a connection closes;
//! - a request's headers must arrive within `header_timeout` (counted from
//!   the accept for a new connection, from the first byte on a kept-alive
//!   one);
//! - a kept-alive connection with no request for `idle_timeout` is closed.
//!
//! Connections speak HTTP/1.1 (hyper), have TCP_NODELAY set and give
//! handlers the client's address as `ConnectInfo<SocketAddr>`. On shutdown
//! the loop stops accepting, closes connections that wait for a request and
//! lets requests in flight finish. Counts go to `/metrics`.

use std::future::{Future, poll_fn};
use std::io;
use std::net::SocketAddr;
use std::pin::{Pin, pin};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use hyper::body::{Frame, Incoming, SizeHint};
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, watch};
use tower::ServiceExt;

use crate::metrics::Metrics;

/// What one client may hold, and for how long (`verdict serve` flags).
#[derive(Debug, Clone)]
pub struct ConnectionLimits {
    /// Connections open at once; more wait until one closes.
    pub max_connections: u32,
    /// Longest wait for a request's headers.
    pub header_timeout: Duration,
    /// Longest a kept-alive connection may sit without a request.
    pub idle_timeout: Duration,
}

impl ConnectionLimits {
    /// `--max-connections`' default (see docs/DECISIONS.md, "Connections").
    pub const DEFAULT_MAX_CONNECTIONS: u32 = 1024;
    /// `--header-timeout-secs`' default.
    pub const DEFAULT_HEADER_TIMEOUT_SECS: u64 = 10;
    /// `--idle-timeout-secs`' default.
    pub const DEFAULT_IDLE_TIMEOUT_SECS: u64 = 60;
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        Self {
            max_connections: Self::DEFAULT_MAX_CONNECTIONS,
            header_timeout: Duration::from_secs(Self::DEFAULT_HEADER_TIMEOUT_SECS),
            idle_timeout: Duration::from_secs(Self::DEFAULT_IDLE_TIMEOUT_SECS),
        }
    }
}

/// Where a connection is in its request cycle (see [`Activity`]).
const WAITING: u8 = 0;
const HEADERS: u8 = 1;
const HANDLING: u8 = 2;
const RESPONDING: u8 = 3;

/// Why the server closed a connection.
#[derive(Debug, Clone, Copy)]
enum Expired {
    Headers,
    Idle,
}

/// One connection's progress, updated by its socket (bytes arriving), its
/// service (headers complete) and its response body (fully sent), and read
/// by its deadline. All of them run in the connection's one task, so plain
/// relaxed atomics suffice; they are atomics only because the task is Send.
struct Activity {
    accepted: Instant,
    phase: AtomicU8,
    /// When the phase began, in milliseconds after `accepted`.
    since_ms: AtomicU64,
    /// Requests whose headers arrived on this connection.
    requests: AtomicU64,
    /// Bytes of a next request arrived while a response was being sent.
    early: AtomicBool,
}

impl Activity {
    fn new() -> Self {
        Self {
            accepted: Instant::now(),
            phase: AtomicU8::new(WAITING),
            since_ms: AtomicU64::new(0),
            requests: AtomicU64::new(0),
            early: AtomicBool::new(false),
        }
    }

    fn enter(&self, phase: u8) {
        let ms = u64::try_from(self.accepted.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.since_ms.store(ms, Ordering::Relaxed);
        self.phase.store(phase, Ordering::Relaxed);
    }

    /// Bytes arrived on the socket.
    fn on_read(&self) {
        match self.phase.load(Ordering::Relaxed) {
            // A new connection's headers are timed from the accept; a
            // kept-alive one's from the first byte of the next request.
            WAITING if self.requests.load(Ordering::Relaxed) == 0 => {
                self.phase.store(HEADERS, Ordering::Relaxed);
            }
            WAITING => self.enter(HEADERS),
            RESPONDING => self.early.store(true, Ordering::Relaxed),
            _ => {}
        }
    }

    /// A request's headers are complete: its handler runs.
    fn on_request(&self) {
        self.requests.fetch_add(1, Ordering::Relaxed);
        self.early.store(false, Ordering::Relaxed);
        self.phase.store(HANDLING, Ordering::Relaxed);
    }

    /// The response has been sent (or abandoned).
    fn on_response_done(&self) {
        if self.early.swap(false, Ordering::Relaxed) {
            self.enter(HEADERS);
        } else {
            self.enter(WAITING);
        }
    }

    /// Waiting for a request, no byte of it yet: safe to close at shutdown.
    fn waiting(&self) -> bool {
        self.phase.load(Ordering::Relaxed) == WAITING
    }

    /// When the connection expires if nothing happens, and why; `None`
    /// while a request is handled (the request timeout bounds that).
    fn deadline(&self, limits: &ConnectionLimits) -> Option<(Instant, Expired)> {
        let (limit, why) = match self.phase.load(Ordering::Relaxed) {
            WAITING if self.requests.load(Ordering::Relaxed) > 0 => {
                (limits.idle_timeout, Expired::Idle)
            }
            WAITING | HEADERS => (limits.header_timeout, Expired::Headers),
            _ => return None,
        };
        let since = Duration::from_millis(self.since_ms.load(Ordering::Relaxed));
        let deadline = self.accepted.checked_add(since.checked_add(limit)?)?;
        Some((deadline, why))
    }
}

/// The socket, telling [`Activity`] when bytes arrive.
struct Watched {
    stream: TcpStream,
    activity: Arc<Activity>,
}

impl AsyncRead for Watched {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.stream).poll_read(cx, buf);
        if buf.filled().len() > before {
            self.activity.on_read();
        }
        polled
    }
}

impl AsyncWrite for Watched {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}

/// A response body that marks the response sent when hyper drops it.
struct Sent {
    body: Body,
    activity: Arc<Activity>,
}

impl hyper::body::Body for Sent {
    type Data = axum::body::Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        Pin::new(&mut self.body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

impl Drop for Sent {
    fn drop(&mut self) {
        self.activity.on_response_done();
    }
}

/// Serves `router` on `listener` until `shutdown` completes, then waits for
/// the connections still open to finish their requests.
pub(crate) async fn run(
    listener: TcpListener,
    router: Router,
    limits: ConnectionLimits,
    metrics: Arc<Metrics>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    let max = limits.max_connections.max(1);
    metrics.set_connection_limit(max);
    let slots = Arc::new(Semaphore::new(max as usize));
    let limits = Arc::new(limits);
    // Every connection holds a receiver; the value turns true on shutdown.
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut shutdown = pin!(shutdown);
    loop {
        let slot = match Arc::clone(&slots).try_acquire_owned() {
            Ok(slot) => slot,
            Err(_) => {
                // Every slot is taken: accept nothing until one frees, so
                // further clients wait in the listen queue.
                metrics.connection_limit_reached();
                tracing::debug!(max, "connection limit reached, accepting paused");
                tokio::select! {
                    slot = Arc::clone(&slots).acquire_owned() => match slot {
                        Ok(slot) => slot,
                        Err(_) => break,
                    },
                    () = &mut shutdown => break,
                }
            }
        };
        let (stream, addr) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    accept_failed(e).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        // As small responses go out at once rather than after a delayed ACK.
        if let Err(e) = stream.set_nodelay(true) {
            tracing::debug!(error = %e, "cannot set TCP_NODELAY");
        }
        metrics.connection_opened();
        let connection = serve_connection(
            stream,
            addr,
            router.clone(),
            Arc::clone(&limits),
            Arc::clone(&metrics),
            stop_rx.clone(),
        );
        tokio::spawn(async move {
            connection.await;
            drop(slot);
        });
    }
    drop(listener);
    tracing::info!("not accepting connections any more");
    let _ = stop_tx.send(true);
    drop(stop_rx);
    // Every slot free again means every connection has ended.
    let _ = slots.acquire_many(max).await;
    Ok(())
}

/// Errors of one connection (the client gave up during the handshake) are
/// skipped; others (out of file descriptors) pause accepting a moment, as
/// retrying at once would spin.
async fn accept_failed(e: io::Error) {
    use io::ErrorKind::{ConnectionAborted, ConnectionRefused, ConnectionReset};
    if matches!(
        e.kind(),
        ConnectionAborted | ConnectionRefused | ConnectionReset
    ) {
        return;
    }
    tracing::error!(error = %e, "cannot accept a connection; retrying in a second");
    tokio::time::sleep(Duration::from_secs(1)).await;
}

async fn serve_connection(
    stream: TcpStream,
    addr: SocketAddr,
    router: Router,
    limits: Arc<ConnectionLimits>,
    metrics: Arc<Metrics>,
    mut stop: watch::Receiver<bool>,
) {
    let activity = Arc::new(Activity::new());
    let io = TokioIo::new(Watched {
        stream,
        activity: Arc::clone(&activity),
    });
    let service = {
        let activity = Arc::clone(&activity);
        hyper::service::service_fn(move |mut req: hyper::Request<Incoming>| {
            activity.on_request();
            req.extensions_mut().insert(ConnectInfo(addr));
            let router = router.clone();
            let activity = Arc::clone(&activity);
            async move {
                let response = router.oneshot(req).await?;
                activity.phase.store(RESPONDING, Ordering::Relaxed);
                Ok::<_, std::convert::Infallible>(response.map(|body| Sent { body, activity }))
            }
        })
    };
    let mut conn = pin!(hyper::server::conn::http1::Builder::new().serve_connection(io, service));
    let mut sleep = pin!(tokio::time::sleep_until(activity.accepted.into()));
    let mut armed: Option<Instant> = None;
    let mut stopping = *stop.borrow();
    if stopping {
        return;
    }
    loop {
        let expired = poll_fn(|cx| {
            let Some((deadline, why)) = activity.deadline(&limits) else {
                // A request is being handled; the connection's own polls
                // bring us back here when its phase changes.
                return Poll::Pending;
            };
            // The timer is moved only to an earlier deadline: a later one
            // (every request pushes it on) is taken up when the earlier
            // fires, so a busy connection costs no timer work per request.
            if armed.is_none_or(|armed| deadline < armed) {
                sleep.as_mut().reset(deadline.into());
                armed = Some(deadline);
            }
            while sleep.as_mut().poll(cx).is_ready() {
                if Instant::now() >= deadline {
                    return Poll::Ready(why);
                }
                sleep.as_mut().reset(deadline.into());
                armed = Some(deadline);
            }
            Poll::Pending
        });
        tokio::select! {
            // The connection first, so the deadline sees its latest phase.
            biased;
            served = conn.as_mut() => {
                if let Err(e) = served {
                    tracing::debug!(error = %e, "connection ended with an error");
                }
                break;
            }
            why = expired => {
                match why {
                    Expired::Headers => metrics.header_timeout(),
                    Expired::Idle => metrics.idle_timeout(),
                }
                tracing::debug!(client = %addr, ?why, "closing a connection that timed out");
                break;
            }
            changed = stop.changed(), if !stopping => {
                stopping = true;
                if changed.is_err() || activity.waiting() {
                    break;
                }
                // Finish the request in flight, then close.
                conn.as_mut().graceful_shutdown();
            }
        }
    }
    metrics.connection_closed();
}
