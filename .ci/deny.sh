#!/usr/bin/env bash
# cargo deny over the dependency tree, with deny.toml:
#   licenses: every crate's licence is one deny.toml allows (all permissive);
#   bans: no wildcard version requirements; several versions of one crate
#         are reported, not refused;
#   sources: crates.io only (no git or other registries).
# Advisories are NOT checked: that check needs the RustSec advisory
# database, cloned from GitHub at check time, and this machine cannot
# fetch it. Run `cargo deny check advisories` where GitHub is reachable.
#
# cargo-deny (pinned) is installed with `cargo install` into cargo's own
# bin directory, and only when that version is not there yet: the install
# builds it from source (24 minutes on a busy 2-core machine, so it is kept
# outside the clone, across CI runs on one machine); the check itself then
# takes about 3 seconds.
#
#   bash .ci/deny.sh
set -euo pipefail
cd "$(dirname "$0")/.."

CARGO_DENY_VERSION=0.20.2
BIN="${CARGO_HOME:-$HOME/.cargo}/bin"
deny=$BIN/cargo-deny

echo "== cargo-deny $CARGO_DENY_VERSION in $BIN"
if ! "$deny" --version 2>/dev/null | grep -qx "cargo-deny $CARGO_DENY_VERSION"; then
  cargo install --locked --version "$CARGO_DENY_VERSION" cargo-deny
fi
"$deny" --version

echo "== cargo deny check licenses bans sources (deny.toml)"
# Without the inclusion graphs, a duplicate is one warning, not a page;
# run it without --hide-inclusion-graph to see what pulls each version in.
"$deny" check --hide-inclusion-graph licenses bans sources
