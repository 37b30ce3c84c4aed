//! An unknown path is the HTML "Not found" page, with the navigation, for
//! a browser (`Accept: text/html`) and the API's JSON 404 for everyone
//! else; the favicon is embedded and answered, so pages log no 404.

use crate::common;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use common::{Resp, TestApp, html};

const BROWSER_ACCEPT: &str =
    "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8";

async fn get(app: &TestApp, path: &str, accept: Option<&str>, session: Option<&str>) -> Resp {
    let mut req = Request::builder().uri(path);
    if let Some(a) = accept {
        req = req.header("accept", a);
    }
    if let Some(s) = session {
        req = req.header("cookie", format!("verdict_session={s}"));
    }
    app.send(req.body(Body::empty()).expect("request")).await
}

fn content_type(r: &Resp) -> &str {
    r.headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
}

#[tokio::test]
async fn a_browser_gets_the_html_page_with_the_navigation_and_an_api_client_json() {
    let app = TestApp::new().await;
    app.user_with_password("ann", "correct horse battery").await;
    let (_, s) = app
        .sign_in("ann@example.com", "correct horse battery")
        .await;
    let s = s.expect("session");

    for path in ["/no-such-page", "/projects/prj_001/nothing", "/v2/whatever"] {
        // A browser, signed in: the page, with the whole header.
        let r = get(&app, path, Some(BROWSER_ACCEPT), Some(&s)).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{path}");
        assert!(content_type(&r).starts_with("text/html"), "{path}");
        let body = html(&r);
        assert!(body.contains("<h1>Not found</h1>"), "{path}: {body}");
        assert!(body.contains("href=\"/projects\""), "{path}: navigation");
        assert!(body.contains("href=\"/tokens\""), "{path}: navigation");
        assert!(body.contains("Sign out"), "{path}: signed-in header");
        assert!(r.headers.contains_key("content-security-policy"));

        // A browser, signed out: the page and the navigation still.
        let r = get(&app, path, Some(BROWSER_ACCEPT), None).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND);
        assert!(html(&r).contains("href=\"/projects\""), "{path}");
        assert!(!html(&r).contains("Sign out"));

        // API clients: no Accept, */*, JSON, or JSON preferred.
        for accept in [
            None,
            Some("*/*"),
            Some("application/json"),
            Some("application/json, text/html;q=0.5"),
            Some("text/html;q=0"),
        ] {
            let r = get(&app, path, accept, None).await;
            r.not_found();
            assert!(
                content_type(&r).starts_with("application/json"),
                "{path} {accept:?}"
            );
        }
    }
}

#[tokio::test]
async fn the_favicon_is_answered_and_linked_from_every_page() {
    let app = TestApp::new().await;
    for path in ["/favicon.ico", "/favicon.svg"] {
        let r = get(&app, path, Some("image/*"), None).await;
        assert_eq!(r.status, StatusCode::OK, "{path}");
        assert_eq!(content_type(&r), "image/svg+xml", "{path}");
        assert!(html(&r).starts_with("<svg"), "{path}");
    }
    let login = get(&app, "/login", Some(BROWSER_ACCEPT), None).await;
    assert!(
        html(&login).contains("<link rel=\"icon\" type=\"image/svg+xml\" href=\"/favicon.svg\">")
    );
}
