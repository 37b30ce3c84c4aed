//! `verdict serve` on PostgreSQL over TLS with `sslmode=verify-full`: a
//! write and a read over HTTP, on connections the database reports as
//! encrypted; and a start refused, clearly and without the password, when
//! the certificate does not name the host. Skipped unless
//! `VERDICT_TEST_POSTGRES_TLS_ROOTCERT` names the CA of the test server's
//! certificate (`.ci/pg-tls.sh`).

use crate::common;

use std::process::{Command, Stdio};

use common::Server;
use serde_json::{Value, json};
use verdict_postgres::PgConfig;
use verdict_postgres::testing::{TestDatabase, tls_rootcert_from_env, url_from_env};

const TOKEN: &str = "vdt_tls_admin_token_0123456789abcdef";

/// The test server's URL for `host`, with verify-full and the CA (and
/// `password`, which trust authentication ignores).
fn verify_full(host: &str, password: &str) -> Option<String> {
    let ca = tls_rootcert_from_env()?;
    let url = url_from_env().expect("VERDICT_TEST_POSTGRES_URL must name the server with TLS on");
    let config = PgConfig::from_url(&url).expect("the test server's URL");
    let user = config.pg.get_user().unwrap_or("postgres");
    let port = config.pg.get_ports().first().copied().unwrap_or(5432);
    Some(format!(
        "postgres://{user}{password}@{host}:{port}/postgres?sslmode=verify-full&sslrootcert={}",
        ca.display()
    ))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_writes_and_reads_over_verified_tls() {
    let Some(admin_url) = verify_full("localhost", "") else {
        return;
    };
    let db = TestDatabase::create(&admin_url)
        .await
        .expect("a test database over TLS");
    assert!(
        db.url().contains("sslmode=verify-full&sslrootcert="),
        "{}",
        db.url()
    );
    let server = Server::start_url(db.url(), Some(TOKEN));
    let http = common::http();
    let created = http
        .post(format!("{}/v1/projects", server.url))
        .bearer_auth(TOKEN)
        .json(&json!({"name": "over TLS"}))
        .send()
        .await
        .expect("create a project");
    assert_eq!(created.status(), 201);
    let created: Value = created.json().await.expect("json");
    let id = created["data"]["id"].as_str().expect("id");
    let read: Value = http
        .get(format!("{}/v1/projects/{id}", server.url))
        .bearer_auth(TOKEN)
        .send()
        .await
        .expect("read it back")
        .json()
        .await
        .expect("json");
    assert_eq!(read["data"]["name"], "over TLS", "{read}");

    // The server's own sessions on its database, as PostgreSQL sees them.
    let client = db.client().await.expect("a look at the database");
    let row = client
        .query_one(
            "SELECT count(*), bool_and(s.ssl) FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid)
             WHERE a.datname = current_database() AND a.pid <> pg_backend_pid()",
            &[],
        )
        .await
        .expect("pg_stat_ssl");
    let (sessions, all_tls): (i64, Option<bool>) = (row.get(0), row.get(1));
    assert!(sessions >= 1, "the server holds pooled connections");
    assert_eq!(all_tls, Some(true), "every session of the server is TLS");
    drop(client);
    drop(server);
    db.drop_database().await.expect("drop the test database");
}

#[tokio::test]
async fn serve_refuses_to_start_when_the_certificate_does_not_name_the_host() {
    // The same server, whose certificate names it localhost.
    let Some(url) = verify_full("127.0.0.1", ":s3cr3t-pw") else {
        return;
    };
    let out = Command::new(env!("CARGO_BIN_EXE_verdict"))
        .args(["serve", "--listen", "127.0.0.1:0"])
        .env("VERDICT_DATABASE_URL", &url)
        .env_remove("VERDICT_ADMIN_TOKEN")
        .stdin(Stdio::null())
        .output()
        .expect("run verdict serve");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(
        stderr.contains("does not match the host name 127.0.0.1"),
        "{stderr}"
    );
    assert!(!stderr.contains("s3cr3t-pw"), "{stderr}");
}
