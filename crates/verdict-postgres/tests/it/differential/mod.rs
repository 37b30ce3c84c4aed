//! The same script of store calls against SQLite (the reference) and
//! PostgreSQL: every answer, error or not, must be the same (ids compared
//! by rank, see `common::normalize_ids`). Covers every `Store` method and
//! its error cases, in seven parts run in order on one database.

mod attachments;
mod catalog;
use crate::common;
mod helpers;
mod lifecycle;
mod manual;
mod people;
mod results;
mod triage;

use verdict_store::Store;

async fn script(s: &dyn Store) -> Vec<String> {
    let mut log = helpers::Log(Vec::new());
    let people = people::run(s, &mut log).await;
    let catalog = catalog::run(s, &mut log, &people).await;
    let ids = results::run(s, &mut log, &people, &catalog).await;
    lifecycle::run(s, &mut log, &people, &catalog, &ids).await;
    triage::run(s, &mut log, &people).await;
    manual::run(s, &mut log).await;
    attachments::run(s, &mut log).await;
    log.0
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_answers_exactly_like_sqlite() {
    let Some((db, pg)) = common::fresh().await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let sqlite = verdict_sqlite::SqliteStore::open(&verdict_sqlite::SqliteConfig {
        path: dir.path().join("ref.db"),
        synchronous: verdict_sqlite::Synchronous::Normal,
    })
    .unwrap();
    let want = common::normalize_ids(&script(&sqlite).await);
    let got = common::normalize_ids(&script(&pg).await);
    if std::env::var_os("VERDICT_TEST_SHOW_LOG").is_some() {
        for line in &got {
            println!("{line}");
        }
    }
    let mut differences = 0;
    for (i, (w, g)) in want.iter().zip(&got).enumerate() {
        if w != g {
            differences += 1;
            eprintln!("line {i} differs\n  sqlite:   {w}\n  postgres: {g}");
        }
    }
    assert_eq!(want.len(), got.len());
    assert_eq!(differences, 0, "{differences} answers differ from SQLite's");
    println!("{} answers identical to SQLite's", want.len());
    db.drop_database().await.unwrap();
}
