//! Projects, their members and roles, and who sees which project.

use std::sync::Arc;

use super::support::*;
use crate::*;

/// The project's members as (user, role), by user id.
async fn members(s: &dyn Store, p: ProjectId) -> Vec<(UserId, Role)> {
    let mut m: Vec<(UserId, Role)> = s
        .list_members(p)
        .await
        .expect("members")
        .into_iter()
        .map(|m| (m.user.id, m.role))
        .collect();
    m.sort();
    m
}

pub async fn creator_manages_and_members_upsert(s: Arc<dyn Store>) {
    let s = s.as_ref();
    let owner = user(s, "owner").await;
    let other = user(s, "other").await;
    let created = s
        .create_project("Payments".into(), owner, t(3))
        .await
        .expect("project");
    assert_eq!(
        (created.name.as_str(), created.created_at),
        ("Payments", t(3))
    );
    let p = created.id;
    assert_eq!(s.get_project(p).await, Ok(created));
    assert_not_found(s.get_project(ProjectId::from_db(UNKNOWN)).await);
    assert_eq!(s.role(p, owner).await, Ok(Some(Role::Manager)));
    assert_eq!(s.role(p, other).await, Ok(None));
    assert_eq!(members(s, p).await, [(owner, Role::Manager)]);

    let added = s.set_member(p, other, Role::Viewer).await.expect("add");
    assert_eq!((added.user.id, added.role), (other, Role::Viewer));
    let changed = s.set_member(p, other, Role::Tester).await.expect("upsert");
    assert_eq!((changed.user.id, changed.role), (other, Role::Tester));
    assert_eq!(s.role(p, other).await, Ok(Some(Role::Tester)));
    assert_eq!(
        members(s, p).await,
        [(owner, Role::Manager), (other, Role::Tester)],
        "one membership per user"
    );

    s.remove_member(p, other).await.expect("remove");
    assert_eq!(s.role(p, other).await, Ok(None));
    assert_eq!(members(s, p).await, [(owner, Role::Manager)]);
    assert_not_found(s.remove_member(p, other).await);
    assert_not_found(s.remove_member(p, UserId::from_db(UNKNOWN)).await);
    assert_not_found(
        s.set_member(p, UserId::from_db(UNKNOWN), Role::Viewer)
            .await,
    );
    let nowhere = ProjectId::from_db(UNKNOWN);
    assert_not_found(s.set_member(nowhere, other, Role::Viewer).await);
    assert_eq!(s.role(nowhere, owner).await, Ok(None));
}

pub async fn project_listing_by_member_and_paging(s: Arc<dyn Store>) {
    let s = s.as_ref();
    let ann = user(s, "ann").await;
    let ben = user(s, "ben").await;
    let outsider = user(s, "outsider").await;
    let mut ids = Vec::new();
    for (name, creator) in [("A", ann), ("B", ben), ("C", ann), ("D", ann)] {
        let p = s
            .create_project(name.into(), creator, t(1))
            .await
            .expect("project");
        ids.push(p.id);
    }
    s.set_member(ids[1], ann, Role::Viewer).await.expect("join");
    let listed = |member: Option<UserId>, p: Page| async move {
        let l = s.list_projects(member, p).await.expect("list projects");
        (
            l.total,
            l.items.into_iter().map(|p| p.id).collect::<Vec<_>>(),
        )
    };
    assert_eq!(
        listed(Some(ann), page(1, 10)).await,
        (4, ids.clone()),
        "created and joined, by id"
    );
    assert_eq!(listed(Some(ben), page(1, 10)).await, (1, vec![ids[1]]));
    assert_eq!(listed(Some(outsider), page(1, 10)).await, (0, vec![]));
    assert_eq!(listed(None, page(1, 10)).await, (4, ids.clone()), "all");
    assert_eq!(listed(None, page(2, 3)).await, (4, vec![ids[3]]));
    assert_eq!(
        listed(Some(ann), page(2, 2)).await,
        (4, vec![ids[2], ids[3]])
    );
    assert_eq!(listed(Some(ann), page(3, 2)).await, (4, vec![]));
    s.remove_member(ids[1], ann).await.expect("leave");
    assert_eq!(
        listed(Some(ann), page(1, 10)).await,
        (3, vec![ids[0], ids[2], ids[3]])
    );
}
