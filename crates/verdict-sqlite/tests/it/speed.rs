//! Rough timings of the triage reads at the benchmark's sizes, printed, no
//! assertions (the benchmark measures): `cargo test --release -p
//! verdict-sqlite --test it -- --ignored --nocapture triage_speed`.

use std::sync::Arc;
use std::time::Instant;

use verdict_sqlite::{SqliteConfig, SqliteStore, Synchronous};
use verdict_store::*;

fn page(page: u32, per_page: u32) -> Page {
    Page { page, per_page }
}

async fn project(
    s: &dyn Store,
    owner: UserId,
    name: &str,
    cases: usize,
) -> (ProjectId, Vec<CaseId>) {
    let p = s
        .create_project(name.into(), owner, Timestamp::from_millis(0))
        .await
        .unwrap()
        .id;
    let new = (0..cases)
        .map(|i| NewCase {
            title: format!("case {i}"),
            key: Some(format!("k{i}")),
            suite: None,
            details: Default::default(),
        })
        .collect();
    let ids = s
        .upsert_cases(p, new, Timestamp::from_millis(0))
        .await
        .unwrap();
    (p, ids.into_iter().map(|u| u.case.id).collect())
}

async fn run(
    s: &dyn Store,
    owner: UserId,
    p: ProjectId,
    cases: &[CaseId],
    status: impl Fn(usize) -> (Status, Option<String>),
) -> RunId {
    let new = NewRun {
        name: "r".into(),
        description: None,
        key: None,
        meta: RunMeta {
            branch: Some("main".into()),
            ..RunMeta::default()
        },
        case_ids: Some(cases.to_vec()),
    };
    let run = s
        .create_run(p, new, Timestamp::from_millis(0))
        .await
        .unwrap()
        .0
        .id;
    let entries = cases
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let (status, note) = status(i);
            BulkEntry {
                index: i,
                case_id: *c,
                execution: Execution {
                    step_results: Vec::new(),
                    defects: Vec::new(),
                    status,
                    note,
                    elapsed_ms: Some((i % 700) as i64),
                    output: None,
                },
            }
        })
        .collect();
    let req = BulkRequest {
        run,
        actor: owner,
        now: Timestamp::from_millis(1),
        entries,
        partial: false,
        refused: vec![],
        idempotency: None,
    };
    s.record_bulk(req).await.unwrap();
    run
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "timings at benchmark sizes; run by hand in release"]
async fn triage_speed() {
    let dir = tempfile::tempdir().unwrap();
    let config = SqliteConfig {
        path: dir.path().join("v.db"),
        synchronous: Synchronous::Normal,
    };
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(&config).unwrap());
    let s = store.as_ref();
    let owner = s
        .create_user(
            NewUser {
                name: "o".into(),
                email: "o@example.com".into(),
                password_hash: None,
                admin: true,
            },
            Timestamp::from_millis(0),
        )
        .await
        .unwrap()
        .id;
    let started = Instant::now();
    let (pa, big) = project(s, owner, "A", 100_000).await;
    let fail = |i: usize, every: usize| {
        if i.is_multiple_of(every) {
            (
                Status::Failed,
                Some(format!(
                    "expected {i} but got {}\n  at Foo.test{}",
                    i + 1,
                    i % 50
                )),
            )
        } else {
            (Status::Passed, None)
        }
    };
    let _a1 = run(s, owner, pa, &big, |i| fail(i, 20)).await;
    let a2 = run(s, owner, pa, &big, |i| fail(i + 7, 20)).await;
    let a3 = run(s, owner, pa, &big[..20_000], |i| {
        if i % 2 == 0 {
            (
                Status::Failed,
                Some(format!(
                    "error kind {}: value {i} at 0x{:x}",
                    i % 50,
                    i * 4096
                )),
            )
        } else {
            (Status::Passed, None)
        }
    })
    .await;
    let (pb, mid) = project(s, owner, "B", 10_000).await;
    for r in 0..30 {
        run(s, owner, pb, &mid, |i| {
            if i % 50 == 0 && (r + i) % 3 == 0 {
                (Status::Failed, None)
            } else {
                (Status::Passed, None)
            }
        })
        .await;
    }
    let (pc, few) = project(s, owner, "C", 10).await;
    for _ in 0..1000 {
        run(s, owner, pc, &few, |_| (Status::Passed, None)).await;
    }
    println!("seeded in {:?}", started.elapsed());

    for _ in 0..3 {
        let t = Instant::now();
        let cmp = s
            .compare_runs(a2, BaselineChoice::Auto, vec![], page(1, 50))
            .await
            .unwrap();
        println!("compare 2x100k: {:?} ({:?})", t.elapsed(), cmp.summary);
        let t = Instant::now();
        let f = s
            .run_failures(a3, BaselineChoice::Run(a2), 20, page(1, 50))
            .await
            .unwrap();
        println!(
            "failures 10k: {:?} ({} groups)",
            t.elapsed(),
            f.groups.total
        );
        let t = Instant::now();
        let fl = s
            .flaky_cases(
                pb,
                FlakyQuery {
                    branch: None,
                    window: 30,
                    threshold: 0.1,
                },
                page(1, 50),
            )
            .await
            .unwrap();
        println!("flaky 30x10k: {:?} ({} cases)", t.elapsed(), fl.total);
        let t = Instant::now();
        let fl = s
            .flaky_cases(
                pb,
                FlakyQuery {
                    branch: Some("main".into()),
                    window: 30,
                    threshold: 0.1,
                },
                page(1, 50),
            )
            .await
            .unwrap();
        println!("flaky 30x10k main: {:?} ({} cases)", t.elapsed(), fl.total);
        let t = Instant::now();
        let d = s
            .durations(
                pb,
                DurationQuery {
                    branch: None,
                    window: 15,
                    sort: DurationSort::Regressed,
                },
                page(1, 50),
            )
            .await
            .unwrap();
        println!("durations 30x10k: {:?} ({} cases)", t.elapsed(), d.total);
        let t = Instant::now();
        let tr = s.trends(pb, None, 30).await.unwrap();
        println!("trends 30: {:?} ({} runs)", t.elapsed(), tr.len());
        let t = Instant::now();
        let tr = s.trends(pb, Some("main".into()), 30).await.unwrap();
        println!("trends 30 main: {:?} ({} runs)", t.elapsed(), tr.len());
        let t = Instant::now();
        let cr = s.case_results(few[3], None, page(1, 50)).await.unwrap();
        println!("case across 1000 runs: {:?} ({})", t.elapsed(), cr.total);
        let t = Instant::now();
        let cr = s
            .case_results(few[3], Some("main".into()), page(1, 50))
            .await
            .unwrap();
        println!(
            "case across 1000 runs main: {:?} ({})",
            t.elapsed(),
            cr.total
        );
    }
}
