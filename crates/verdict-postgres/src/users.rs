//! Users, API tokens and the start-up admin bootstrap.

use deadpool_postgres::{GenericClient, Transaction};
use tokio_postgres::Row;
use verdict_store::backend::{self, BOOTSTRAP_EMAIL, BOOTSTRAP_TOKEN_NAME, TOUCH_EVERY_MS};
use verdict_store::*;

use crate::error::{Error, Result, db_err, is_unique_violation};
use crate::pool::{Param, col, execute, query, query_found, query_opt};

/// `pg_advisory_xact_lock` key held while bootstrapping, so instances that
/// start together create one admin ("verdict" + 2).
const BOOTSTRAP_LOCK: i64 = 0x7665_7264_6963_7402;

const USER_COLUMNS: &str = "u.id, u.name, u.email, u.admin, u.created_at";
const TOKEN_COLUMNS: &str = "id, user_id, name, created_at, last_used_at";

/// A user from columns `at..at+5` (in [`USER_COLUMNS`] order).
pub(crate) fn user_at(r: &Row, at: usize) -> Result<User> {
    Ok(User {
        id: UserId::from_db(col(r, at)?),
        name: col(r, at + 1)?,
        email: col(r, at + 2)?,
        admin: col(r, at + 3)?,
        created_at: Timestamp::from_millis(col(r, at + 4)?),
    })
}

fn token_row(r: &Row) -> Result<Token> {
    Ok(Token {
        id: TokenId::from_db(col(r, 0)?),
        user_id: UserId::from_db(col(r, 1)?),
        name: col(r, 2)?,
        created_at: Timestamp::from_millis(col(r, 3)?),
        last_used_at: col::<Option<i64>>(r, 4)?.map(Timestamp::from_millis),
    })
}

pub(crate) async fn create_user(
    tx: &Transaction<'_>,
    user: &NewUser,
    now: Timestamp,
) -> Result<User> {
    let stmt = tx
        .prepare_cached(
            "INSERT INTO users AS u (name, email, admin, password_hash, created_at)
             VALUES ($1, $2, $3, $4, $5) RETURNING u.id, u.name, u.email, u.admin, u.created_at",
        )
        .await
        .map_err(db_err)?;
    let params: [&(dyn tokio_postgres::types::ToSql + Sync); 5] = [
        &user.name,
        &user.email,
        &user.admin,
        &user.password_hash,
        &now.millis(),
    ];
    match tx.query_one(&stmt, &params).await {
        Ok(row) => user_at(&row, 0),
        Err(e) if is_unique_violation(&e) => Err(backend::duplicate_email(&user.email).into()),
        Err(e) => Err(db_err(e)),
    }
}

pub(crate) async fn get_user<C: GenericClient>(c: &C, id: UserId) -> Result<User> {
    let sql = format!("SELECT {USER_COLUMNS} FROM users u WHERE u.id = $1");
    user_at(&query_found(c, &sql, &[&id.get()]).await?, 0)
}

/// The user with this email (any case) and their password hash.
pub(crate) async fn login_lookup<C: GenericClient>(
    c: &C,
    email: &str,
) -> Result<Option<(User, Option<String>)>> {
    // lower(email) is what the unique index on users is built on.
    let sql = format!(
        "SELECT {USER_COLUMNS}, u.password_hash FROM users u WHERE lower(u.email) = lower($1)"
    );
    match query_opt(c, &sql, &[&email]).await? {
        Some(row) => Ok(Some((user_at(&row, 0)?, col(&row, 5)?))),
        None => Ok(None),
    }
}

pub(crate) async fn set_password<C: GenericClient>(
    c: &C,
    user: UserId,
    hash: Option<&str>,
) -> Result<()> {
    let n = execute(
        c,
        "UPDATE users SET password_hash = $2 WHERE id = $1",
        &[&user.get(), &hash],
    )
    .await?;
    if n == 0 {
        return Err(Error::Store(StoreError::NotFound));
    }
    Ok(())
}

