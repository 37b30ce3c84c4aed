//! The demo's history: thirty nightly smoke runs on `main` uploaded by CI
//! (commit, build URL, environment), and two runs of a `feature/login`
//! branch, with what triage is for: a flaky test (PayPal), a test that
//! breaks and is fixed (password reset), a test that slowly gets slower
//! (guest checkout), a quarantined case (3-D Secure), failures that share a
//! message, and a branch run with new failures. Deterministic: the same
//! story every time. Failure messages look like a test runner's, with the
//! numbers and ids that vary between runs, so signature groups show.

use verdict_store::Status;

use super::data::{DAY, HOUR};

/// The cases the nightly smoke run holds (indices into `CASES`): sign-in
/// and accounts, checkout and payment.
pub const SMOKE: [usize; 15] = [0, 1, 2, 3, 4, 5, 6, 20, 21, 22, 23, 24, 25, 26, 27];

pub const NIGHTLIES: usize = 30;
pub const FIRST_BUILD: usize = 1158;
pub const ENVIRONMENT: &str = "linux / chromium 131";
pub const FEATURE_BRANCH: &str = "feature/login";

/// The quarantined case and why.
pub const QUARANTINED: usize = 22;
pub const QUARANTINE_REASON: &str =
    "The payment sandbox's 3-D Secure page times out at random; tracked in SHOP-2310.";

const SIGN_IN: usize = 0;
const LOCKOUT: usize = 2;
const RESET: usize = 3;
const REGISTER: usize = 4;
const SIGN_OUT_ALL: usize = 5;
const GUEST: usize = 20;
const THREE_DS: usize = 22;
const PAYPAL: usize = 23;
const DECLINED: usize = 24;
const CONFIRMATION: usize = 25;
const VAT: usize = 26;

/// One execution to upload: status, note, elapsed ms.
pub type Upload = (Status, Option<String>, i64);

/// One planned run: when (ms before now), its metadata, and per case the
/// executions to record in order (a failure then a pass is a retry).
pub struct Planned {
    pub name: String,
    pub ago_ms: i64,
    pub branch: &'static str,
    pub commit: String,
    pub build: usize,
    pub executions: Vec<(usize, Vec<Upload>)>,
}

impl Planned {
    pub fn build_url(&self) -> String {
        format!("https://ci.example.com/shop/web/builds/{}", self.build)
    }
}

