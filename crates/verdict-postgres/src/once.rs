//! Writes applied once under an `Idempotency-Key`: in one transaction the
//! key's lock is taken and its stored answer looked for, the write applied
//! by its own function and its rendered answer kept, so they commit (or
//! vanish) together. Two instances given the same key at once: the second
//! waits on the lock, then replays the first's answer.

use deadpool_postgres::Transaction;
use verdict_store::backend::idempotency::{decode_rendered, encode_rendered};
use verdict_store::*;

use crate::error::Result;
use crate::{cases, idempotency, projects, results, runs, users, webhooks};

pub(crate) async fn write_idempotent(tx: &Transaction<'_>, w: &IdempotentWrite) -> Result<Answer> {
    if let Some((fingerprint, outcome)) = idempotency::stored(tx, w.actor, &w.key, w.now).await? {
        return Ok(decode_rendered(&w.key, &fingerprint, &outcome)?);
    }
    let written = apply(tx, &w.write, w.actor, w.now).await?;
    let rendered = (w.render)(&written)?;
    idempotency::keep(tx, w.actor, &w.key, w.now, &encode_rendered(&rendered)).await?;
    Ok(Answer {
        status: rendered.status,
        bytes: rendered.bytes,
        replayed: false,
    })
}

/// The write itself, by the function its own store method runs.
async fn apply(
    tx: &Transaction<'_>,
    write: &Write,
    actor: UserId,
    now: Timestamp,
) -> Result<Written> {
    Ok(match write {
        Write::RecordResult { run, id, execution } => {
            Written::Result(results::record_result(tx, *run, *id, execution, actor, now).await?)
        }
        Write::CreateProject { project } => {
            Written::Project(projects::create_project(tx, project, actor, now).await?)
        }
        Write::CreateCase { project, case } => {
            Written::Case(cases::create_case(tx, *project, case, now).await?)
        }
        Write::UpdateCase { id, patch } => Written::Case(cases::update_case(tx, *id, patch).await?),
        Write::DeleteCase { id } => {
            cases::delete_case(tx, *id).await?;
            Written::Gone
        }
        Write::CreateRun { project, run } => {
            let (run, created) = runs::create_run(tx, *project, run, now).await?;
            Written::Run(run, created)
        }
        Write::UpdateRun { id, patch } => {
            Written::Run(runs::update_run(tx, *id, patch).await?, false)
        }
        Write::CloseRun { id } => Written::Run(runs::close_run(tx, *id, now).await?, false),
        Write::CreateUser { user } => Written::User(users::create_user(tx, user, now).await?),
        Write::CreateToken { user, name, hash } => {
            Written::Token(users::create_token(tx, *user, name, hash, now).await?)
        }
        Write::CreateWebhook { project, webhook } => {
            Written::Webhook(webhooks::create_webhook(tx, *project, webhook, now).await?)
        }
    })
}
