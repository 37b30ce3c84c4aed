//! Attachments: a 256 MiB file uploaded as the raw body of
//! `POST /v1/runs/:rid/results/:id/attachments` (streamed from disk, never
//! held in the bench's memory) and downloaded from
//! `GET /v1/attachments/:aid/content` into a file, in MiB/s, against a raw
//! file copy of the same file on the same disk (`std::fs::copy` and an
//! fsync, measured in the same run, alternating with the HTTP
//! repetitions); and the memory the upload adds to the server (its peak
//! resident memory during the uploads minus before).

use std::path::Path;
use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{Value, json};
use tokio::io::AsyncWriteExt;

use super::Ctx;
use crate::client::id;
use crate::report::{Row, Summary};
use crate::server::TOKEN;

/// The file's size: the server's default upload limit.
const FILE_BYTES: u64 = 256 * 1024 * 1024;
/// Target for the memory a 256 MiB upload adds to the server, in MiB.
const ADDED_MB: f64 = 32.0;
const MIB: f64 = 1024.0 * 1024.0;

pub async fn run(ctx: &mut Ctx<'_>) -> Result<Vec<Row>, String> {
    // Beside the server's database and attachment folder: the same disk.
    let dir = tempfile::tempdir().map_err(|e| format!("cannot make a temp dir: {e}"))?;
    let source = dir.path().join("big.bin");
    write_file(&source)?;
    let reps = if ctx.quick { 1 } else { 3 };

    let project = ctx.api.project("attachments").await?;
    ctx.api.seed_cases(&project, "att", 1).await?;
    let run = ctx.api.run(&project, "attachments", None).await?;
    let results = ctx
        .api
        .send(Method::GET, &format!("/v1/runs/{run}/results"), None)
        .await?;
    let result = id(&results["data"][0], "result")?;
    let path = format!("/v1/runs/{run}/results/{result}/attachments");

    let mut copy_rates = Vec::new();
    let mut up_rates = Vec::new();
    let mut down_rates = Vec::new();
    let before = ctx.server.rss_mb().unwrap_or(0.0);
    let mut up_peak_mb: f64 = 0.0;
    let mut down_peak_mb: f64 = 0.0;
    for rep in 0..reps {
        let copy = dir.path().join("copy.bin");
        let took = raw_copy(&source, &copy)?;
        copy_rates.push(rate(took));
        let _ = std::fs::remove_file(&copy);

        let peak = ctx.peak();
        let (took, attachment) = upload(ctx, &path, &source, &format!("big-{rep}.bin")).await?;
        up_peak_mb = up_peak_mb.max(peak.stop());
        up_rates.push(rate(took));
        if attachment["size"] != FILE_BYTES {
            return Err(format!("the upload answered {attachment}"));
        }
        let aid = id(&attachment, "attachment")?;

        let target = dir.path().join("download.bin");
        let peak = ctx.peak();
        let took = download(ctx, &aid, &target).await?;
        down_peak_mb = down_peak_mb.max(peak.stop());
        down_rates.push(rate(took));
        if !same_bytes(&source, &target)? {
            return Err("the downloaded bytes differ from the uploaded ones".into());
        }
        let _ = std::fs::remove_file(&target);
        ctx.alive()?;
    }

    let copy = Summary::of(&copy_rates).median;
    let spread = |rates: &[f64]| {
        let s = Summary::of(rates);
        format!("{:.0}..{:.0}", s.min, s.max)
    };
    let mut up = Row::value(
        ctx.name("attachment upload 256 MiB (HTTP, raw body)"),
        "MiB/s",
        Summary::of(&up_rates).median,
    );
    up.spread = spread(&up_rates);
    up.baseline = Some(copy);
    up.peak_rss_mb = Some(up_peak_mb);
    up.samples = up_rates.clone();
    up.extra =
        json!({ "baseline": "std::fs::copy + fsync, same disk", "baseline_samples": copy_rates });
    let mut down = Row::value(
        ctx.name("attachment download 256 MiB (HTTP, to a file)"),
        "MiB/s",
        Summary::of(&down_rates).median,
    );
    down.spread = spread(&down_rates);
    down.baseline = Some(copy);
    down.peak_rss_mb = Some(down_peak_mb);
    down.samples = down_rates;
    down.extra = json!({ "baseline": "std::fs::copy + fsync, same disk" });
    let added = up_peak_mb - before;
    let mut mem = Row::value(
        ctx.name("attachment upload 256 MiB: memory added (peak − before)"),
        "MB",
        added,
    )
    .target(format!("< {ADDED_MB:.0} MB"), added < ADDED_MB);
    mem.peak_rss_mb = Some(up_peak_mb);
    mem.extra = json!({ "rss_before_mb": before });
    Ok(vec![up, down, mem])
}

