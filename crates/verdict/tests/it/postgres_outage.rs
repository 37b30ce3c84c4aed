//! The database going away and coming back (API §1, issue: PostgreSQL):
//! while it is gone `/readyz` fails and requests answer 503 in the error
//! envelope; afterwards the same server process serves again.

use crate::common;

use std::time::{Duration, Instant};

use common::Server;
use serde_json::{Value, json};
use verdict_postgres::testing::{SKIP_MESSAGE, TestDatabase};

const TOKEN: &str = "vdt_outage_admin_token_0123456789abcdef";

async fn status_of(http: &reqwest::Client, url: &str) -> (u16, Value) {
    match http.get(url).bearer_auth(TOKEN).send().await {
        Ok(res) => {
            let s = res.status().as_u16();
            (s, res.json().await.unwrap_or(Value::Null))
        }
        Err(e) => panic!("the server itself must stay up: {e}"),
    }
}

/// Polls until `want` (bounded: the pool notices a dead connection on use).
async fn until(http: &reqwest::Client, url: &str, want: u16) -> Value {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (s, body) = status_of(http, url).await;
        if s == want {
            return body;
        }
        assert!(
            Instant::now() < deadline,
            "{url} never answered {want} (last {s}: {body})"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readiness_and_requests_follow_the_database_and_recover() {
    let Some(db) = TestDatabase::from_env().await else {
        println!("{SKIP_MESSAGE}");
        return;
    };
    let mut server = Server::start_url(db.url(), Some(TOKEN));
    let pid = server.child.id();
    let http = common::http();
    let u = server.url.clone();
    let p: Value = http
        .post(format!("{u}/v1/projects"))
        .bearer_auth(TOKEN)
        .json(&json!({"name": "outage"}))
        .send()
        .await
        .expect("create project")
        .json()
        .await
        .expect("json");
    let project = p["data"]["id"].as_str().expect("project").to_string();
    until(&http, &format!("{u}/readyz"), 200).await;

    // Take the database away: no new connections, existing ones killed.
    // From the server's admin database: a database cannot lock itself out.
    let admin_url = verdict_postgres::testing::url_from_env().expect("URL set");
    let admin = verdict_postgres::connect_client(
        &verdict_postgres::PgConfig::from_url(&admin_url).expect("admin URL"),
    )
    .await
    .expect("connect to the admin database");
    admin
        .batch_execute(&format!(
            "ALTER DATABASE {0} ALLOW_CONNECTIONS false;
             SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{0}' AND pid <> pg_backend_pid();",
            db.name()
        ))
        .await
        .expect("take the database away");
    until(&http, &format!("{u}/readyz"), 503).await;
    let body = until(&http, &format!("{u}/v1/projects/{project}"), 503).await;
    assert_eq!(body["error"]["code"], "unavailable", "{body}");

    // Bring it back: the same process serves again.
    admin
        .batch_execute(&format!(
            "ALTER DATABASE {} ALLOW_CONNECTIONS true",
            db.name()
        ))
        .await
        .expect("bring the database back");
    until(&http, &format!("{u}/readyz"), 200).await;
    let body = until(&http, &format!("{u}/v1/projects/{project}"), 200).await;
    assert_eq!(body["data"]["name"], "outage");
    assert_eq!(server.child.id(), pid);
    assert!(
        server.child.try_wait().expect("try_wait").is_none(),
        "never restarted"
    );
    drop(server);
    db.drop_database().await.expect("drop the test database");
}
