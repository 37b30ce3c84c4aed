use verdict_store::*;

use super::catalog::Catalog;
use super::helpers::*;
use super::people::People;

/// Results: single executions, history, bulk uploads, listing.
#[allow(unused_must_use)]
pub async fn run(s: &dyn Store, log: &mut Log, people: &People, cat: &Catalog) -> Vec<ResultId> {
    let People { alice, bob, p2, .. } = people;
    let Catalog { a, n, b, c, r1, r2 } = cat;
    let (b, c) = (*b, *c);
    macro_rules! call {
        ($what:literal, $e:expr) => {{
            let r = $e.await;
            log.note($what, &r);
            r
        }};
    }

    // --- results
    let all = ok(&call!(
        "results",
        s.list_results(
            r1.id,
            ResultQuery {
                assignee: None,
                statuses: vec![],
                after: None,
                q: None,
                page: page(1, 100),
                key: None,
                output: false,
            }
        )
    ));
    let ids: Vec<ResultId> = all.items.iter().map(|r| r.id).collect();
    call!(
        "record passed",
        s.record_result(
            r1.id,
            ids[0],
            exec(Status::Passed, Some("fine"), Some(1500)),
            alice.id,
            at(13)
        )
    );
    call!(
        "record failed",
        s.record_result(
            r1.id,
            ids[0],
            exec(Status::Failed, Some("boom"), None),
            bob.id,
            at(14)
        )
    );
    call!(
        "record not tested",
        s.record_result(
            r1.id,
            ids[1],
            exec(Status::NotTested, None, None),
            bob.id,
            at(15)
        )
    );
    call!(
        "record retest",
        s.record_result(
            r1.id,
            ids[2],
            exec(Status::Retest, None, Some(0)),
            bob.id,
            at(15)
        )
    );
    call!(
        "record in other run",
        s.record_result(
            r2.id,
            ids[0],
            exec(Status::Passed, None, None),
            bob.id,
            at(15)
        )
    );
    call!(
        "record in missing run",
        s.record_result(
            RunId::from_db(9999),
            ids[0],
            exec(Status::Passed, None, None),
            bob.id,
            at(15)
        )
    );
    call!("get result", s.get_result(r1.id, ids[0]));
    call!("get result wrong run", s.get_result(r2.id, ids[0]));
    call!("history", s.result_history(r1.id, ids[0], page(1, 10)));
    call!("history p2", s.result_history(r1.id, ids[0], page(2, 1)));
    call!(
        "history wrong run",
        s.result_history(r2.id, ids[0], page(1, 10))
    );
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
    let other_case = ok(&s.get_case(a.id).await);
    let p2_case = ok(&s.list_cases(p2.id, CaseQuery::default(), page(1, 10)).await).items[0].id;
    call!(
        "bulk atomic bad",
        s.record_bulk(bulk(
            vec![
                entry(0, a.id, Status::Passed, None),
                entry(1, p2_case, Status::Failed, None),
                entry(3, CaseId::from_db(9999), Status::Failed, None)
            ],
            false,
            vec![],
            None
        ))
    );
    call!(
        "bulk",
        s.record_bulk(bulk(
            vec![
                entry(0, a.id, Status::Passed, None),
                entry(1, b, Status::Failed, Some("assert")),
                entry(2, a.id, Status::Blocked, Some("again")),
                entry(3, c, Status::NotTested, None)
            ],
            false,
            vec![],
            None
        ))
    );
    let refused = RefusedEntry {
        index: 1,
        test_case_id: Some("tc_1".into()),
        errors: vec![
            FieldError::new("results[1].status", "bad"),
            FieldError::new("results[1].note", "too long"),
        ],
    };
    call!(
        "bulk atomic refused",
        s.record_bulk(bulk(
            vec![
                entry(0, a.id, Status::Passed, None),
                entry(2, p2_case, Status::Failed, None)
            ],
            false,
            vec![refused.clone()],
            idem("k1", 9)
        ))
    );
    call!(
        "bulk partial",
        s.record_bulk(bulk(
            vec![
                entry(0, other_case.id, Status::Retest, None),
                entry(2, p2_case, Status::Passed, None),
                entry(3, n.id, Status::Passed, None)
            ],
            true,
            vec![refused.clone()],
            None
        ))
    );
    call!(
        "bulk partial all bad",
        s.record_bulk(bulk(
            vec![entry(0, p2_case, Status::Passed, None)],
            true,
            vec![],
            None
        ))
    );
    call!(
        "bulk empty",
        s.record_bulk(bulk(vec![], false, vec![], None))
    );
    call!(
        "bulk idem",
        s.record_bulk(bulk(
            vec![entry(0, b, Status::Passed, None)],
            false,
            vec![],
            idem("k1", 1)
        ))
    );
    call!(
        "bulk idem replay",
        s.record_bulk(bulk(
            vec![entry(0, b, Status::Passed, None)],
            false,
            vec![],
            idem("k1", 1)
        ))
    );
    call!(
        "bulk idem reused",
        s.record_bulk(bulk(
            vec![entry(0, b, Status::Failed, None)],
            false,
            vec![],
            idem("k1", 2)
        ))
    );
    call!(
        "bulk idem failed is not kept",
        s.record_bulk(bulk(
            vec![entry(0, p2_case, Status::Failed, None)],
            false,
            vec![],
            idem("k2", 1)
        ))
    );
    call!(
        "bulk idem after failure",
        s.record_bulk(bulk(
            vec![entry(0, b, Status::Retest, None)],
            false,
            vec![],
            idem("k2", 3)
        ))
    );
    call!(
        "bulk missing run",
        s.record_bulk(BulkRequest {
            run: RunId::from_db(9999),
            ..bulk(vec![], false, vec![], None)
        })
    );
    call!("run after bulks", s.get_run(r1.id));
    call!(
        "results by status",
        s.list_results(
            r1.id,
            ResultQuery {
                assignee: None,
                statuses: vec![Status::Passed, Status::Blocked, Status::Passed],
                after: None,
                q: None,
                page: page(1, 100),
                key: None,
                output: false,
            }
        )
    );
    call!(
        "results by status p2",
        s.list_results(
            r1.id,
            ResultQuery {
                assignee: None,
                statuses: vec![Status::Retest, Status::Failed, Status::NotTested],
                after: None,
                q: None,
                page: page(2, 2),
                key: None,
                output: false,
            }
        )
    );
    call!(
        "results after",
        s.list_results(
            r1.id,
            ResultQuery {
                assignee: None,
                statuses: vec![],
                after: Some(ids[1]),
                q: None,
                page: page(1, 2),
                key: None,
                output: false,
            }
        )
    );
    call!(
        "results after filtered",
        s.list_results(
            r1.id,
            ResultQuery {
                assignee: None,
                statuses: vec![Status::NotTested],
                after: Some(ids[0]),
                q: None,
                page: page(1, 10),
                key: None,
                output: false,
            }
        )
    );
    call!(
        "results past end",
        s.list_results(
            r1.id,
            ResultQuery {
                assignee: None,
                statuses: vec![],
                after: None,
                q: None,
                page: page(50, 10),
                key: None,
                output: false,
            }
        )
    );
    call!(
        "results missing run",
        s.list_results(
            RunId::from_db(9999),
            ResultQuery {
                assignee: None,
                statuses: vec![],
                after: None,
                q: None,
                page: page(1, 10),
                key: None,
                output: false,
            }
        )
    );
    let hist_of = all
        .items
        .iter()
        .find(|r| r.case_id == a.id)
        .map(|r| r.id)
        .unwrap();
    call!(
        "history of a",
        s.result_history(r1.id, hist_of, page(1, 10))
    );

    ids
}
