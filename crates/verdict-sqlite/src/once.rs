//! Writes applied once under an `Idempotency-Key`: the stored answer is
//! looked for, the write applied by its own function and its rendered
//! answer kept, all on the writer in the write's savepoint, so they commit
//! (or vanish) together.

use rusqlite::Connection;
use verdict_store::backend::idempotency::{decode_rendered, encode_rendered};
use verdict_store::*;

use crate::{cases, idempotency, projects, results, runs, users, webhooks};

pub(crate) fn write_idempotent(c: &Connection, w: &IdempotentWrite) -> StoreResult<Answer> {
    if let Some((fingerprint, outcome)) = idempotency::stored(c, w.actor, &w.key, w.now)? {
        return decode_rendered(&w.key, &fingerprint, &outcome);
    }
    let written = apply(c, &w.write, w.actor, w.now)?;
    let rendered = (w.render)(&written)?;
    idempotency::keep(c, w.actor, &w.key, w.now, &encode_rendered(&rendered))?;
    Ok(Answer {
        status: rendered.status,
        bytes: rendered.bytes,
        replayed: false,
    })
}

/// The write itself, by the function its own store method runs.
fn apply(c: &Connection, write: &Write, actor: UserId, now: Timestamp) -> StoreResult<Written> {
    Ok(match write {
        Write::RecordResult { run, id, execution } => {
            Written::Result(results::record_result(c, *run, *id, execution, actor, now)?)
        }
        Write::CreateProject { project } => {
            Written::Project(projects::create_project(c, project, actor, now)?)
        }
        Write::CreateCase { project, case } => {
            Written::Case(cases::create_case(c, *project, case, now)?)
        }
        Write::UpdateCase { id, patch } => Written::Case(cases::update_case(c, *id, patch)?),
        Write::DeleteCase { id } => {
            cases::delete_case(c, *id)?;
            Written::Gone
        }
        Write::CreateRun { project, run } => {
            let (run, created) = runs::create_run(c, *project, run, now)?;
            Written::Run(run, created)
        }
        Write::UpdateRun { id, patch } => Written::Run(runs::update_run(c, *id, patch)?, false),
        Write::CloseRun { id } => Written::Run(runs::close_run(c, *id, now)?, false),
        Write::CreateUser { user } => Written::User(users::create_user(c, user, now)?),
        Write::CreateToken { user, name, hash } => {
            Written::Token(users::create_token(c, *user, name, hash, now)?)
        }
        Write::CreateWebhook { project, webhook } => {
            Written::Webhook(webhooks::create_webhook(c, *project, webhook, now)?)
        }
    })
}
