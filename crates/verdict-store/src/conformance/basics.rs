//! Users, tokens, projects, members, cases and runs.

use std::sync::Arc;

use super::{now, project_with_cases, run_over_all, user};
use crate::*;

fn hash(b: u8) -> TokenHash {
    TokenHash([b; 32])
}

pub async fn users_and_unique_emails(s: Arc<dyn Store>) {
    let s = s.as_ref();
    let a = user(s, "ada").await;
    assert_eq!(s.get_user(a).await.expect("get").name, "ada");
    let dup = s
        .create_user(
            NewUser {
                name: "other".into(),
                email: "ADA@example.com".into(),
                password_hash: None,
                admin: false,
            },
            now(),
        )
        .await;
    assert!(
        matches!(
            dup,
            Err(StoreError::Conflict {
                code: "duplicate_email",
                ..
            })
        ),
        "{dup:?}"
    );
    assert_eq!(
        s.get_user(UserId::from_db(999_999)).await,
        Err(StoreError::NotFound)
    );
    user(s, "bob").await;
    let page = s
        .list_users(Page {
            page: 1,
            per_page: 1,
        })
        .await
        .expect("list");
    assert_eq!((page.total, page.items.len()), (2, 1));
}

pub async fn passwords_and_sign_in_lookup(s: Arc<dyn Store>) {
    let s = s.as_ref();
    let a = user(s, "dora").await;
    let (found, hash) = s
        .login_lookup("DORA@example.com".into())
        .await
        .expect("lookup")
        .expect("found");
    assert_eq!((found.id, hash), (a, None));
    s.set_password(a, Some("$argon2id$fake".into()))
        .await
        .expect("set");
    let (_, hash) = s
        .login_lookup("dora@example.com".into())
        .await
        .expect("lookup")
        .expect("found");
    assert_eq!(hash.as_deref(), Some("$argon2id$fake"));
    assert_eq!(s.login_lookup("nobody@example.com".into()).await, Ok(None));
    assert_eq!(
        s.set_password(UserId::from_db(999_999), None).await,
        Err(StoreError::NotFound)
    );
}

pub async fn bootstrap_and_tokens(s: Arc<dyn Store>) {
    let s = s.as_ref();
    let first = s
        .bootstrap_admin(Some(hash(1)), hash(2), now())
        .await
        .expect("bootstrap");
    assert!(
        matches!(first, Bootstrap::CreatedAdmin(ref u) if u.admin),
        "{first:?}"
    );
    assert_eq!(
        s.bootstrap_admin(Some(hash(1)), hash(3), now()).await,
        Ok(Bootstrap::Unchanged)
    );
    assert_eq!(
        s.bootstrap_admin(None, hash(4), now()).await,
        Ok(Bootstrap::Unchanged),
        "not empty"
    );
    let (admin, _) = s
        .authenticate(hash(1), now())
        .await
        .expect("auth")
        .expect("known token");
    assert!(admin.admin);
    assert_eq!(s.authenticate(hash(4), now()).await, Ok(None));
    let u = user(s, "carol").await;
    let t = s
        .create_token(u, "ci".into(), hash(9), now())
        .await
        .expect("token");
    assert_eq!(
        s.authenticate(hash(9), now())
            .await
            .expect("auth")
            .map(|(u, _)| u.name),
        Some("carol".into())
    );
    assert_eq!(s.list_tokens(u).await.expect("list").len(), 1);
    s.delete_token(t.id).await.expect("delete");
    assert_eq!(s.authenticate(hash(9), now()).await, Ok(None));
    assert_eq!(s.delete_token(t.id).await, Err(StoreError::NotFound));
}

pub async fn projects_and_members(s: Arc<dyn Store>) {
    let s = s.as_ref();
    let owner = user(s, "owner").await;
    let other = user(s, "other").await;
    let p = s
        .create_project("P".into(), owner, now())
        .await
        .expect("project")
        .id;
    s.create_project("Q".into(), other, now())
        .await
        .expect("project");
    assert_eq!(s.role(p, owner).await, Ok(Some(Role::Manager)));
    assert_eq!(s.role(p, other).await, Ok(None));
    s.set_member(p, other, Role::Viewer).await.expect("add");
    s.set_member(p, other, Role::Tester).await.expect("upsert");
    assert_eq!(s.role(p, other).await, Ok(Some(Role::Tester)));
    assert_eq!(s.list_members(p).await.expect("members").len(), 2);
    let mine = s
        .list_projects(
            Some(other),
            Page {
                page: 1,
                per_page: 10,
            },
        )
        .await
        .expect("list");
    assert_eq!(mine.total, 2);
    assert_eq!(
        s.list_projects(
            None,
            Page {
                page: 1,
                per_page: 10
            }
        )
        .await
        .expect("all")
        .total,
        2
    );
    s.remove_member(p, other).await.expect("remove");
    assert_eq!(s.remove_member(p, other).await, Err(StoreError::NotFound));
    assert_eq!(
        s.set_member(p, UserId::from_db(999_999), Role::Viewer)
            .await
            .map(|_| ()),
        Err(StoreError::NotFound)
    );
}