fn rate(took: Duration) -> f64 {
    FILE_BYTES as f64 / MIB / took.as_secs_f64()
}

/// Bytes that do not compress or repeat, written in 1 MiB pieces.
fn write_file(path: &Path) -> Result<(), String> {
    use std::io::Write;
    let err = |e: std::io::Error| format!("{}: {e}", path.display());
    let mut file = std::io::BufWriter::new(std::fs::File::create(path).map_err(err)?);
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut chunk = vec![0u8; 1024 * 1024];
    for _ in 0..FILE_BYTES / chunk.len() as u64 {
        for word in chunk.chunks_exact_mut(8) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            word.copy_from_slice(&x.to_le_bytes());
        }
        file.write_all(&chunk).map_err(err)?;
    }
    file.into_inner()
        .map_err(|e| err(e.into_error()))?
        .sync_all()
        .map_err(err)
}

/// The raw baseline: a copy on the same disk, made durable as the server
/// makes a stored file durable.
fn raw_copy(source: &Path, target: &Path) -> Result<Duration, String> {
    let err = |e: std::io::Error| format!("copying to {}: {e}", target.display());
    let start = Instant::now();
    std::fs::copy(source, target).map_err(err)?;
    std::fs::File::open(target)
        .and_then(|f| f.sync_all())
        .map_err(err)?;
    Ok(start.elapsed())
}

/// Streams the file as the request body; the time covers sending it and
/// the server's answer (it answers once the file is stored).
async fn upload(
    ctx: &Ctx<'_>,
    path: &str,
    source: &Path,
    name: &str,
) -> Result<(Duration, Value), String> {
    let file = tokio::fs::File::open(source)
        .await
        .map_err(|e| format!("{}: {e}", source.display()))?;
    let body = reqwest::Body::wrap_stream(tokio_util::io::ReaderStream::with_capacity(
        file,
        256 * 1024,
    ));
    let start = Instant::now();
    let res = ctx
        .api
        .http
        .post(format!("{}{path}", ctx.api.base))
        .query(&[("name", name)])
        .bearer_auth(TOKEN)
        .header("content-type", "application/octet-stream")
        .header("content-length", FILE_BYTES)
        .body(body)
        .send()
        .await
        .map_err(|e| format!("upload: {e}"))?;
    let status = res.status();
    let answer: Value = res.json().await.unwrap_or(Value::Null);
    let took = start.elapsed();
    if status.as_u16() != 201 {
        return Err(format!("upload: {status} {answer}"));
    }
    Ok((took, answer["data"][0].clone()))
}

/// Streams the content into a file on the same disk, synced at the end
/// (as the raw copy is).
async fn download(ctx: &Ctx<'_>, aid: &str, target: &Path) -> Result<Duration, String> {
    let err = |e: std::io::Error| format!("{}: {e}", target.display());
    let start = Instant::now();
    let mut res = ctx
        .api
        .http
        .get(format!("{}/v1/attachments/{aid}/content", ctx.api.base))
        .bearer_auth(TOKEN)
        .send()
        .await
        .map_err(|e| format!("download: {e}"))?;
    if !res.status().is_success() {
        return Err(format!("download: {}", res.status()));
    }
    let mut file = tokio::fs::File::create(target).await.map_err(err)?;
    while let Some(chunk) = res.chunk().await.map_err(|e| format!("download: {e}"))? {
        file.write_all(&chunk).await.map_err(err)?;
    }
    file.sync_all().await.map_err(err)?;
    Ok(start.elapsed())
}

fn same_bytes(a: &Path, b: &Path) -> Result<bool, String> {
    use std::io::Read;
    let open = |p: &Path| std::fs::File::open(p).map_err(|e| format!("{}: {e}", p.display()));
    let (mut fa, mut fb) = (open(a)?, open(b)?);
    let (mut ba, mut bb) = (vec![0u8; 1 << 20], vec![0u8; 1 << 20]);
    loop {
        let na = read_full(&mut fa, &mut ba).map_err(|e| e.to_string())?;
        let nb = read_full(&mut fb, &mut bb).map_err(|e| e.to_string())?;
        if na != nb || ba[..na] != bb[..nb] {
            return Ok(false);
        }
        if na == 0 {
            return Ok(true);
        }
    }

    fn read_full(f: &mut std::fs::File, buf: &mut [u8]) -> std::io::Result<usize> {
        let mut n = 0;
        while n < buf.len() {
            match f.read(&mut buf[n..])? {
                0 => break,
                k => n += k,
            }
        }
        Ok(n)
    }
}
