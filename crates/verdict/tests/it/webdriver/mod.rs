//! Real headless Chromium for the browser tests, driven over WebDriver by
//! fantoccini: one chromedriver per test on a free port, a fresh profile
//! directory, and helpers that wait for the page instead of sleeping.
//!
//! Without Debian's `chromium` and `chromium-driver` the tests print
//! "SKIPPED: …" and pass, unless `VERDICT_REQUIRE_BROWSER=1` says they must
//! run (CI sets it), in which case a missing browser fails them.

#![allow(dead_code)]

use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::actions::{InputSource, KeyAction, KeyActions};
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::json;

pub const CHROMIUM: &str = "/usr/bin/chromium";
pub const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// Whether the browser tests can run here; panics when they must and can't.
pub fn available(test: &str) -> bool {
    let missing: Vec<&str> = [CHROMIUM, CHROMEDRIVER]
        .into_iter()
        .filter(|p| !std::path::Path::new(p).exists())
        .collect();
    if missing.is_empty() {
        return true;
    }
    let why = format!(
        "{test}: {} not installed (apt-get install chromium chromium-driver)",
        missing.join(" and ")
    );
    if std::env::var("VERDICT_REQUIRE_BROWSER").as_deref() == Ok("1") {
        panic!("VERDICT_REQUIRE_BROWSER=1 but {why}");
    }
    println!("SKIPPED: {why}");
    false
}

/// Browsers are heavy and the machine small: one test drives one at a time.
pub static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

pub struct Browser {
    pub client: Client,
    driver: Child,
    _profile: tempfile::TempDir,
}

fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    listener.local_addr().expect("address").port()
}

