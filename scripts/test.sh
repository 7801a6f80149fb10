#!/usr/bin/env bash
# Every check Headroom has, from a fresh machine: installs what it needs, then runs formatting,
# lints with warnings denied, the wasm32 build of the pure crates, all tests (snapshots included,
# stale or pending ones rejected) and the browser tests of the web calculator.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TERM_COLOR=never
export INSTA_UPDATE=no

step() { printf '\n== %s\n' "$*"; }

step "toolchain"
rustup component add rustfmt clippy >/dev/null 2>&1 || true
rustup target add wasm32-unknown-unknown

step "format"
cargo fmt --all --check

step "clippy (warnings denied)"
cargo clippy --workspace --all-targets --locked -- -D warnings

step "pure crates build for wasm32-unknown-unknown"
cargo build --locked --target wasm32-unknown-unknown -p headroom-core -p headroom-formats -p headroom-data

step "tests"
cargo test --workspace --locked

step "ground-truth smoke (llama.cpp on one tiny model; build cached in ~/.cache/headroom)"
scripts/ground-truth/smoke.sh

step "web calculator (wasm facade under Node, the page in headless Chromium, budgets)"
web/test.sh
