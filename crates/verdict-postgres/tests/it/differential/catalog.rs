use verdict_store::*;

use super::helpers::*;
use super::people::People;

pub struct Catalog {
    pub a: Case,
    pub n: Case,
    pub b: CaseId,
    pub c: CaseId,
    pub r1: Run,
    pub r2: Run,
}

/// Cases (create, upsert, list, patch) and runs.
#[allow(unused_must_use)]
pub async fn run(s: &dyn Store, log: &mut Log, people: &People) -> Catalog {
    let People { p1, p2, .. } = people;
    macro_rules! call {
        ($what:literal, $e:expr) => {{
            let r = $e.await;
            log.note($what, &r);
            r
        }};
    }

    // --- cases
    let a = ok(&call!(
        "case a",
        s.create_case(p1.id, case("Login works", Some("a"), Some("Auth")), at(8))
    ));
    let n = ok(&call!(
        "case no key",
        s.create_case(p1.id, case("Manual check", None, None), at(8))
    ));
    call!(
        "case a dup",
        s.create_case(p1.id, case("Other", Some("a"), None), at(8))
    );
    call!(
        "case in missing project",
        s.create_case(ProjectId::from_db(9999), case("x", None, None), at(8))
    );
    call!(
        "same key other project",
        s.create_case(p2.id, case("Login works", Some("a"), None), at(8))
    );
    let up = ok(&call!(
        "upsert",
        s.upsert_cases(
            p1.id,
            vec![
                case("Login works v2", Some("a"), Some("Auth2")),
                case("Logout", Some("b"), None),
                case("Keyless", None, Some("S")),
                case("Logout v2", Some("b"), Some("S")),
                case("Search", Some("c"), None),
                case("Login v3", Some("a"), None),
            ],
            at(9),
        )
    ));
    call!(
        "upsert into missing project",
        s.upsert_cases(
            ProjectId::from_db(9999),
            vec![case("x", Some("x"), None)],
            at(9)
        )
    );
    call!("upsert nothing", s.upsert_cases(p1.id, vec![], at(9)));
    let (b, c) = (up[1].case.id, up[4].case.id);
    call!("get a", s.get_case(a.id));
    call!("get b", s.get_case(b));
    call!("get missing case", s.get_case(CaseId::from_db(9999)));
    call!(
        "cases",
        s.list_cases(p1.id, CaseQuery::default(), page(1, 50))
    );
    call!(
        "cases p2",
        s.list_cases(p1.id, CaseQuery::default(), page(2, 2))
    );
    call!(
        "cases by key",
        s.list_cases(
            p1.id,
            CaseQuery {
                suite: None,
                priority: None,
                key: Some("b".into()),
                q: None,
                quarantined: None
            },
            page(1, 50)
        )
    );
    call!(
        "cases by q",
        s.list_cases(
            p1.id,
            CaseQuery {
                suite: None,
                priority: None,
                key: None,
                q: Some("LOG".into()),
                quarantined: None
            },
            page(1, 50)
        )
    );
    call!(
        "cases by q wildcard",
        s.list_cases(
            p1.id,
            CaseQuery {
                suite: None,
                priority: None,
                key: None,
                q: Some("%".into()),
                quarantined: None
            },
            page(1, 50)
        )
    );
    call!(
        "cases none",
        s.list_cases(
            p1.id,
            CaseQuery {
                suite: None,
                priority: None,
                key: Some("zz".into()),
                q: None,
                quarantined: None
            },
            page(1, 50)
        )
    );
    // Details: set by a patch, read back, kept by an upsert entry that
    // leaves them out, replaced and cleared by one that gives them.
    let details = DetailsPatch {
        preconditions: Some(Some("A user.\nA cart.".into())),
        steps: Some(vec![
            Step {
                action: "Pay".into(),
                expected: Some("A receipt".into()),
            },
            Step {
                action: "Look".into(),
                expected: None,
            },
        ]),
        priority: Some(Some(Priority::Critical)),
        refs: Some(vec!["REQ-1".into(), "BUG-2".into()]),
    };
    call!(
        "patch details",
        s.update_case(
            n.id,
            CasePatch {
                details: details.clone(),
                ..Default::default()
            }
        )
    );
    call!("get details", s.get_case(n.id));
    call!(
        "patch details priority only",
        s.update_case(
            n.id,
            CasePatch {
                details: DetailsPatch {
                    priority: Some(Some(Priority::Low)),
                    ..Default::default()
                },
                ..Default::default()
            }
        )
    );
    call!(
        "upsert details",
        s.upsert_cases(
            p1.id,
            vec![NewCase {
                details: details.clone(),
                ..case("Login v3", Some("a"), None)
            }],
            at(9),
        )
    );
    call!(
        "upsert keeps details",
        s.upsert_cases(p1.id, vec![case("Login v3", Some("a"), None)], at(9))
    );
    call!(
        "upsert clears details",
        s.upsert_cases(
            p1.id,
            vec![NewCase {
                details: DetailsPatch {
                    preconditions: Some(None),
                    steps: Some(vec![]),
                    priority: Some(None),
                    refs: Some(vec![]),
                },
                ..case("Login v3", Some("a"), None)
            }],
            at(9),
        )
    );
    call!("get a cleared", s.get_case(a.id));
    call!(
        "cases with details",
        s.list_cases(p1.id, CaseQuery::default(), page(1, 50))
    );
    call!(
        "patch title",
        s.update_case(
            n.id,
            CasePatch {
                title: Some("Manual check 2".into()),
                ..Default::default()
            }
        )
    );
    call!(
        "patch key taken",
        s.update_case(
            n.id,
            CasePatch {
                key: Some(Some("b".into())),
                ..Default::default()
            }
        )
    );
    call!(
        "patch key",
        s.update_case(
            n.id,
            CasePatch {
                key: Some(Some("n".into())),
                suite: Some(Some("S".into())),
                ..Default::default()
            }
        )
    );
    call!(
        "patch clear",
        s.update_case(
            n.id,
            CasePatch {
                key: Some(None),
                suite: Some(None),
                ..Default::default()
            }
        )
    );
    call!("patch nothing", s.update_case(n.id, CasePatch::default()));
    call!(
        "patch missing",
        s.update_case(CaseId::from_db(9999), CasePatch::default())
    );

    // --- runs
    let r1 = ok(&call!(
        "run all",
        s.create_run(
            p1.id,
            NewRun {
                name: "Nightly".into(),
                description: None,
                key: None,
                meta: RunMeta::default(),
                case_ids: None
            },
            at(10)
        )
    ))
    .0;
    let keyed_run = NewRun {
        name: "CI 42".into(),
        description: Some("pipeline".into()),
        key: Some("ci-42".into()),
        meta: RunMeta::default(),
        case_ids: Some(vec![c, a.id]),
    };
    let r2 = ok(&call!(
        "run keyed",
        s.create_run(p1.id, keyed_run.clone(), at(11))
    ))
    .0;
    call!(
        "run keyed again",
        s.create_run(
            p1.id,
            NewRun {
                name: "other".into(),
                meta: RunMeta::default(),
                case_ids: Some(vec![CaseId::from_db(9999)]),
                ..keyed_run.clone()
            },
            at(12)
        )
    );
    call!(
        "run bad cases",
        s.create_run(
            p1.id,
            NewRun {
                name: "bad".into(),
                description: None,
                key: None,
                meta: RunMeta::default(),
                case_ids: Some(vec![a.id, CaseId::from_db(9999), up[2].case.id])
            },
            at(12)
        )
    );
    call!(
        "run other project's case",
        s.create_run(
            p2.id,
            NewRun {
                name: "bad".into(),
                description: None,
                key: Some("k".into()),
                meta: RunMeta::default(),
                case_ids: Some(vec![a.id])
            },
            at(12)
        )
    );
    call!(
        "run empty",
        s.create_run(
            p2.id,
            NewRun {
                name: "empty".into(),
                description: None,
                key: None,
                meta: RunMeta::default(),
                case_ids: Some(vec![])
            },
            at(12)
        )
    );
    call!(
        "run in missing project",
        s.create_run(ProjectId::from_db(9999), keyed_run.clone(), at(12))
    );
    call!("get r1", s.get_run(r1.id));
    call!("get missing run", s.get_run(RunId::from_db(9999)));
    call!(
        "patch run",
        s.update_run(
            r2.id,
            RunPatch {
                name: Some("CI #42".into()),
                description: Some(None),
                meta: RunMetaPatch::default(),
            }
        )
    );
    call!(
        "patch missing run",
        s.update_run(RunId::from_db(9999), RunPatch::default())
    );
    call!(
        "add cases",
        s.add_cases_to_run(r2.id, vec![b, a.id, b, n.id])
    );
    call!(
        "add bad cases",
        s.add_cases_to_run(r2.id, vec![b, CaseId::from_db(9999)])
    );
    call!(
        "add to missing run",
        s.add_cases_to_run(RunId::from_db(9999), vec![b])
    );

    Catalog { a, n, b, c, r1, r2 }
}
