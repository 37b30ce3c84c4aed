//! What TestRail compatibility keeps beyond Verdict's own data: a stable
//! number for each section (a case's `suite` path), which TestRail clients
//! hold on to between calls.

use crate::ids::ProjectId;

/// A section of a project, numbered: `path` is a suite (`Checkout /
/// Payments`); its parent is the path without its last ` / ` part.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NumberedSection {
    pub id: i64,
    pub project_id: ProjectId,
    pub path: String,
}

/// The separator of a section path's parts.
pub const SECTION_SEPARATOR: &str = " / ";

/// `path` and every section it is nested in, outermost first
/// (`A`, `A / B`, `A / B / C`).
pub fn section_and_ancestors(path: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut end = 0;
    while let Some(i) = path[end..].find(SECTION_SEPARATOR) {
        out.push(path[..end + i].to_string());
        end += i + SECTION_SEPARATOR.len();
    }
    out.push(path.to_string());
    out
}

/// The section `path` is nested in directly, if any.
pub fn parent_section(path: &str) -> Option<&str> {
    path.rfind(SECTION_SEPARATOR).map(|i| &path[..i])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ancestors_and_parents() {
        assert_eq!(section_and_ancestors("A"), ["A"]);
        assert_eq!(
            section_and_ancestors("A / B / C"),
            ["A", "A / B", "A / B / C"]
        );
        assert_eq!(parent_section("A / B / C"), Some("A / B"));
        assert_eq!(parent_section("A"), None);
    }
}
