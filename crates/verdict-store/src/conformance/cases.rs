//! Test cases: keys unique per project, upserts by key, listing filters,
//! partial updates and deletion.

use std::sync::Arc;

use super::support::*;
use crate::*;

/// The project's live cases as (total, ids) for a query and page.
async fn listed(s: &dyn Store, p: ProjectId, q: CaseQuery, pg: Page) -> (i64, Vec<CaseId>) {
    let l = s.list_cases(p, q, pg).await.expect("list cases");
    (l.total, l.items.into_iter().map(|c| c.id).collect())
}

fn by_key(key: &str) -> CaseQuery {
    CaseQuery {
        suite: None,
        priority: None,
        key: Some(key.into()),
        q: None,
        quarantined: None,
    }
}

fn by_title(q: &str) -> CaseQuery {
    CaseQuery {
        suite: None,
        priority: None,
        key: None,
        q: Some(q.into()),
        quarantined: None,
    }
}

pub async fn cases_and_unique_keys(s: Arc<dyn Store>) {
    let s = s.as_ref();
    let (owner, p, _) = project_with_cases(s, 0).await;
    let q = s
        .create_project("Q".into(), owner, t(0))
        .await
        .expect("q")
        .id;
    let new = NewCase {
        title: "Login".into(),
        key: Some("a.login".into()),
        suite: Some("auth".into()),
        details: Default::default(),
    };
    let c = s.create_case(p, new, t(7)).await.expect("case");
    assert_eq!(
        (c.project_id, c.title.as_str(), c.key.as_deref()),
        (p, "Login", Some("a.login"))
    );
    assert_eq!((c.suite.as_deref(), c.created_at), (Some("auth"), t(7)));
    assert_eq!(s.get_case(c.id).await, Ok(c.clone()));
    assert_not_found(s.get_case(CaseId::from_db(UNKNOWN)).await);
    let dup = s
        .create_case(p, new_case("Again", Some("a.login")), t(8))
        .await;
    assert_conflict(dup, "duplicate_key");
    s.create_case(q, new_case("Elsewhere", Some("a.login")), t(8))
        .await
        .expect("the same key in another project");
    for title in ["no key", "no key either"] {
        s.create_case(p, new_case(title, None), t(8))
            .await
            .expect("keyless cases never conflict");
    }
    assert_eq!(listed(s, p, CaseQuery::default(), page(1, 10)).await.0, 3);
    let nowhere = ProjectId::from_db(UNKNOWN);
    assert_not_found(s.create_case(nowhere, new_case("x", None), t(8)).await);
}

pub async fn upserts_by_key_in_order(s: Arc<dyn Store>) {
    let s = s.as_ref();
    let (_, p, _) = project_with_cases(s, 0).await;
    let old = s
        .create_case(p, new_case("Login", Some("a.login")), t(1))
        .await
        .expect("case");
    let suite = |title: &str, key: Option<&str>, suite: &str| NewCase {
        suite: Some(suite.into()),
        ..new_case(title, key)
    };
    let up = s
        .upsert_cases(
            p,
            vec![
                suite("Login v2", Some("a.login"), "auth"),
                new_case("New", Some("b")),
                new_case("Keyless", None),
                new_case("New again", Some("b")),
                new_case("Keyless", None),
            ],
            t(2),
        )
        .await
        .expect("upsert");
    assert_eq!(
        up.iter().map(|u| u.created).collect::<Vec<_>>(),
        [false, true, true, false, true],
        "in request order"
    );
    assert_eq!(up[0].case.id, old.id);
    assert_eq!(up[3].case.id, up[1].case.id, "the same key twice: one case");
    assert_ne!(up[2].case.id, up[4].case.id, "each keyless entry is new");
    assert_eq!(
        (up[0].case.title.as_str(), up[0].case.suite.as_deref()),
        ("Login v2", Some("auth")),
        "the case as updated"
    );
    assert_eq!(up[3].case.title, "New again");
    let login = s.get_case(old.id).await.expect("login");
    assert_eq!(
        (
            login.title.as_str(),
            login.suite.as_deref(),
            login.created_at
        ),
        ("Login v2", Some("auth"), t(1)),
        "updated in place"
    );
    let b = s.get_case(up[1].case.id).await.expect("b");
    assert_eq!(b.title, "New again", "the later entry wins");
    assert_eq!(listed(s, p, CaseQuery::default(), page(1, 10)).await.0, 4);
    assert_not_found(
        s.upsert_cases(ProjectId::from_db(UNKNOWN), vec![], t(3))
            .await,
    );
}

