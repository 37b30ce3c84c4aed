//! Signing in and out of the web UI: the session cookie and its flags, a
//! wrong password or an unknown email refused alike, the sign-in form
//! refused from another site, `next` kept on this site, sign-out deleting
//! the session's token, failed sign-ins limited per client address and
//! email and per address, the address taken from `X-Forwarded-For` only
//! behind trusted proxies.

use crate::common;

use std::net::SocketAddr;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Method, Request, StatusCode};
use common::{Resp, TestApp, csrf, html, session_cookie, urlencoded};
use verdict_server::{Limits, WebConfig};

/// A sign-in over a connection from `peer` (as `verdict serve` hands the
/// router the peer's address), with `X-Forwarded-For` lines if any.
async fn sign_in_from(
    app: &TestApp,
    peer: &str,
    forwarded: &[&str],
    email: &str,
    password: &str,
) -> Resp {
    let peer: SocketAddr = format!("{peer}:40000").parse().expect("peer");
    let mut req = Request::builder()
        .method(Method::POST)
        .uri("/login")
        .header("content-type", "application/x-www-form-urlencoded")
        .extension(ConnectInfo(peer));
    for f in forwarded {
        req = req.header("x-forwarded-for", *f);
    }
    let body = urlencoded(&[("email", email), ("password", password)]);
    app.send(req.body(Body::from(body)).expect("request")).await
}

#[tokio::test]
async fn a_right_password_gives_a_strict_httponly_session_cookie() {
    let app = TestApp::new().await;
    let (uid, token) = app.user_with_password("ann", "correct horse battery").await;
    // Emails are matched regardless of case, as they are unique.
    let (r, secret) = app
        .sign_in("Ann@Example.com", "correct horse battery")
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(r.headers["location"], "/projects");
    let cookie = r.headers["set-cookie"].to_str().expect("ascii");
    for part in ["HttpOnly", "SameSite=Strict", "Path=/", "Max-Age=43200"] {
        assert!(cookie.contains(part), "{cookie}");
    }
    assert!(!cookie.contains("Secure"), "not Secure unless configured");
    let secret = secret.expect("a session");
    assert!(secret.starts_with("vdt_"));

    // The session is a token named "web session", listed with the others.
    let tokens = app.get("/v1/tokens", &token).await;
    let names: Vec<&str> = tokens
        .data()
        .as_array()
        .expect("tokens")
        .iter()
        .map(|t| t["name"].as_str().expect("name"))
        .collect();
    assert!(names.contains(&"web session"), "{names:?}");
    assert!(!uid.is_empty());

    let page = app.page("/projects", Some(&secret)).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(html(&page).contains("<h1>Projects</h1>"));
    assert!(
        page.headers["content-security-policy"]
            .to_str()
            .expect("csp")
            .contains("script-src 'self'")
    );
    assert_eq!(
        app.page("/", Some(&secret)).await.headers["location"],
        "/projects"
    );
    assert_eq!(app.page("/", None).await.headers["location"], "/login");
}

#[tokio::test]
async fn secure_cookies_when_configured() {
    let app = TestApp::with_web(WebConfig {
        secure_cookies: true,
        ..WebConfig::default()
    })
    .await;
    app.user_with_password("ann", "correct horse battery").await;
    let (r, _) = app
        .sign_in("ann@example.com", "correct horse battery")
        .await;
    assert!(
        r.headers["set-cookie"]
            .to_str()
            .expect("ascii")
            .contains("; Secure")
    );
}

#[tokio::test]
async fn a_wrong_password_and_an_unknown_email_are_refused_alike() {
    let app = TestApp::new().await;
    app.user_with_password("ann", "correct horse battery").await;
    app.user("nopass").await; // a user without a password cannot sign in
    for (email, password) in [
        ("ann@example.com", "wrong horse battery"),
        ("nobody@example.com", "correct horse battery"),
        ("nopass@example.com", "anything at all"),
        ("", ""),
    ] {
        let (r, secret) = app.sign_in(email, password).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{email}");
        assert!(secret.is_none(), "{email}: no session");
        assert!(html(&r).contains("Wrong email or password."), "{email}");
    }
}

#[tokio::test]
async fn the_sign_in_form_is_refused_from_another_site() {
    let app = TestApp::new().await;
    app.user_with_password("ann", "correct horse battery").await;
    let fields = [
        ("email", "ann@example.com"),
        ("password", "correct horse battery"),
    ];
    for headers in [
        vec![
            ("host", "verdict.example"),
            ("origin", "https://evil.example"),
        ],
        vec![("host", "verdict.example"), ("origin", "null")],
        vec![
            ("host", "verdict.example"),
            ("referer", "https://evil.example/login"),
        ],
    ] {
        let r = app.form("/login", None, &fields, &headers).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{headers:?}");
        assert!(session_cookie(&r).is_none(), "{headers:?}");
    }
    let same = [
        ("host", "verdict.example"),
        ("origin", "https://verdict.example"),
    ];
    let r = app.form("/login", None, &fields, &same).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert!(session_cookie(&r).is_some());
}

