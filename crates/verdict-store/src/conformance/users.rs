//! Users, sign-in lookups, the start-up admin bootstrap and API tokens.

use std::sync::Arc;

use super::support::*;
use crate::*;

fn hash(b: u8) -> TokenHash {
    TokenHash([b; 32])
}

/// Who holds the token, if anyone.
async fn holder(s: &dyn Store, h: u8) -> Option<User> {
    s.authenticate(hash(h), t(1))
        .await
        .expect("authenticate")
        .map(|(u, _)| u)
}

pub async fn users_create_get_and_list(s: Arc<dyn Store>) {
    let s = s.as_ref();
    let ada = s
        .create_user(new_user("Ada", "ada@example.com", true), t(5))
        .await
        .expect("create");
    assert_eq!(
        (
            ada.name.as_str(),
            ada.email.as_str(),
            ada.admin,
            ada.created_at
        ),
        ("Ada", "ada@example.com", true, t(5))
    );
    assert_eq!(s.get_user(ada.id).await, Ok(ada.clone()));
    assert_not_found(s.get_user(UserId::from_db(UNKNOWN)).await);
    let bob = user(s, "bob").await;
    let cy = user(s, "cy").await;
    let first = s.list_users(page(1, 2)).await.expect("page 1");
    assert_eq!(first.total, 3);
    assert_eq!(
        first.items.iter().map(|u| u.id).collect::<Vec<_>>(),
        [ada.id, bob],
        "ordered by id"
    );
    let second = s.list_users(page(2, 2)).await.expect("page 2");
    assert_eq!(second.items.iter().map(|u| u.id).collect::<Vec<_>>(), [cy]);
    let past = s.list_users(page(3, 2)).await.expect("past the end");
    assert_eq!((past.total, past.items.len()), (3, 0));
}

pub async fn emails_are_unique_whatever_their_case(s: Arc<dyn Store>) {
    let s = s.as_ref();
    user(s, "ada").await;
    for email in ["ada@example.com", "ADA@Example.COM"] {
        let dup = s.create_user(new_user("other", email, false), t(1)).await;
        assert_conflict(dup, "duplicate_email");
    }
    assert_eq!(s.list_users(page(1, 10)).await.expect("list").total, 1);
    s.create_user(new_user("ada2", "ada2@example.com", false), t(1))
        .await
        .expect("another email");
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
    s.set_password(a, None).await.expect("remove");
    let (_, hash) = s
        .login_lookup("dora@example.com".into())
        .await
        .expect("lookup")
        .expect("found");
    assert_eq!(hash, None);
    assert_eq!(s.login_lookup("nobody@example.com".into()).await, Ok(None));
    assert_not_found(s.set_password(UserId::from_db(UNKNOWN), None).await);
}

pub async fn bootstrap_with_a_token(s: Arc<dyn Store>) {
    let s = s.as_ref();
    let first = s
        .bootstrap_admin(Some(hash(1)), hash(2), t(1))
        .await
        .expect("bootstrap");
    let Bootstrap::CreatedAdmin(admin) = first else {
        panic!("an empty database gets an admin: {first:?}");
    };
    assert!(admin.admin);
    assert_eq!(holder(s, 1).await, Some(admin.clone()), "holds the token");
    assert_eq!(holder(s, 2).await, None, "fresh is unused with a token");
    assert_eq!(
        s.bootstrap_admin(Some(hash(1)), hash(3), t(2)).await,
        Ok(Bootstrap::Unchanged),
        "idempotent"
    );
    assert_eq!(s.list_users(page(1, 10)).await.expect("list").total, 1);

    // A token held by an ordinary user makes that user the admin.
    let carol = user(s, "carol").await;
    s.create_token(carol, "mine".into(), hash(5), t(3))
        .await
        .expect("token");
    let promoted = s
        .bootstrap_admin(Some(hash(5)), hash(6), t(4))
        .await
        .expect("promote");
    assert!(
        !matches!(promoted, Bootstrap::CreatedAdmin(_)),
        "{promoted:?}"
    );
    assert!(s.get_user(carol).await.expect("carol").admin);
    assert_eq!(holder(s, 5).await.map(|u| u.id), Some(carol));

    // A token nobody holds yet: afterwards an admin holds it.
    s.bootstrap_admin(Some(hash(7)), hash(8), t(5))
        .await
        .expect("new token");
    assert!(holder(s, 7).await.expect("held").admin);
    assert_eq!(holder(s, 8).await, None);
}

pub async fn bootstrap_without_a_token_on_an_empty_database(s: Arc<dyn Store>) {
    let s = s.as_ref();
    let first = s
        .bootstrap_admin(None, hash(1), t(1))
        .await
        .expect("bootstrap");
    let Bootstrap::CreatedAdmin(admin) = first else {
        panic!("an empty database gets an admin: {first:?}");
    };
    assert!(admin.admin);
    assert_eq!(holder(s, 1).await, Some(admin), "holds the fresh token");
    assert_eq!(
        s.bootstrap_admin(None, hash(2), t(2)).await,
        Ok(Bootstrap::Unchanged)
    );
    assert_eq!(holder(s, 2).await, None, "no second token");
    assert_eq!(s.list_users(page(1, 10)).await.expect("list").total, 1);
    assert_eq!(
        s.revoke_start_tokens(None, vec![]).await,
        Ok(0),
        "a minted token was not given at start"
    );
    assert!(holder(s, 1).await.is_some());
}