/// splitmix64: the demo's dice, the same on every machine.
fn noise(a: u64, b: u64) -> u64 {
    let mut z = a
        .wrapping_mul(0x9E37_79B9_7F4A_7C15)
        .wrapping_add(b.wrapping_mul(0xBF58_476D_1CE4_E5B9))
        .wrapping_add(0x94D0_49BB_1331_11EB);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

fn commit(seed: u64) -> String {
    format!(
        "{:016x}{:016x}{:08x}",
        noise(seed, 1),
        noise(seed, 2),
        noise(seed, 3) as u32
    )
}

fn hex(seed: u64, n: u64) -> String {
    format!("{:010x}", noise(seed, n) & 0xff_ffff_ffff)
}

fn gateway_timeout(seed: u64, case: usize) -> String {
    let ms = 30_000 + noise(seed, case as u64) % 40;
    format!(
        "Error: payment gateway answered 504 Gateway Timeout after {ms} ms (request {req})\n    \
         at GatewayClient.send (src/payments/gateway.ts:88:13)\n    \
         at async PaymentStep.submit (e2e/pages/payment.page.ts:57:5)\n    \
         at async Context.<anonymous> (e2e/checkout/{spec}.spec.ts:{line}:7)",
        req = hex(seed, case as u64 + 100),
        spec = if case == THREE_DS {
            "three-d-secure"
        } else {
            "confirmation-email"
        },
        line = 20 + case,
    )
}

fn paypal_timeout(seed: u64) -> String {
    format!(
        "TimeoutError: waiting for selector `#paypal-button iframe` failed: timeout 30000ms exceeded\n    \
         at Frame.waitForSelector (node_modules/puppeteer-core/lib/cjs/common/Frame.js:{l}:23)\n    \
         at async PayPalStep.open (e2e/pages/paypal.page.ts:31:5)\n    \
         at async Context.<anonymous> (e2e/checkout/paypal.spec.ts:18:5)\n\
         Screenshot: /tmp/e2e-{shot}/paypal-failure.png",
        l = 400 + noise(seed, 9) % 200,
        shot = hex(seed, 10),
    )
}

fn reset_failure(seed: u64) -> String {
    format!(
        "Error: POST /api/password-reset answered 500 Internal Server Error (request id {})\n    \
         at ApiClient.post (e2e/support/api.ts:42:11)\n    \
         at async Context.<anonymous> (e2e/auth/reset-password.spec.ts:26:5)\n\
         Server log: NullPointerException in MailTemplate.render(MailTemplate.java:214)",
        hex(seed, 11)
    )
}

const DECLINED_FAILURE: &str = "AssertionError: expected text 'Your card was declined' but found 'Error 502'\n    \
    at Context.<anonymous> (e2e/checkout/declined-card.spec.ts:33:29)\n    \
    at processTicksAndRejections (node:internal/process/task_queues:95:5)";

const VAT_FAILURE: &str = "AssertionError: expected 'VAT 19%' in summary, found 'VAT 0%'\n    \
    at Context.<anonymous> (e2e/checkout/vat.spec.ts:41:10)";

const TOKEN_FAILURE: &str = "TypeError: Cannot read properties of undefined (reading 'token')\n    \
    at SessionStore.save (src/auth/session.ts:48:31)\n    \
    at LoginForm.onSubmit (src/auth/LoginForm.tsx:112:9)\n    \
    at async Context.<anonymous> (e2e/auth/sign-in.spec.ts:21:5)";

const LOCKOUT_FAILURE: &str = "AssertionError: expected the account to lock after 5 attempts but it locked after 3\n    \
    at Context.<anonymous> (e2e/auth/lockout.spec.ts:37:12)";

const SESSIONS_FAILURE: &str = "AssertionError: expected 0 active sessions but found 2\n    \
    at Context.<anonymous> (e2e/auth/sign-out-everywhere.spec.ts:52:14)";

/// The ordinary elapsed time of a smoke case (ms), with a little jitter.
fn usual_ms(seed: u64, case: usize) -> i64 {
    let base = 600 + (case as i64 * 137) % 1400;
    base + (noise(seed, case as u64 + 50) % 300) as i64
}

fn pass(ms: i64) -> Vec<Upload> {
    vec![(Status::Passed, None, ms)]
}

fn fail(note: String, ms: i64) -> Vec<Upload> {
    vec![(Status::Failed, Some(note), ms)]
}

/// Nightly `i` (0 = oldest) of the thirty on `main`.
fn nightly(i: usize) -> Planned {
    let seed = i as u64 + 1;
    let last = NIGHTLIES - 1;
    let mut executions = Vec::new();
    for &case in &SMOKE {
        let ms = usual_ms(seed, case);
        let roll = noise(seed, case as u64) % 10;
        let plan = match case {
            // Flaky: fails now and then, sometimes passes on the retry;
            // failed the night before last, passed last night.
            PAYPAL if i == last - 1 => fail(paypal_timeout(seed), 30_400),
            PAYPAL if i == last => pass(ms),
            PAYPAL if i % 9 == 4 => vec![
                (Status::Failed, Some(paypal_timeout(seed)), 30_400),
                (
                    Status::Passed,
                    Some("Passed on retry 2 of 2.".to_string()),
                    ms,
                ),
            ],
            PAYPAL if roll < 3 => fail(paypal_timeout(seed), 30_400),
            // Quarantined, flaky too; the gateway timed out last night.
            THREE_DS if i == last => fail(gateway_timeout(seed, case), 30_900),
            THREE_DS if i == last - 1 => pass(ms),
            THREE_DS if roll < 4 => fail(gateway_timeout(seed, case), 30_900),
            // Broken by a mail template change, fixed five nights later.
            RESET if (12..17).contains(&i) => fail(reset_failure(seed), 2_100),
            // Slowly getting slower: about 3 s a month ago, 10 s now.
            GUEST => pass(3_000 + i as i64 * 240 + (noise(seed, 77) % 400) as i64),
            // Broken three nights ago and still failing.
            DECLINED if i + 3 > last => fail(DECLINED_FAILURE.to_string(), 4_200),
            // Last night: the same gateway timeout, and the VAT line.
            CONFIRMATION if i == last => fail(gateway_timeout(seed, case), 30_700),
            VAT if i == last => fail(VAT_FAILURE.to_string(), 1_900),
            _ => pass(ms),
        };
        executions.push((case, plan));
    }
    let build = FIRST_BUILD + i;
    Planned {
        name: format!("Nightly smoke — build {build}"),
        ago_ms: (last - i) as i64 * DAY + 10 * HOUR,
        branch: "main",
        commit: commit(seed),
        build,
        executions,
    }
}

/// The two runs of `feature/login`, after the last nightly: the second
/// brings new failures (two of them with the same message), fixes one.
fn feature(n: usize) -> Planned {
    let seed = 1000 + n as u64;
    let mut executions = Vec::new();
    for &case in &SMOKE {
        let ms = usual_ms(seed, case);
        let plan = match (n, case) {
            (_, DECLINED) => fail(DECLINED_FAILURE.to_string(), 4_100),
            (0, SIGN_OUT_ALL) => fail(SESSIONS_FAILURE.to_string(), 3_300),
            (1, SIGN_IN | REGISTER) => fail(TOKEN_FAILURE.to_string(), 900),
            (1, LOCKOUT) => fail(LOCKOUT_FAILURE.to_string(), 5_200),
            (_, GUEST) => pass(9_800),
            _ => pass(ms),
        };
        executions.push((case, plan));
    }
    let build = FIRST_BUILD + NIGHTLIES + n;
    Planned {
        name: format!("Login rework — build {build}"),
        ago_ms: if n == 0 { 6 * HOUR } else { 3 * HOUR },
        branch: FEATURE_BRANCH,
        commit: commit(seed),
        build,
        executions,
    }
}

/// Every planned CI run, oldest first.
pub fn plan() -> Vec<Planned> {
    (0..NIGHTLIES)
        .map(nightly)
        .chain((0..2).map(feature))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_story_holds_what_the_pages_show() {
        let runs = plan();
        assert_eq!(runs.len(), NIGHTLIES + 2);
        let status = |run: &Planned, case: usize| {
            run.executions
                .iter()
                .find(|(c, _)| *c == case)
                .and_then(|(_, e)| e.last())
                .map(|e| e.0)
        };
        let paypal: Vec<_> = runs[..NIGHTLIES]
            .iter()
            .map(|r| status(r, PAYPAL))
            .collect();
        let flips = paypal.windows(2).filter(|w| w[0] != w[1]).count();
        assert!(flips >= 3, "PayPal flips: {paypal:?}");
        let last = &runs[NIGHTLIES - 1];
        assert_eq!(status(last, VAT), Some(Status::Failed));
        assert_eq!(status(&runs[NIGHTLIES - 2], VAT), Some(Status::Passed));
        assert!(commit(1).len() == 40 && commit(1).chars().all(|c| c.is_ascii_hexdigit()));
        // Oldest first, all in the past.
        assert!(runs.windows(2).all(|w| w[0].ago_ms > w[1].ago_ms));
    }
}
