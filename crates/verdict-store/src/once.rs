//! Writes that can be retried: any single write, under an `Idempotency-Key`,
//! applied at most once. The backend looks for a stored answer, applies the
//! write, renders its answer (status and body bytes) and keeps it, all in
//! the write's own transaction, so a write never exists without its answer
//! nor an answer without its write.

use crate::{Case, NewWebhook, Project, Run, TestResult, Token, User, Webhook};
use crate::{
    CaseId, CasePatch, Execution, IdempotencyKey, NewCase, NewProject, NewRun, NewUser, ProjectId,
    ResultId, RunId, RunPatch, StoreResult, Timestamp, TokenHash, UserId,
};

/// Every write that honours an `Idempotency-Key` (bulk uploads and JUnit
/// imports keep their own, typed answers). Each variant takes what the
/// store method of the same name takes; the actor and the time are the
/// [`IdempotentWrite`]'s.
#[derive(Debug, Clone)]
pub enum Write {
    /// [`Store::record_result`](crate::Store::record_result) as the actor.
    RecordResult {
        run: RunId,
        id: ResultId,
        execution: Execution,
    },
    /// [`Store::create_project`](crate::Store::create_project), the actor
    /// its manager.
    CreateProject {
        project: NewProject,
    },
    CreateCase {
        project: ProjectId,
        case: NewCase,
    },
    UpdateCase {
        id: CaseId,
        patch: CasePatch,
    },
    DeleteCase {
        id: CaseId,
    },
    CreateRun {
        project: ProjectId,
        run: NewRun,
    },
    UpdateRun {
        id: RunId,
        patch: RunPatch,
    },
    CloseRun {
        id: RunId,
    },
    CreateUser {
        user: NewUser,
    },
    CreateToken {
        user: UserId,
        name: String,
        hash: TokenHash,
    },
    CreateWebhook {
        project: ProjectId,
        webhook: NewWebhook,
    },
}

/// What a [`Write`] did, as its store method answers it.
#[derive(Debug, Clone)]
pub enum Written {
    Result(TestResult),
    Project(Project),
    Case(Case),
    /// A deletion.
    Gone,
    /// The run, and whether it was created (false: found by its key).
    Run(Run, bool),
    User(User),
    Token(Token),
    Webhook(Webhook),
}

/// An answer as the client receives it: an HTTP status and the body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    pub status: u16,
    pub bytes: Vec<u8>,
}

/// Renders the answer of a write from what it did. Called inside the
/// write's transaction (and again if the backend runs the transaction
/// again after losing a race), so it must be cheap; an error undoes the
/// write.
pub type Render = Box<dyn Fn(&Written) -> StoreResult<Rendered> + Send + Sync>;

/// A write to apply once under its key.
pub struct IdempotentWrite {
    pub write: Write,
    /// Who asks: keys are scoped to them.
    pub actor: UserId,
    pub key: IdempotencyKey,
    pub now: Timestamp,
    pub render: Render,
}

impl std::fmt::Debug for IdempotentWrite {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IdempotentWrite")
            .field("write", &self.write)
            .field("actor", &self.actor)
            .field("key", &self.key.key)
            .finish_non_exhaustive()
    }
}

/// The answer of an [`IdempotentWrite`]: the first answer under its key,
/// and whether it was replayed (nothing applied this time).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    pub status: u16,
    pub bytes: Vec<u8>,
    pub replayed: bool,
}
