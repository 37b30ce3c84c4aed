#!/usr/bin/env bash
# The workspace's rust-version (1.88) is what the code really needs: check
# with exactly that toolchain: build every crate, check every target. rustup installs it
# (minimal profile) when this machine lacks it; its build goes to its own
# target directory so the main build is not thrown away.
#
#   bash .ci/msrv.sh
set -euo pipefail
cd "$(dirname "$0")/.."

MSRV=$(sed -n 's/^rust-version = "\(.*\)"$/\1/p' Cargo.toml)
[ -n "$MSRV" ] || { echo "no rust-version in Cargo.toml" >&2; exit 1; }

echo "== Rust $MSRV (the workspace's rust-version)"
if ! rustup run "$MSRV" rustc --version >/dev/null 2>&1; then
  rustup toolchain install "$MSRV" --profile minimal
fi
rustup run "$MSRV" rustc --version
export CARGO_TARGET_DIR=target/msrv
# The libraries and binaries (what `cargo install` builds), then every test
# and benchmark target type-checked on top of them.
cargo "+$MSRV" build --workspace --locked
cargo "+$MSRV" check --workspace --all-targets --locked
