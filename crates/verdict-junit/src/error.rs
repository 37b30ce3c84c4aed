//! The positioned parse error.
//!
//! Positions are computed from a byte offset only when an error is built, so
//! the happy path never counts lines.

use serde::{Deserialize, Serialize};

/// A report that could not be read, with where the problem was found.
///
/// `line` and `column` are 1-based (the column counts characters, not bytes);
/// `offset` is the 0-based byte offset into the input as given (a BOM counts).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("line {line}, column {column}: {message}")]
pub struct ParseError {
    pub message: String,
    pub line: u64,
    pub column: u64,
    pub offset: u64,
}

impl ParseError {
    /// Builds an error at byte `offset` of `input` (clamped to the input).
    pub(crate) fn at(input: &[u8], offset: usize, message: impl Into<String>) -> Self {
        let offset = offset.min(input.len());
        let before = input.get(..offset).unwrap_or_default();
        let line_start = before
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(0, |p| p + 1);
        let line = 1 + before.iter().filter(|&&b| b == b'\n').count();
        // Count characters, not bytes, by skipping UTF-8 continuation bytes;
        // this also works on the invalid UTF-8 that an encoding error reports.
        let mut column = 1 + before
            .get(line_start..)
            .unwrap_or_default()
            .iter()
            .filter(|&&b| b & 0xC0 != 0x80)
            .count();
        // An editor does not show the BOM as a column.
        if line_start == 0 && before.starts_with(&[0xEF, 0xBB, 0xBF]) {
            column -= 1;
        }
        Self {
            message: message.into(),
            line: line as u64,
            column: column as u64,
            offset: offset as u64,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::ParseError;

    #[test]
    fn positions_are_one_based_and_count_characters() {
        let input = "ab\ncé<x".as_bytes();
        let e = ParseError::at(input, input.len() - 2, "boom");
        assert_eq!((e.line, e.column, e.offset), (2, 3, 6));
        assert_eq!(e.to_string(), "line 2, column 3: boom");
        let e = ParseError::at(b"", 10, "empty");
        assert_eq!((e.line, e.column, e.offset), (1, 1, 0));
        let e = ParseError::at(b"\xEF\xBB\xBF<a", 3, "after bom");
        assert_eq!((e.line, e.column, e.offset), (1, 1, 3));
    }
}