pub async fn bootstrap_without_a_token_leaves_a_used_database_alone(s: Arc<dyn Store>) {
    let s = s.as_ref();
    let carol = user(s, "carol").await;
    assert_eq!(
        s.bootstrap_admin(None, hash(1), t(1)).await,
        Ok(Bootstrap::Unchanged)
    );
    assert_eq!(holder(s, 1).await, None);
    let users = s.list_users(page(1, 10)).await.expect("list");
    assert_eq!(
        users.items.iter().map(|u| u.id).collect::<Vec<_>>(),
        [carol]
    );
    assert!(!users.items[0].admin, "nobody was promoted");
}

pub async fn tokens_authenticate_list_and_delete(s: Arc<dyn Store>) {
    let s = s.as_ref();
    let carol = user(s, "carol").await;
    let dan = user(s, "dan").await;
    let ci = s
        .create_token(carol, "ci".into(), hash(1), t(1))
        .await
        .expect("token");
    assert_eq!(
        (ci.user_id, ci.name.as_str(), ci.created_at, ci.last_used_at),
        (carol, "ci", t(1), None)
    );
    assert_eq!(s.get_token(ci.id).await, Ok(ci.clone()));
    let laptop = s
        .create_token(carol, "laptop".into(), hash(2), t(2))
        .await
        .expect("token");
    s.create_token(dan, "dan's".into(), hash(3), t(3))
        .await
        .expect("token");
    let (who, token) = s
        .authenticate(hash(1), t(4))
        .await
        .expect("auth")
        .expect("known");
    assert_eq!((who.id, token), (carol, ci.id));
    assert_eq!(s.authenticate(hash(9), t(4)).await, Ok(None), "unknown");
    let mut names: Vec<String> = s
        .list_tokens(carol)
        .await
        .expect("list")
        .into_iter()
        .map(|t| t.name)
        .collect();
    names.sort();
    assert_eq!(names, ["ci", "laptop"], "only carol's");

    s.delete_token(ci.id).await.expect("delete");
    assert_eq!(s.authenticate(hash(1), t(5)).await, Ok(None));
    assert_not_found(s.get_token(ci.id).await);
    assert_not_found(s.delete_token(ci.id).await);
    assert_not_found(s.delete_token(TokenId::from_db(UNKNOWN)).await);
    let left = s.list_tokens(carol).await.expect("list");
    assert_eq!(left.iter().map(|t| t.id).collect::<Vec<_>>(), [laptop.id]);
    assert_eq!(holder(s, 2).await.map(|u| u.id), Some(carol), "others work");
    assert_eq!(holder(s, 3).await.map(|u| u.id), Some(dan));
}

pub async fn start_tokens_last_while_starts_give_them(s: Arc<dyn Store>) {
    let s = s.as_ref();
    s.bootstrap_admin(Some(hash(1)), hash(2), t(1))
        .await
        .expect("bootstrap");
    let admin = holder(s, 1).await.expect("admin");
    // A token the admin makes later was not given at start.
    s.create_token(admin.id, "mine".into(), hash(3), t(2))
        .await
        .expect("token");
    assert_eq!(s.revoke_start_tokens(Some(hash(1)), vec![]).await, Ok(0));
    assert_eq!(holder(s, 1).await, Some(admin.clone()), "kept");

    // A start without it: revoked; the admin and their own token stay.
    assert_eq!(s.revoke_start_tokens(None, vec![]).await, Ok(1));
    assert_eq!(holder(s, 1).await, None);
    assert_eq!(holder(s, 3).await, Some(admin.clone()));
    // Given again: valid again, for the same admin.
    assert_eq!(
        s.bootstrap_admin(Some(hash(1)), hash(4), t(3)).await,
        Ok(Bootstrap::Unchanged)
    );
    assert_eq!(holder(s, 1).await, Some(admin.clone()));

    // Another token given: the one given before goes.
    assert_eq!(s.revoke_start_tokens(Some(hash(5)), vec![]).await, Ok(1));
    s.bootstrap_admin(Some(hash(5)), hash(6), t(4))
        .await
        .expect("bootstrap");
    assert_eq!(holder(s, 1).await, None);
    assert_eq!(holder(s, 5).await.map(|u| u.id), Some(admin.id));
    // A token that existed before it was given is tied to it from then on.
    s.bootstrap_admin(Some(hash(3)), hash(6), t(5))
        .await
        .expect("bootstrap");
    assert_eq!(s.revoke_start_tokens(None, vec![]).await, Ok(2));
    assert_eq!((holder(s, 3).await, holder(s, 5).await), (None, None));

    // Public tokens go whether marked or not, unless this start gives them.
    let carol = user(s, "carol").await;
    s.create_token(carol, "mine".into(), hash(7), t(6))
        .await
        .expect("token");
    assert_eq!(
        s.revoke_start_tokens(Some(hash(7)), vec![hash(7), hash(8)])
            .await,
        Ok(0)
    );
    assert_eq!(holder(s, 7).await.map(|u| u.id), Some(carol));
    assert_eq!(
        s.revoke_start_tokens(None, vec![hash(7), hash(8)]).await,
        Ok(1)
    );
    assert_eq!(holder(s, 7).await, None);
    assert_eq!(s.list_users(page(1, 10)).await.expect("list").total, 2);
}