pub async fn case_listing_filters_and_totals(s: Arc<dyn Store>) {
    let s = s.as_ref();
    let (owner, p, cases) = project_with_cases(s, 12).await;
    let q = s
        .create_project("Q".into(), owner, t(0))
        .await
        .expect("q")
        .id;
    s.create_case(q, new_case("case 1 elsewhere", Some("k1")), t(0))
        .await
        .expect("other project");
    let all = CaseQuery::default();
    assert_eq!(
        listed(s, p, all.clone(), page(1, 100)).await,
        (12, cases.clone()),
        "by id"
    );
    assert_eq!(
        listed(s, p, all.clone(), page(3, 5)).await,
        (12, cases[10..].to_vec())
    );
    assert_eq!(listed(s, p, all, page(4, 5)).await, (12, vec![]));
    assert_eq!(
        listed(s, p, by_key("k7"), page(1, 10)).await,
        (1, vec![cases[7]])
    );
    assert_eq!(
        listed(s, p, by_key("K7"), page(1, 10)).await.0,
        0,
        "exact key"
    );
    assert_eq!(
        listed(s, p, by_key("k"), page(1, 10)).await.0,
        0,
        "whole key"
    );
    // "case 1", "case 10", "case 11": case-insensitive substrings.
    assert_eq!(
        listed(s, p, by_title("CASE 1"), page(1, 2)).await,
        (3, vec![cases[1], cases[10]])
    );
    assert_eq!(
        listed(s, p, by_title("%"), page(1, 10)).await.0,
        0,
        "no wildcards"
    );
    let both = CaseQuery {
        suite: None,
        priority: None,
        key: Some("k10".into()),
        q: Some("case".into()),
        quarantined: None,
    };
    assert_eq!(listed(s, p, both, page(1, 10)).await, (1, vec![cases[10]]));
}

pub async fn case_updates_and_clearing(s: Arc<dyn Store>) {
    let s = s.as_ref();
    let (_, p, _) = project_with_cases(s, 0).await;
    let full = NewCase {
        title: "Login".into(),
        key: Some("a.login".into()),
        suite: Some("auth".into()),
        details: Default::default(),
    };
    let c = s.create_case(p, full, t(1)).await.expect("case");
    let other = s
        .create_case(p, new_case("Logout", Some("a.logout")), t(1))
        .await
        .expect("case");
    let unchanged = s
        .update_case(c.id, CasePatch::default())
        .await
        .expect("empty patch");
    assert_eq!(unchanged, c);
    let retitled = s
        .update_case(
            c.id,
            CasePatch {
                title: Some("Sign in".into()),
                ..CasePatch::default()
            },
        )
        .await
        .expect("title");
    assert_eq!(
        (
            retitled.title.as_str(),
            retitled.key.as_deref(),
            retitled.suite.as_deref()
        ),
        ("Sign in", Some("a.login"), Some("auth")),
        "None leaves a field alone"
    );
    let clear = CasePatch {
        key: Some(None),
        suite: Some(None),
        ..CasePatch::default()
    };
    let cleared = s.update_case(c.id, clear).await.expect("clear");
    assert_eq!(
        (&cleared.key, &cleared.suite),
        (&None, &None),
        "Some(None) clears"
    );
    assert_eq!(s.get_case(c.id).await, Ok(cleared));
    let rekey = |key: &str| CasePatch {
        key: Some(Some(key.into())),
        ..CasePatch::default()
    };
    assert_conflict(
        s.update_case(c.id, rekey("a.logout")).await,
        "duplicate_key",
    );
    let rekeyed = s
        .update_case(c.id, rekey("a.login"))
        .await
        .expect("the freed key");
    assert_eq!(rekeyed.key.as_deref(), Some("a.login"));
    s.update_case(other.id, rekey("a.logout"))
        .await
        .expect("its own key again");
    let found = listed(s, p, by_key("a.login"), page(1, 10)).await;
    assert_eq!(found, (1, vec![c.id]));
    assert_not_found(
        s.update_case(CaseId::from_db(UNKNOWN), CasePatch::default())
            .await,
    );
}

pub async fn deleted_cases_hide_free_their_key_and_keep_run_history(s: Arc<dyn Store>) {
    let s = s.as_ref();
    let (owner, p, cases) = project_with_cases(s, 3).await;
    let run = run_over_all(s, p, "before").await.id;
    let held = everything(s, run)
        .await
        .into_iter()
        .find(|r| r.case_id == cases[1])
        .expect("in the run")
        .id;
    s.record_result(run, held, exec(Status::Failed, Some("x")), owner, t(2))
        .await
        .expect("record");

    s.delete_case(cases[1]).await.expect("delete");
    assert_not_found(s.get_case(cases[1]).await);
    assert_not_found(s.delete_case(cases[1]).await);
    assert_not_found(s.update_case(cases[1], CasePatch::default()).await);
    assert_not_found(s.delete_case(CaseId::from_db(UNKNOWN)).await);
    let all = CaseQuery::default();
    assert_eq!(
        listed(s, p, all.clone(), page(1, 10)).await,
        (2, vec![cases[0], cases[2]])
    );
    assert_eq!(listed(s, p, by_key("k1"), page(1, 10)).await.0, 0);

    // The run keeps its result for the deleted case, and the history.
    let kept = s.get_result(run, held).await.expect("kept");
    assert_eq!((kept.case_id, kept.status), (cases[1], Status::Failed));
    assert_eq!(history(s, run, held).await.len(), 1);
    let counts = s.get_run(run).await.expect("run").counts;
    assert_eq!((counts.failed, counts.total()), (1, 3));
    assert_eq!(everything(s, run).await.len(), 3);
    let after = run_over_all(s, p, "after").await;
    assert_eq!(after.counts.total(), 2, "new runs leave it out");
    let invalid = s.create_run(p, new_run("r", None, Some(vec![cases[1]])), t(3));
    assert_invalid(invalid.await, &["case_ids[0]"]);

    // Its key is free: a create or an upsert makes a new case.
    let again = s
        .create_case(p, new_case("k1 again", Some("k1")), t(3))
        .await
        .expect("a deleted case frees its key");
    assert_ne!(again.id, cases[1]);
    s.delete_case(again.id).await.expect("delete again");
    let up = s
        .upsert_cases(p, vec![new_case("k1 third", Some("k1"))], t(4))
        .await
        .expect("upsert");
    assert!(up[0].created, "an upsert never revives a deleted case");
    assert_eq!(listed(s, p, all, page(1, 10)).await.0, 3);
}

