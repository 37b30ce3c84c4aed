//! Attachments over HTTP (API §12): upload as a raw body or multipart,
//! list, one, the bytes with safe headers, ETag and Range, delete, the
//! limits and names refused with nothing stored; and `?include=output`
//! and `?key=` on the result endpoints.

use crate::common;

use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode};
use common::{Resp, TestApp};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use tower::ServiceExt;
use verdict_server::Limits;

const PNG: &[u8] = b"\x89PNG\r\n\x1a\n fake image bytes";

fn sha256(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// `%`-encodes a query value.
fn encode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A run with one result, and a tester's token: (project, run, result, tester).
async fn arrange(app: &TestApp) -> (String, String, String, String) {
    let (project, _, run) = app.seeded(2).await;
    let result = app.all_results(&run).await[0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let tester = app.member(&project, "tess", "tester").await;
    (project, run, result, tester)
}

fn upload_path(run: &str, result: &str) -> String {
    format!("/v1/runs/{run}/results/{result}/attachments")
}

async fn upload_raw(
    app: &TestApp,
    token: &str,
    run: &str,
    result: &str,
    name: &str,
    content_type: Option<&str>,
    bytes: &[u8],
) -> Resp {
    let path = format!("{}?name={}", upload_path(run, result), encode(name));
    app.raw("POST", &path, token, content_type, bytes.to_vec())
        .await
}

/// One part of a multipart body: field name, filename, content type, bytes.
type Part<'a> = (&'a str, Option<&'a str>, Option<&'a str>, &'a [u8]);

/// A multipart body of `parts`: (its content type, its bytes).
fn multipart(parts: &[Part<'_>]) -> (String, Vec<u8>) {
    let boundary = "verdict-test-boundary-7d3f";
    let mut body = Vec::new();
    for (field, filename, content_type, bytes) in parts {
        body.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
        let mut disposition = format!("Content-Disposition: form-data; name=\"{field}\"");
        if let Some(f) = filename {
            disposition.push_str(&format!("; filename=\"{f}\""));
        }
        body.extend_from_slice(disposition.as_bytes());
        body.extend_from_slice(b"\r\n");
        if let Some(ct) = content_type {
            body.extend_from_slice(format!("Content-Type: {ct}\r\n").as_bytes());
        }
        body.extend_from_slice(b"\r\n");
        body.extend_from_slice(bytes);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

async fn upload_multipart(
    app: &TestApp,
    token: &str,
    run: &str,
    result: &str,
    parts: &[Part<'_>],
) -> Resp {
    let (ct, body) = multipart(parts);
    app.raw("POST", &upload_path(run, result), token, Some(&ct), body)
        .await
}

/// The one attachment an upload answered.
fn only(r: &Resp) -> Value {
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let data = r.body["data"].as_array().expect("a list");
    assert_eq!(data.len(), 1, "{}", r.body);
    data[0].clone()
}

/// GET of the bytes: (status, headers, bytes).
async fn download(
    app: &TestApp,
    token: &str,
    aid: &str,
    headers: &[(&str, &str)],
) -> (StatusCode, HeaderMap, Vec<u8>) {
    let mut req = Request::builder()
        .uri(format!("/v1/attachments/{aid}/content"))
        .header("authorization", format!("Bearer {token}"));
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let res = app
        .router
        .clone()
        .oneshot(req.body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = res.status();
    let headers = res.headers().clone();
    let bytes = res.into_body().collect().await.unwrap().to_bytes().to_vec();
    (status, headers, bytes)
}

fn header<'a>(h: &'a HeaderMap, name: &str) -> &'a str {
    h.get(name).and_then(|v| v.to_str().ok()).unwrap_or("")
}

/// How many files the attachment storage holds.
async fn stored_files(app: &TestApp) -> usize {
    app.blobs.list().await.expect("list the storage").len()
}

/// Nothing of a refused upload is left: no row, no stored file, an empty
/// spool.
async fn assert_nothing_stored(app: &TestApp, run: &str, result: &str) {
    let listed = app.get(&upload_path(run, result), &app.admin).await;
    assert_eq!(listed.data(), &json!([]), "no attachment row");
    assert_eq!(stored_files(app).await, 0, "no stored file");
    if let Some(dir) = app.attachments_dir() {
        let spool: Vec<_> = std::fs::read_dir(dir.join(".incoming"))
            .map(|d| d.flatten().map(|e| e.file_name()).collect())
            .unwrap_or_default();
        assert!(spool.is_empty(), "spool left behind: {spool:?}");
    }
}

#[tokio::test]
async fn a_raw_upload_is_listed_read_and_downloaded_with_the_same_bytes() {
    let app = TestApp::new().await;
    let (_, run, result, tester) = arrange(&app).await;
    let r = upload_raw(
        &app,
        &tester,
        &run,
        &result,
        "screen shot é.png",
        Some("image/png"),
        PNG,
    )
    .await;
    let att = only(&r);
    let aid = att["id"].as_str().unwrap();
    assert!(aid.starts_with("att_"), "{att}");
    assert_eq!(att["result_id"], result.as_str());
    assert_eq!(att["name"], "screen shot é.png");
    assert_eq!(att["content_type"], "image/png");
    assert_eq!(att["size"], PNG.len());
    assert_eq!(att["sha256"], sha256(PNG));
    assert!(att["created_by"].as_str().unwrap().starts_with("user_"));
    assert!(common::is_utc_instant(att["created_at"].as_str().unwrap()));

    let listed = app.get(&upload_path(&run, &result), &app.admin).await;
    assert_eq!(listed.data(), &json!([att.clone()]));
    let one = app.get(&format!("/v1/attachments/{aid}"), &tester).await;
    assert_eq!(one.data(), &att);

    let (status, h, bytes) = download(&app, &tester, aid, &[]).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(sha256(&bytes), sha256(PNG));
    assert_eq!(header(&h, "content-type"), "image/png");
    assert_eq!(header(&h, "content-length"), PNG.len().to_string());
    assert_eq!(header(&h, "accept-ranges"), "bytes");
    assert_eq!(header(&h, "etag"), format!("\"{}\"", sha256(PNG)));
    assert_eq!(
        header(&h, "content-disposition"),
        "inline; filename=\"screen shot _.png\"; filename*=UTF-8''screen%20shot%20%C3%A9.png"
    );
    assert_eq!(header(&h, "x-content-type-options"), "nosniff");
    assert_eq!(header(&h, "content-security-policy"), "sandbox");
    assert_eq!(stored_files(&app).await, 1);
}

#[tokio::test]
async fn a_multipart_upload_takes_several_files_in_order() {
    let app = TestApp::new().await;
    let (_, run, result, tester) = arrange(&app).await;
    let log = b"line 1\nline 2\n".as_slice();
    let r = upload_multipart(
        &app,
        &tester,
        &run,
        &result,
        &[
            ("file", Some("shot.png"), Some("image/png"), PNG),
            ("file", Some("run.log"), None, log),
        ],
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let data = r.body["data"].as_array().unwrap();
    assert_eq!(data.len(), 2);
    assert_eq!(data[0]["name"], "shot.png");
    assert_eq!(data[1]["name"], "run.log");
    assert_eq!(data[1]["content_type"], "application/octet-stream");
    assert_eq!(data[1]["sha256"], sha256(log));
    for (att, bytes) in data.iter().zip([PNG, log]) {
        let (status, _, got) = download(&app, &tester, att["id"].as_str().unwrap(), &[]).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(sha256(&got), sha256(bytes));
    }
    let listed = app.get(&upload_path(&run, &result), &tester).await;
    assert_eq!(listed.data().as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn the_same_file_uploaded_again_is_the_same_attachment_stored_once() {
    let app = TestApp::new().await;
    let (_, run, result, tester) = arrange(&app).await;
    let first = only(
        &upload_raw(
            &app,
            &tester,
            &run,
            &result,
            "a.png",
            Some("image/png"),
            PNG,
        )
        .await,
    );
    let again = only(
        &upload_raw(
            &app,
            &tester,
            &run,
            &result,
            "a.png",
            Some("image/png"),
            PNG,
        )
        .await,
    );
    assert_eq!(first["id"], again["id"]);
    // Another name, the same bytes: another attachment, one stored file.
    let other = only(
        &upload_raw(
            &app,
            &tester,
            &run,
            &result,
            "b.png",
            Some("image/png"),
            PNG,
        )
        .await,
    );
    assert_ne!(first["id"], other["id"]);
    assert_eq!(stored_files(&app).await, 1);
    let listed = app.get(&upload_path(&run, &result), &tester).await;
    assert_eq!(listed.data().as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn only_images_and_plain_text_are_inline_and_nothing_is_rendered_as_a_page() {
    let app = TestApp::new().await;
    let (_, run, result, tester) = arrange(&app).await;
    let cases = [
        ("a.png", "image/png", true),
        ("a.jpg", "image/jpeg", true),
        ("a.gif", "image/gif", true),
        ("a.webp", "image/webp", true),
        ("a.txt", "text/plain; charset=utf-8", true),
        ("a.html", "text/html", false),
        ("a.svg", "image/svg+xml", false),
        ("a.bin", "application/x-unknown", false),
        ("a.js", "application/javascript", false),
    ];
    for (name, ct, inline) in cases {
        let body = format!("<script>alert('{name}')</script>");
        let att = only(
            &upload_raw(
                &app,
                &tester,
                &run,
                &result,
                name,
                Some(ct),
                body.as_bytes(),
            )
            .await,
        );
        let (status, h, bytes) = download(&app, &tester, att["id"].as_str().unwrap(), &[]).await;
        assert_eq!(status, StatusCode::OK, "{name}");
        assert_eq!(bytes, body.as_bytes(), "{name}");
        let disposition = header(&h, "content-disposition");
        let want = if inline { "inline;" } else { "attachment;" };
        assert!(disposition.starts_with(want), "{name}: {disposition}");
        assert!(
            disposition.contains(&format!("filename*=UTF-8''{name}")),
            "{name}: {disposition}"
        );
        assert_eq!(header(&h, "content-type"), ct, "{name}");
        assert_eq!(header(&h, "x-content-type-options"), "nosniff", "{name}");
        assert_eq!(header(&h, "content-security-policy"), "sandbox", "{name}");
    }
}

#[tokio::test]
async fn a_range_is_answered_with_its_bytes_or_416() {
    let app = TestApp::new().await;
    let (_, run, result, tester) = arrange(&app).await;
    let bytes: Vec<u8> = (0..100u8).collect();
    let att = only(&upload_raw(&app, &tester, &run, &result, "r.bin", None, &bytes).await);
    let aid = att["id"].as_str().unwrap();

    let (status, h, got) = download(&app, &tester, aid, &[("range", "bytes=10-19")]).await;
    assert_eq!(status, StatusCode::PARTIAL_CONTENT);
    assert_eq!(got, &bytes[10..20]);
    assert_eq!(header(&h, "content-range"), "bytes 10-19/100");
    assert_eq!(header(&h, "content-length"), "10");

    let (status, h, got) = download(&app, &tester, aid, &[("range", "bytes=-5")]).await;
    assert_eq!(status, StatusCode::PARTIAL_CONTENT);
    assert_eq!(got, &bytes[95..]);
    assert_eq!(header(&h, "content-range"), "bytes 95-99/100");

    let (status, _, got) = download(&app, &tester, aid, &[("range", "bytes=90-")]).await;
    assert_eq!(status, StatusCode::PARTIAL_CONTENT);
    assert_eq!(got, &bytes[90..]);

    let (status, h, _) = download(&app, &tester, aid, &[("range", "bytes=100-")]).await;
    assert_eq!(status, StatusCode::RANGE_NOT_SATISFIABLE);
    assert_eq!(header(&h, "content-range"), "bytes */100");

    // Several ranges or a malformed one: the whole file.
    for range in ["bytes=0-1,5-6", "bytes=abc", "lines=1-2"] {
        let (status, _, got) = download(&app, &tester, aid, &[("range", range)]).await;
        assert_eq!(status, StatusCode::OK, "{range}");
        assert_eq!(got, bytes, "{range}");
    }
}

#[tokio::test]
async fn a_matching_etag_is_304() {
    let app = TestApp::new().await;
    let (_, run, result, tester) = arrange(&app).await;
    let att = only(
        &upload_raw(
            &app,
            &tester,
            &run,
            &result,
            "e.png",
            Some("image/png"),
            PNG,
        )
        .await,
    );
    let aid = att["id"].as_str().unwrap();
    let etag = format!("\"{}\"", sha256(PNG));
    let (status, h, bytes) = download(&app, &tester, aid, &[("if-none-match", &etag)]).await;
    assert_eq!(status, StatusCode::NOT_MODIFIED);
    assert!(bytes.is_empty());
    assert_eq!(header(&h, "etag"), etag);
    let (status, _, bytes) = download(&app, &tester, aid, &[("if-none-match", "\"other\"")]).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(bytes, PNG);
}

#[tokio::test]
async fn bad_names_are_refused_and_nothing_is_stored() {
    let app = TestApp::new().await;
    let (_, run, result, tester) = arrange(&app).await;
    let long = "a".repeat(256);
    for name in [
        "../etc/passwd",
        "a/b.png",
        "a\\b.png",
        "a\nb",
        "tab\there",
        "",
        " ",
        &long,
    ] {
        let r = upload_raw(&app, &tester, &run, &result, name, Some("image/png"), PNG).await;
        r.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
        assert_eq!(r.fields(), ["name"], "{name:?}");
    }
    // 255 bytes of multi-byte characters is the most.
    let r = upload_raw(&app, &tester, &run, &result, &"é".repeat(128), None, PNG).await;
    r.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    // The same in a multipart filename.
    let r = upload_multipart(
        &app,
        &tester,
        &run,
        &result,
        &[("file", Some("a\\b"), None, PNG)],
    )
    .await;
    r.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    assert_eq!(r.fields(), ["file[0].filename"]);
    let r = upload_multipart(&app, &tester, &run, &result, &[("file", None, None, PNG)]).await;
    r.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    assert_nothing_stored(&app, &run, &result).await;
}

#[tokio::test]
async fn bad_requests_are_refused_with_their_field_named() {
    let app = TestApp::new().await;
    let (_, run, result, tester) = arrange(&app).await;
    // A raw body without a name.
    let r = app
        .raw(
            "POST",
            &upload_path(&run, &result),
            &tester,
            Some("image/png"),
            PNG.to_vec(),
        )
        .await;
    r.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    assert_eq!(r.fields(), ["name"]);
    // Not a MIME type.
    let r = upload_raw(&app, &tester, &run, &result, "a.png", Some("png"), PNG).await;
    r.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    assert_eq!(r.fields(), ["Content-Type"]);
    let r = upload_multipart(
        &app,
        &tester,
        &run,
        &result,
        &[("file", Some("a.png"), Some("not a type"), PNG)],
    )
    .await;
    r.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    assert_eq!(r.fields(), ["file[0].content_type"]);
    // No file part; an unknown part.
    let r = upload_multipart(&app, &tester, &run, &result, &[("other", None, None, b"x")]).await;
    r.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    assert_eq!(r.fields(), ["other"]);
    let (ct, _) = multipart(&[]);
    let r = app
        .raw(
            "POST",
            &upload_path(&run, &result),
            &tester,
            Some(&ct),
            "--verdict-test-boundary-7d3f--\r\n",
        )
        .await;
    r.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    assert_eq!(r.fields(), ["file"]);
    // A broken multipart body.
    let r = app
        .raw(
            "POST",
            &upload_path(&run, &result),
            &tester,
            Some(&ct),
            "--verdict-test-boundary-7d3f\r\nbroken",
        )
        .await;
    r.assert_error(StatusCode::BAD_REQUEST, "malformed_request");
    // An unknown query parameter.
    let r = app
        .raw(
            "POST",
            &format!("{}?name=a&x=1", upload_path(&run, &result)),
            &tester,
            None,
            PNG.to_vec(),
        )
        .await;
    r.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    assert_eq!(r.fields(), ["x"]);
    assert_nothing_stored(&app, &run, &result).await;
}

#[tokio::test]
async fn an_upload_over_the_limit_is_413_and_nothing_is_stored() {
    let app = TestApp::with_limits(Limits {
        max_attachment_bytes: 1000,
        ..Limits::default()
    })
    .await;
    let (_, run, result, tester) = arrange(&app).await;
    let big = vec![7u8; 1001];
    // Raw, with its length known in advance.
    let r = upload_raw(&app, &tester, &run, &result, "big.bin", None, &big).await;
    r.assert_error(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large");
    // Raw, streamed without a length: found over the limit while spooled.
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> = vec![Ok(vec![1u8; 600]), Ok(vec![2u8; 600])];
    let stream = Body::from_stream(futures_util::stream::iter(chunks));
    let path = format!("{}?name=stream.bin", upload_path(&run, &result));
    let r = app.raw("POST", &path, &tester, None, stream).await;
    r.assert_error(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large");
    // Multipart: two files that together are over it.
    let half = vec![3u8; 600];
    let r = upload_multipart(
        &app,
        &tester,
        &run,
        &result,
        &[
            ("file", Some("one.bin"), None, &half),
            ("file", Some("two.bin"), None, &half),
        ],
    )
    .await;
    r.assert_error(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large");
    assert_nothing_stored(&app, &run, &result).await;
    // At the limit is fine.
    let r = upload_raw(&app, &tester, &run, &result, "fits.bin", None, &big[..1000]).await;
    only(&r);
}

#[tokio::test]
async fn uploads_need_a_tester_and_an_open_run() {
    let app = TestApp::new().await;
    let (project, run, result, tester) = arrange(&app).await;
    let viewer = app.member(&project, "vic", "viewer").await;
    let (_, stranger) = app.user("stranger").await;
    let r = upload_raw(&app, &viewer, &run, &result, "a.png", None, PNG).await;
    r.assert_error(StatusCode::FORBIDDEN, "forbidden");
    let r = upload_raw(&app, &stranger, &run, &result, "a.png", None, PNG).await;
    r.assert_error(StatusCode::NOT_FOUND, "not_found");
    // Unknown or malformed ids.
    for path in [
        upload_path("run_999", &result),
        upload_path(&run, "res_999"),
        upload_path(&run, "nope"),
    ] {
        let r = app
            .raw(
                "POST",
                &format!("{path}?name=a.png"),
                &tester,
                None,
                PNG.to_vec(),
            )
            .await;
        r.assert_error(StatusCode::NOT_FOUND, "not_found");
        let r = app.get(&path, &tester).await;
        r.assert_error(StatusCode::NOT_FOUND, "not_found");
    }
    let att = only(&upload_raw(&app, &tester, &run, &result, "kept.png", None, PNG).await);
    app.close_run(&run).await;
    let r = upload_raw(&app, &tester, &run, &result, "late.png", None, b"late").await;
    r.assert_error(StatusCode::CONFLICT, "run_closed");
    // What was attached is still there, and readable.
    let listed = app.get(&upload_path(&run, &result), &viewer).await;
    assert_eq!(listed.data(), &json!([att]));
    assert_eq!(stored_files(&app).await, 1);
}

#[tokio::test]
async fn attachments_are_hidden_from_non_members_and_unknown_ids_are_404() {
    let app = TestApp::new().await;
    let (_, run, result, tester) = arrange(&app).await;
    let (_, stranger) = app.user("stranger").await;
    let att = only(&upload_raw(&app, &tester, &run, &result, "a.png", None, PNG).await);
    let aid = att["id"].as_str().unwrap();
    for path in [
        format!("/v1/attachments/{aid}"),
        format!("/v1/attachments/{aid}/content"),
        upload_path(&run, &result),
    ] {
        app.get(&path, &stranger)
            .await
            .assert_error(StatusCode::NOT_FOUND, "not_found");
    }
    app.delete(&format!("/v1/attachments/{aid}"), &stranger)
        .await
        .assert_error(StatusCode::NOT_FOUND, "not_found");
    for bad in ["att_999", "att_0", "nope", "res_001"] {
        for path in [
            format!("/v1/attachments/{bad}"),
            format!("/v1/attachments/{bad}/content"),
        ] {
            app.get(&path, &app.admin)
                .await
                .assert_error(StatusCode::NOT_FOUND, "not_found");
        }
        app.delete(&format!("/v1/attachments/{bad}"), &app.admin)
            .await
            .assert_error(StatusCode::NOT_FOUND, "not_found");
    }
}

#[tokio::test]
async fn managers_and_uploaders_delete_other_testers_and_viewers_may_not() {
    let app = TestApp::new().await;
    let (project, run, result, tester) = arrange(&app).await;
    let other = app.member(&project, "otto", "tester").await;
    let viewer = app.member(&project, "vic", "viewer").await;
    let manager = app.member(&project, "mia", "manager").await;
    let mine = only(&upload_raw(&app, &tester, &run, &result, "mine.png", None, b"mine").await);
    let theirs =
        only(&upload_raw(&app, &other, &run, &result, "theirs.png", None, b"theirs").await);
    let path = |a: &Value| format!("/v1/attachments/{}", a["id"].as_str().unwrap());

    app.delete(&path(&theirs), &tester)
        .await
        .assert_error(StatusCode::FORBIDDEN, "forbidden");
    app.delete(&path(&mine), &viewer)
        .await
        .assert_error(StatusCode::FORBIDDEN, "forbidden");
    let r = app.delete(&path(&mine), &tester).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.body);
    app.get(&path(&mine), &tester)
        .await
        .assert_error(StatusCode::NOT_FOUND, "not_found");
    // In a closed run too (to free space).
    app.close_run(&run).await;
    let r = app.delete(&path(&theirs), &manager).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.body);
    let listed = app.get(&upload_path(&run, &result), &viewer).await;
    assert_eq!(listed.data(), &json!([]));
}

#[tokio::test]
async fn an_uploader_who_became_a_viewer_may_not_delete() {
    let app = TestApp::new().await;
    let (project, run, result, _) = arrange(&app).await;
    let (uid, token) = app.member_with_id(&project, "demoted", "tester").await;
    let att = only(&upload_raw(&app, &token, &run, &result, "a.png", None, PNG).await);
    app.put(
        &format!("/v1/projects/{project}/members/{uid}"),
        &app.admin,
        json!({"role": "viewer"}),
    )
    .await;
    app.delete(
        &format!("/v1/attachments/{}", att["id"].as_str().unwrap()),
        &token,
    )
    .await
    .assert_error(StatusCode::FORBIDDEN, "forbidden");
}

#[tokio::test]
async fn output_is_included_only_when_asked_for() {
    let app = TestApp::new().await;
    let (_, run, result, _) = arrange(&app).await;
    let rid: verdict_store::RunId = run.parse().unwrap();
    let id: verdict_store::ResultId = result.parse().unwrap();
    let admin: verdict_store::UserId = app.admin_id().await.parse().unwrap();
    let mut execution =
        verdict_store::Execution::new(verdict_store::Status::Failed, None, Some(10));
    execution.output = Some("stdout line\nAssertionError: boom".into());
    app.store
        .record_result(rid, id, execution, admin, verdict_store::Timestamp::now())
        .await
        .unwrap();

    let one = format!("/v1/runs/{run}/results/{result}");
    let plain = app.get(&one, &app.admin).await;
    assert!(plain.data().get("output").is_none(), "{}", plain.body);
    let with = app.get(&format!("{one}?include=output"), &app.admin).await;
    assert_eq!(with.data()["output"], "stdout line\nAssertionError: boom");

    let list = app
        .get(
            &format!("/v1/runs/{run}/results?include=output"),
            &app.admin,
        )
        .await;
    let rows = list.data().as_array().unwrap();
    let row = rows.iter().find(|r| r["id"] == result.as_str()).unwrap();
    assert_eq!(row["output"], "stdout line\nAssertionError: boom");
    let other = rows.iter().find(|r| r["id"] != result.as_str()).unwrap();
    assert_eq!(other["output"], Value::Null);
    assert!(other.as_object().unwrap().contains_key("output"));
    let list = app
        .get(&format!("/v1/runs/{run}/results"), &app.admin)
        .await;
    assert!(list.data()[0].get("output").is_none());

    let history = app
        .get(&format!("{one}/history?include=output"), &app.admin)
        .await;
    assert_eq!(
        history.data()[0]["output"],
        "stdout line\nAssertionError: boom"
    );
    let history = app.get(&format!("{one}/history"), &app.admin).await;
    assert!(history.data()[0].get("output").is_none());

    for path in [
        format!("{one}?include=notes"),
        format!("/v1/runs/{run}/results?include=output,x"),
        format!("{one}/history?include="),
    ] {
        let r = app.get(&path, &app.admin).await;
        r.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
        assert_eq!(r.fields(), ["include"], "{path}");
    }
    for path in [
        format!("/v1/runs/{run}/results?include=output&per_page=51"),
        format!("{one}/history?include=output&per_page=51"),
    ] {
        let r = app.get(&path, &app.admin).await;
        r.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
        assert_eq!(r.fields(), ["per_page"], "{path}");
    }
    let r = app
        .get(
            &format!("/v1/runs/{run}/results?include=output&per_page=50"),
            &app.admin,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
}

#[tokio::test]
async fn the_result_list_filters_by_exact_case_key() {
    let app = TestApp::new().await;
    let (_, cases, run) = app.seeded(3).await;
    let r = app
        .get(&format!("/v1/runs/{run}/results?key=k2"), &app.admin)
        .await;
    let rows = r.data().as_array().unwrap();
    assert_eq!(rows.len(), 1, "{}", r.body);
    assert_eq!(rows[0]["test_case_id"], cases[1].as_str());
    assert_eq!(r.body["meta"]["total"], 1);
    for other in ["K2", "k", "k2 "] {
        let r = app
            .get(
                &format!("/v1/runs/{run}/results?key={}", encode(other)),
                &app.admin,
            )
            .await;
        assert_eq!(r.data(), &json!([]), "{other:?}");
    }
}