#[tokio::test]
async fn next_is_followed_only_on_this_site() {
    let app = TestApp::new().await;
    app.user_with_password("ann", "correct horse battery").await;
    let login = |next: &'static str| {
        let app = &app;
        async move {
            app.form(
                "/login",
                None,
                &[
                    ("email", "ann@example.com"),
                    ("password", "correct horse battery"),
                    ("next", next),
                ],
                &[],
            )
            .await
        }
    };
    assert_eq!(
        login("/runs/run_001?status=failed").await.headers["location"],
        "/runs/run_001?status=failed"
    );
    assert_eq!(
        login("//evil.example/x").await.headers["location"],
        "/projects"
    );
    assert_eq!(
        login("https://evil.example/").await.headers["location"],
        "/projects"
    );
    // A page asked for without a session sends to sign-in and back.
    let r = app.page("/projects/prj_001?runs_page=2", None).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(
        r.headers["location"],
        "/login?next=%2Fprojects%2Fprj_001%3Fruns_page%3D2"
    );
}

#[tokio::test]
async fn signing_out_deletes_the_session() {
    let app = TestApp::new().await;
    let (_, token) = app.user_with_password("ann", "correct horse battery").await;
    let (_, secret) = app
        .sign_in("ann@example.com", "correct horse battery")
        .await;
    let secret = secret.expect("session");
    let r = app
        .form("/logout", Some(&secret), &[("csrf", &csrf(&secret))], &[])
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(r.headers["location"], "/login?signed_out=1");
    assert_eq!(
        session_cookie(&r).as_deref(),
        Some(""),
        "the cookie is cleared"
    );
    // The token is gone: a kept copy of the cookie opens nothing.
    let page = app.page("/projects", Some(&secret)).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    let tokens = app.get("/v1/tokens", &token).await;
    assert!(
        tokens
            .data()
            .as_array()
            .expect("tokens")
            .iter()
            .all(|t| t["name"] != "web session")
    );
    // The sign-in page says so.
    assert!(html(&app.page("/login?signed_out=1", None).await).contains("You have signed out."));
}

#[tokio::test]
async fn an_api_token_is_not_a_session_cookie() {
    let app = TestApp::new().await;
    let (_, token) = app.user("ann").await;
    let r = app.page("/projects", Some(&token)).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert!(
        r.headers["location"]
            .to_str()
            .expect("ascii")
            .starts_with("/login")
    );
}

#[tokio::test]
async fn failed_sign_ins_are_limited_per_address_and_email() {
    let app = TestApp::with_limits(Limits {
        sign_in_burst: 3,
        sign_in_failures_per_hour: 1,
        ..Limits::default()
    })
    .await;
    app.user_with_password("ann", "correct horse battery").await;
    app.user_with_password("bob", "correct horse battery").await;
    let here = "198.51.100.1";
    // A right password does not use up the allowance.
    for _ in 0..5 {
        let r = sign_in_from(&app, here, &[], "ann@example.com", "correct horse battery").await;
        assert_eq!(r.status, StatusCode::SEE_OTHER);
        assert!(session_cookie(&r).is_some());
    }
    for _ in 0..3 {
        let r = sign_in_from(&app, here, &[], "ann@example.com", "guess").await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    }
    // The fourth failure in a row from here is refused before the password
    // is checked, so even the right one is refused from here, whatever the case.
    for (email, password) in [
        ("ann@example.com", "guess"),
        ("ANN@example.com", "correct horse battery"),
    ] {
        let r = sign_in_from(&app, here, &[], email, password).await;
        assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS, "{email}");
        assert!(session_cookie(&r).is_none());
        let retry: u64 = r.headers["retry-after"]
            .to_str()
            .expect("ascii")
            .parse()
            .expect("seconds");
        assert!((3000..=3600).contains(&retry), "one an hour: {retry}");
        assert!(
            html(&r).contains(
                "Too many failed sign-ins for this email from your address. Try again in 60 minutes."
            ),
            "{}",
            html(&r)
        );
        assert!(
            html(&r).contains(&format!("value=\"{email}\"")),
            "the form is shown again with the email"
        );
    }
    // The real user, from an address that has not been failing, signs in.
    let r = sign_in_from(
        &app,
        "203.0.113.5",
        &[],
        "ann@example.com",
        "correct horse battery",
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", html(&r));
    assert!(session_cookie(&r).is_some());
    // Other accounts, and unknown emails, have their own allowance here.
    let r = sign_in_from(&app, here, &[], "bob@example.com", "correct horse battery").await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let r = sign_in_from(&app, here, &[], "nobody@example.com", "guess").await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
}

/// A server where one failed sign-in uses up a client's allowance (for one
/// email, and a tenth of the address's), behind `trusted_proxies`, with
/// ann's account.
async fn ann_with_one_failure_allowed(trusted_proxies: Vec<verdict_server::Cidr>) -> TestApp {
    let app = TestApp::with_limits(Limits {
        sign_in_burst: 1,
        sign_in_failures_per_hour: 1,
        trusted_proxies,
        ..Limits::default()
    })
    .await;
    app.user_with_password("ann", "correct horse battery").await;
    app
}