/// Preconditions, steps, priority and refs: stored with the case, read back
/// by get and list, changed or cleared by a patch field by field, replaced
/// by an upsert entry that gives them and kept by one that leaves them out.
pub async fn case_details_round_trip_patch_and_upsert(s: Arc<dyn Store>) {
    let s = s.as_ref();
    let (_, p, _) = project_with_cases(s, 0).await;
    let steps = vec![
        Step {
            action: "Open the login page".into(),
            expected: Some("A form with <email> & password".into()),
        },
        Step {
            action: "Submit it empty".into(),
            expected: None,
        },
    ];
    let full = DetailsPatch {
        preconditions: Some(Some("A user exists.\nThe browser is clean.".into())),
        steps: Some(steps.clone()),
        priority: Some(Some(Priority::High)),
        refs: Some(vec!["REQ-1".into(), "BUG-7".into()]),
    };
    let c = s
        .create_case(
            p,
            NewCase {
                details: full.clone(),
                ..new_case("Login", Some("a.login"))
            },
            t(1),
        )
        .await
        .expect("case");
    let want = full.created();
    assert_eq!(c.details, want);
    assert_eq!(s.get_case(c.id).await.expect("get").details, want);
    let listed = s
        .list_cases(p, by_key("a.login"), page(1, 10))
        .await
        .expect("list");
    assert_eq!(listed.items, vec![c.clone()]);
    let bare = s
        .create_case(p, new_case("Bare", None), t(1))
        .await
        .expect("bare");
    assert_eq!(bare.details, CaseDetails::default());
    assert_eq!(s.get_case(bare.id).await, Ok(bare));

    // A patch changes what it names; the rest stays.
    let patch = CasePatch {
        details: DetailsPatch {
            priority: Some(Some(Priority::Low)),
            ..DetailsPatch::default()
        },
        ..CasePatch::default()
    };
    let c = s.update_case(c.id, patch).await.expect("patch priority");
    assert_eq!(c.details.priority, Some(Priority::Low));
    assert_eq!((c.details.steps.clone(), c.details.refs.len()), (steps, 2));
    let clear = CasePatch {
        details: DetailsPatch {
            preconditions: Some(None),
            steps: Some(Vec::new()),
            priority: Some(None),
            refs: Some(Vec::new()),
        },
        ..CasePatch::default()
    };
    let c = s.update_case(c.id, clear).await.expect("clear");
    assert_eq!(c.details, CaseDetails::default());
    assert_eq!(s.get_case(c.id).await, Ok(c.clone()));

    // An upsert entry that gives details sets them; one that leaves them
    // out keeps them (a CI upsert never wipes a manual case's steps).
    let up = s
        .upsert_cases(
            p,
            vec![NewCase {
                details: full.clone(),
                ..new_case("Login 2", Some("a.login"))
            }],
            t(2),
        )
        .await
        .expect("upsert with details");
    assert_eq!(up[0].case.details, want);
    let up = s
        .upsert_cases(
            p,
            vec![
                new_case("Login 3", Some("a.login")),
                NewCase {
                    details: full.clone(),
                    ..new_case("Fresh", Some("a.fresh"))
                },
            ],
            t(3),
        )
        .await
        .expect("upsert without details");
    assert_eq!(
        (up[0].case.title.as_str(), &up[0].case.details),
        ("Login 3", &want)
    );
    assert_eq!(s.get_case(c.id).await.expect("get").details, want);
    assert!(up[1].created);
    assert_eq!(s.get_case(up[1].case.id).await, Ok(up[1].case.clone()));
    let cleared = s
        .upsert_cases(
            p,
            vec![NewCase {
                details: DetailsPatch {
                    steps: Some(Vec::new()),
                    priority: Some(None),
                    ..DetailsPatch::default()
                },
                ..new_case("Login 4", Some("a.login"))
            }],
            t(4),
        )
        .await
        .expect("upsert clearing");
    let got = s.get_case(c.id).await.expect("get");
    assert_eq!(got, cleared[0].case);
    assert_eq!(
        (
            got.details.steps.len(),
            got.details.priority,
            got.details.refs.len()
        ),
        (0, None, 2)
    );
}
