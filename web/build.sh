#!/usr/bin/env bash
# Builds the web calculator: the headroom-wasm crate for wasm32, its JavaScript bindings for the
# browser (web/pkg) and for Node (web/pkg-node), shrunk with wasm-opt when binaryen is installed.
# Installs the wasm32 target and the wasm-bindgen CLI pinned to the crate's version when missing.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

want=$(sed -n 's/^wasm-bindgen = "=\([0-9.]*\)"/\1/p' Cargo.toml)
if [ -z "$want" ]; then
  echo "build.sh: Cargo.toml does not pin wasm-bindgen with =X.Y.Z" >&2
  exit 1
fi
if ! rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown; then
  rustup target add wasm32-unknown-unknown
fi
have=$(wasm-bindgen --version 2>/dev/null | awk '{print $2}' || true)
if [ "$have" != "$want" ]; then
  echo "installing wasm-bindgen-cli $want (found '${have:-none}')" >&2
  cargo install wasm-bindgen-cli --version "$want" --locked \
    || cargo install wasm-bindgen-cli --version "$want"
fi

cargo build --target wasm32-unknown-unknown -p headroom-wasm --profile wasm
wasm="$root/target/wasm32-unknown-unknown/wasm/headroom_wasm.wasm"

rm -rf web/pkg web/pkg-node
wasm-bindgen --target web --out-dir web/pkg "$wasm"
wasm-bindgen --target nodejs --out-dir web/pkg-node "$wasm"
# web/ is an ES-module package; the Node bindings are CommonJS.
echo '{ "type": "commonjs" }' > web/pkg-node/package.json
# wasm-opt before binaryen 116 mangles the reference-types table wasm-bindgen emits (the page then
# fails with "WebAssembly.Table.set(): Argument 1 is invalid"), so older ones are not used.
# Debian's binaryen is older than that, so the one pinned in web/package.json (npm) is used
# when no newer wasm-opt is on the PATH.
wasm_opt=wasm-opt
opt_version=$(wasm-opt --version 2>/dev/null | sed -n 's/^wasm-opt version \([0-9]*\).*/\1/p' || true)
if { [ -z "$opt_version" ] || [ "$opt_version" -lt 116 ]; } && [ -x web/node_modules/.bin/wasm-opt ]; then
  wasm_opt=web/node_modules/.bin/wasm-opt
  opt_version=$("$wasm_opt" --version 2>/dev/null | sed -n 's/^wasm-opt version \([0-9]*\).*/\1/p' || true)
fi
if [ -n "$opt_version" ] && [ "$opt_version" -ge 116 ]; then
  for f in web/pkg/headroom_wasm_bg.wasm web/pkg-node/headroom_wasm_bg.wasm; do
    "$wasm_opt" -Oz --converge --enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext \
      --enable-mutable-globals --enable-reference-types --enable-multivalue "$f" -o "$f.opt"
    mv "$f.opt" "$f"
  done
else
  echo "wasm-opt ${opt_version:-not found} is older than binaryen 116; the wasm is left as rustc wrote it" >&2
fi
echo "built web/pkg ($(wc -c < web/pkg/headroom_wasm_bg.wasm) bytes of wasm, $(gzip -9c web/pkg/headroom_wasm_bg.wasm | wc -c) gzipped)"
