//! The benchmark's HTTP client: requests with the admin token, timed
//! sends of pre-encoded bodies, and the seeding calls (projects, cases in
//! 50,000-case bulk upserts, runs).

use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{Value, json};

use crate::server::TOKEN;

/// Most cases per seeding request (the server's default bulk limit).
pub const SEED_CHUNK: usize = 50_000;

#[derive(Clone)]
pub struct Api {
    pub http: reqwest::Client,
    pub base: String,
}

/// A fresh client with its own connection pool (one keep-alive connection
/// when used sequentially).
pub fn http_client() -> Result<reqwest::Client, String> {
    reqwest::Client::builder()
        .pool_max_idle_per_host(1)
        .timeout(Duration::from_secs(600))
        .build()
        .map_err(|e| format!("cannot build an HTTP client: {e}"))
}

impl Api {
    pub fn new(base: &str) -> Result<Api, String> {
        Ok(Api {
            http: http_client()?,
            base: base.to_string(),
        })
    }

    /// Sends `body` (already encoded) and reads the whole answer; the time
    /// covers sending, the server's work and receiving, not parsing.
    pub async fn timed(
        &self,
        method: Method,
        path: &str,
        content_type: &str,
        body: Option<Vec<u8>>,
    ) -> Result<(Duration, Value), String> {
        let mut req = self
            .http
            .request(method.clone(), format!("{}{path}", self.base))
            .bearer_auth(TOKEN);
        if let Some(b) = body {
            req = req.header("content-type", content_type).body(b);
        }
        let start = Instant::now();
        let res = req
            .send()
            .await
            .map_err(|e| format!("{method} {path}: {e}"))?;
        let status = res.status();
        let bytes = res
            .bytes()
            .await
            .map_err(|e| format!("{method} {path}: {e}"))?;
        let took = start.elapsed();
        let value: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        if !status.is_success() {
            let text = String::from_utf8_lossy(&bytes);
            let cut: String = text.chars().take(500).collect();
            return Err(format!("{method} {path}: {status} {cut}"));
        }
        Ok((took, value))
    }

    /// A JSON request; the answer's body.
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<Value, String> {
        let bytes = match body {
            Some(b) => Some(serde_json::to_vec(b).map_err(|e| e.to_string())?),
            None => None,
        };
        Ok(self.timed(method, path, "application/json", bytes).await?.1)
    }

    pub async fn project(&self, name: &str) -> Result<String, String> {
        let p = self
            .send(Method::POST, "/v1/projects", Some(&json!({ "name": name })))
            .await?;
        id(&p["data"], "project")
    }

    /// Upserts cases (`{title, key, suite}`) in chunks; their ids in order.
    pub async fn upsert_cases(
        &self,
        project: &str,
        cases: Vec<Value>,
    ) -> Result<Vec<String>, String> {
        let mut ids = Vec::with_capacity(cases.len());
        for chunk in cases.chunks(SEED_CHUNK) {
            let r = self
                .send(
                    Method::POST,
                    &format!("/v1/projects/{project}/cases/bulk"),
                    Some(&json!({ "cases": chunk })),
                )
                .await?;
            for case in r["data"]["cases"]
                .as_array()
                .ok_or("no cases in the answer")?
            {
                ids.push(id(case, "case")?);
            }
        }
        Ok(ids)
    }

    /// `n` cases keyed `{prefix}.k{i}`.
    pub async fn seed_cases(
        &self,
        project: &str,
        prefix: &str,
        n: usize,
    ) -> Result<Vec<String>, String> {
        let cases = (0..n)
            .map(|i| json!({ "title": format!("Case {i}"), "key": format!("{prefix}.k{i}") }))
            .collect();
        self.upsert_cases(project, cases).await
    }

    /// A run over `cases`, or over every case of the project when `None`.
    pub async fn run(
        &self,
        project: &str,
        name: &str,
        cases: Option<&[String]>,
    ) -> Result<String, String> {
        let mut body = json!({ "name": name });
        if let Some(c) = cases {
            body["case_ids"] = json!(c);
        }
        let r = self
            .send(
                Method::POST,
                &format!("/v1/projects/{project}/runs"),
                Some(&body),
            )
            .await?;
        id(&r["data"], "run")
    }
}

/// The `id` of an answer's object.
pub fn id(v: &Value, what: &str) -> Result<String, String> {
    v["id"]
        .as_str()
        .map(str::to_string)
        .ok_or_else(|| format!("no {what} id in {v}"))
}

/// The number after an id's prefix (`run_042` → 42).
pub fn db_id(id: &str) -> Result<i64, String> {
    id.rsplit('_')
        .next()
        .and_then(|n| n.parse().ok())
        .ok_or_else(|| format!("not an id: {id}"))
}
