//! Rough timings of the triage reads (and of a 100,000-result bulk, which
//! now keeps flags and elapsed sums) at the benchmark's sizes, printed, no
//! assertions (the benchmark measures): `VERDICT_TEST_POSTGRES_URL=…
//! cargo test --release -p verdict-postgres --test it -- --ignored
//! --nocapture triage_speed`. Each timing is the best of 5.
use std::time::Instant;

use crate::common;
use common::{ci_user, fresh, t};
use verdict_postgres::PgStore;
use verdict_store::*;

async fn project(store: &PgStore, user: &User, name: &str, n: usize) -> (Project, Vec<CaseId>) {
    let project = store
        .create_project(name.into(), user.id, t(0))
        .await
        .unwrap();
    let cases = (0..n)
        .map(|i| NewCase {
            title: format!("{name} {i}"),
            key: Some(format!("{name}-{i}")),
            suite: None,
            details: Default::default(),
        })
        .collect();
    let up = store.upsert_cases(project.id, cases, t(1)).await.unwrap();
    (project, up.into_iter().map(|u| u.case.id).collect())
}

async fn run(store: &PgStore, p: ProjectId, name: &str, branch: Option<&str>) -> RunId {
    store
        .create_run(
            p,
            NewRun {
                name: name.into(),
                description: None,
                key: None,
                meta: RunMeta {
                    branch: branch.map(Into::into),
                    ..RunMeta::default()
                },
                case_ids: None,
            },
            t(2),
        )
        .await
        .unwrap()
        .0
        .id
}

async fn bulk(
    store: &PgStore,
    user: &User,
    r: RunId,
    entries: Vec<(CaseId, Status, Option<String>, i64)>,
) -> f64 {
    let entries = entries
        .into_iter()
        .enumerate()
        .map(|(i, (c, s, note, ms))| BulkEntry {
            index: i,
            case_id: c,
            execution: Execution {
                step_results: Vec::new(),
                defects: Vec::new(),
                status: s,
                note: if s == Status::Failed { note } else { None },
                elapsed_ms: Some(ms),
                output: None,
            },
        })
        .collect();
    let start = Instant::now();
    store
        .record_bulk(BulkRequest {
            run: r,
            actor: user.id,
            now: t(3),
            entries,
            partial: false,
            refused: vec![],
            idempotency: None,
        })
        .await
        .unwrap();
    start.elapsed().as_secs_f64() * 1000.0
}