#[tokio::test]
async fn an_address_failing_across_many_emails_is_limited() {
    let app = ann_with_one_failure_allowed(Vec::new()).await;
    let here = "198.51.100.1";
    // One failure per email, each within its own allowance: the address
    // has SIGN_IN_ADDRESS_FACTOR times one in all.
    for i in 0..verdict_server::SIGN_IN_ADDRESS_FACTOR {
        let r = sign_in_from(&app, here, &[], &format!("user{i}@example.com"), "guess").await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "attempt {i}");
    }
    let r = sign_in_from(&app, here, &[], "ann@example.com", "correct horse battery").await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(
        html(&r).contains("Too many failed sign-ins from your address. Try again in"),
        "{}",
        html(&r)
    );
    let r = sign_in_from(
        &app,
        "198.51.100.2",
        &[],
        "ann@example.com",
        "correct horse battery",
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn an_ipv6_client_counts_by_its_64_block() {
    let app = ann_with_one_failure_allowed(Vec::new()).await;
    let r = sign_in_from(&app, "[2001:db8:0:1::1]", &[], "ann@example.com", "guess").await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    for (peer, status) in [
        ("[2001:db8:0:1::2]", StatusCode::TOO_MANY_REQUESTS),
        ("[2001:db8:0:1:ffff::9]", StatusCode::TOO_MANY_REQUESTS),
        ("[2001:db8:0:2::1]", StatusCode::SEE_OTHER),
    ] {
        let r = sign_in_from(&app, peer, &[], "ann@example.com", "correct horse battery").await;
        assert_eq!(r.status, status, "{peer}");
    }
}

#[tokio::test]
async fn x_forwarded_for_is_ignored_without_trusted_proxies() {
    let app = ann_with_one_failure_allowed(Vec::new()).await;
    let attacker = "198.51.100.1";
    let r = sign_in_from(&app, attacker, &["203.0.113.1"], "ann@example.com", "guess").await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    // Naming another client changes nothing: the connection's address counts.
    let r = sign_in_from(
        &app,
        attacker,
        &["203.0.113.2"],
        "ann@example.com",
        "correct horse battery",
    )
    .await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    // Nor can another client be made to look like the failing one.
    let r = sign_in_from(
        &app,
        "203.0.113.7",
        &[attacker],
        "ann@example.com",
        "correct horse battery",
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn behind_trusted_proxies_the_last_untrusted_hop_is_the_client() {
    let app = ann_with_one_failure_allowed(vec!["10.0.0.0/8".parse().expect("cidr")]).await;
    let (proxy, right) = ("10.0.0.5", "correct horse battery");
    let failing = "203.0.113.9";
    let r = sign_in_from(&app, proxy, &[failing], "ann@example.com", "guess").await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    for (forwarded, status) in [
        // The failing client, directly or through a second trusted proxy.
        (vec![failing], StatusCode::TOO_MANY_REQUESTS),
        (
            vec!["203.0.113.10, 203.0.113.9, 10.0.0.7"],
            StatusCode::TOO_MANY_REQUESTS,
        ),
        // Another client through the same proxy.
        (vec!["203.0.113.10"], StatusCode::SEE_OTHER),
        // Hops a client wrote before its own address prove nothing.
        (vec!["203.0.113.9, 203.0.113.10"], StatusCode::SEE_OTHER),
        // The nearest hop is the last one of the last header line.
        (vec!["203.0.113.9", "203.0.113.11"], StatusCode::SEE_OTHER),
    ] {
        let r = sign_in_from(&app, proxy, &forwarded, "ann@example.com", right).await;
        assert_eq!(r.status, status, "{forwarded:?}");
    }
    // A client that is not a trusted proxy cannot name another client.
    let direct = "198.51.100.3";
    let r = sign_in_from(&app, direct, &[failing], "ann@example.com", right).await;
    assert_eq!(
        r.status,
        StatusCode::SEE_OTHER,
        "its own address has not failed"
    );
    let r = sign_in_from(&app, direct, &["203.0.113.12"], "ann@example.com", "guess").await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    let r = sign_in_from(&app, proxy, &["203.0.113.12"], "ann@example.com", right).await;
    assert_eq!(
        r.status,
        StatusCode::SEE_OTHER,
        "the failure was {direct}'s"
    );
}

#[tokio::test]
async fn the_sign_in_limit_can_be_turned_off() {
    let app = TestApp::with_limits(Limits {
        sign_in_failures_per_hour: 0,
        sign_in_burst: 1,
        ..Limits::default()
    })
    .await;
    app.user_with_password("ann", "correct horse battery").await;
    for _ in 0..4 {
        let (r, _) = app.sign_in("ann@example.com", "guess").await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    }
    let (r, secret) = app
        .sign_in("ann@example.com", "correct horse battery")
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert!(secret.is_some());
}
