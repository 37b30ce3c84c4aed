//! Every form of the web UI answers with a redirect to a page (post →
//! redirect → get), so a reload never posts twice: a new token's secret is
//! shown once by the page after the redirect, from a one-time HttpOnly
//! cookie (never a URL), and reloading that page creates nothing. The
//! result form records exactly what the tester entered: its note and
//! elapsed fields start empty, the current note is shown read-only in full.

use crate::common;

use axum::http::StatusCode;
use common::{Resp, TestApp, csrf, html};
use serde_json::json;

/// The `Set-Cookie` header that names `name`, if any.
fn set_cookie<'a>(r: &'a Resp, name: &str) -> Option<&'a str> {
    r.headers
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with(&format!("{name}=")))
}

/// The `name=value` part of a `Set-Cookie` header.
fn pair(header: &str) -> &str {
    header.split(';').next().unwrap_or("")
}

/// How many tokens the user of `api_token` has.
async fn tokens(app: &TestApp, api_token: &str) -> usize {
    app.get("/v1/tokens?per_page=100", api_token)
        .await
        .ok()
        .as_array()
        .expect("tokens")
        .len()
}

/// A GET with the session cookie and other cookies.
async fn page_with(app: &TestApp, path: &str, session: &str, more: &str) -> Resp {
    let req = axum::http::Request::builder()
        .uri(path)
        .header("cookie", format!("verdict_session={session}; {more}"))
        .body(axum::body::Body::empty())
        .expect("request");
    app.send(req).await
}