impl Browser {
    /// A fresh headless Chromium with a 1280×900 window.
    pub async fn start() -> Browser {
        let port = free_port();
        // Its own process group, so the browsers it starts end with it.
        let driver = Command::new(CHROMEDRIVER)
            .process_group(0)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver");
        let profile = tempfile::tempdir().expect("profile dir");
        let mut caps = serde_json::Map::new();
        caps.insert(
            "goog:chromeOptions".into(),
            json!({
                "binary": CHROMIUM,
                "args": [
                    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                    "--no-first-run", "--disable-background-networking",
                    "--disable-component-update", "--disable-sync",
                    format!("--user-data-dir={}", profile.path().display()),
                    "--window-size=1280,900",
                ],
            }),
        );
        let url = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(30);
        let client = loop {
            let connector = hyper_util::client::legacy::connect::HttpConnector::new();
            match ClientBuilder::new(connector)
                .capabilities(caps.clone())
                .connect(&url)
                .await
            {
                Ok(client) => break client,
                Err(e) if Instant::now() < deadline => {
                    let _ = e;
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
                Err(e) => panic!("cannot start a Chromium session: {e}"),
            }
        };
        Browser {
            client,
            driver,
            _profile: profile,
        }
    }

    pub async fn goto(&self, url: &str) {
        self.client.goto(url).await.expect("navigate");
    }

    pub async fn path(&self) -> String {
        let url = self.client.current_url().await.expect("url");
        match url.query() {
            Some(q) => format!("{}?{q}", url.path()),
            None => url.path().to_string(),
        }
    }

    pub async fn text(&self, css: &str) -> String {
        self.client
            .wait()
            .at_most(Duration::from_secs(10))
            .for_element(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("no {css}: {e}"))
            .text()
            .await
            .expect("text")
    }

    /// The element's text now, or `None` while there is none: for waiting
    /// through a navigation, when an element found on the old page goes
    /// stale before its text is read.
    pub async fn try_text(&self, css: &str) -> Option<String> {
        let element = self.client.find(Locator::Css(css)).await.ok()?;
        element.text().await.ok()
    }

    pub async fn attr(&self, css: &str, name: &str) -> String {
        self.client
            .find(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("no {css}: {e}"))
            .attr(name)
            .await
            .expect("attribute")
            .unwrap_or_default()
    }

    pub async fn count(&self, css: &str) -> usize {
        self.client
            .find_all(Locator::Css(css))
            .await
            .expect("find")
            .len()
    }

    pub async fn click(&self, css: &str) {
        self.client
            .wait()
            .at_most(Duration::from_secs(10))
            .for_element(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("no {css}: {e}"))
            .click()
            .await
            .unwrap_or_else(|e| panic!("click {css}: {e}"));
    }

    pub async fn fill(&self, css: &str, text: &str) {
        let field = self
            .client
            .find(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("no {css}: {e}"));
        field.clear().await.expect("clear");
        field.send_keys(text).await.expect("type");
    }

    /// Signs in through the form and waits for the page after it.
    pub async fn sign_in(&self, base: &str, email: &str, password: &str) {
        self.goto(&format!("{base}/login")).await;
        self.fill("#email", email).await;
        self.fill("#password", password).await;
        self.click("section.login button[type=submit]").await;
        self.until("the page after signing in", || async {
            !self.path().await.starts_with("/login") || self.count("p.notice.error").await > 0
        })
        .await;
    }

    /// Presses keys one by one, each a real key down and up, on whatever
    /// has the focus — exactly what a person's keystrokes are.
    pub async fn press(&self, keys: &str) {
        let mut actions = KeyActions::new("keyboard".into());
        for key in keys.chars() {
            actions = actions
                .then(KeyAction::Down { value: key })
                .then(KeyAction::Up { value: key });
        }
        self.client.perform_actions(actions).await.expect("keys");
    }

    /// Waits (up to 10 s) until `check` holds.
    pub async fn until<F, Fut>(&self, what: &str, check: F)
    where
        F: Fn() -> Fut,
        Fut: std::future::Future<Output = bool>,
    {
        let deadline = Instant::now() + Duration::from_secs(10);
        while !check().await {
            assert!(Instant::now() < deadline, "timed out waiting for {what}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Resizes the window to `width`×`height` CSS pixels (headless: the
    /// viewport) and waits until the page reports the new width.
    pub async fn resize(&self, width: u32, height: u32) {
        self.client
            .set_window_size(width, height)
            .await
            .unwrap_or_else(|e| panic!("resize to {width}×{height}: {e}"));
        self.until(&format!("a {width} px wide window"), || async {
            self.client
                .execute("return window.innerWidth;", vec![])
                .await
                .ok()
                .and_then(|w| w.as_u64())
                == Some(u64::from(width))
        })
        .await;
    }

    /// Runs `script` in the page with `args`; the script ends by calling
    /// its last argument (`arguments[arguments.length - 1]`) with the value
    /// to return, so it can wait on a promise.
    pub async fn execute_async(
        &self,
        script: &str,
        args: Vec<serde_json::Value>,
    ) -> serde_json::Value {
        self.client
            .execute_async(script, args)
            .await
            .unwrap_or_else(|e| panic!("asynchronous script: {e}"))
    }

    /// The screenshot as PNG; written under docs/screenshots when
    /// `VERDICT_UPDATE_SCREENSHOTS=1` (the README shows them).
    pub async fn screenshot(&self, name: &str) {
        let png = self.client.screenshot().await.expect("screenshot");
        assert!(png.starts_with(b"\x89PNG"), "a PNG");
        if std::env::var("VERDICT_UPDATE_SCREENSHOTS").as_deref() == Ok("1") {
            let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/screenshots");
            std::fs::create_dir_all(dir).expect("screenshot dir");
            std::fs::write(format!("{dir}/{name}.png"), png).expect("write screenshot");
        }
    }

    /// Ends the session (Chromium quits), then the driver (on drop).
    pub async fn quit(self) {
        let _ = self.client.clone().close().await;
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        // The driver and the browsers it started are ours (one process
        // group, led by the child we spawned): end them even on a panic.
        let group = format!("-{}", self.driver.id());
        let _ = Command::new("kill").args(["-KILL", "--", &group]).status();
        let _ = self.driver.wait();
    }
}
