//! The demo's content: a web shop's test cases, and what happened in each
//! run, step by step (case, status, note, seconds, who, when). Kept apart
//! from the seeding so the story can be read (and changed) on its own.

use verdict_store::{Status, UserId};

/// (suite, title) of every demo case; the key is derived from both.
/// Sections nest by ` / ` (`Checkout / Payments` is inside `Checkout`).
pub const CASES: &[(&str, &str)] = &[
    ("Account", "Sign in with valid credentials"),
    ("Account", "Sign in with a wrong password shows an error"),
    ("Account", "Account locks after five failed sign-ins"),
    ("Account", "Reset password by email link"),
    ("Account", "Register a new account"),
    ("Account", "Sign out from every device"),
    ("Account", "Change the delivery address"),
    ("Catalogue & search", "Search by product name"),
    (
        "Catalogue & search",
        "Search with a typo suggests the right product",
    ),
    ("Catalogue & search", "Filter by price range"),
    ("Catalogue & search", "Sort by customer rating"),
    ("Catalogue & search", "Product page shows stock level"),
    ("Catalogue & search", "Product images zoom on tap"),
    (
        "Catalogue & search",
        "Out-of-stock product offers a restock alert",
    ),
    ("Cart", "Add a product to the cart"),
    ("Cart", "Change the quantity in the cart"),
    ("Cart", "Remove the last item empties the cart"),
    ("Cart", "Cart survives signing in on another device"),
    ("Cart", "Apply a valid discount code"),
    ("Cart", "Expired discount code is refused"),
    ("Checkout", "Checkout as a guest"),
    ("Checkout / Payments", "Pay by credit card"),
    (
        "Checkout / Payments",
        "Pay by card with 3-D Secure challenge",
    ),
    ("Checkout / Payments", "Pay with PayPal"),
    ("Checkout / Payments", "Declined card shows a clear message"),
    ("Checkout", "Order confirmation email is sent"),
    ("Checkout", "VAT is shown for EU addresses"),
    ("Checkout", "Free shipping above the threshold"),
    ("Orders & returns", "Order history lists past orders"),
    ("Orders & returns", "Download an invoice as PDF"),
    ("Orders & returns", "Start a return within 30 days"),
    ("Orders & returns", "Return refused after 30 days"),
    ("Orders & returns", "Track a parcel from the order page"),
    ("Orders & returns", "Cancel an order before dispatch"),
    ("Accessibility", "Checkout works with the keyboard only"),
    ("Accessibility", "Screen reader announces cart updates"),
    ("Accessibility", "Text zoom to 200% keeps the layout usable"),
    ("Accessibility", "Colour contrast of buttons meets WCAG AA"),
    ("Accessibility", "Product images have alternative text"),
    ("Accessibility", "Error messages are linked to their fields"),
];

pub const HOUR: i64 = 3_600_000;
pub const DAY: i64 = 24 * HOUR;

/// One execution to record: (case index, status, note, seconds, who, when).
pub type Step<'a> = (usize, Status, Option<&'a str>, i64, UserId, i64);

/// The demo's people.
pub struct People {
    pub dana: UserId,
    pub sam: UserId,
    pub lee: UserId,
}

/// Release 2.3: everything tested, one failure fixed and re-tested, one
/// blocked case unblocked; closed two days after it started.
pub fn release_23(p: &People, now: i64) -> Vec<Step<'static>> {
    use Status::*;
    let (d, s) = (p.dana, p.sam);
    let base = now - 20 * DAY;
    let mut steps: Vec<Step> = (0..CASES.len())
        .map(|i| {
            let who = if i % 3 == 0 { s } else { d };
            (
                i,
                Passed,
                None,
                40 + (i as i64 * 17) % 200,
                who,
                base + i as i64 * 9 * 60_000,
            )
        })
        .collect();
    steps[12] = (
        12,
        Failed,
        Some("Zoom opens a blank overlay on Safari 17."),
        95,
        s,
        base + 2 * HOUR,
    );
    steps[27] = (
        27,
        Blocked,
        Some("Shipping rules service not deployed to staging."),
        0,
        d,
        base + 3 * HOUR,
    );
    steps.push((
        12,
        Passed,
        Some("Fixed in 2.3.0-rc3; verified on Safari 17 and Chrome 120."),
        60,
        s,
        base + DAY,
    ));
    steps.push((27, Passed, None, 120, d, base + DAY + HOUR));
    steps
}

