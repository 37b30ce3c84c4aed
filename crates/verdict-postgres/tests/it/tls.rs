//! TLS to PostgreSQL as libpq's URL parameters ask for it, against the
//! real server with TLS on (`.ci/pg-tls.sh`: a certificate for the host
//! name `localhost` from the CA in `VERDICT_TEST_POSTGRES_TLS_ROOTCERT`);
//! what needs no server (bad files, unknown modes, a server without TLS)
//! always runs.

use std::path::{Path, PathBuf};
use std::process::Command;

use verdict_postgres::testing::{tls_rootcert_from_env, url_from_env};
use verdict_postgres::{PgConfig, connect_client};

/// The test server's user and port (from `VERDICT_TEST_POSTGRES_URL`) and
/// its CA, or `None` when the TLS tests skip.
fn server() -> Option<(String, u16, PathBuf)> {
    let ca = tls_rootcert_from_env()?;
    let url = url_from_env().expect("VERDICT_TEST_POSTGRES_URL must name the server with TLS on");
    let config = PgConfig::from_url(&url).expect("the test server's URL");
    let user = config.pg.get_user().unwrap_or("postgres").to_string();
    let port = config.pg.get_ports().first().copied().unwrap_or(5432);
    Some((user, port, ca))
}

fn url(user: &str, host: &str, port: u16, query: &str) -> String {
    format!("postgres://{user}@{host}:{port}/postgres?{query}")
}

/// Connects and answers whether the session is encrypted.
async fn encrypted(url: &str) -> Result<bool, String> {
    let client = connect_client(&PgConfig::from_url(url)?).await?;
    let row = client
        .query_one(
            "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
            &[],
        )
        .await
        .map_err(|e| e.to_string())?;
    Ok(row.get(0))
}

/// A CA of its own (made with openssl), which signed nothing the server has.
fn other_ca(dir: &Path) -> PathBuf {
    let (key, crt) = (dir.join("other-ca.key"), dir.join("other-ca.crt"));
    let made = Command::new("openssl")
        .args(["req", "-x509", "-newkey", "ec", "-pkeyopt"])
        .args(["ec_paramgen_curve:P-256", "-nodes", "-days", "1"])
        .args(["-subj", "/CN=Another CA", "-keyout"])
        .arg(&key)
        .arg("-out")
        .arg(&crt)
        .output()
        .expect("openssl (the TLS tests make a second CA with it)");
    assert!(made.status.success(), "{made:?}");
    crt
}

#[tokio::test]
async fn every_sslmode_connects_encrypted_or_not_as_asked() {
    let Some((user, port, ca)) = server() else {
        return;
    };
    let ca = ca.display();
    for (query, want) in [
        (format!("sslmode=verify-full&sslrootcert={ca}"), true),
        (format!("sslmode=verify-ca&sslrootcert={ca}"), true),
        (format!("sslmode=require&sslrootcert={ca}"), true),
        ("sslmode=require".to_string(), true),
        ("sslmode=prefer".to_string(), true),
        (String::new(), true),                // prefer, libpq's default
        ("sslmode=allow".to_string(), false), // plain first, and plain is accepted
        ("sslmode=disable".to_string(), false),
    ] {
        let u = url(&user, "localhost", port, &query);
        assert_eq!(encrypted(&u).await, Ok(want), "{query}");
    }
    // verify-ca checks the chain, not the name: the address works too.
    let u = url(
        &user,
        "127.0.0.1",
        port,
        &format!("sslmode=verify-ca&sslrootcert={ca}"),
    );
    assert_eq!(encrypted(&u).await, Ok(true));
}

#[tokio::test]
async fn a_client_certificate_is_presented() {
    let Some((user, port, ca)) = server() else {
        return;
    };
    let dir = ca.parent().expect("the CA's directory");
    let (cert, key) = (dir.join("client.crt"), dir.join("client.key"));
    assert!(
        cert.exists() && key.exists(),
        "client.crt and client.key belong beside the CA (.ci/pg-tls.sh makes them)"
    );
    let u = url(
        &user,
        "localhost",
        port,
        &format!(
            "sslmode=verify-full&sslrootcert={}&sslcert={}&sslkey={}",
            ca.display(),
            cert.display(),
            key.display()
        ),
    );
    let client = connect_client(&PgConfig::from_url(&u).unwrap())
        .await
        .unwrap();
    let row = client
        .query_one(
            "SELECT client_dn FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(
        row.get::<_, Option<String>>(0).as_deref(),
        Some("/CN=postgres")
    );
}

