//! `postgres://` URLs: everything tokio-postgres understands, plus
//! `pool_size`, and libpq's TLS parameters (`sslmode` with all six values,
//! `sslrootcert`, `sslcert`, `sslkey`), which are read here (module `tls`)
//! and kept from tokio-postgres, which knows only three modes.

use std::str::FromStr;
use std::time::Duration;

use crate::tls::{Tls, TlsParams};

/// Connections the pool keeps at most, unless the URL says `pool_size=N`.
pub const DEFAULT_POOL_SIZE: usize = 16;
/// The largest `pool_size` accepted (PostgreSQL's own default
/// `max_connections` is 100, shared by every server instance).
const MAX_POOL_SIZE: usize = 1000;
/// How long opening one connection may take, unless the URL says
/// `connect_timeout=SECONDS`.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// TCP keepalives on idle connections: a database host that vanished
/// without a word is noticed within about a minute…
const KEEPALIVE_IDLE: Duration = Duration::from_secs(30);
const KEEPALIVE_INTERVAL: Duration = Duration::from_secs(10);
const KEEPALIVE_RETRIES: u32 = 3;
/// …and a statement sent to it fails after this long without an
/// acknowledgement (Linux), rather than after the kernel's ~15 minutes.
const TCP_USER_TIMEOUT: Duration = Duration::from_secs(30);

/// Where the database is and how many connections to keep.
#[derive(Debug, Clone)]
pub struct PgConfig {
    /// What tokio-postgres connects with (its `Debug` hides the password).
    pub pg: tokio_postgres::Config,
    pub pool_size: usize,
    /// How connections are encrypted (`sslmode` and its files).
    pub(crate) tls: Tls,
}