macro_rules! timed {
    ($what:literal, $e:expr) => {{
        let mut best = f64::MAX;
        for _ in 0..5 {
            let start = Instant::now();
            let _r = $e.await.unwrap();
            best = best.min(start.elapsed().as_secs_f64() * 1000.0);
        }
        println!("{:<40} {:>8.1} ms", $what, best);
    }};
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "timings at the benchmark's sizes: about a minute"]
async fn triage_speed() {
    let Some((db, store)) = fresh().await else {
        return;
    };
    let user = ci_user(&store).await;
    let pg = |n: u32| Page {
        page: 1,
        per_page: n,
    };

    // compare of two 100k runs
    let (p, cases) = project(&store, &user, "big", 100_000).await;
    let a = run(&store, p.id, "a", Some("main")).await;
    let ms = bulk(
        &store,
        &user,
        a,
        cases
            .iter()
            .enumerate()
            .map(|(i, c)| {
                (
                    *c,
                    if i % 50 == 0 {
                        Status::Failed
                    } else {
                        Status::Passed
                    },
                    Some(format!("expected {i} but got {}", i + 1)),
                    i as i64 % 1000,
                )
            })
            .collect(),
    )
    .await;
    println!("{:<40} {ms:>8.1} ms", "bulk 100k (first)");
    let b = run(&store, p.id, "b", Some("main")).await;
    let ms = bulk(
        &store,
        &user,
        b,
        cases
            .iter()
            .enumerate()
            .map(|(i, c)| {
                (
                    *c,
                    if i % 40 == 0 {
                        Status::Failed
                    } else {
                        Status::Passed
                    },
                    Some(format!("boom at 0x{i:08x}")),
                    i as i64 % 900,
                )
            })
            .collect(),
    )
    .await;
    println!("{:<40} {ms:>8.1} ms", "bulk 100k (second)");
    timed!(
        "compare 100k vs 100k",
        store.compare_runs(b, BaselineChoice::Auto, vec![], pg(50))
    );
    timed!(
        "gate facts 100k",
        store.gate_facts(b, BaselineChoice::Auto, true)
    );

    // failures of 10k
    let (p2, c2) = project(&store, &user, "fail", 10_000).await;
    let f1 = run(&store, p2.id, "f1", None).await;
    bulk(
        &store,
        &user,
        f1,
        c2.iter()
            .enumerate()
            .map(|(i, c)| {
                (
                    *c,
                    Status::Failed,
                    Some(format!(
                        "assertion {} failed: expected {i}\n  at line {i}",
                        i % 37
                    )),
                    5,
                )
            })
            .collect(),
    )
    .await;
    let f2 = run(&store, p2.id, "f2", None).await;
    bulk(
        &store,
        &user,
        f2,
        c2.iter()
            .enumerate()
            .map(|(i, c)| {
                (
                    *c,
                    Status::Failed,
                    Some(format!(
                        "assertion {} failed: expected {i}\n  at line {i}",
                        i % 41
                    )),
                    5,
                )
            })
            .collect(),
    )
    .await;
    timed!(
        "failures 10k",
        store.run_failures(f2, BaselineChoice::Auto, 20, pg(50))
    );

    // flaky 30 x 10k
    let (p3, c3) = project(&store, &user, "flaky", 10_000).await;
    for k in 0..30 {
        let r = run(&store, p3.id, &format!("r{k}"), Some("main")).await;
        bulk(
            &store,
            &user,
            r,
            c3.iter()
                .enumerate()
                .map(|(i, c)| {
                    (
                        *c,
                        if (i % 100 == 0 && k % 2 == 0) || i % 333 == k as usize {
                            Status::Failed
                        } else {
                            Status::Passed
                        },
                        Some("x".into()),
                        (i as i64 + k as i64) % 500,
                    )
                })
                .collect(),
        )
        .await;
    }
    timed!(
        "flaky 30x10k",
        store.flaky_cases(
            p3.id,
            FlakyQuery {
                branch: None,
                window: 30,
                threshold: 0.1
            },
            pg(50)
        )
    );
    timed!(
        "flaky 30x10k branch",
        store.flaky_cases(
            p3.id,
            FlakyQuery {
                branch: Some("main".into()),
                window: 30,
                threshold: 0.1
            },
            pg(50)
        )
    );
    timed!(
        "durations 30x10k (15 window)",
        store.durations(
            p3.id,
            DurationQuery {
                branch: None,
                window: 15,
                sort: DurationSort::Slowest
            },
            pg(50)
        )
    );
    timed!("trends 30", store.trends(p3.id, None, 30));
    timed!(
        "trends 30 branch",
        store.trends(p3.id, Some("main".into()), 30)
    );

    // a case across 1000 runs
    let (p4, c4) = project(&store, &user, "across", 5).await;
    for k in 0..1000 {
        run(
            &store,
            p4.id,
            &format!("x{k}"),
            Some(if k % 2 == 0 { "main" } else { "dev" }),
        )
        .await;
    }
    timed!(
        "case across 1000 runs",
        store.case_results(c4[2], None, pg(50))
    );
    timed!(
        "case across 1000 runs branch",
        store.case_results(c4[2], Some("main".into()), pg(50))
    );
    // bulk again at the end (bigger tables)
    let z = run(&store, p.id, "z", Some("main")).await;
    let ms = bulk(
        &store,
        &user,
        z,
        cases
            .iter()
            .enumerate()
            .map(|(i, c)| (*c, Status::Passed, None, i as i64))
            .collect(),
    )
    .await;
    println!("{:<40} {ms:>8.1} ms", "bulk 100k (third)");
    db.drop_database().await.unwrap();
}
