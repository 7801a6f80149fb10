#!/usr/bin/env bash
# The web calculator's tests, from a fresh machine: installs what is missing (the wasm32 target,
# wasm-bindgen-cli pinned to the crate's version, Debian's chromium, playwright-core and
# binaryen's wasm-opt from package-lock.json), builds the wasm and the CLI, then runs
#   1. the facade test under Node (hostile inputs included),
#   2. the browser test in headless Chromium (page numbers = `headroom fit --json`),
#   3. the budget measurements (fails when over budget).
# Screenshots and budgets.json land in web/screenshots/ (git-ignored).
set -euo pipefail
cd "$(dirname "$0")/.."

need() { command -v "$1" >/dev/null 2>&1; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; elif need sudo; then sudo "$@"; else return 1; fi; }

if ! need node || [ "$(node -p 'process.versions.node.split(".")[0]')" -lt 20 ]; then
  echo "web/test.sh: Node 20 or newer is needed (Debian: apt-get install nodejs npm)" >&2
  exit 1
fi
export CHROMIUM="${CHROMIUM:-/usr/bin/chromium}"
if [ ! -x "$CHROMIUM" ]; then
  echo "installing chromium" >&2
  as_root apt-get update -qq && as_root apt-get install -y -qq chromium \
    || { echo "web/test.sh: cannot install chromium; set CHROMIUM to a Chromium binary" >&2; exit 1; }
fi
if [ ! -d web/node_modules/playwright-core ] || [ ! -d web/node_modules/binaryen ]; then
  (cd web && npm ci --no-audit --no-fund)
fi

./web/build.sh
cargo build -p headroom-cli

node --test web/tests/facade.test.mjs
node --test --test-concurrency=1 web/tests/browser.test.mjs
node web/tests/budgets.mjs
