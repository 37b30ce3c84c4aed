//! Attachments and output in the web UI: the attach form (a plain
//! multipart post with the session's CSRF field, as a browser sends it
//! without the script, and the script's JSON answer), what the result's
//! detail shows (a thumbnail for an image, a viewer link for a log, a
//! download for anything else), the refusals (no CSRF field, a viewer,
//! too large, a bad name: nothing stored), the bytes with their safe
//! headers, the viewer page (text escaped, bounded), deleting after a
//! confirmation, and the output in the detail and on the failures page.

use crate::common;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use common::{Resp, TestApp, csrf, html};
use http_body_util::BodyExt;
use serde_json::json;
use tower::ServiceExt;
use verdict_server::Limits;
use verdict_store::{Attachment, Execution, ResultId, RunId, Status, Timestamp, UserId};

/// A 4×4 red PNG.
const PNG: &[u8] = &[
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52,
    0x00, 0x00, 0x00, 0x04, 0x00, 0x00, 0x00, 0x04, 0x08, 0x06, 0x00, 0x00, 0x00, 0xa9, 0xf1, 0x9e,
    0x7e, 0x00, 0x00, 0x00, 0x12, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9c, 0x63, 0x38, 0xa6, 0xa1, 0xf1,
    0x1f, 0x19, 0x33, 0x90, 0x2e, 0x00, 0x00, 0x67, 0xc8, 0x21, 0x51, 0x77, 0x38, 0xa9, 0xc5, 0x00,
    0x00, 0x00, 0x00, 0x49, 0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82,
];

const BOUNDARY: &str = "----verdict-test-boundary-7MA4YWxkTrZu0gW";

/// A part of a multipart body: a field (`filename` none) or a file.
struct Part<'a> {
    name: &'a str,
    filename: Option<&'a str>,
    content_type: Option<&'a str>,
    body: &'a [u8],
}

fn field<'a>(name: &'a str, value: &'a str) -> Part<'a> {
    Part {
        name,
        filename: None,
        content_type: None,
        body: value.as_bytes(),
    }
}

fn file<'a>(filename: &'a str, content_type: &'a str, body: &'a [u8]) -> Part<'a> {
    Part {
        name: "file",
        filename: Some(filename),
        content_type: Some(content_type),
        body,
    }
}

