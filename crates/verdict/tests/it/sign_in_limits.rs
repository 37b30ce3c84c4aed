//! Web sign-in limits on the real binary: the client address comes from
//! the connection (clients bound to different loopback addresses), or from
//! `X-Forwarded-For` behind `--trusted-proxies`.

use crate::common;

use std::net::IpAddr;

use common::Server;
use serde_json::json;

const TOKEN: &str = "vdt_sign_in_admin_token_0123456789abcdef";
const RIGHT: &str = "correct horse battery";

/// A web sign-in as ann from the local address `from`: the status.
async fn sign_in(server: &Server, from: &str, forwarded: Option<&str>, password: &str) -> u16 {
    common::http();
    let from: IpAddr = from.parse().expect("address");
    let http = reqwest::Client::builder()
        .local_address(from)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let mut req = http
        .post(format!("{}/login", server.url))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("email=ann%40example.com&password={password}"));
    if let Some(f) = forwarded {
        req = req.header("x-forwarded-for", f);
    }
    req.send().await.expect("sign in").status().as_u16()
}

async fn server(dir: &tempfile::TempDir, extra: &[&str]) -> Server {
    let mut args = vec!["--sign-in-burst", "1", "--sign-in-failures-per-hour", "1"];
    args.extend_from_slice(extra);
    let server = Server::start_args(&dir.path().join("v.db"), Some(TOKEN), &args);
    let r = common::http()
        .post(format!("{}/v1/users", server.url))
        .bearer_auth(TOKEN)
        .json(&json!({"name": "ann", "email": "ann@example.com", "password": RIGHT}))
        .send()
        .await
        .expect("create ann");
    assert_eq!(r.status(), 201);
    server
}

#[tokio::test]
async fn failures_from_one_address_do_not_lock_the_user_out_of_another() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = server(&dir, &[]).await;
    let right = RIGHT.replace(' ', "+");
    assert_eq!(sign_in(&server, "127.0.0.2", None, "guess").await, 401);
    assert_eq!(sign_in(&server, "127.0.0.2", None, &right).await, 429);
    assert_eq!(sign_in(&server, "127.0.0.3", None, &right).await, 303);
    // Without --trusted-proxies the header names nobody.
    assert_eq!(
        sign_in(&server, "127.0.0.2", Some("127.0.0.9"), &right).await,
        429
    );
}

#[tokio::test]
async fn behind_a_trusted_proxy_the_forwarded_client_counts() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = server(&dir, &["--trusted-proxies", "127.0.0.2/32,10.0.0.0/8"]).await;
    let right = RIGHT.replace(' ', "+");
    let proxy = "127.0.0.2";
    assert_eq!(
        sign_in(&server, proxy, Some("203.0.113.1"), "guess").await,
        401
    );
    assert_eq!(
        sign_in(&server, proxy, Some("203.0.113.1"), &right).await,
        429
    );
    assert_eq!(
        sign_in(&server, proxy, Some("203.0.113.2"), &right).await,
        303
    );
    assert_eq!(
        sign_in(
            &server,
            proxy,
            Some("203.0.113.2, 203.0.113.1, 10.1.2.3"),
            &right
        )
        .await,
        429,
        "the last hop that is not a trusted proxy"
    );
}
