//! Files kept with an execution (screenshots, logs, traces) and retention:
//! what the store keeps about them. The bytes are not here: they are in
//! the attachment storage, named by their sha256.

use crate::{AttachmentId, ProjectId, ResultId, RunId, Timestamp, UserId};

/// A file attached to one execution of a result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attachment {
    pub id: AttachmentId,
    /// The project of the run (for access checks).
    pub project_id: ProjectId,
    pub run_id: RunId,
    pub result_id: ResultId,
    /// The execution it belongs to: 1 for the result's first, and so on
    /// (its position in the result's history, oldest first); 0 when the
    /// result had no execution yet.
    pub execution: u32,
    /// As given (checked by the server: no `/`, `\` or control
    /// characters, at most 255 bytes).
    pub name: String,
    /// A MIME type (`image/png`); `application/octet-stream` when unknown.
    pub content_type: String,
    pub size: u64,
    /// The bytes' sha256, lowercase hex (64 characters).
    pub sha256: String,
    pub created_by: UserId,
    pub created_at: Timestamp,
}

/// A file to attach whose bytes are already in the attachment storage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAttachment {
    pub name: String,
    pub content_type: String,
    pub size: u64,
    /// Lowercase hex.
    pub sha256: String,
}

/// What a prune deletes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PruneRequest {
    /// Runs closed strictly before this instant go.
    pub closed_before: Timestamp,
    /// Only this project's runs; `None`: every project's.
    pub project: Option<ProjectId>,
    pub dry_run: bool,
}

/// What a prune deleted (or, dry, would delete).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PruneOutcome {
    pub runs: u64,
    pub results: u64,
    /// History rows (executions).
    pub executions: u64,
    pub attachments: u64,
    /// The sum of the deleted attachment rows' sizes (bytes shared with
    /// rows that stay are counted but not freed).
    pub attachment_bytes: u64,
    /// Digests the deleted rows named that no row names any more: their
    /// bytes can be freed. Empty for a dry run.
    pub unreferenced: Vec<String>,
}
