//! Users, API tokens and the start-up admin bootstrap.

use rusqlite::{Connection, OptionalExtension, Row, params};
use verdict_store::backend::{self, BOOTSTRAP_EMAIL, BOOTSTRAP_TOKEN_NAME};
use verdict_store::*;

use crate::{db_err, found, is_unique_violation, ts};

const USER_COLUMNS: &str = "u.id, u.name, u.email, u.admin, u.created_at";

pub(crate) fn user_row(r: &Row<'_>) -> rusqlite::Result<User> {
    Ok(User {
        id: UserId::from_db(r.get(0)?),
        name: r.get(1)?,
        email: r.get(2)?,
        admin: r.get(3)?,
        created_at: Timestamp::from_millis(r.get(4)?),
    })
}

fn token_row(r: &Row<'_>) -> rusqlite::Result<Token> {
    Ok(Token {
        id: TokenId::from_db(r.get(0)?),
        user_id: UserId::from_db(r.get(1)?),
        name: r.get(2)?,
        created_at: Timestamp::from_millis(r.get(3)?),
        last_used_at: ts(r.get(4)?),
    })
}

pub(crate) fn create_user(c: &Connection, user: &NewUser, now: Timestamp) -> StoreResult<User> {
    let inserted = c.execute(
        "INSERT INTO users (name, email, admin, password_hash, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![user.name, user.email, user.admin, user.password_hash, now.millis()],
    );
    match inserted {
        Ok(_) => get_user(c, UserId::from_db(c.last_insert_rowid())),
        Err(e) if is_unique_violation(&e) => Err(backend::duplicate_email(&user.email)),
        Err(e) => Err(db_err(e)),
    }
}

pub(crate) fn get_user(c: &Connection, id: UserId) -> StoreResult<User> {
    found(c.query_row(
        &format!("SELECT {USER_COLUMNS} FROM users u WHERE u.id = ?1"),
        [id.get()],
        user_row,
    ))
}

pub(crate) fn list_users(c: &Connection, page: Page) -> StoreResult<Listing<User>> {
    let (limit, offset) = page.bounds();
    let total = c
        .query_row("SELECT count(*) FROM users", [], |r| r.get(0))
        .map_err(db_err)?;
    let mut stmt = c
        .prepare_cached(&format!(
            "SELECT {USER_COLUMNS} FROM users u ORDER BY u.id LIMIT ?1 OFFSET ?2"
        ))
        .map_err(db_err)?;
    let items = stmt
        .query_map([limit, offset], user_row)
        .and_then(|rows| rows.collect::<Result<Vec<_>, _>>())
        .map_err(db_err)?;
    Ok(Listing { items, total })
}

/// The user with this email (any case) and their password hash.
pub(crate) fn login_lookup(
    c: &Connection,
    email: &str,
) -> StoreResult<Option<(User, Option<String>)>> {
    // lower(email) is what the unique index users_email is built on.
    let mut stmt = c
        .prepare_cached(&format!(
            "SELECT {USER_COLUMNS}, u.password_hash FROM users u WHERE lower(u.email) = lower(?1)"
        ))
        .map_err(db_err)?;
    stmt.query_row([email], |r| Ok((user_row(r)?, r.get(5)?)))
        .optional()
        .map_err(db_err)
}

pub(crate) fn set_password(c: &Connection, user: UserId, hash: Option<&str>) -> StoreResult<()> {
    match c.execute(
        "UPDATE users SET password_hash = ?2 WHERE id = ?1",
        params![user.get(), hash],
    ) {
        Ok(0) => Err(StoreError::NotFound),
        Ok(_) => Ok(()),
        Err(e) => Err(db_err(e)),
    }
}

fn insert_token(
    c: &Connection,
    user: UserId,
    name: &str,
    hash: &TokenHash,
    now: Timestamp,
) -> StoreResult<TokenId> {
    c.execute(
        "INSERT INTO tokens (user_id, name, hash, created_at) VALUES (?1, ?2, ?3, ?4)",
        params![user.get(), name, &hash.0[..], now.millis()],
    )
    .map_err(db_err)?;
    Ok(TokenId::from_db(c.last_insert_rowid()))
}

pub(crate) fn bootstrap_admin(
    c: &Connection,
    token: Option<TokenHash>,
    fresh: TokenHash,
    now: Timestamp,
) -> StoreResult<Bootstrap> {
    let given = token.is_some();
    let hash = match token {
        Some(hash) => {
            let holder: Option<i64> = c
                .query_row(
                    "SELECT user_id FROM tokens WHERE hash = ?1",
                    [&hash.0[..]],
                    |r| r.get(0),
                )
                .optional()
                .map_err(db_err)?;
            if let Some(user) = holder {
                c.execute("UPDATE users SET admin = 1 WHERE id = ?1", [user])
                    .map_err(db_err)?;
                mark_given_at_start(c, &hash)?;
                return Ok(Bootstrap::Unchanged);
            }
            hash
        }
        None => {
            let users: i64 = c
                .query_row("SELECT count(*) FROM users", [], |r| r.get(0))
                .map_err(db_err)?;
            if users > 0 {
                return Ok(Bootstrap::Unchanged);
            }
            fresh
        }
    };
    let existing: Option<i64> = c
        .query_row(
            "SELECT id FROM users WHERE lower(email) = ?1",
            [BOOTSTRAP_EMAIL],
            |r| r.get(0),
        )
        .optional()
        .map_err(db_err)?;
    let (user, created) = match existing {
        Some(id) => {
            c.execute("UPDATE users SET admin = 1 WHERE id = ?1", [id])
                .map_err(db_err)?;
            (get_user(c, UserId::from_db(id))?, false)
        }
        None => (create_user(c, &backend::bootstrap_admin(), now)?, true),
    };
    insert_token(c, user.id, BOOTSTRAP_TOKEN_NAME, &hash, now)?;
    if given {
        mark_given_at_start(c, &hash)?;
    }
    Ok(if created {
        Bootstrap::CreatedAdmin(user)
    } else {
        Bootstrap::Unchanged
    })
}