/// Release 2.4: about two thirds done, with trouble in checkout.
pub fn release_24(p: &People, now: i64) -> Vec<Step<'static>> {
    use Status::*;
    let (d, s, l) = (p.dana, p.sam, p.lee);
    let base = now - 2 * DAY;
    let steps: Vec<Step> = vec![
        (0, Passed, None, 35, d, base),
        (1, Passed, None, 20, d, base + 4 * 60_000),
        (
            2,
            Failed,
            Some("Locks after 3 attempts, not 5. See SHOP-2291."),
            180,
            d,
            base + 9 * 60_000,
        ),
        (
            3,
            Passed,
            Some("Link arrives within a minute."),
            240,
            s,
            base + 15 * 60_000,
        ),
        (4, Passed, None, 150, s, base + 21 * 60_000),
        (
            5,
            Retest,
            Some("Other sessions stay signed in for up to 5 minutes; fix expected in rc2."),
            300,
            l,
            base + 30 * 60_000,
        ),
        (7, Passed, None, 30, s, base + 40 * 60_000),
        (
            8,
            Failed,
            Some("\"lapotp\" finds nothing; expected \"laptop\"."),
            45,
            s,
            base + 44 * 60_000,
        ),
        (9, Passed, None, 50, s, base + 50 * 60_000),
        (10, Passed, None, 40, s, base + 55 * 60_000),
        (11, Passed, None, 25, d, base + HOUR),
        (14, Passed, None, 20, d, base + HOUR + 5 * 60_000),
        (15, Passed, None, 30, d, base + HOUR + 9 * 60_000),
        (16, Passed, None, 15, d, base + HOUR + 12 * 60_000),
        (
            18,
            Failed,
            Some("Code SPRING24 gives 10% instead of 15%."),
            90,
            d,
            base + HOUR + 20 * 60_000,
        ),
        (19, Passed, None, 40, d, base + HOUR + 25 * 60_000),
        (20, Passed, None, 210, s, base + 2 * HOUR),
        (
            21,
            Blocked,
            Some("Payment sandbox is down (provider incident #4471)."),
            0,
            s,
            base + 2 * HOUR + 10 * 60_000,
        ),
        (
            22,
            Blocked,
            Some("Payment sandbox is down (provider incident #4471)."),
            0,
            s,
            base + 2 * HOUR + 11 * 60_000,
        ),
        (23, Passed, None, 160, s, base + 2 * HOUR + 20 * 60_000),
        (
            24,
            Failed,
            Some("Shows \"Error 502\" instead of \"Your card was declined\"."),
            75,
            s,
            base + 2 * HOUR + 30 * 60_000,
        ),
        (28, Passed, None, 30, l, base + 3 * HOUR),
        (29, Passed, None, 45, l, base + 3 * HOUR + 5 * 60_000),
        (
            34,
            Passed,
            Some("Tab order is logical on every step."),
            420,
            d,
            base + 4 * HOUR,
        ),
        (
            37,
            Retest,
            Some("New palette landed; re-check the disabled state."),
            60,
            l,
            base + 4 * HOUR + 30 * 60_000,
        ),
        // The next day: the sandbox is back and a fix for the lock-out.
        (
            21,
            Passed,
            Some("Sandbox back; paid with the Visa test card."),
            140,
            s,
            base + DAY,
        ),
        (
            2,
            Retest,
            Some("Fix merged (SHOP-2291); retest on rc2."),
            0,
            l,
            base + DAY + HOUR,
        ),
    ];
    steps
}