impl PgConfig {
    /// Reads `postgres://user:pw@host:port/db?pool_size=16` (or
    /// `postgresql://…`). `pool_size` (default 16) is Verdict's; `sslmode`,
    /// `sslrootcert`, `sslcert` and `sslkey` are read as libpq reads them
    /// (the files now); every other query parameter goes to tokio-postgres
    /// (`connect_timeout`, `application_name`, `options`,
    /// `host=/run/postgresql` for a socket…). Errors never repeat the URL,
    /// which may hold a password.
    pub fn from_url(url: &str) -> Result<Self, String> {
        if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
            return Err(
                "not a PostgreSQL URL (postgres://user:password@host:port/database)".into(),
            );
        }
        let (base, query) = url.split_once('?').unwrap_or((url, ""));
        let mut pool_size = DEFAULT_POOL_SIZE;
        let mut tls = TlsParams::default();
        let mut rest = Vec::new();
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            match pair.split_once('=') {
                Some((name, v)) if TlsParams::takes(name) => {
                    let value = percent_encoding::percent_decode_str(v)
                        .decode_utf8()
                        .map_err(|_| format!("{name} is not UTF-8 once decoded"))?;
                    tls.set(name, value.into_owned());
                }
                Some(("pool_size", v)) => {
                    pool_size = v
                        .parse::<usize>()
                        .ok()
                        .filter(|n| (1..=MAX_POOL_SIZE).contains(n))
                        .ok_or_else(|| {
                            format!("pool_size must be a whole number from 1 to {MAX_POOL_SIZE}, not {v:?}")
                        })?;
                }
                _ => rest.push(pair),
            }
        }
        let stripped = if rest.is_empty() {
            base.to_string()
        } else {
            format!("{base}?{}", rest.join("&"))
        };
        let mut pg = tokio_postgres::Config::from_str(&stripped)
            .map_err(|e| format!("invalid PostgreSQL URL: {e}"))?;
        // Defaults for what the URL leaves unsaid, so requests fail fast
        // (Unavailable) instead of hanging when the database is gone.
        let given = |name: &str| rest.iter().any(|p| p.split('=').next() == Some(name));
        if !given("connect_timeout") {
            pg.connect_timeout(CONNECT_TIMEOUT);
        }
        if !given("application_name") {
            pg.application_name("verdict");
        }
        if !given("keepalives_idle") {
            pg.keepalives_idle(KEEPALIVE_IDLE);
        }
        if !given("tcp_user_timeout") {
            pg.tcp_user_timeout(TCP_USER_TIMEOUT);
        }
        pg.keepalives_interval(KEEPALIVE_INTERVAL)
            .keepalives_retries(KEEPALIVE_RETRIES);
        let tls = Tls::from_params(tls)?;
        pg.ssl_mode(tls.mode().driver_mode());
        Ok(Self { pg, pool_size, tls })
    }

    /// Bounds every statement of the server's sessions at `limit` (the
    /// request timeout) with PostgreSQL's `statement_timeout`, unless the
    /// URL's `options` set one. A request that times out is answered 503
    /// and its handler dropped, but a statement already sent keeps running
    /// on the database, holding its locks and its pooled connection (a
    /// write waiting on a row lock would wait for good); with the bound the
    /// database cancels it too. Migrations lift it for their transaction.
    pub fn bound_statements(&mut self, limit: Duration) {
        let options = self.pg.get_options().unwrap_or_default().to_string();
        if options.contains("statement_timeout") {
            return;
        }
        let bound = format!("-c statement_timeout={}", limit.as_millis().max(1));
        let options = if options.trim().is_empty() {
            bound
        } else {
            format!("{options} {bound}")
        };
        self.pg.options(&options);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statements_are_bounded_unless_the_url_bounds_them() {
        let mut c = PgConfig::from_url("postgres://u@h/db").unwrap();
        c.bound_statements(Duration::from_secs(60));
        assert_eq!(c.pg.get_options(), Some("-c statement_timeout=60000"));
        let mut c = PgConfig::from_url("postgres://u@h/db?options=-c%20work_mem%3D8MB").unwrap();
        c.bound_statements(Duration::from_millis(1500));
        assert_eq!(
            c.pg.get_options(),
            Some("-c work_mem=8MB -c statement_timeout=1500")
        );
        let mut c =
            PgConfig::from_url("postgres://u@h/db?options=-c%20statement_timeout%3D0").unwrap();
        c.bound_statements(Duration::from_secs(60));
        assert_eq!(c.pg.get_options(), Some("-c statement_timeout=0"));
    }

    #[test]
    fn reads_pool_size_and_strips_it() {
        let c =
            PgConfig::from_url("postgres://u:secret@db.example:6543/verdict?pool_size=4").unwrap();
        assert_eq!(c.pool_size, 4);
        assert_eq!(c.pg.get_user(), Some("u"));
        assert_eq!(c.pg.get_dbname(), Some("verdict"));
        assert_eq!(c.pg.get_ports(), &[6543]);
        assert_eq!(c.pg.get_connect_timeout(), Some(&CONNECT_TIMEOUT));
        assert_eq!(c.pg.get_keepalives_idle(), KEEPALIVE_IDLE);
        assert_eq!(c.pg.get_tcp_user_timeout(), Some(&TCP_USER_TIMEOUT));
        assert!(!format!("{c:?}").contains("secret"));
    }

    #[test]
    fn defaults_and_other_parameters() {
        let c = PgConfig::from_url(
            "postgresql://postgres@127.0.0.1/postgres?application_name=x&pool_size=2&connect_timeout=1&keepalives_idle=600",
        )
        .unwrap();
        assert_eq!(c.pool_size, 2);
        assert_eq!(c.pg.get_keepalives_idle(), Duration::from_secs(600));
        assert_eq!(c.pg.get_application_name(), Some("x"));
        assert_eq!(c.pg.get_connect_timeout(), Some(&Duration::from_secs(1)));
        let c = PgConfig::from_url("postgres://postgres@localhost/verdict").unwrap();
        assert_eq!(c.pool_size, DEFAULT_POOL_SIZE);
        assert_eq!(c.pg.get_application_name(), Some("verdict"));
    }

    #[test]
    fn tls_parameters_are_read_here_not_by_tokio_postgres() {
        use crate::tls::SslMode;
        use tokio_postgres::config::SslMode as Driver;
        let c = PgConfig::from_url("postgres://u@h/db").unwrap();
        assert_eq!(c.tls.mode(), SslMode::Prefer, "libpq's default");
        assert_eq!(c.pg.get_ssl_mode(), Driver::Prefer);
        for (mode, ours, driver) in [
            ("disable", SslMode::Disable, Driver::Disable),
            ("allow", SslMode::Allow, Driver::Disable),
            ("prefer", SslMode::Prefer, Driver::Prefer),
            ("require", SslMode::Require, Driver::Require),
        ] {
            let c = PgConfig::from_url(&format!("postgres://u@h/db?sslmode={mode}&pool_size=3"))
                .unwrap();
            assert_eq!(
                (c.tls.mode(), c.pg.get_ssl_mode()),
                (ours, driver),
                "{mode}"
            );
            assert_eq!(c.pool_size, 3);
        }
        // A root file named with percent-encoding; verify-* need one.
        let dir = tempfile::tempdir().unwrap();
        let ca = dir.path().join("my ca.crt");
        std::fs::write(&ca, "not a certificate").unwrap();
        let encoded = ca.display().to_string().replace(' ', "%20");
        let err = PgConfig::from_url(&format!(
            "postgres://u@h/db?sslmode=verify-ca&sslrootcert={encoded}"
        ))
        .unwrap_err();
        assert!(
            err.contains("my ca.crt") && err.contains("no certificate"),
            "{err}"
        );
        let err = PgConfig::from_url("postgres://u@h/db?sslmode=verify-full").unwrap_err();
        assert!(err.contains("needs sslrootcert"), "{err}");
    }

    #[test]
    fn refuses_bad_urls_without_echoing_them() {
        for bad in [
            "sqlite://verdict.db",
            "postgres://u:secret@h/db?pool_size=0",
            "postgres://u:secret@h/db?pool_size=many",
            "postgres://u:secret@h/db?pool_size=100000",
            "postgres://u:secret@h/db?nonsense=1",
            "postgres://u:secret@h/db?sslmode=on",
            "postgres://u:secret@h/db?sslmode=verify-full",
            "postgres://u:secret@h/db?sslmode=require&sslrootcert=system",
            "postgres://u:secret@h/db?sslrootcert=/nonexistent/ca.crt&sslmode=verify-ca",
            "postgres://u:secret@h/db?sslcert=/nonexistent/c.crt",
        ] {
            let err = PgConfig::from_url(bad).unwrap_err();
            assert!(!err.contains("secret"), "{bad}: {err}");
        }
    }
}