/// The body a browser sends for a `multipart/form-data` form.
fn multipart(parts: &[Part<'_>]) -> Vec<u8> {
    let mut out = Vec::new();
    for p in parts {
        out.extend_from_slice(format!("--{BOUNDARY}\r\n").as_bytes());
        let mut disposition = format!("Content-Disposition: form-data; name=\"{}\"", p.name);
        if let Some(f) = p.filename {
            disposition.push_str(&format!("; filename=\"{f}\""));
        }
        out.extend_from_slice(disposition.as_bytes());
        out.extend_from_slice(b"\r\n");
        if let Some(ct) = p.content_type {
            out.extend_from_slice(format!("Content-Type: {ct}\r\n").as_bytes());
        }
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(p.body);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
    out
}

/// Posts the attach form of result `id` as `session`.
async fn attach(
    app: &TestApp,
    run: &str,
    id: &str,
    session: &str,
    parts: &[Part<'_>],
    json: bool,
) -> Resp {
    let mut req = Request::builder()
        .method("POST")
        .uri(format!("/runs/{run}/results/{id}/attachments"))
        .header(
            "content-type",
            format!("multipart/form-data; boundary={BOUNDARY}"),
        )
        .header("cookie", format!("verdict_session={session}"));
    if json {
        req = req.header("accept", "application/json");
    }
    app.send(req.body(Body::from(multipart(parts))).expect("request"))
        .await
}

/// The form's fields and these files, as the page's form posts them.
async fn attach_files(
    app: &TestApp,
    run: &str,
    id: &str,
    session: &str,
    files: &[Part<'_>],
) -> Resp {
    let token = csrf(session);
    let back = format!("/runs/{run}?result={id}");
    let mut parts = vec![field("csrf", &token), field("back", &back)];
    parts.extend(files.iter().map(|f| Part {
        name: f.name,
        filename: f.filename,
        content_type: f.content_type,
        body: f.body,
    }));
    attach(app, run, id, session, &parts, false).await
}

/// A project with two cases and a run over them: (project, run, result ids).
async fn arranged(app: &TestApp) -> (String, String, Vec<String>) {
    let project = app.project("Shop").await;
    app.bulk_cases(
        &project,
        vec![
            json!({"title": "Pay by card"}),
            json!({"title": "Sign out"}),
        ],
    )
    .await;
    let run = app.run(&project, "Release").await;
    let ids = app
        .all_results(&run)
        .await
        .iter()
        .map(|r| r["id"].as_str().expect("id").to_string())
        .collect();
    (project, run, ids)
}

async fn stored(app: &TestApp, run: &str, id: &str) -> Vec<Attachment> {
    let run: RunId = run.parse().expect("run id");
    let id: ResultId = id.parse().expect("result id");
    app.store
        .list_attachments(run, id)
        .await
        .expect("attachments")
}

fn location(r: &Resp) -> String {
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", html(r));
    r.headers["location"].to_str().expect("ascii").to_string()
}

/// A GET with the session, answered as raw bytes: (status, headers, body).
async fn raw_get(
    app: &TestApp,
    path: &str,
    session: &str,
) -> (StatusCode, axum::http::HeaderMap, Vec<u8>) {
    let res = app
        .router
        .clone()
        .oneshot(
            Request::builder()
                .uri(path)
                .header("cookie", format!("verdict_session={session}"))
                .body(Body::empty())
                .expect("request"),
        )
        .await
        .expect("router never fails");
    let status = res.status();
    let headers = res.headers().clone();
    let body = res.into_body().collect().await.expect("body").to_bytes();
    (status, headers, body.to_vec())
}

#[tokio::test]
async fn the_plain_form_attaches_files_and_the_detail_shows_them() {
    let app = TestApp::new().await;
    let (project, run, ids) = arranged(&app).await;
    let (_, s) = app.web_member(&project, "tess", "tester").await;
    let id = &ids[0];

    // The detail offers the form: a multiple file input with its label.
    let page = app
        .page(&format!("/runs/{run}?result={id}"), Some(&s))
        .await;
    let body = html(&page);
    assert!(body.contains(&format!("action=\"/runs/{run}/results/{id}/attachments\"")));
    assert!(body.contains("enctype=\"multipart/form-data\""));
    assert!(body.contains(&format!("<label for=\"file-{id}\">Attach files</label>")));
    assert!(body.contains(&format!(
        "id=\"file-{id}\" type=\"file\" name=\"file\" multiple"
    )));
    assert!(body.contains("No files attached."));

    let log = b"step 1 ok\nstep 2 FAILED: timeout\n";
    let r = attach_files(
        &app,
        &run,
        id,
        &s,
        &[
            file("screenshot.png", "image/png", PNG),
            file("run.log", "text/plain", log),
            file("trace.zip", "application/zip", b"PK\x03\x04 not really"),
        ],
    )
    .await;
    assert_eq!(location(&r), format!("/runs/{run}?result={id}#r-{id}"));
    let notice = r.headers["set-cookie"].to_str().expect("cookie");
    assert!(
        notice.starts_with("verdict_notice=files_attached"),
        "{notice}"
    );

    let files = stored(&app, &run, id).await;
    let names: Vec<&str> = files.iter().map(|a| a.name.as_str()).collect();
    assert_eq!(names, ["screenshot.png", "run.log", "trace.zip"]);
    assert_eq!(files[0].size, PNG.len() as u64);
    assert_eq!(files[0].content_type, "image/png");

    // The page after the redirect: the notice once, and the files.
    let page = app
        .send(
            Request::builder()
                .uri(format!("/runs/{run}?result={id}"))
                .header(
                    "cookie",
                    format!("verdict_session={s}; verdict_notice=files_attached"),
                )
                .body(Body::empty())
                .expect("request"),
        )
        .await;
    let body = html(&page);
    assert!(body.contains("<p class=\"notice\" role=\"status\">Attached.</p>"));
    let (png, log_file, zip) = (files[0].id, files[1].id, files[2].id);
    assert!(
        body.contains(&format!(
            "<a class=\"thumb\" href=\"/attachments/{png}\" title=\"screenshot.png (full size)\">\
             <img src=\"/attachments/{png}/content\" alt=\"screenshot.png\" loading=\"lazy\""
        )),
        "a thumbnail that links to the full image: {body}"
    );
    assert!(body.contains(&format!("<a href=\"/attachments/{log_file}\">run.log</a>")));
    assert!(body.contains(&format!(
        "<a href=\"/attachments/{zip}/content\" download>trace.zip</a>"
    )));
    assert!(!body.contains("No files attached."));

    // The script's detail (JSON) shows them too.
    let r = app
        .send(
            Request::builder()
                .uri(format!("/runs/{run}/results/{id}"))
                .header("cookie", format!("verdict_session={s}"))
                .header("accept", "application/json")
                .body(Body::empty())
                .expect("request"),
        )
        .await;
    let detail = r.body["data"]["detail_html"].as_str().expect("html");
    assert!(detail.contains(&format!("src=\"/attachments/{png}/content\"")));

    // Another result keeps its own (none).
    assert!(stored(&app, &run, &ids[1]).await.is_empty());
}

#[tokio::test]
async fn the_script_attaches_with_json_and_gets_the_detail_back() {
    let app = TestApp::new().await;
    let (project, run, ids) = arranged(&app).await;
    let (_, s) = app.web_member(&project, "tess", "tester").await;
    let id = &ids[0];
    let token = csrf(&s);
    let r = attach(
        &app,
        &run,
        id,
        &s,
        &[
            field("csrf", &token),
            file("pasted-2026-12-03T10-15-00.png", "image/png", PNG),
        ],
        true,
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let data = &r.body["data"];
    assert_eq!(
        data["attached"][0]["name"],
        "pasted-2026-12-03T10-15-00.png"
    );
    let aid = data["attached"][0]["id"].as_str().expect("id");
    assert!(
        data["detail_html"]
            .as_str()
            .expect("html")
            .contains(&format!("src=\"/attachments/{aid}/content\""))
    );

    // A refusal is the API's JSON error for the script to show.
    let r = attach(
        &app,
        &run,
        id,
        &s,
        &[field("csrf", &token), file("a\\b.png", "image/png", PNG)],
        true,
    )
    .await;
    r.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    assert_eq!(stored(&app, &run, id).await.len(), 1);
}

#[tokio::test]
async fn an_attach_form_without_the_csrf_field_is_refused_and_stores_nothing() {
    let app = TestApp::new().await;
    let (project, run, ids) = arranged(&app).await;
    let (_, s) = app.web_member(&project, "tess", "tester").await;
    let id = &ids[0];
    for parts in [
        vec![file("screenshot.png", "image/png", PNG)],
        vec![
            field("csrf", "0000"),
            file("screenshot.png", "image/png", PNG),
        ],
    ] {
        let r = attach(&app, &run, id, &s, &parts, false).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", html(&r));
        assert!(html(&r).contains("Form expired"));
    }
    // Without a session: to the sign-in page.
    let r = app
        .send(
            Request::builder()
                .method("POST")
                .uri(format!("/runs/{run}/results/{id}/attachments"))
                .header(
                    "content-type",
                    format!("multipart/form-data; boundary={BOUNDARY}"),
                )
                .body(Body::from(multipart(&[file("a.png", "image/png", PNG)])))
                .expect("request"),
        )
        .await;
    assert!(location(&r).starts_with("/login"));
    assert!(stored(&app, &run, id).await.is_empty());
}

#[tokio::test]
async fn a_viewer_cannot_attach_nor_sees_the_form() {
    let app = TestApp::new().await;
    let (project, run, ids) = arranged(&app).await;
    let (_, viewer) = app.web_member(&project, "vic", "viewer").await;
    let id = &ids[0];
    let page = app
        .page(&format!("/runs/{run}?result={id}"), Some(&viewer))
        .await;
    assert!(!html(&page).contains("form class=\"attach\""));
    let r = attach_files(
        &app,
        &run,
        id,
        &viewer,
        &[file("screenshot.png", "image/png", PNG)],
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", html(&r));
    assert!(stored(&app, &run, id).await.is_empty());

    // Someone outside the project: as if the run did not exist.
    let other = app.project("Other").await;
    let (_, outsider) = app.web_member(&other, "olga", "manager").await;
    let r = attach_files(
        &app,
        &run,
        id,
        &outsider,
        &[file("screenshot.png", "image/png", PNG)],
    )
    .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert!(stored(&app, &run, id).await.is_empty());
}

#[tokio::test]
async fn files_over_the_limit_are_413_with_the_limit_said_and_nothing_stored() {
    let app = TestApp::with_limits(Limits {
        max_attachment_bytes: 4096,
        ..Limits::default()
    })
    .await;
    let (project, run, ids) = arranged(&app).await;
    let (_, s) = app.web_member(&project, "tess", "tester").await;
    let id = &ids[0];
    let big = vec![b'x'; 8192];
    let r = attach_files(&app, &run, id, &s, &[file("big.log", "text/plain", &big)]).await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE, "{}", html(&r));
    let body = html(&r);
    assert!(body.contains("too large"), "{body}");
    assert!(body.contains("4.0 KiB"), "the limit is said: {body}");
    assert!(stored(&app, &run, id).await.is_empty());

    // Two files under the limit each but over it together: the same.
    let half = vec![b'y'; 3000];
    let r = attach_files(
        &app,
        &run,
        id,
        &s,
        &[
            file("a.log", "text/plain", &half),
            file("b.log", "text/plain", &half),
        ],
    )
    .await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE, "{}", html(&r));
    assert!(stored(&app, &run, id).await.is_empty());

    // Under the limit: attached.
    let r = attach_files(&app, &run, id, &s, &[file("a.log", "text/plain", &half)]).await;
    location(&r);
    assert_eq!(stored(&app, &run, id).await.len(), 1);
}

#[tokio::test]
async fn a_bad_name_or_no_file_is_a_form_error_and_nothing_is_stored() {
    let app = TestApp::new().await;
    let (project, run, ids) = arranged(&app).await;
    let (_, s) = app.web_member(&project, "tess", "tester").await;
    let id = &ids[0];
    for bad in ["..\\evil.png", "a\tb.png"] {
        let r = attach_files(&app, &run, id, &s, &[file(bad, "image/png", PNG)]).await;
        assert_eq!(
            r.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{bad}: {}",
            html(&r)
        );
        let body = html(&r);
        // The run page again, this result selected, the problem said.
        assert!(body.contains(&format!("data-result=\"{id}\"")), "{bad}");
        assert!(
            body.contains("<p class=\"notice error\" role=\"alert\">File"),
            "{bad}: {body}"
        );
    }
    // The form sent with no file chosen.
    let r = attach_files(&app, &run, id, &s, &[]).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", html(&r));
    assert!(html(&r).contains("choose at least one file"));
    assert!(stored(&app, &run, id).await.is_empty());

    // Not a multipart body at all.
    let r = app
        .form(
            &format!("/runs/{run}/results/{id}/attachments"),
            Some(&s),
            &[("csrf", &csrf(&s))],
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNSUPPORTED_MEDIA_TYPE, "{}", html(&r));
    assert!(stored(&app, &run, id).await.is_empty());
}

#[tokio::test]
async fn a_closed_run_takes_no_files_but_still_shows_them() {
    let app = TestApp::new().await;
    let (project, run, ids) = arranged(&app).await;
    let (_, s) = app.web_member(&project, "tess", "tester").await;
    let id = &ids[0];
    location(&attach_files(&app, &run, id, &s, &[file("shot.png", "image/png", PNG)]).await);
    app.close_run(&run).await;
    let page = app
        .page(&format!("/runs/{run}?result={id}"), Some(&s))
        .await;
    let body = html(&page);
    assert!(body.contains("alt=\"shot.png\""));
    assert!(
        !body.contains("form class=\"attach\""),
        "no form in a closed run"
    );
    let r = attach_files(&app, &run, id, &s, &[file("late.png", "image/png", PNG)]).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", html(&r));
    assert_eq!(stored(&app, &run, id).await.len(), 1);
}

#[tokio::test]
async fn the_content_route_serves_the_bytes_with_safe_headers() {
    let app = TestApp::new().await;
    let (project, run, ids) = arranged(&app).await;
    let (_, s) = app.web_member(&project, "tess", "tester").await;
    let (_, viewer) = app.web_member(&project, "vic", "viewer").await;
    let id = &ids[0];
    let page = b"<html><script>alert(1)</script></html>";
    let svg = b"<svg xmlns=\"http://www.w3.org/2000/svg\"><script>alert(1)</script></svg>";
    location(
        &attach_files(
            &app,
            &run,
            id,
            &s,
            &[
                file("shot.png", "image/png", PNG),
                file("page.html", "text/html", page),
                file("icon.svg", "image/svg+xml", svg),
            ],
        )
        .await,
    );
    let files = stored(&app, &run, id).await;
    let expected: [(&[u8], &str); 3] = [(PNG, "inline"), (page, "attachment"), (svg, "attachment")];
    for (a, (bytes, disposition)) in files.iter().zip(expected) {
        // A viewer may read them.
        let (status, headers, body) =
            raw_get(&app, &format!("/attachments/{}/content", a.id), &viewer).await;
        assert_eq!(status, StatusCode::OK, "{}", a.name);
        assert_eq!(body, bytes, "{}", a.name);
        assert_eq!(headers["x-content-type-options"], "nosniff");
        let csp = headers["content-security-policy"].to_str().expect("csp");
        assert!(csp.contains("sandbox"), "{}: {csp}", a.name);
        let d = headers["content-disposition"]
            .to_str()
            .expect("disposition");
        assert!(d.starts_with(disposition), "{}: {d}", a.name);
        assert_eq!(
            headers["etag"].to_str().expect("etag").trim_matches('"'),
            a.sha256
        );
    }

    // Someone outside the project, an unknown id, a malformed one: 404.
    let other = app.project("Other").await;
    let (_, outsider) = app.web_member(&other, "olga", "manager").await;
    let aid = files[0].id;
    for (path, who) in [
        (format!("/attachments/{aid}/content"), &outsider),
        ("/attachments/att_999999/content".to_string(), &s),
        ("/attachments/nonsense/content".to_string(), &s),
        (format!("/attachments/{aid}"), &outsider),
    ] {
        let (status, _, _) = raw_get(&app, &path, who).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
    }
    // Without a session: to the sign-in page.
    let r = app.page(&format!("/attachments/{aid}/content"), None).await;
    assert!(location(&r).starts_with("/login"));
}

#[tokio::test]
async fn the_viewer_page_shows_text_escaped_and_bounded_and_images_full_size() {
    let app = TestApp::new().await;
    let (project, run, ids) = arranged(&app).await;
    let (_, s) = app.web_member(&project, "tess", "tester").await;
    let (_, viewer) = app.web_member(&project, "vic", "viewer").await;
    let id = &ids[0];
    let log = b"GET /cart 500\n<script>alert('x')</script>\n";
    let mut long = b"first line\n".to_vec();
    long.extend(std::iter::repeat_n(b'z', 100 * 1024));
    long.extend_from_slice(b"\nTHE END");
    location(
        &attach_files(
            &app,
            &run,
            id,
            &s,
            &[
                file("server.log", "text/plain", log),
                file("long.txt", "text/plain", &long),
                file("shot.png", "image/png", PNG),
                file("data.bin", "application/octet-stream", b"\x00\x01"),
            ],
        )
        .await,
    );
    let files = stored(&app, &run, id).await;

    let page = app
        .page(&format!("/attachments/{}", files[0].id), Some(&viewer))
        .await;
    assert_eq!(page.status, StatusCode::OK);
    let body = html(&page);
    assert!(
        body.contains("&lt;script&gt;alert('x')&lt;/script&gt;"),
        "{body}"
    );
    assert!(!body.contains("<script>alert"));
    assert!(body.contains("<pre class=\"file-text\""));
    assert!(
        body.contains(&format!("href=\"/runs/{run}?result={id}#r-{id}\"")),
        "a way back"
    );
    assert!(!body.contains("Delete…"), "a viewer deletes nothing");

    let page = app
        .page(&format!("/attachments/{}", files[1].id), Some(&s))
        .await;
    let body = html(&page);
    assert!(body.contains("first line"));
    assert!(!body.contains("THE END"), "only the beginning is shown");
    assert!(body.contains("Showing the first 64.0 KiB of 100.0 KiB"));
    assert!(body.contains(&format!(
        "href=\"/attachments/{}/content\" download",
        files[1].id
    )));
    assert!(body.contains("Delete…"), "the uploader may delete");

    let page = app
        .page(&format!("/attachments/{}", files[2].id), Some(&s))
        .await;
    assert!(html(&page).contains(&format!(
        "<img src=\"/attachments/{}/content\" alt=\"shot.png\">",
        files[2].id
    )));

    let page = app
        .page(&format!("/attachments/{}", files[3].id), Some(&s))
        .await;
    assert!(html(&page).contains("This file is not shown in the browser."));
}

#[tokio::test]
async fn deleting_a_file_asks_first_and_only_a_manager_or_its_uploader_may() {
    let app = TestApp::new().await;
    let (project, run, ids) = arranged(&app).await;
    let (_, tess) = app.web_member(&project, "tess", "tester").await;
    let (_, tom) = app.web_member(&project, "tom", "tester").await;
    let (_, mia) = app.web_member(&project, "mia", "manager").await;
    let id = &ids[0];
    location(
        &attach_files(
            &app,
            &run,
            id,
            &tess,
            &[
                file("one.png", "image/png", PNG),
                file("two.log", "text/plain", b"two"),
            ],
        )
        .await,
    );
    let files = stored(&app, &run, id).await;
    let (one, two) = (files[0].id, files[1].id);

    // The detail offers the delete link to the uploader, not to another tester.
    let link = format!("href=\"/attachments/{one}/delete\"");
    let page = app
        .page(&format!("/runs/{run}?result={id}"), Some(&tess))
        .await;
    assert!(html(&page).contains(&link));
    let page = app
        .page(&format!("/runs/{run}?result={id}"), Some(&tom))
        .await;
    assert!(!html(&page).contains(&link));
    let r = app
        .page(&format!("/attachments/{one}/delete"), Some(&tom))
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = app
        .form(
            &format!("/attachments/{one}/delete"),
            Some(&tom),
            &[("csrf", &csrf(&tom))],
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);

    // The confirmation page, then the post (which needs the CSRF field).
    let page = app
        .page(&format!("/attachments/{one}/delete"), Some(&tess))
        .await;
    assert_eq!(page.status, StatusCode::OK);
    let body = html(&page);
    assert!(body.contains("Delete one.png?"));
    assert!(body.contains(&format!("action=\"/attachments/{one}/delete\"")));
    let r = app
        .form(&format!("/attachments/{one}/delete"), Some(&tess), &[], &[])
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(stored(&app, &run, id).await.len(), 2);
    let r = app
        .form(
            &format!("/attachments/{one}/delete"),
            Some(&tess),
            &[("csrf", &csrf(&tess))],
            &[],
        )
        .await;
    assert_eq!(location(&r), format!("/runs/{run}?result={id}#r-{id}"));
    let left: Vec<_> = stored(&app, &run, id).await.iter().map(|a| a.id).collect();
    assert_eq!(left, [two]);
    let (status, _, _) = raw_get(&app, &format!("/attachments/{one}"), &tess).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // A manager deletes anyone's, in a closed run too.
    app.close_run(&run).await;
    let r = app
        .form(
            &format!("/attachments/{two}/delete"),
            Some(&mia),
            &[("csrf", &csrf(&mia))],
            &[],
        )
        .await;
    location(&r);
    assert!(stored(&app, &run, id).await.is_empty());
}

#[tokio::test]
async fn the_output_shows_in_the_detail_and_with_the_failure() {
    let app = TestApp::new().await;
    let (project, run, ids) = arranged(&app).await;
    let (uid, s) = app.web_member(&project, "tess", "tester").await;
    let id = &ids[0];
    let output = "Running test_pay_by_card\n<b>not bold</b>\nAssertionError: expected 200, got 500";
    let mut execution = Execution::new(
        Status::Failed,
        Some("AssertionError: expected 200, got 500".into()),
        None,
    );
    execution.output = Some(output.into());
    let run_id: RunId = run.parse().expect("run");
    let result_id: ResultId = id.parse().expect("result");
    let user: UserId = uid.parse().expect("user");
    app.store
        .record_result(run_id, result_id, execution, user, Timestamp::now())
        .await
        .expect("recorded");

    let escaped = "Running test_pay_by_card\n&lt;b&gt;not bold&lt;/b&gt;\nAssertionError";
    let page = app
        .page(&format!("/runs/{run}?result={id}"), Some(&s))
        .await;
    let body = html(&page);
    assert!(
        body.contains("<details class=\"output\"><summary>Output"),
        "{body}"
    );
    assert!(body.contains(escaped), "{body}");

    let page = app.page(&format!("/runs/{run}/failures"), Some(&s)).await;
    assert_eq!(page.status, StatusCode::OK);
    let body = html(&page);
    assert!(body.contains("<details class=\"output\">"), "{body}");
    assert!(body.contains(escaped));

    // The whole output, as plain text that is never rendered.
    let (status, headers, bytes) =
        raw_get(&app, &format!("/runs/{run}/results/{id}/output"), &s).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(bytes, output.as_bytes());
    assert!(
        headers["content-type"]
            .to_str()
            .expect("type")
            .starts_with("text/plain")
    );
    assert_eq!(headers["content-security-policy"], "sandbox");
    // A result without output has none to show.
    let (status, _, _) = raw_get(&app, &format!("/runs/{run}/results/{}/output", ids[1]), &s).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let page = app
        .page(&format!("/runs/{run}?result={}", ids[1]), Some(&s))
        .await;
    assert!(!html(&page).contains("<details class=\"output\">"));
}

#[tokio::test]
async fn files_of_several_executions_are_labelled_by_execution() {
    let app = TestApp::new().await;
    let (project, run, ids) = arranged(&app).await;
    let (_, s) = app.web_member(&project, "tess", "tester").await;
    let id = &ids[0];
    let mark = |status: &'static str| {
        let app = &app;
        let s = s.clone();
        let run = run.clone();
        let id = id.clone();
        async move {
            let r = app
                .form(
                    &format!("/runs/{run}/results/{id}"),
                    Some(&s),
                    &[("csrf", &csrf(&s)), ("status", status)],
                    &[],
                )
                .await;
            assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", html(&r));
        }
    };
    mark("failed").await;
    location(&attach_files(&app, &run, id, &s, &[file("first.png", "image/png", PNG)]).await);
    mark("passed").await;
    location(&attach_files(&app, &run, id, &s, &[file("second.png", "image/png", PNG)]).await);
    let files = stored(&app, &run, id).await;
    assert_eq!(
        files.iter().map(|a| a.execution).collect::<Vec<_>>(),
        [1, 2]
    );
    let page = app
        .page(&format!("/runs/{run}?result={id}"), Some(&s))
        .await;
    let body = html(&page);
    let second = body
        .find("Execution 2 · Passed")
        .expect("execution 2 labelled");
    let first = body
        .find("Execution 1 · Failed")
        .expect("execution 1 labelled");
    assert!(second < first, "newest first");
    assert!(body[first..].contains("alt=\"first.png\""));
    assert!(body[second..first].contains("alt=\"second.png\""));
}
