//! What every handler shares: the store and the configured limits. The
//! server keeps nothing else, so any number of instances can share one
//! database.

use std::sync::Arc;

use verdict_store::Store;

/// Limits on what one request may ask for (DESIGN §7).
#[derive(Debug, Clone)]
pub struct Limits {
    /// Request body size, after any content decoding.
    pub max_body_bytes: usize,
    /// Entries in one bulk request.
    pub max_bulk_results: usize,
    /// Largest `per_page`.
    pub max_per_page: u32,
    /// Largest note, in bytes of UTF-8.
    pub max_note_bytes: usize,
    /// Deepest element nesting in an XML report.
    pub max_xml_depth: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_body_bytes: 32 * 1024 * 1024,
            max_bulk_results: 50_000,
            max_per_page: 1000,
            max_note_bytes: 64 * 1024,
            max_xml_depth: 32,
        }
    }
}

#[derive(Clone)]
pub struct AppState {
    pub store: Arc<dyn Store>,
    pub limits: Arc<Limits>,
}

impl AppState {
    pub fn new(store: Arc<dyn Store>, limits: Limits) -> Self {
        Self {
            store,
            limits: Arc::new(limits),
        }
    }
}
