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
# cargo-deny (pinned) is installed into target/tools, and only when it is
# not there yet, like the Python and Node tools of openapi-clients.sh: the
# install builds it from source (24 minutes on a busy 2-core machine), the
# check itself then takes about 3 seconds.
#
#   bash .ci/deny.sh
set -euo pipefail
cd "$(dirname "$0")/.."

CARGO_DENY_VERSION=0.20.2
TOOLS=target/tools
deny=$TOOLS/bin/cargo-deny

echo "== cargo-deny $CARGO_DENY_VERSION in $TOOLS"
if [ ! -x "$deny" ]; then
  cargo install --locked --version "$CARGO_DENY_VERSION" cargo-deny --root "$TOOLS"
fi
"$deny" --version

echo "== cargo deny check licenses bans sources (deny.toml)"
# Without the inclusion graphs, a duplicate is one warning, not a page;
# run it without --hide-inclusion-graph to see what pulls each version in.
"$deny" check --hide-inclusion-graph licenses bans sources
