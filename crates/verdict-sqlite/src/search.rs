//! Title search that ignores case beyond ASCII. SQLite's own `lower()`
//! (and `LIKE`) fold only A–Z, so "über" did not find "Über" on SQLite while
//! PostgreSQL's `lower()` (a UTF-8 locale) did. The needle is folded here
//! once; `verdict_contains(title, needle)` folds each title the same way.
//! It is a plain substring test, so `%` and `_` in user text match
//! themselves.

use rusqlite::Connection;
use rusqlite::functions::FunctionFlags;

/// The case-folded form searches compare: Unicode lowercase.
pub(crate) fn fold(text: &str) -> String {
    text.to_lowercase()
}

/// Whether `haystack` contains `needle` (already [`fold`]ed), ignoring case.
fn contains_folded(haystack: &str, needle: &str) -> bool {
    if haystack.is_ascii() && needle.is_ascii() {
        // Most titles: compare in place, no allocation.
        let (h, n) = (haystack.as_bytes(), needle.as_bytes());
        return n.is_empty() || h.windows(n.len()).any(|w| w.eq_ignore_ascii_case(n));
    }
    fold(haystack).contains(needle)
}

/// Registers `verdict_contains(haystack, needle)` on a connection: 1 or 0,
/// NULL when either is NULL.
pub(crate) fn register(conn: &Connection) -> rusqlite::Result<()> {
    conn.create_scalar_function(
        "verdict_contains",
        2,
        FunctionFlags::SQLITE_UTF8
            | FunctionFlags::SQLITE_DETERMINISTIC
            | FunctionFlags::SQLITE_INNOCUOUS,
        |ctx| {
            let haystack = ctx.get_raw(0).as_str_or_null()?;
            let needle = ctx.get_raw(1).as_str_or_null()?;
            Ok(haystack.zip(needle).map(|(h, n)| contains_folded(h, n)))
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folds_beyond_ascii_and_treats_wildcards_as_text() {
        let found = |h: &str, q: &str| contains_folded(h, &fold(q));
        assert!(found("Login works", "LOGIN"));
        assert!(found("Über den Wolken", "über"));
        assert!(found("über den Wolken", "ÜBER"));
        assert!(found("ÉTÉ à Paris", "été"));
        assert!(found("anything", ""));
        assert!(found("100% done", "0%"));
        assert!(!found("100 done", "0%"));
        assert!(!found("a_b", "a%b"));
        assert!(!found("Uber", "über"));
        assert!(!found("short", "longer than the title"));
    }

    #[test]
    fn the_sql_function_answers_like_the_rust_one() {
        let conn = Connection::open_in_memory().expect("open");
        register(&conn).expect("register");
        let ask = |h: Option<&str>, n: Option<&str>| -> Option<bool> {
            conn.query_row("SELECT verdict_contains(?1, ?2)", [h, n], |r| r.get(0))
                .expect("query")
        };
        assert_eq!(ask(Some("Über"), Some("über")), Some(true));
        assert_eq!(ask(Some("Uber"), Some("über")), Some(false));
        assert_eq!(ask(None, Some("x")), None);
        assert_eq!(ask(Some("x"), None), None);
    }
}
