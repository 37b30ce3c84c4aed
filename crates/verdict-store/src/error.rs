//! What a store operation can fail with. The HTTP layer maps each variant to
//! one status code, so a unique-key violation is a 409 where it happens and
//! never a 500.

/// One invalid field, named the way the client wrote it (`results[3].status`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// The thing does not exist (or is not the caller's to see).
    #[error("not found")]
    NotFound,
    /// The request contradicts the current state: a closed run, a taken key.
    #[error("{code}: {message}")]
    Conflict { code: &'static str, message: String },
    /// Input that is well-formed but refers to things that are not there.
    #[error("invalid input")]
    Invalid(Vec<FieldError>),
    /// An idempotency key was reused with a different request.
    #[error("idempotency key reused with a different request")]
    IdempotencyKeyReused,
    /// The database cannot be reached right now; the request may be retried.
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// Anything else: a bug or a broken database. Logged, never shown.
    #[error("internal store error: {0}")]
    Other(String),
}

impl StoreError {
    pub fn run_closed() -> Self {
        StoreError::Conflict {
            code: "run_closed",
            message: "the run is closed and accepts no result changes".into(),
        }
    }

    pub fn duplicate_key(what: &str, key: &str) -> Self {
        StoreError::Conflict {
            code: "duplicate_key",
            message: format!("a {what} with key {key:?} already exists in this project"),
        }
    }
}

pub type StoreResult<T> = Result<T, StoreError>;
