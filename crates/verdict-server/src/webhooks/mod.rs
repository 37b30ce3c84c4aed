pub mod backoff;
pub mod format;
pub mod send;