fn mark_given_at_start(c: &Connection, hash: &TokenHash) -> StoreResult<()> {
    c.execute(
        "UPDATE tokens SET given_at_start = 1 WHERE hash = ?1",
        [&hash.0[..]],
    )
    .map_err(db_err)?;
    Ok(())
}

pub(crate) fn revoke_start_tokens(
    c: &Connection,
    keep: Option<&TokenHash>,
    public: &[TokenHash],
) -> StoreResult<u64> {
    // An empty blob is no token's hash: without `keep`, nothing is kept.
    let kept: &[u8] = keep.map(|h| &h.0[..]).unwrap_or(&[]);
    let mut revoked = c
        .execute(
            "DELETE FROM tokens WHERE given_at_start = 1 AND hash <> ?1",
            [kept],
        )
        .map_err(db_err)?;
    for hash in public.iter().filter(|h| Some(*h) != keep) {
        revoked += c
            .execute("DELETE FROM tokens WHERE hash = ?1", [&hash.0[..]])
            .map_err(db_err)?;
    }
    Ok(revoked as u64)
}

pub(crate) fn create_token(
    c: &Connection,
    user: UserId,
    name: &str,
    hash: &TokenHash,
    now: Timestamp,
) -> StoreResult<Token> {
    get_user(c, user)?;
    let id = insert_token(c, user, name, hash, now)?;
    get_token(c, id)
}

/// The holder of a token, the token id and when it was last used.
pub(crate) fn authenticate(
    c: &Connection,
    hash: &TokenHash,
) -> StoreResult<Option<(User, TokenId, Option<Timestamp>)>> {
    let mut stmt = c
        .prepare_cached(&format!(
            "SELECT {USER_COLUMNS}, t.id, t.last_used_at, t.hash
             FROM tokens t JOIN users u ON u.id = t.user_id WHERE t.hash = ?1"
        ))
        .map_err(db_err)?;
    let row = stmt
        .query_row([&hash.0[..]], |r| {
            let stored: Vec<u8> = r.get(7)?;
            Ok((
                user_row(r)?,
                TokenId::from_db(r.get(5)?),
                ts(r.get(6)?),
                stored,
            ))
        })
        .optional()
        .map_err(db_err)?;
    Ok(row.and_then(|(user, id, last, stored)| {
        backend::same_hash(&stored, hash).then_some((user, id, last))
    }))
}

pub(crate) fn touch_token(c: &Connection, id: TokenId, now: Timestamp) -> StoreResult<()> {
    c.execute(
        "UPDATE tokens SET last_used_at = ?2 WHERE id = ?1",
        params![id.get(), now.millis()],
    )
    .map_err(db_err)?;
    Ok(())
}

pub(crate) fn list_tokens(c: &Connection, user: UserId) -> StoreResult<Vec<Token>> {
    let mut stmt = c
        .prepare_cached(
            "SELECT id, user_id, name, created_at, last_used_at FROM tokens WHERE user_id = ?1 ORDER BY id",
        )
        .map_err(db_err)?;
    stmt.query_map([user.get()], token_row)
        .and_then(|rows| rows.collect())
        .map_err(db_err)
}

pub(crate) fn get_token(c: &Connection, id: TokenId) -> StoreResult<Token> {
    found(c.query_row(
        "SELECT id, user_id, name, created_at, last_used_at FROM tokens WHERE id = ?1",
        [id.get()],
        token_row,
    ))
}

/// Renames the user or sets their admin flag.
pub(crate) fn update_user(c: &Connection, id: UserId, patch: &UserPatch) -> StoreResult<User> {
    let mut user = get_user(c, id)?;
    if let Some(name) = &patch.name {
        user.name = name.clone();
    }
    if let Some(admin) = patch.admin {
        user.admin = admin;
    }
    c.execute(
        "UPDATE users SET name = ?2, admin = ?3 WHERE id = ?1",
        params![id.get(), user.name, user.admin],
    )
    .map_err(db_err)?;
    Ok(user)
}

/// Deletes every token of the user (API tokens and browser sessions).
pub(crate) fn delete_user_tokens(c: &Connection, user: UserId) -> StoreResult<u64> {
    let n = c
        .execute("DELETE FROM tokens WHERE user_id = ?1", [user.get()])
        .map_err(db_err)?;
    Ok(n as u64)
}

pub(crate) fn delete_token(c: &Connection, id: TokenId) -> StoreResult<()> {
    match c.execute("DELETE FROM tokens WHERE id = ?1", [id.get()]) {
        Ok(0) => Err(StoreError::NotFound),
        Ok(_) => Ok(()),
        Err(e) => Err(db_err(e)),
    }
}
