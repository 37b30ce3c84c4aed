//! PATCH at scale on PostgreSQL: two instances on one database write the
//! same run concurrently while it is closed, and counts stay exact; deep
//! pages answer exactly what OFFSET pages answered.

use std::collections::HashMap;
use std::sync::Arc;

use axum::http::StatusCode;
use serde_json::{Value, json};

use crate::common::{TestApp, results_path};

const STATUSES: [&str; 5] = ["passed", "failed", "blocked", "retest", "not_tested"];

/// The counts of these results, as a run answers them.
fn recount(results: &[Value]) -> Value {
    let mut counts: HashMap<&str, i64> = STATUSES.iter().map(|s| (*s, 0)).collect();
    for r in results {
        *counts
            .get_mut(r["status"].as_str().expect("status"))
            .expect("a known status") += 1;
    }
    json!(counts)
}

fn counts_of(run: &Value) -> Value {
    let c = &run["counts"];
    json!(
        STATUSES
            .iter()
            .map(|s| (*s, c[*s].clone()))
            .collect::<HashMap<_, _>>()
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn results_patched_by_two_instances_keep_exact_counts_through_a_close() {
    let Some((a, b)) = TestApp::postgres_pair().await else {
        println!("skipped: set VERDICT_TEST_POSTGRES_URL to run the PostgreSQL tests");
        return;
    };
    let (a, b) = (Arc::new(a), Arc::new(b));
    let (_, _, run) = a.seeded(60).await;
    let ids: Vec<String> = a
        .all_results(&run)
        .await
        .iter()
        .map(|r| r["id"].as_str().expect("id").to_string())
        .collect();
    let ids = Arc::new(ids);
    let mut tasks = Vec::new();
    for task in 0..16usize {
        let apps = [Arc::clone(&a), Arc::clone(&b)];
        let (ids, run) = (Arc::clone(&ids), run.clone());
        tasks.push(tokio::spawn(async move {
            let mut acked = Vec::new();
            for k in 0..40usize {
                let app = &apps[(task + k) % 2];
                let id = &ids[(task * 7 + k) % ids.len()];
                let note = format!("t{task}-k{k}");
                // Each execution carries its note (`not_tested` takes none);
                // every result starts untested, so counts move off it too.
                let status = STATUSES[(task + k) % 4];
                let body = json!({"status": status, "note": note, "elapsed": k + 1});
                let r = app
                    .patch(&results_path(&run, &format!("/{id}")), &app.admin, body)
                    .await;
                match r.status {
                    StatusCode::OK => acked.push(note),
                    StatusCode::CONFLICT => {}
                    other => panic!("PATCH answered {other}: {:?}", r.body),
                }
                tokio::task::yield_now().await;
            }
            acked
        }));
    }
    // The close lands while PATCHes are in flight.
    tokio::time::sleep(std::time::Duration::from_millis(150)).await;
    let closed = b
        .call(
            "POST",
            &format!("/v1/runs/{run}/close"),
            Some(&b.admin),
            None,
        )
        .await;
    assert_eq!(closed.status, StatusCode::OK, "{:?}", closed.body);
    let mut acked = Vec::new();
    for t in tasks {
        acked.extend(t.await.expect("task"));
    }
    assert!(!acked.is_empty(), "some PATCHes landed before the close");

    let results = a.all_results(&run).await;
    let exact = recount(&results);
    assert_eq!(
        counts_of(closed.data()),
        exact,
        "close answers exact counts"
    );
    for app in [&a, &b] {
        let run = app.get(&format!("/v1/runs/{run}"), &app.admin).await;
        assert_eq!(counts_of(run.data()), exact, "the run reads exact counts");
    }
    // Every acknowledged execution is in the history exactly once, and
    // nothing else is (a refused PATCH wrote nothing).
    let mut notes: HashMap<String, usize> = HashMap::new();
    for r in &results {
        for h in a.history(&run, r["id"].as_str().expect("id")).await {
            if let Some(note) = h["note"].as_str() {
                *notes.entry(note.to_string()).or_default() += 1;
            }
        }
    }
    for note in &acked {
        assert_eq!(notes.get(note), Some(&1), "{note} stored once");
    }
    assert_eq!(
        notes.values().sum::<usize>(),
        acked.len(),
        "only acked writes"
    );
}

#[tokio::test]
async fn results_deep_pages_answer_what_offset_pages_did() {
    let app = TestApp::new().await;
    let (_, cases, run) = app.seeded(2_500).await;
    // Statuses all over the run, so a page shows which rows it holds.
    let entries: Vec<Value> = cases
        .iter()
        .enumerate()
        .filter(|(i, _)| i % 3 != 0)
        .map(|(i, c)| json!({"test_case_id": c, "status": STATUSES[i % 4], "elapsed": i}))
        .collect();
    let r = app
        .bulk(&run, &app.admin, json!({ "results": entries }))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    // Every status named: the listing by status (merged ranges and an
    // OFFSET), which answers the same rows as an unfiltered page.
    let all = STATUSES.join(",");
    for (page, per_page) in [
        (1, 20),
        (2, 100),
        (7, 333),
        (24, 100),
        (25, 100),
        (26, 100),
        (357, 7),
        (3, 1000),
    ] {
        let plain = app
            .get(
                &results_path(&run, &format!("?page={page}&per_page={per_page}")),
                &app.admin,
            )
            .await;
        let offset = app
            .get(
                &results_path(
                    &run,
                    &format!("?page={page}&per_page={per_page}&status={all}"),
                ),
                &app.admin,
            )
            .await;
        assert_eq!(plain.status, StatusCode::OK);
        assert_eq!(plain.body, offset.body, "page {page} of {per_page}");
        let expected = 2_500usize
            .saturating_sub((page - 1) * per_page)
            .min(per_page);
        assert_eq!(plain.data().as_array().expect("page").len(), expected);
    }
    // A page after a cursor still answers the rows after it.
    let first = app
        .get(&results_path(&run, "?per_page=1000"), &app.admin)
        .await;
    let next = first.body["meta"]["next_after"].as_str().expect("cursor");
    let after = app
        .get(
            &results_path(&run, &format!("?per_page=100&page=2&after={next}")),
            &app.admin,
        )
        .await;
    let deep = app
        .get(&results_path(&run, "?per_page=100&page=12"), &app.admin)
        .await;
    assert_eq!(after.body["data"], deep.body["data"]);
}