#[tokio::test]
async fn a_token_is_created_by_post_redirect_get_and_a_reload_creates_nothing() {
    let app = TestApp::new().await;
    let (_, api) = app.user_with_password("ann", "correct horse battery").await;
    let (_, s) = app
        .sign_in("ann@example.com", "correct horse battery")
        .await;
    let s = s.expect("session");
    let before = tokens(&app, &api).await;

    let r = app
        .form(
            "/tokens",
            Some(&s),
            &[("csrf", &csrf(&s)), ("name", "CI on main")],
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", html(&r));
    let location = r.headers["location"].to_str().expect("ascii");
    assert_eq!(location, "/tokens", "no secret in the URL");
    assert!(
        !html(&r).contains("vdt_"),
        "the answer to the post shows nothing"
    );
    let flash = set_cookie(&r, "verdict_flash").expect("a flash cookie");
    for attribute in ["HttpOnly", "SameSite=Strict", "Path=/tokens", "Max-Age=60"] {
        assert!(flash.contains(attribute), "{flash}");
    }
    assert_eq!(tokens(&app, &api).await, before + 1);

    // The page after the redirect shows the secret once and clears the
    // flash; the secret works as an API token.
    let shown = page_with(&app, "/tokens", &s, pair(flash)).await;
    assert_eq!(shown.status, StatusCode::OK);
    let body = html(&shown);
    let start = body.find("id=\"new-token\">").expect("the secret is shown") + 15;
    let secret = &body[start..start + body[start..].find('<').expect("end")];
    assert!(secret.starts_with("vdt_"), "{secret}");
    assert!(body.contains("CI on main"));
    assert_eq!(app.get("/v1/me", secret).await.status, StatusCode::OK);
    let cleared = set_cookie(&shown, "verdict_flash").expect("the flash is cleared");
    assert!(cleared.contains("Max-Age=0"), "{cleared}");
    assert_eq!(
        shown.headers["cache-control"].to_str().expect("ascii"),
        "no-store"
    );

    // A reload (the browser has dropped the flash) shows no secret and
    // creates no token.
    let reload = app.page("/tokens", Some(&s)).await;
    assert_eq!(reload.status, StatusCode::OK);
    assert!(!html(&reload).contains(secret));
    assert!(!html(&reload).contains("new-token"));
    assert_eq!(tokens(&app, &api).await, before + 1);

    // A flash naming someone else's token shows nothing.
    let (_, other) = app.user_with_password("bob", "correct horse battery").await;
    let (_, bob) = app
        .sign_in("bob@example.com", "correct horse battery")
        .await;
    let bob = bob.expect("session");
    let page = page_with(&app, "/tokens", &bob, pair(flash)).await;
    assert!(!html(&page).contains(secret), "not bob's token");
    assert!(tokens(&app, &other).await >= 1);

    // A name that fails the checks re-renders the form (422), creating
    // nothing, so a reload of that answer cannot create anything either.
    let r = app
        .form(
            "/tokens",
            Some(&s),
            &[("csrf", &csrf(&s)), ("name", " ")],
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(set_cookie(&r, "verdict_flash").is_none());
    assert_eq!(tokens(&app, &api).await, before + 1);
}

#[tokio::test]
async fn every_successful_form_redirects_to_a_page() {
    let app = TestApp::new().await;
    let (project, _, run) = app.seeded(2).await;
    let (uid, s) = app.web_member(&project, "max", "manager").await;
    let result = app.all_results(&run).await[0]["id"]
        .as_str()
        .expect("id")
        .to_string();
    let see_other = |r: &Resp, to: &str| {
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", html(r));
        let location = r.headers["location"].to_str().expect("ascii");
        assert!(location.starts_with(to), "{location}");
    };
    let token = csrf(&s);

    // A result: a status, then a note (the "Save with status unchanged" button).
    let path = format!("/runs/{run}/results/{result}");
    let r = app
        .form(
            &path,
            Some(&s),
            &[("csrf", &token), ("status", "failed")],
            &[],
        )
        .await;
    see_other(&r, &format!("/runs/{run}"));
    let r = app
        .form(
            &path,
            Some(&s),
            &[
                ("csrf", &token),
                ("status", "failed"),
                ("note", "Seen on Safari"),
            ],
            &[],
        )
        .await;
    see_other(&r, &format!("/runs/{run}"));

    // The password, then a token revoked.
    let r = app
        .form(
            "/password",
            Some(&s),
            &[
                ("csrf", &token),
                ("current_password", "correct horse battery"),
                ("new_password", "a new horse battery"),
                ("confirm_password", "a new horse battery"),
            ],
            &[],
        )
        .await;
    see_other(&r, "/tokens");
    let flash = set_cookie(&r, "verdict_flash").expect("a flash");
    let shown = page_with(&app, "/tokens", &s, pair(flash)).await;
    assert!(html(&shown).contains("Your password was changed"));
    assert!(!html(&app.page("/tokens", Some(&s)).await).contains("Your password was changed"));

    let r = app
        .form(
            "/tokens",
            Some(&s),
            &[("csrf", &token), ("name", "spare")],
            &[],
        )
        .await;
    see_other(&r, "/tokens");
    let spare = app
        .store
        .list_tokens(uid.parse().expect("user id"))
        .await
        .expect("tokens")
        .into_iter()
        .find(|t| t.name == "spare")
        .expect("the spare token")
        .id;
    // The list links to a page that asks first; it names the token and
    // posts the revocation.
    let tokens = app.page("/tokens", Some(&s)).await;
    let tokens = html(&tokens);
    assert!(tokens.contains(&format!("href=\"/tokens/{spare}/revoke\"")));
    let asks = app.page(&format!("/tokens/{spare}/revoke"), Some(&s)).await;
    assert_eq!(asks.status, StatusCode::OK);
    let asks = html(&asks);
    assert!(asks.contains("Revoke the token “spare”?"), "{asks}");
    assert!(asks.contains(&format!("action=\"/tokens/{spare}/revoke\"")));
    assert_eq!(
        app.page("/tokens/tok_999999/revoke", Some(&s)).await.status,
        StatusCode::NOT_FOUND
    );
    let r = app
        .form(
            &format!("/tokens/{spare}/revoke"),
            Some(&s),
            &[("csrf", &token)],
            &[],
        )
        .await;
    see_other(&r, "/tokens");

    // Closing the run, and signing out.
    let r = app
        .form(
            &format!("/runs/{run}/close"),
            Some(&s),
            &[("csrf", &token), ("confirm", "yes")],
            &[],
        )
        .await;
    see_other(&r, &format!("/runs/{run}"));
    let r = app
        .form("/logout", Some(&s), &[("csrf", &token)], &[])
        .await;
    see_other(&r, "/login");
}

#[tokio::test]
async fn the_result_form_starts_empty_and_a_status_click_records_only_what_was_entered() {
    let app = TestApp::new().await;
    let (project, _, run) = app.seeded(2).await;
    let result = app.all_results(&run).await[0]["id"]
        .as_str()
        .expect("id")
        .to_string();
    let trace = (1..=17)
        .map(|i| format!("  at frame {i} (checkout.rs:{i})"))
        .collect::<Vec<_>>()
        .join("\n");
    let note = format!("Blocked by CI:\n{trace}");
    app.patch(
        &format!("/v1/runs/{run}/results/{result}"),
        &app.admin,
        json!({"status": "blocked", "note": note, "elapsed": 45}),
    )
    .await
    .ok();
    let (sam, s) = app.web_member(&project, "sam", "tester").await;

    // The page shows the note in full, read-only, and the fields empty.
    let page = app
        .page(&format!("/runs/{run}?result={result}"), Some(&s))
        .await;
    let body = html(&page);
    assert!(body.contains(&note), "the whole note, line breaks kept");
    let field = format!("<textarea id=\"note-{result}\" name=\"note\" rows=\"2\"></textarea>");
    assert!(body.contains(&field), "an empty multi-line note: {body}");
    let elapsed = body
        .split(&format!("id=\"elapsed-{result}\""))
        .nth(1)
        .expect("the elapsed field");
    assert!(
        !elapsed[..elapsed.find('>').expect("end")].contains("value="),
        "the elapsed field starts empty"
    );
    assert!(body.contains("45 s"), "the current elapsed is shown");

    // What the browser then posts for a click on Retest: empty fields.
    let r = app
        .form(
            &format!("/runs/{run}/results/{result}"),
            Some(&s),
            &[
                ("csrf", &csrf(&s)),
                ("status", "retest"),
                ("note", ""),
                ("elapsed", ""),
            ],
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let history = app.history(&run, &result).await;
    assert_eq!(history.len(), 2);
    assert_eq!(history[0]["status"], "retest");
    assert_eq!(history[0]["tested_by"], sam);
    assert!(history[0]["note"].is_null(), "{}", history[0]);
    assert!(history[0]["elapsed_ms"].is_null(), "{}", history[0]);
    assert_eq!(history[1]["note"], json!(note), "the first one kept");

    // A multi-line note as a browser posts it (CRLF) is stored with LF.
    let r = app
        .form(
            &format!("/runs/{run}/results/{result}"),
            Some(&s),
            &[
                ("csrf", &csrf(&s)),
                ("status", "failed"),
                ("note", "line one\r\nline two\r\n"),
                ("elapsed", "12"),
            ],
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let now = app
        .get(&format!("/v1/runs/{run}/results/{result}"), &app.admin)
        .await;
    assert_eq!(now.ok()["note"], "line one\nline two");
    assert_eq!(now.ok()["elapsed"], 12);
}