pub(crate) async fn list_users<C: GenericClient>(c: &C, page: Page) -> Result<Listing<User>> {
    let (limit, offset) = page.bounds();
    let sql = format!("SELECT {USER_COLUMNS} FROM users u ORDER BY u.id LIMIT $1 OFFSET $2");
    let params: [&Param<'_>; 2] = [&limit, &offset];
    let (total, rows) = tokio::try_join!(
        query_found(c, "SELECT count(*) FROM users", &[]),
        query(c, &sql, &params),
    )?;
    Ok(Listing {
        items: rows.iter().map(|r| user_at(r, 0)).collect::<Result<_>>()?,
        total: col(&total, 0)?,
    })
}

async fn insert_token(
    tx: &Transaction<'_>,
    user: UserId,
    name: &str,
    hash: &TokenHash,
    now: Timestamp,
) -> Result<Option<Token>> {
    // Inserted only when the user exists, so a missing one is a NotFound
    // rather than a foreign-key error.
    let sql = format!(
        "INSERT INTO tokens (user_id, name, hash, created_at)
         SELECT id, $2, $3, $4 FROM users WHERE id = $1 RETURNING {TOKEN_COLUMNS}"
    );
    let row = query_opt(tx, &sql, &[&user.get(), &name, &&hash.0[..], &now.millis()]).await?;
    row.as_ref().map(token_row).transpose()
}

pub(crate) async fn bootstrap_admin(
    tx: &Transaction<'_>,
    token: Option<&TokenHash>,
    fresh: &TokenHash,
    now: Timestamp,
) -> Result<Bootstrap> {
    execute(tx, "SELECT pg_advisory_xact_lock($1)", &[&BOOTSTRAP_LOCK]).await?;
    let hash = match token {
        Some(hash) => {
            let holder = query_opt(
                tx,
                "SELECT user_id FROM tokens WHERE hash = $1",
                &[&&hash.0[..]],
            )
            .await?;
            if let Some(row) = holder {
                let user: i64 = col(&row, 0)?;
                execute(tx, "UPDATE users SET admin = true WHERE id = $1", &[&user]).await?;
                mark_given_at_start(tx, hash).await?;
                return Ok(Bootstrap::Unchanged);
            }
            hash
        }
        None => {
            let users: i64 = col(
                &query_found(tx, "SELECT count(*) FROM users", &[]).await?,
                0,
            )?;
            if users > 0 {
                return Ok(Bootstrap::Unchanged);
            }
            fresh
        }
    };
    let existing = query_opt(
        tx,
        "SELECT id FROM users WHERE lower(email) = $1",
        &[&BOOTSTRAP_EMAIL],
    )
    .await?;
    let (user, created) = match existing {
        Some(row) => {
            let id: i64 = col(&row, 0)?;
            execute(tx, "UPDATE users SET admin = true WHERE id = $1", &[&id]).await?;
            (get_user(tx, UserId::from_db(id)).await?, false)
        }
        None => (
            create_user(tx, &backend::bootstrap_admin(), now).await?,
            true,
        ),
    };
    insert_token(tx, user.id, BOOTSTRAP_TOKEN_NAME, hash, now).await?;
    if token.is_some() {
        mark_given_at_start(tx, hash).await?;
    }
    Ok(if created {
        Bootstrap::CreatedAdmin(user)
    } else {
        Bootstrap::Unchanged
    })
}

async fn mark_given_at_start(tx: &Transaction<'_>, hash: &TokenHash) -> Result<()> {
    execute(
        tx,
        "UPDATE tokens SET given_at_start = true WHERE hash = $1",
        &[&&hash.0[..]],
    )
    .await?;
    Ok(())
}

pub(crate) async fn revoke_start_tokens(
    tx: &Transaction<'_>,
    keep: Option<&TokenHash>,
    public: &[TokenHash],
) -> Result<u64> {
    // Under the bootstrap's lock, so a start that gives the token and one
    // that does not each see the other's work whole.
    execute(tx, "SELECT pg_advisory_xact_lock($1)", &[&BOOTSTRAP_LOCK]).await?;
    // An empty string of bytes is no token's hash: without `keep`, nothing is kept.
    let kept: &[u8] = keep.map(|h| &h.0[..]).unwrap_or(&[]);
    let mut revoked = execute(
        tx,
        "DELETE FROM tokens WHERE given_at_start AND hash <> $1",
        &[&kept],
    )
    .await?;
    for hash in public.iter().filter(|h| Some(*h) != keep) {
        revoked += execute(tx, "DELETE FROM tokens WHERE hash = $1", &[&&hash.0[..]]).await?;
    }
    Ok(revoked)
}

pub(crate) async fn create_token(
    tx: &Transaction<'_>,
    user: UserId,
    name: &str,
    hash: &TokenHash,
    now: Timestamp,
) -> Result<Token> {
    insert_token(tx, user, name, hash, now)
        .await?
        .ok_or(Error::Store(StoreError::NotFound))
}

/// The holder of a token, the token id and when it was last used.
/// A token's user, its id, last use and hash, by hash (`$1`).
pub(crate) fn authenticate_sql() -> String {
    format!(
        "SELECT {USER_COLUMNS}, t.id, t.last_used_at, t.hash
         FROM tokens t JOIN users u ON u.id = t.user_id WHERE t.hash = $1"
    )
}

pub(crate) async fn authenticate<C: GenericClient>(
    c: &C,
    hash: &TokenHash,
) -> Result<Option<(User, TokenId, Option<Timestamp>)>> {
    let sql = authenticate_sql();
    let Some(row) = query_opt(c, &sql, &[&&hash.0[..]]).await? else {
        return Ok(None);
    };
    let stored: Vec<u8> = col(&row, 7)?;
    if !backend::same_hash(&stored, hash) {
        return Ok(None);
    }
    let last = col::<Option<i64>>(&row, 6)?.map(Timestamp::from_millis);
    Ok(Some((
        user_at(&row, 0)?,
        TokenId::from_db(col(&row, 5)?),
        last,
    )))
}

/// Notes a token's use. The condition repeats the caller's check, so
/// instances that authenticate the same token at once write it once.
pub(crate) async fn touch_token<C: GenericClient>(
    c: &C,
    id: TokenId,
    now: Timestamp,
) -> Result<()> {
    execute(
        c,
        "UPDATE tokens SET last_used_at = $2
         WHERE id = $1 AND (last_used_at IS NULL OR $2 - last_used_at > $3)",
        &[&id.get(), &now.millis(), &TOUCH_EVERY_MS],
    )
    .await?;
    Ok(())
}

pub(crate) async fn list_tokens<C: GenericClient>(c: &C, user: UserId) -> Result<Vec<Token>> {
    let sql = format!("SELECT {TOKEN_COLUMNS} FROM tokens WHERE user_id = $1 ORDER BY id");
    query(c, &sql, &[&user.get()])
        .await?
        .iter()
        .map(token_row)
        .collect()
}

pub(crate) async fn get_token<C: GenericClient>(c: &C, id: TokenId) -> Result<Token> {
    let sql = format!("SELECT {TOKEN_COLUMNS} FROM tokens WHERE id = $1");
    token_row(&query_found(c, &sql, &[&id.get()]).await?)
}

/// Renames the user or sets their admin flag (one statement: a field not
/// in the patch keeps its value).
pub(crate) async fn update_user<C: GenericClient>(
    c: &C,
    id: UserId,
    patch: &UserPatch,
) -> Result<User> {
    let sql = format!(
        "UPDATE users u SET name = coalesce($2, u.name), admin = coalesce($3, u.admin)
         WHERE u.id = $1 RETURNING {USER_COLUMNS}"
    );
    user_at(
        &query_found(c, &sql, &[&id.get(), &patch.name, &patch.admin]).await?,
        0,
    )
}

/// Deletes every token of the user (API tokens and browser sessions).
pub(crate) async fn delete_user_tokens<C: GenericClient>(c: &C, user: UserId) -> Result<u64> {
    execute(c, "DELETE FROM tokens WHERE user_id = $1", &[&user.get()]).await
}

pub(crate) async fn delete_token<C: GenericClient>(c: &C, id: TokenId) -> Result<()> {
    match execute(c, "DELETE FROM tokens WHERE id = $1", &[&id.get()]).await? {
        0 => Err(StoreError::NotFound.into()),
        _ => Ok(()),
    }
}
