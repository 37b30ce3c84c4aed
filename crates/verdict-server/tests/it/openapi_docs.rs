//! `GET /docs`: the OpenAPI document as one HTML page, with its stylesheet
//! served by the server itself (no CDN, no script, no inline style), and
//! `GET /openapi.json` without a token.

use crate::common;

use axum::http::StatusCode;
use common::TestApp;

#[tokio::test]
async fn docs_is_html_listing_every_path() {
    let app = TestApp::new().await;
    let r = app.call("GET", "/docs", None, None).await;
    assert_eq!(r.status, StatusCode::OK);
    let content_type = r.headers["content-type"].to_str().expect("ascii");
    assert!(content_type.starts_with("text/html"), "{content_type}");
    let csp = r.headers["content-security-policy"]
        .to_str()
        .expect("ascii");
    assert!(csp.contains("script-src 'self'") && csp.contains("style-src 'self'"));
    let html = r.body.as_str().expect("text");
    assert!(html.starts_with("<!doctype html>"));
    assert!(html.contains("<link rel=\"stylesheet\" href=\"/docs/docs.css\">"));

    let doc = app.call("GET", "/openapi.json", None, None).await.body;
    for (path, item) in doc["paths"].as_object().expect("paths") {
        assert!(
            html.contains(&format!("<code>{path}</code>")),
            "{path} missing"
        );
        for op in item.as_object().expect("item").values() {
            let id = op["operationId"].as_str().expect("operationId");
            assert!(html.contains(&format!("id=\"op-{id}\"")), "{id} missing");
        }
    }
    for schema in doc["components"]["schemas"]
        .as_object()
        .expect("schemas")
        .keys()
    {
        assert!(
            html.contains(&format!("id=\"schema-{schema}\"")),
            "{schema} missing"
        );
    }
    // The contract's examples are shown.
    assert!(html.contains("AssertionError: expected 200 but got 500"));
    assert!(html.contains("Verified on Chrome 120 and Firefox 121"));
}

#[tokio::test]
async fn docs_has_no_script_no_inline_style_and_nothing_external() {
    let app = TestApp::new().await;
    let html = app.call("GET", "/docs", None, None).await.body;
    let html = html.as_str().expect("text");
    for forbidden in [
        "<script", "style=", "<style", "http://", "https://", "//cdn",
    ] {
        assert!(!html.contains(forbidden), "{forbidden} in /docs");
    }
    // Every link and asset is local: fragments or this server's paths.
    for attr in ["href=\"", "src=\""] {
        for part in html.split(attr).skip(1) {
            let target = part.split('"').next().unwrap_or("");
            assert!(
                target.starts_with('#') || target.starts_with('/'),
                "{attr}{target}"
            );
        }
    }
}

#[tokio::test]
async fn docs_stylesheet_is_served_from_the_binary() {
    let app = TestApp::new().await;
    let r = app.call("GET", "/docs/docs.css", None, None).await;
    assert_eq!(r.status, StatusCode::OK);
    let content_type = r.headers["content-type"].to_str().expect("ascii");
    assert!(content_type.starts_with("text/css"), "{content_type}");
    let css = r.body.as_str().expect("text");
    assert!(css.contains(".method.get"));
    assert!(!css.contains("@import") && !css.contains("url("));
}

#[tokio::test]
async fn openapi_json_needs_no_token_and_ignores_a_bad_one() {
    let app = TestApp::new().await;
    let r = app.call("GET", "/openapi.json", None, None).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body["openapi"], "3.1.0");
    let r = app
        .call("GET", "/openapi.json", Some("vdt_not_a_token"), None)
        .await;
    assert_eq!(r.status, StatusCode::OK);
    let r = app
        .call("GET", "/docs", Some("vdt_not_a_token"), None)
        .await;
    assert_eq!(r.status, StatusCode::OK);
}

#[test]
fn text_from_the_document_is_escaped() {
    let doc = serde_json::json!({
        "openapi": "3.1.0",
        "info": {"title": "<script>alert(1)</script>", "version": "\"1\"", "description": "a & `b<c>`"},
        "tags": [{"name": "x\"><img src=x>", "description": "<b>"}],
        "paths": {"/p/<q>": {"get": {"operationId": "o\"p", "tags": ["x\"><img src=x>"],
            "summary": "<i>", "responses": {"200": {"description": "<u>"}}}}},
        "components": {"schemas": {"S<": {"type": "string", "description": "</pre><script>"}}},
    });
    let html = verdict_server::openapi::html::render(&doc);
    for raw in ["<script", "<img", "<b>", "<i>", "<u>", "\"1\"", "o\"p"] {
        assert!(!html.contains(raw), "{raw} unescaped in {html}");
    }
    assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert!(html.contains("a &amp; <code>b&lt;c&gt;</code>"));
}
