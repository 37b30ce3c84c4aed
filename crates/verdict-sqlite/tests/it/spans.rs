//! Each store call runs in a `debug` span named after its method, and the
//! span reaches the SQL: work the call hands to the writer thread or to the
//! blocking pool runs inside it there.

use std::sync::{Arc, Mutex};

use std::thread::ThreadId;

use tracing::Subscriber;
use tracing::span::Id;
use tracing_subscriber::layer::{Context, Layer, SubscriberExt};
use tracing_subscriber::registry::LookupSpan;
use verdict_sqlite::{SqliteConfig, SqliteStore, Synchronous};
use verdict_store::{Page, RunFilter, Store, Timestamp};

/// A thread, by id and name.
type Thread = (ThreadId, String);

/// Every span entered: its name and the thread that entered it.
#[derive(Clone, Default)]
struct Entered(Arc<Mutex<Vec<(String, Thread)>>>);

fn this_thread() -> Thread {
    let me = std::thread::current();
    (me.id(), me.name().unwrap_or("").to_string())
}

impl<S: Subscriber + for<'a> LookupSpan<'a>> Layer<S> for Entered {
    fn on_enter(&self, id: &Id, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else { return };
        let mut seen = self.0.lock().unwrap_or_else(|e| e.into_inner());
        seen.push((span.name().to_string(), this_thread()));
    }
}

impl Entered {
    /// The threads that entered the span `name`.
    fn threads(&self, name: &str) -> Vec<Thread> {
        let seen = self.0.lock().unwrap_or_else(|e| e.into_inner());
        seen.iter()
            .filter(|(n, _)| n == name)
            .map(|(_, t)| t.clone())
            .collect()
    }
}

/// On a current-thread runtime every poll is on the test's thread, so a
/// span entered elsewhere was entered by the work handed off.
#[tokio::test]
async fn store_calls_run_in_their_span_on_every_thread_they_use() {
    let entered = Entered::default();
    let subscriber = tracing_subscriber::registry().with(entered.clone());
    // This thread's default only: other tests in this binary call stores
    // too. A span keeps the subscriber it was made with, so one entered on
    // another thread is still seen here.
    let _default = tracing::subscriber::set_default(subscriber);

    let dir = tempfile::tempdir().expect("tempdir");
    let config = SqliteConfig {
        path: dir.path().join("verdict.db"),
        synchronous: Synchronous::Full,
    };
    let store = SqliteStore::open(&config).expect("open");
    let now = Timestamp::from_millis(1_774_520_100_000);
    let user = store
        .create_user(
            verdict_store::NewUser {
                name: "ann".into(),
                email: "ann@example.com".into(),
                password_hash: None,
                admin: false,
            },
            now,
        )
        .await
        .expect("user");
    let project = store
        .create_project("P".into(), user.id, now)
        .await
        .expect("project");
    let page = Page {
        page: 1,
        per_page: 10,
    };
    store
        .list_runs(project.id, RunFilter::default(), page)
        .await
        .expect("runs");

    let me = this_thread();
    let writes = entered.threads("create_project");
    assert!(
        writes.iter().any(|(_, name)| name == "verdict-writer"),
        "the write's span is entered on the writer thread: {writes:?}"
    );
    let reads = entered.threads("list_runs");
    assert!(
        reads.contains(&me) && reads.iter().any(|t| *t != me),
        "the read's span is entered on the thread that runs the read too: {reads:?}"
    );
}