pub async fn cases_keys_upserts_and_deletes(s: Arc<dyn Store>) {
    let s = s.as_ref();
    let (owner, p, _) = project_with_cases(s, 0).await;
    let q = s
        .create_project("Q".into(), owner, now())
        .await
        .expect("q")
        .id;
    let new = |title: &str, key: Option<&str>| NewCase {
        title: title.into(),
        key: key.map(Into::into),
        suite: None,
    };
    let c = s
        .create_case(p, new("Login", Some("a.login")), now())
        .await
        .expect("case");
    let dup = s.create_case(p, new("Again", Some("a.login")), now()).await;
    assert!(
        matches!(
            dup,
            Err(StoreError::Conflict {
                code: "duplicate_key",
                ..
            })
        ),
        "{dup:?}"
    );
    s.create_case(q, new("Elsewhere", Some("a.login")), now())
        .await
        .expect("same key, other project");
    let up = s
        .upsert_cases(
            p,
            vec![
                new("Login v2", Some("a.login")),
                new("New", Some("b")),
                new("New again", Some("b")),
                new("Keyless", None),
            ],
            now(),
        )
        .await
        .expect("upsert");
    assert_eq!(
        up.iter().map(|u| u.created).collect::<Vec<_>>(),
        [false, true, false, true]
    );
    assert_eq!(up[0].case.id, c.id);
    assert_eq!(up[2].case.id, up[1].case.id);
    assert_eq!(s.get_case(c.id).await.expect("get").title, "Login v2");
    let found = s
        .list_cases(
            p,
            CaseQuery {
                key: None,
                q: Some("LOGIN".into()),
            },
            Page {
                page: 1,
                per_page: 10,
            },
        )
        .await
        .expect("search");
    assert_eq!(found.total, 1);
    let patched = s
        .update_case(
            c.id,
            CasePatch {
                key: Some(None),
                ..CasePatch::default()
            },
        )
        .await
        .expect("patch");
    assert_eq!(patched.key, None);
    s.delete_case(up[1].case.id).await.expect("delete");
    assert_eq!(s.get_case(up[1].case.id).await, Err(StoreError::NotFound));
    s.create_case(p, new("Reused key", Some("b")), now())
        .await
        .expect("a deleted case frees its key");
    assert_eq!(
        s.list_cases(
            p,
            CaseQuery::default(),
            Page {
                page: 1,
                per_page: 10
            }
        )
        .await
        .expect("list")
        .total,
        3
    );
}

pub async fn runs_find_or_create_add_and_close(s: Arc<dyn Store>) {
    let s = s.as_ref();
    let (owner, p, cases) = project_with_cases(s, 3).await;
    let all = run_over_all(s, p, "all").await;
    assert_eq!((all.counts.not_tested, all.counts.total()), (3, 3));
    let keyed = NewRun {
        name: "ci".into(),
        description: None,
        key: Some("pipe-1".into()),
        case_ids: Some(vec![cases[0]]),
    };
    let (first, created) = s.create_run(p, keyed.clone(), now()).await.expect("create");
    assert!(created);
    let (again, created) = s.create_run(p, keyed, now()).await.expect("find");
    assert!(!created);
    assert_eq!(again.id, first.id);
    let q = s
        .create_project("Q".into(), owner, now())
        .await
        .expect("q")
        .id;
    let foreign = s
        .create_case(
            q,
            NewCase {
                title: "x".into(),
                key: None,
                suite: None,
            },
            now(),
        )
        .await
        .expect("case")
        .id;
    let bad = NewRun {
        name: "bad".into(),
        description: None,
        key: None,
        case_ids: Some(vec![cases[1], foreign]),
    };
    match s.create_run(p, bad, now()).await {
        Err(StoreError::Invalid(f)) => assert_eq!(f[0].field, "case_ids[1]"),
        other => panic!("{other:?}"),
    }
    let grown = s
        .add_cases_to_run(first.id, vec![cases[0], cases[1]])
        .await
        .expect("add");
    assert_eq!(
        grown.counts.total(),
        2,
        "already present cases are left alone"
    );
    let listed = s
        .list_runs(
            p,
            Some(RunState::Open),
            Page {
                page: 1,
                per_page: 10,
            },
        )
        .await
        .expect("runs");
    assert_eq!(listed.items[0].id, first.id, "newest first");
    let closed = s.close_run(first.id, now()).await.expect("close");
    assert_eq!(closed.state, RunState::Closed);
    assert_eq!(
        s.close_run(first.id, now()).await.expect("again").closed_at,
        closed.closed_at
    );
    assert_eq!(
        s.add_cases_to_run(first.id, vec![cases[2]])
            .await
            .map(|_| ()),
        Err(StoreError::run_closed())
    );
    assert_eq!(
        s.list_runs(
            p,
            Some(RunState::Closed),
            Page {
                page: 1,
                per_page: 10
            }
        )
        .await
        .expect("closed")
        .total,
        1
    );
}
