//! Where and how to open the database: the `sqlite://` URL.

use std::path::PathBuf;

use crate::Synchronous;

/// Where and how to open the database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SqliteConfig {
    pub path: PathBuf,
    pub synchronous: Synchronous,
}

impl SqliteConfig {
    /// Reads `sqlite://PATH[?synchronous=full|normal]`: `sqlite://verdict.db`
    /// is relative to the working directory, `sqlite:///var/lib/v.db` absolute.
    pub fn from_url(url: &str) -> Result<Self, String> {
        let rest = url
            .strip_prefix("sqlite://")
            .or_else(|| url.strip_prefix("sqlite:"))
            .ok_or_else(|| format!("not a sqlite URL: {url}"))?;
        let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
        if path.is_empty() {
            return Err("the sqlite URL names no file (sqlite://verdict.db)".into());
        }
        let mut synchronous = Synchronous::Full;
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            match pair.split_once('=') {
                Some(("synchronous", v)) if v.eq_ignore_ascii_case("full") => {
                    synchronous = Synchronous::Full
                }
                Some(("synchronous", v)) if v.eq_ignore_ascii_case("normal") => {
                    synchronous = Synchronous::Normal
                }
                _ => {
                    return Err(format!(
                        "unknown sqlite URL option {pair:?} (synchronous=full|normal)"
                    ));
                }
            }
        }
        Ok(Self {
            path: PathBuf::from(path),
            synchronous,
        })
    }
}