#[tokio::test]
async fn verify_full_refuses_a_host_name_the_certificate_does_not_name() {
    let Some((user, port, ca)) = server() else {
        return;
    };
    let u = url(
        &user,
        "127.0.0.1",
        port,
        &format!("sslmode=verify-full&sslrootcert={}", ca.display()),
    );
    let err = encrypted(&u).await.unwrap_err();
    println!("{err}");
    assert!(
        err.contains("does not match the host name 127.0.0.1") && err.contains("verify-full"),
        "{err}"
    );
}

#[tokio::test]
async fn a_certificate_from_another_ca_is_refused_when_a_root_is_given() {
    let Some((user, port, _)) = server() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let other = other_ca(dir.path());
    // require with a root file verifies the chain, as in libpq.
    for mode in ["verify-full", "verify-ca", "require", "prefer"] {
        let u = url(
            &user,
            "localhost",
            port,
            &format!("sslmode={mode}&sslrootcert={}", other.display()),
        );
        let err = encrypted(&u).await.unwrap_err();
        assert!(
            err.contains("not signed by a CA of sslrootcert"),
            "{mode}: {err}"
        );
    }
}

#[test]
fn bad_root_files_and_modes_are_clear_errors_without_the_password() {
    let dir = tempfile::tempdir().unwrap();
    let garbage = dir.path().join("garbage.pem");
    std::fs::write(&garbage, "hello").unwrap();
    let missing = dir.path().join("missing.crt");
    let base = "postgres://verdict:s3cr3t@db.example:5432/verdict";
    for (query, says) in [
        (
            format!("sslmode=verify-full&sslrootcert={}", missing.display()),
            "cannot read sslrootcert",
        ),
        (
            // A directory: a file that cannot be read.
            format!("sslmode=verify-ca&sslrootcert={}", dir.path().display()),
            "cannot read sslrootcert",
        ),
        (
            format!("sslmode=require&sslrootcert={}", garbage.display()),
            "holds no certificate",
        ),
        ("sslmode=verify-full".into(), "needs sslrootcert"),
        ("sslmode=always".into(), "sslmode must be disable, allow"),
        (
            "sslmode=require&sslrootcert=system".into(),
            "sslrootcert=system needs sslmode=verify-full",
        ),
        (
            format!("sslcert={}", garbage.display()),
            "sslcert needs sslkey",
        ),
        (
            format!("sslcert={0}&sslkey={0}", garbage.display()),
            "sslcert",
        ),
    ] {
        let err = PgConfig::from_url(&format!("{base}?{query}")).unwrap_err();
        println!("{query}: {err}");
        assert!(err.contains(says), "{query}: {err}");
        assert!(!err.contains("s3cr3t"), "{query}: {err}");
    }
    // sslrootcert=system: verify-full by default, with the system's roots.
    let system = PgConfig::from_url(&format!("{base}?sslrootcert=system"));
    assert!(
        system.is_ok() || system.as_ref().is_err_and(|e| e.contains("system's store")),
        "{system:?}"
    );
}

#[tokio::test]
async fn require_refuses_a_server_that_does_not_speak_tls() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    // A server that answers the SSLRequest (8 bytes) with 'N'.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let mut request = [0u8; 8];
            if socket.read_exact(&mut request).await.is_ok() {
                let _ = socket.write_all(b"N").await;
            }
            let _ = socket.read(&mut [0u8; 64]).await;
        }
    });
    for mode in ["require", "verify-full&sslrootcert=system"] {
        let u = format!("postgres://verdict:s3cr3t@localhost:{port}/verdict?sslmode={mode}");
        let Ok(config) = PgConfig::from_url(&u) else {
            continue; // no system roots on this machine
        };
        let err = connect_client(&config).await.unwrap_err();
        assert!(err.contains("server does not support TLS"), "{mode}: {err}");
        assert!(!err.contains("s3cr3t"), "{err}");
    }
}
