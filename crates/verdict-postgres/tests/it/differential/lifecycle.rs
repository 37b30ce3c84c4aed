use verdict_store::*;

use super::catalog::Catalog;
use super::helpers::*;
use super::people::People;

/// Report imports, deleting a case that runs hold, closing runs.
#[allow(unused_must_use)]
pub async fn run(s: &dyn Store, log: &mut Log, people: &People, cat: &Catalog, ids: &[ResultId]) {
    let People {
        alice, bob, p1, p2, ..
    } = people;
    let Catalog { b, c, r1, r2, .. } = cat;
    let (b, c) = (*b, *c);
    macro_rules! call {
        ($what:literal, $e:expr) => {{
            let r = $e.await;
            log.note($what, &r);
            r
        }};
    }

    let bulk = |entries: Vec<BulkEntry>,
                partial: bool,
                refused: Vec<RefusedEntry>,
                key: Option<IdempotencyKey>| BulkRequest {
        run: r1.id,
        actor: bob.id,
        now: at(20),
        entries,
        partial,
        refused,
        idempotency: key,
    };
    // --- imports
    let import = |entries: Vec<KeyedEntry>,
                  create_missing: bool,
                  dry_run: bool,
                  partial: bool,
                  key: Option<IdempotencyKey>| ImportRequest {
        run: r2.id,
        actor: alice.id,
        now: at(30),
        entries,
        create_missing,
        dry_run,
        partial,
        idempotency: key,
    };
    let report = vec![
        keyed(0, "a", Status::Passed),
        keyed(1, "new.one", Status::Failed),
        keyed(2, "n2", Status::Blocked),
        keyed(3, "Keyless", Status::Passed),
        keyed(4, "new.two", Status::Failed),
        keyed(4, "new.two", Status::Passed),
        keyed(5, "a", Status::Failed),
    ];
    call!(
        "import atomic unmatched",
        s.import_results(import(report.clone(), false, false, false, None))
    );
    call!(
        "import dry run",
        s.import_results(import(report.clone(), true, true, false, idem("i1", 1)))
    );
    call!(
        "import partial",
        s.import_results(import(report.clone(), false, false, true, None))
    );
    call!(
        "import create",
        s.import_results(import(report.clone(), true, false, false, idem("i1", 1)))
    );
    call!(
        "import replay",
        s.import_results(import(report.clone(), true, false, false, idem("i1", 1)))
    );
    call!(
        "import reused key",
        s.import_results(import(report.clone(), true, false, false, idem("i1", 9)))
    );
    call!(
        "import again",
        s.import_results(import(report.clone(), true, false, false, None))
    );
    call!(
        "import empty",
        s.import_results(import(vec![], true, false, false, None))
    );
    call!(
        "import missing run",
        s.import_results(ImportRequest {
            run: RunId::from_db(9999),
            ..import(vec![], true, false, false, None)
        })
    );
    call!(
        "cases after import",
        s.list_cases(p1.id, CaseQuery::default(), page(1, 50))
    );
    call!(
        "run 2 after import",
        s.list_results(
            r2.id,
            ResultQuery {
                assignee: None,
                statuses: vec![],
                after: None,
                q: None,
                page: page(1, 50),
                key: None,
                output: false,
            }
        )
    );
    call!("get r2", s.get_run(r2.id));

    // --- deleting a case keeps its results
    call!("delete c", s.delete_case(c));
    call!("delete c again", s.delete_case(c));
    call!("get c", s.get_case(c));
    call!(
        "c's key is free",
        s.create_case(p1.id, case("Search again", Some("c"), None), at(40))
    );
    call!(
        "upsert c",
        s.upsert_cases(p1.id, vec![case("Search 3", Some("c"), None)], at(41))
    );
    call!(
        "bulk to a deleted case in the run",
        s.record_bulk(BulkRequest {
            run: r2.id,
            ..bulk(vec![entry(0, c, Status::Passed, None)], false, vec![], None)
        })
    );
    call!(
        "r2 results",
        s.list_results(
            r2.id,
            ResultQuery {
                assignee: None,
                statuses: vec![],
                after: None,
                q: None,
                page: page(1, 50),
                key: None,
                output: false,
            }
        )
    );
    call!(
        "run of deleted case",
        s.create_run(
            p1.id,
            NewRun {
                name: "x".into(),
                description: None,
                key: None,
                meta: RunMeta::default(),
                case_ids: Some(vec![c])
            },
            at(42)
        )
    );

    // --- idempotency keys are kept 24 hours
    let day = 24 * 60 * 60;
    let later = |key: &str, n: u8, secs: i64| BulkRequest {
        now: at(20 + secs),
        ..bulk(
            vec![entry(0, b, Status::Blocked, None)],
            false,
            vec![],
            idem(key, n),
        )
    };
    call!("idem day 0", s.record_bulk(later("ttl", 1, 0)));
    call!("idem within a day", s.record_bulk(later("ttl", 2, day - 1)));
    call!("idem after a day", s.record_bulk(later("ttl", 2, day + 1)));
    call!(
        "idem after a day replays",
        s.record_bulk(later("ttl", 2, day + 2))
    );

    // --- closing
    call!("close", s.close_run(r1.id, at(50)));
    call!("close again", s.close_run(r1.id, at(51)));
    call!("close missing", s.close_run(RunId::from_db(9999), at(51)));
    call!(
        "record on closed",
        s.record_result(
            r1.id,
            ids[0],
            exec(Status::Passed, None, None),
            bob.id,
            at(52)
        )
    );
    call!(
        "bulk on closed",
        s.record_bulk(bulk(
            vec![entry(0, b, Status::Passed, None)],
            false,
            vec![],
            None
        ))
    );
    call!(
        "bulk replay on closed",
        s.record_bulk(bulk(
            vec![entry(0, b, Status::Passed, None)],
            false,
            vec![],
            idem("k1", 1)
        ))
    );
    call!("add cases on closed", s.add_cases_to_run(r1.id, vec![b]));
    call!(
        "import on closed",
        s.import_results(ImportRequest {
            run: r1.id,
            ..import(vec![], true, true, false, None)
        })
    );
    call!(
        "runs",
        s.list_runs(p1.id, RunFilter::default(), page(1, 10))
    );
    call!(
        "runs open",
        s.list_runs(
            p1.id,
            RunFilter {
                state: Some(RunState::Open),
                branch: None
            },
            page(1, 10)
        )
    );
    call!(
        "runs closed",
        s.list_runs(
            p1.id,
            RunFilter {
                state: Some(RunState::Closed),
                branch: None
            },
            page(1, 10)
        )
    );
    call!(
        "runs p2",
        s.list_runs(p1.id, RunFilter::default(), page(2, 1))
    );
    call!(
        "runs of p2",
        s.list_runs(p2.id, RunFilter::default(), page(1, 10))
    );
    call!("ping", s.ping());
}
