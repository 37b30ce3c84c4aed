//! The files a report's testcases name with `[[ATTACHMENT|path]]` lines in
//! their output (the Jenkins JUnit attachments convention; Playwright writes
//! them, with `\` separators on Windows), found and checked before anything
//! is sent, then attached to each testcase's result after the results are in.
//!
//! A path is read relative to its report's folder and must lead, once
//! symbolic links and `..` are resolved, to a file inside the attachments
//! root: a report cannot make the upload read `/etc/passwd` or `~/.ssh`.
//! A refused or missing file is named with its testcase; the other files
//! still go up. Retries are safe: the server answers a file sent twice to
//! the same execution with the attachment it already has, and a file
//! whose name and bytes the result already holds is not sent again, so
//! re-running an upload into the same run attaches nothing twice.

use std::collections::{HashMap, HashSet};
use std::path::{Component, Path, PathBuf};

use reqwest::{Method, StatusCode};
use serde_json::Value;
use sha2::{Digest, Sha256};
use verdict_junit::TestCase;

use super::http::{Client, Retry};
use super::{Failure, encode};

/// The line a testcase's output names a file with.
const OPEN: &str = "[[ATTACHMENT|";
const CLOSE: &str = "]]";

/// A file to attach to a testcase's result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Wanted {
    /// The key of the testcase's case (the one its result is found by).
    pub key: String,
    /// The path as the report wrote it.
    pub written: String,
    /// Where it is (canonical, inside the root).
    pub path: PathBuf,
    /// The attachment's name: the file's name.
    pub name: String,
}

/// What the reports ask to attach, and a line for each file refused.
#[derive(Debug, Default)]
pub struct Plan {
    pub files: Vec<Wanted>,
    pub refused: Vec<String>,
}

/// The paths named by `[[ATTACHMENT|path]]` lines of `output`, as written
/// (trimmed; blank ones left out).
pub fn named_paths(output: &str) -> impl Iterator<Item = &str> {
    output.lines().filter_map(|line| {
        let inner = line.trim().strip_prefix(OPEN)?.strip_suffix(CLOSE)?.trim();
        (!inner.is_empty()).then_some(inner)
    })
}

/// The key the server files a testcase's result under: its `verdict_key`
/// property, else the testcase's own key.
pub fn result_key(tc: &TestCase) -> String {
    tc.property_values("verdict_key")
        .filter_map(verdict_junit::case_key)
        .last()
        .unwrap_or_else(|| tc.key())
}

/// The folder a report's relative paths start from.
fn folder_of(report: &Path) -> PathBuf {
    match report.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// Finds and checks every file the testcases of `reports` name. `root` must
/// exist; every file must be inside it.
pub fn plan(reports: &[(&Path, &[TestCase])], root: &Path) -> Result<Plan, Failure> {
    let root = root
        .canonicalize()
        .map_err(|e| Failure::usage(format!("--attachments-root {}: {e}", root.display())))?;
    let mut out = Plan::default();
    let mut seen: HashSet<(String, PathBuf)> = HashSet::new();
    for (report, testcases) in reports {
        let folder = folder_of(report);
        for tc in testcases.iter() {
            let Some(output) = tc.output.as_deref() else {
                continue;
            };
            let key = result_key(tc);
            for written in named_paths(output) {
                match check(&folder, written, &root) {
                    Ok((path, name)) => {
                        if seen.insert((key.clone(), path.clone())) {
                            out.files.push(Wanted {
                                key: key.clone(),
                                written: written.to_string(),
                                path,
                                name,
                            });
                        }
                    }
                    Err(why) => out.refused.push(format!(
                        "refused attachment {written:?} of testcase {key:?} ({}): {why}",
                        report.display()
                    )),
                }
            }
        }
    }
    Ok(out)
}

/// The canonical path and the name of the file `written` names, or why it
/// is refused.
fn check(folder: &Path, written: &str, root: &Path) -> Result<(PathBuf, String), String> {
    // Reports written on Windows separate with `\`.
    let relative = PathBuf::from(written.replace('\\', "/"));
    let joined = folder.join(&relative);
    let path = joined
        .canonicalize()
        .map_err(|e| format!("cannot read {}: {e}", joined.display()))?;
    if !path.starts_with(root) {
        return Err(format!(
            "{} is outside --attachments-root {}; not uploaded",
            path.display(),
            root.display()
        ));
    }
    if !path.is_file() {
        return Err(format!("{} is not a file", path.display()));
    }
    let name = match relative.components().next_back() {
        Some(Component::Normal(n)) => n.to_string_lossy().into_owned(),
        _ => path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
    };
    Ok((path, name))
}

/// The `Content-Type` a file is sent with, by its extension.
pub fn content_type(name: &str) -> &'static str {
    let ext = name
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default();
    match ext.as_str() {
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "svg" => "image/svg+xml",
        "txt" | "log" => "text/plain; charset=utf-8",
        "md" => "text/markdown; charset=utf-8",
        "html" | "htm" => "text/html; charset=utf-8",
        "json" => "application/json",
        "xml" => "application/xml",
        "zip" => "application/zip",
        "webm" => "video/webm",
        "mp4" => "video/mp4",
        _ => "application/octet-stream",
    }
}

