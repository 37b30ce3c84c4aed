use std::time::Duration;

use verdict_store::*;

use super::helpers::*;

pub struct People {
    pub alice: User,
    pub bob: User,
    pub p1: Project,
    pub p2: Project,
}

/// Users, tokens, the bootstrap, projects and members.
#[allow(unused_must_use)]
pub async fn run(s: &dyn Store, log: &mut Log) -> People {
    macro_rules! call {
        ($what:literal, $e:expr) => {{
            let r = $e.await;
            log.note($what, &r);
            r
        }};
    }

    // --- users, tokens, bootstrap
    let admin = call!("bootstrap fresh", s.bootstrap_admin(None, hash(1), at(0)));
    call!("bootstrap again", s.bootstrap_admin(None, hash(2), at(0)));
    call!(
        "bootstrap with token",
        s.bootstrap_admin(Some(hash(3)), hash(4), at(0))
    );
    call!(
        "bootstrap same token",
        s.bootstrap_admin(Some(hash(3)), hash(4), at(0))
    );
    call!(
        "revoke keeping the given token",
        s.revoke_start_tokens(Some(hash(3)), vec![hash(9)])
    );
    call!(
        "revoke on a start without it",
        s.revoke_start_tokens(None, vec![hash(9)])
    );
    call!(
        "bootstrap with the token again",
        s.bootstrap_admin(Some(hash(3)), hash(4), at(0))
    );
    let Ok(Bootstrap::CreatedAdmin(admin)) = admin else {
        panic!("no admin created");
    };
    let new_user = |name: &str, email: &str| NewUser {
        name: name.into(),
        email: email.into(),
        password_hash: Some("$argon2id$x".into()),
        admin: false,
    };
    let alice = ok(&call!(
        "alice",
        s.create_user(new_user("Alice", "alice@example.com"), at(1))
    ));
    call!(
        "alice again",
        s.create_user(new_user("A", "ALICE@Example.com"), at(1))
    );
    let bob = ok(&call!(
        "bob",
        s.create_user(new_user("Bob", "bob@example.com"), at(2))
    ));
    call!("get alice", s.get_user(alice.id));
    call!("get missing user", s.get_user(UserId::from_db(9999)));
    call!("users p1", s.list_users(page(1, 2)));
    call!("users p2", s.list_users(page(2, 2)));
    call!("users past end", s.list_users(page(9, 2)));
    let tok = ok(&call!(
        "token",
        s.create_token(alice.id, "ci".into(), hash(5), at(3))
    ));
    call!(
        "token for nobody",
        s.create_token(UserId::from_db(9999), "x".into(), hash(6), at(3))
    );
    call!("auth", s.authenticate(hash(5), at(4)));
    call!("auth unknown", s.authenticate(hash(77), at(4)));
    tokio::time::sleep(Duration::from_millis(300)).await;
    call!("token used", s.get_token(tok.id));
    call!("auth soon after", s.authenticate(hash(5), at(30)));
    tokio::time::sleep(Duration::from_millis(300)).await;
    call!("token not touched again", s.get_token(tok.id));
    call!("auth a minute on", s.authenticate(hash(5), at(100)));
    tokio::time::sleep(Duration::from_millis(300)).await;
    call!("token touched again", s.get_token(tok.id));
    let tok2 = ok(&call!(
        "token 2",
        s.create_token(alice.id, "laptop".into(), hash(7), at(5))
    ));
    call!("tokens", s.list_tokens(alice.id));
    call!("delete token", s.delete_token(tok2.id));
    call!("delete token again", s.delete_token(tok2.id));
    call!("get deleted token", s.get_token(tok2.id));
    call!("tokens after", s.list_tokens(alice.id));
    call!("tokens of admin", s.list_tokens(admin.id));

    // --- projects and members
    let p1 = ok(&call!(
        "p1",
        s.create_project("Web".into(), alice.id, at(6))
    ));
    let p2 = ok(&call!("p2", s.create_project("API".into(), bob.id, at(7))));
    call!("get p1", s.get_project(p1.id));
    call!(
        "get missing project",
        s.get_project(ProjectId::from_db(9999))
    );
    call!("projects all", s.list_projects(None, page(1, 10)));
    call!("projects p2 of 1", s.list_projects(None, page(2, 1)));
    call!(
        "projects of alice",
        s.list_projects(Some(alice.id), page(1, 10))
    );
    call!("role alice", s.role(p1.id, alice.id));
    call!("role bob", s.role(p1.id, bob.id));
    call!("set bob", s.set_member(p1.id, bob.id, Role::Tester));
    call!("set bob viewer", s.set_member(p1.id, bob.id, Role::Viewer));
    call!(
        "set in missing project",
        s.set_member(ProjectId::from_db(9999), bob.id, Role::Tester)
    );
    call!(
        "set missing user",
        s.set_member(p1.id, UserId::from_db(9999), Role::Tester)
    );
    call!("members", s.list_members(p1.id));
    call!(
        "projects of bob",
        s.list_projects(Some(bob.id), page(1, 10))
    );
    call!("remove bob", s.remove_member(p1.id, bob.id));
    call!("remove bob again", s.remove_member(p1.id, bob.id));
    call!("set bob tester", s.set_member(p1.id, bob.id, Role::Tester));

    People { alice, bob, p1, p2 }
}
