//! The one rule that turns a test's identity into a stored case key, shared
//! by every path that names a case by key: the JUnit import (on both
//! backends, through [`crate::TestCase::key`]), the cases API (create, bulk
//! upsert, edit, `?key=` filter) and the CLI, which parses reports locally.
//! Two paths that disagree create a second case instead of updating the
//! first, so there is exactly one function.
//!
//! The rule: whitespace at both ends (Unicode `White_Space`, as `str::trim`)
//! is removed; nothing inside changes. A key of at most [`MAX_KEY_CHARS`]
//! characters is kept as it is. A longer one becomes its first
//! [`MAX_KEY_CHARS`]` - 17` characters, `…` and the first 16 hex digits of
//! the SHA-256 of the whole trimmed key (UTF-8), exactly [`MAX_KEY_CHARS`]
//! characters in all, so the same test always gets the same key and two long
//! keys that share a prefix stay apart. The rule is idempotent: a stored key
//! maps to itself.

use std::fmt::Write as _;

use sha2::{Digest, Sha256};

/// Longest stored case key, in characters (the cases API's text limit).
pub const MAX_KEY_CHARS: usize = 1000;

/// Hex digits of the digest that ends a shortened key.
const DIGEST_HEX: usize = 16;

/// Joins the kept prefix of a shortened key to its digest.
const ELLIPSIS: char = '…';

/// The stored form of a case key, or `None` when it is blank.
pub fn case_key(raw: &str) -> Option<String> {
    let key = raw.trim();
    if key.is_empty() {
        return None;
    }
    let keep = MAX_KEY_CHARS - 1 - DIGEST_HEX;
    let Some((end, _)) = key.char_indices().nth(keep) else {
        return Some(key.to_owned());
    };
    if key[end..].chars().count() <= MAX_KEY_CHARS - keep {
        return Some(key.to_owned());
    }
    let digest = Sha256::digest(key.as_bytes());
    let mut out = String::with_capacity(end + ELLIPSIS.len_utf8() + DIGEST_HEX);
    out.push_str(&key[..end]);
    out.push(ELLIPSIS);
    for byte in &digest[..DIGEST_HEX / 2] {
        // Writing to a String cannot fail.
        let _ = write!(out, "{byte:02x}");
    }
    Some(out)
}

/// A one-line text (a case title or suite) taken from a report: trimmed, and
/// cut to [`MAX_KEY_CHARS`] characters ending with `…` when longer, so the
/// cases API would accept it as it was stored. `None` when blank.
pub fn case_text(raw: &str) -> Option<String> {
    let text = raw.trim();
    if text.is_empty() {
        return None;
    }
    match text.char_indices().nth(MAX_KEY_CHARS - 1) {
        Some((end, _)) if text[end..].chars().nth(1).is_some() => {
            let mut out = String::with_capacity(end + ELLIPSIS.len_utf8());
            out.push_str(&text[..end]);
            out.push(ELLIPSIS);
            Some(out)
        }
        _ => Some(text.to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_are_counted_in_characters() {
        let at = "é".repeat(MAX_KEY_CHARS);
        assert_eq!(case_key(&at).as_deref(), Some(at.as_str()));
        assert_eq!(case_text(&at).as_deref(), Some(at.as_str()));
        let over = "é".repeat(MAX_KEY_CHARS + 1);
        let key = case_key(&over).unwrap_or_default();
        assert_eq!(key.chars().count(), MAX_KEY_CHARS);
        assert_eq!(case_key(&key), Some(key));
        let text = case_text(&over).unwrap_or_default();
        assert_eq!(text.chars().count(), MAX_KEY_CHARS);
        assert!(text.ends_with("é…"));
        assert_eq!(case_text("  "), None);
    }
}