/// What attaching came to.
#[derive(Debug, Default)]
pub struct Attached {
    pub attached: usize,
    /// Files the result already had (same name and bytes).
    pub already: usize,
    /// A line for each file that could not be attached.
    pub failed: Vec<String>,
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The id of the result of the case with `key` in `run`.
async fn result_id(client: &Client, run: &str, key: &str) -> Result<String, String> {
    let found: Value = client
        .get(&format!("/v1/runs/{run}/results?key={}", encode(key)))
        .await
        .map_err(|f| f.message)?;
    found["data"]
        .as_array()
        .and_then(|list| list.first())
        .and_then(|r| r["id"].as_str())
        .map(str::to_string)
        .ok_or_else(|| "the run has no result for this testcase".to_string())
}

/// The (name, sha256) of every attachment the result has.
async fn existing(
    client: &Client,
    run: &str,
    result: &str,
) -> Result<HashSet<(String, String)>, String> {
    let list: Value = client
        .get(&format!("/v1/runs/{run}/results/{result}/attachments"))
        .await
        .map_err(|f| f.message)?;
    Ok(list["data"]
        .as_array()
        .map(|all| {
            all.iter()
                .filter_map(|a| {
                    Some((
                        a["name"].as_str()?.to_string(),
                        a["sha256"].as_str()?.to_string(),
                    ))
                })
                .collect()
        })
        .unwrap_or_default())
}

/// Attaches `files` to their testcases' results in `run`, through the
/// client's retries; one file failing does not stop the others.
pub async fn upload(
    client: &Client,
    run: &str,
    files: &[Wanted],
    on_retry: &mut dyn FnMut(&Retry),
) -> Attached {
    let mut out = Attached::default();
    // Keys in the order the reports name them.
    let mut order: Vec<&str> = Vec::new();
    let mut by_key: HashMap<&str, Vec<&Wanted>> = HashMap::new();
    for w in files {
        let list = by_key.entry(&w.key).or_default();
        if list.is_empty() {
            order.push(&w.key);
        }
        list.push(w);
    }
    for key in order {
        let wanted = by_key.remove(key).unwrap_or_default();
        let fail_all = |out: &mut Attached, why: &str| {
            for w in &wanted {
                out.failed
                    .push(format!("{:?} of testcase {key:?}: {why}", w.written));
            }
        };
        let result = match result_id(client, run, key).await {
            Ok(id) => id,
            Err(why) => {
                fail_all(&mut out, &why);
                continue;
            }
        };
        let mut have = match existing(client, run, &result).await {
            Ok(have) => have,
            Err(why) => {
                fail_all(&mut out, &why);
                continue;
            }
        };
        for w in wanted {
            let bytes = match tokio::fs::read(&w.path).await {
                Ok(b) => b,
                Err(e) => {
                    out.failed.push(format!(
                        "{:?} of testcase {key:?}: cannot read {}: {e}",
                        w.written,
                        w.path.display()
                    ));
                    continue;
                }
            };
            let digest = hex(&Sha256::digest(&bytes));
            if have.contains(&(w.name.clone(), digest.clone())) {
                out.already += 1;
                continue;
            }
            let path = format!(
                "/v1/runs/{run}/results/{result}/attachments?name={}",
                encode(&w.name)
            );
            let sent = client
                .send_bytes::<Value>(
                    Method::POST,
                    &path,
                    Some((content_type(&w.name), bytes)),
                    None,
                    on_retry,
                )
                .await;
            match sent {
                Ok(_) => {
                    out.attached += 1;
                    have.insert((w.name.clone(), digest));
                }
                Err(f) => {
                    let why = if f.status == Some(StatusCode::PAYLOAD_TOO_LARGE) {
                        format!("too large for the server: {}", f.message)
                    } else {
                        f.message
                    };
                    out.failed
                        .push(format!("{:?} of testcase {key:?}: {why}", w.written));
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attachment_lines_are_found_and_trimmed() {
        let output = "noise\n  [[ATTACHMENT|a\\b.png]]  \n[[ATTACHMENT| ]]\n\
                      text [[ATTACHMENT|not at start]]\n[[ATTACHMENT|c.txt]]";
        let got: Vec<&str> = named_paths(output).collect();
        assert_eq!(got, ["a\\b.png", "c.txt"]);
    }

    #[test]
    fn paths_are_read_from_the_report_folder_and_kept_inside_the_root() {
        let work = tempfile::tempdir().expect("tempdir");
        let root = work.path().join("root");
        let shots = root.join("shots");
        std::fs::create_dir_all(&shots).expect("mkdir");
        std::fs::write(shots.join("a.png"), b"png").expect("write");
        std::fs::write(work.path().join("secret.txt"), b"secret").expect("write");
        #[cfg(unix)]
        std::os::unix::fs::symlink(work.path().join("secret.txt"), shots.join("link.txt"))
            .expect("symlink");
        let outside = work.path().join("secret.txt");
        let output = format!(
            "[[ATTACHMENT|shots\\a.png]]\n[[ATTACHMENT|./shots/a.png]]\n[[ATTACHMENT|../secret.txt]]\n\
             [[ATTACHMENT|{}]]\n[[ATTACHMENT|shots/link.txt]]\n[[ATTACHMENT|shots/none.png]]\n[[ATTACHMENT|shots]]",
            outside.display()
        );
        let tc = TestCase {
            classname: Some("C".into()),
            name: Some("t".into()),
            suite: None,
            time_ms: None,
            outcome: verdict_junit::Outcome::Passed,
            attempts: Vec::new(),
            properties: Vec::new(),
            output: Some(output),
        };
        let report = root.join("report.xml");
        let cases = [tc];
        let plan = plan(&[(report.as_path(), &cases[..])], &root).expect("plan");
        // The same file named twice is attached once.
        assert_eq!(plan.files.len(), 1, "{:?}", plan.files);
        assert_eq!(plan.files[0].name, "a.png");
        assert_eq!(plan.files[0].key, "C.t");
        let refused = plan.refused.join("\n");
        let expected_refusals = if cfg!(unix) { 5 } else { 4 };
        assert_eq!(plan.refused.len(), expected_refusals, "{refused}");
        assert!(
            refused.contains("\"../secret.txt\" of testcase \"C.t\""),
            "{refused}"
        );
        assert!(refused.contains("outside --attachments-root"), "{refused}");
        assert!(refused.contains("shots/none.png"), "{refused}");
        assert!(refused.contains("is not a file"), "{refused}");
        assert!(super::plan(&[], &work.path().join("missing")).is_err());
    }

    #[test]
    fn content_types_by_extension() {
        assert_eq!(content_type("shot.PNG"), "image/png");
        assert_eq!(content_type("a.jpeg"), "image/jpeg");
        assert_eq!(content_type("trace.zip"), "application/zip");
        assert_eq!(content_type("video.webm"), "video/webm");
        assert_eq!(
            content_type("error-context.md"),
            "text/markdown; charset=utf-8"
        );
        assert_eq!(content_type("run.log"), "text/plain; charset=utf-8");
        assert_eq!(content_type("noext"), "application/octet-stream");
        assert_eq!(content_type("x.exe"), "application/octet-stream");
    }
}
