//! `GET /docs`: the OpenAPI document rendered as one HTML page on the
//! server — operations grouped by tag, their parameters, bodies, answers and
//! examples, then every component schema. The stylesheet is compiled into
//! the binary and served at `/docs/docs.css`; the page has no script and no
//! inline style (the CSP forbids both) and loads nothing from elsewhere.
//! Every text taken from the document is escaped.

use std::fmt::Write;
use std::sync::LazyLock;

use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde_json::Value;

const STYLESHEET: &str = include_str!("docs.css");
const METHODS: [&str; 5] = ["get", "post", "put", "patch", "delete"];

/// Escapes text for HTML content and attribute values.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Escaped prose, with `code` spans kept as code.
fn prose(s: &str) -> String {
    escape(s)
        .split('`')
        .enumerate()
        .map(|(i, part)| {
            if i % 2 == 1 {
                format!("<code>{part}</code>")
            } else {
                part.to_string()
            }
        })
        .collect()
}

/// Pretty JSON, escaped, with references to component schemas as links.
fn json_block(value: &Value) -> String {
    let text = escape(&serde_json::to_string_pretty(value).unwrap_or_default());
    let marker = "&quot;#/components/schemas/";
    let mut out = String::with_capacity(text.len());
    let mut rest = text.as_str();
    while let Some(at) = rest.find(marker) {
        let after = &rest[at + marker.len()..];
        let Some(end) = after.find("&quot;") else {
            break;
        };
        let name = &after[..end];
        out.push_str(&rest[..at]);
        let _ = write!(
            out,
            "<a href=\"#schema-{name}\">&quot;#/components/schemas/{name}&quot;</a>"
        );
        rest = &after[end + "&quot;".len()..];
    }
    out.push_str(rest);
    format!("<pre>{out}</pre>")
}

fn str_of<'a>(v: &'a Value, key: &str) -> &'a str {
    v.get(key).and_then(Value::as_str).unwrap_or("")
}

fn anchor(op: &Value, method: &str, path: &str) -> String {
    match op.get("operationId").and_then(Value::as_str) {
        Some(id) => format!("op-{}", escape(id)),
        None => format!("op-{method}-{}", escape(path)),
    }
}

fn parameters(out: &mut String, op: &Value) {
    let Some(params) = op.get("parameters").and_then(Value::as_array) else {
        return;
    };
    out.push_str("<h4>Parameters</h4><table><tr><th>name</th><th>in</th><th>required</th><th>schema</th><th>description</th></tr>");
    for p in params {
        let required = if p.get("required") == Some(&Value::Bool(true)) {
            "yes"
        } else {
            "no"
        };
        let _ = write!(
            out,
            "<tr><td><code>{}</code></td><td>{}</td><td>{required}</td><td>{}</td><td>{}</td></tr>",
            escape(str_of(p, "name")),
            escape(str_of(p, "in")),
            json_block(p.get("schema").unwrap_or(&Value::Null)),
            prose(str_of(p, "description")),
        );
    }
    out.push_str("</table>");
}

/// Content by media type: its schema and examples.
fn content(out: &mut String, content: Option<&Value>) {
    let Some(content) = content.and_then(Value::as_object) else {
        return;
    };
    for (media, body) in content {
        let _ = write!(out, "<p class=\"media\"><code>{}</code></p>", escape(media));
        if let Some(schema) = body.get("schema") {
            out.push_str(&json_block(schema));
        }
        if let Some(example) = body.get("example") {
            out.push_str("<p class=\"label\">Example</p>");
            out.push_str(&json_block(example));
        }
        if let Some(examples) = body.get("examples").and_then(Value::as_object) {
            for (name, example) in examples {
                let _ = write!(out, "<p class=\"label\">Example: {}</p>", prose(name));
                out.push_str(&json_block(example.get("value").unwrap_or(example)));
            }
        }
    }
}

fn operation(out: &mut String, doc: &Value, method: &str, path: &str, op: &Value) {
    let _ = write!(
        out,
        "<section class=\"op\" id=\"{}\"><h3><span class=\"method {method}\">{}</span> <code>{}</code></h3>",
        anchor(op, method, path),
        method.to_uppercase(),
        escape(path),
    );
    let _ = write!(
        out,
        "<p class=\"summary\">{}</p>",
        prose(str_of(op, "summary"))
    );
    if !str_of(op, "description").is_empty() {
        let _ = write!(out, "<p>{}</p>", prose(str_of(op, "description")));
    }
    let secured = op
        .get("security")
        .and_then(Value::as_array)
        .is_some_and(|s| !s.is_empty());
    out.push_str(if secured {
        "<p class=\"auth\">Needs a token: <code>Authorization: Bearer vdt_…</code></p>"
    } else {
        "<p class=\"auth\">No token needed.</p>"
    });
    parameters(out, op);
    if let Some(body) = op.get("requestBody") {
        out.push_str("<h4>Request body</h4>");
        if !str_of(body, "description").is_empty() {
            let _ = write!(out, "<p>{}</p>", prose(str_of(body, "description")));
        }
        content(out, body.get("content"));
    }
    out.push_str("<h4>Responses</h4>");
    if let Some(responses) = op.get("responses").and_then(Value::as_object) {
        for (status, response) in responses {
            let resolved = resolve_response(doc, response);
            let _ = write!(
                out,
                "<div class=\"response\"><p><span class=\"status s{}\">{}</span> {}</p>",
                escape(&status[..1]),
                escape(status),
                prose(str_of(resolved, "description")),
            );
            if resolved.get("content").is_some() && status.starts_with('2') {
                content(out, resolved.get("content"));
            }
            out.push_str("</div>");
        }
    }
    out.push_str("</section>");
}

/// A `$ref` to a component response, looked up.
fn resolve_response<'a>(doc: &'a Value, response: &'a Value) -> &'a Value {
    let Some(name) = response
        .get("$ref")
        .and_then(Value::as_str)
        .and_then(|r| r.strip_prefix("#/components/responses/"))
    else {
        return response;
    };
    doc.pointer(&format!("/components/responses/{name}"))
        .unwrap_or(response)
}

/// The whole page, from the document as JSON.
pub fn render(doc: &Value) -> String {
    let info = doc.get("info").unwrap_or(&Value::Null);
    let mut out = String::new();
    let _ = write!(
        out,
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>{} API {}</title><link rel=\"stylesheet\" href=\"/docs/docs.css\"></head><body><header><h1>{} API <span class=\"version\">{}</span></h1><p>{}</p><p>OpenAPI {}: <a href=\"/openapi.json\">/openapi.json</a></p></header>",
        escape(str_of(info, "title")),
        escape(str_of(info, "version")),
        escape(str_of(info, "title")),
        escape(str_of(info, "version")),
        prose(str_of(info, "description")),
        escape(str_of(doc, "openapi")),
    );
    let tags: Vec<(&str, &str)> = doc
        .get("tags")
        .and_then(Value::as_array)
        .map(|t| {
            t.iter()
                .map(|t| (str_of(t, "name"), str_of(t, "description")))
                .collect()
        })
        .unwrap_or_default();
    let paths = doc.get("paths").and_then(Value::as_object);
    let ops_of = |tag: &str| -> Vec<(&str, &str, &Value)> {
        let mut ops = Vec::new();
        for (path, item) in paths.into_iter().flatten() {
            for method in METHODS {
                if let Some(op) = item.get(method) {
                    let tagged = op
                        .get("tags")
                        .and_then(Value::as_array)
                        .is_some_and(|t| t.iter().any(|t| t.as_str() == Some(tag)));
                    if tagged {
                        ops.push((method, path.as_str(), op));
                    }
                }
            }
        }
        ops
    };
    out.push_str("<nav><h2>Contents</h2><ul>");
    for (tag, _) in &tags {
        let _ = write!(out, "<li><a href=\"#tag-{0}\">{0}</a><ul>", escape(tag));
        for (method, path, op) in ops_of(tag) {
            let _ = write!(
                out,
                "<li><a href=\"#{}\"><span class=\"method {method}\">{}</span> {}</a></li>",
                anchor(op, method, path),
                method.to_uppercase(),
                escape(path)
            );
        }
        out.push_str("</ul></li>");
    }
    out.push_str("<li><a href=\"#schemas\">schemas</a></li></ul></nav><main>");
    for (tag, description) in &tags {
        let _ = write!(
            out,
            "<section class=\"tag\" id=\"tag-{0}\"><h2>{0}</h2><p>{1}</p>",
            escape(tag),
            prose(description)
        );
        for (method, path, op) in ops_of(tag) {
            operation(&mut out, doc, method, path, op);
        }
        out.push_str("</section>");
    }
    out.push_str("<section id=\"schemas\"><h2>Schemas</h2>");
    if let Some(schemas) = doc
        .pointer("/components/schemas")
        .and_then(Value::as_object)
    {
        for (name, schema) in schemas {
            let _ = write!(
                out,
                "<section class=\"schema\" id=\"schema-{0}\"><h3>{0}</h3>{1}</section>",
                escape(name),
                json_block(schema)
            );
        }
    }
    out.push_str("</section></main></body></html>\n");
    out
}

/// This API, for people.
#[utoipa::path(
    get, path = "/docs", tag = "documentation", operation_id = "docs",
    summary = "This document as a web page",
    responses((status = 200, description = "The OpenAPI document rendered as HTML (no scripts; assets served by this server).",
        content_type = "text/html", body = String)),
)]
pub async fn page() -> Response {
    static PAGE: LazyLock<String> =
        LazyLock::new(|| render(&serde_json::to_value(super::document()).unwrap_or_default()));
    (
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        PAGE.as_str(),
    )
        .into_response()
}

/// The stylesheet of `/docs`.
#[utoipa::path(
    get, path = "/docs/docs.css", tag = "documentation", operation_id = "docs_stylesheet",
    summary = "The stylesheet of the web page",
    responses((status = 200, description = "CSS, compiled into the binary.", content_type = "text/css", body = String)),
)]
pub async fn stylesheet() -> Response {
    (
        [(header::CONTENT_TYPE, "text/css; charset=utf-8")],
        STYLESHEET,
    )
        .into_response()
}
