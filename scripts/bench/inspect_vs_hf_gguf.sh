#!/usr/bin/env bash
# Times whole-process `headroom inspect FILE` against the npm package @huggingface/gguf parsing the
# same GGUF header (one `gguf(path, {allowLocalFile: true})` call per node process).
#
# Usage: scripts/bench/inspect_vs_hf_gguf.sh [FILE.gguf] [RUNS]
#   FILE defaults to the real-vocabulary Qwen3-0.6B GGUF that scripts/ground-truth/ writes
#   (/root/.cache/headroom/gt-models/qwen3-0.6b-Q4_K_M.gguf) when it is present.
#   RUNS defaults to 50. HF_GGUF_VERSION pins the npm package (default: latest).
# Needs cargo, node and npm (with the registry reachable); uses hyperfine when it is installed
# or `apt-get install -y hyperfine` works, else a bash loop timed with `date +%s%N`.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
default_file=/root/.cache/headroom/gt-models/qwen3-0.6b-Q4_K_M.gguf
file="${1:-}"
if [[ -z "$file" ]]; then
  if [[ -f "$default_file" ]]; then
    file="$default_file"
  else
    echo "usage: $0 FILE.gguf [RUNS] ($default_file is absent)" >&2
    exit 2
  fi
fi
[[ -f "$file" ]] || { echo "$0: no such file: $file" >&2; exit 2; }
runs="${2:-50}"

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

echo "== installing @huggingface/gguf${HF_GGUF_VERSION:+@$HF_GGUF_VERSION} into $tmp"
(cd "$tmp" && npm init -y >/dev/null &&
  npm install --no-audit --no-fund --silent "@huggingface/gguf${HF_GGUF_VERSION:+@$HF_GGUF_VERSION}" >/dev/null)
hf_version="$(node -p "require('$tmp/node_modules/@huggingface/gguf/package.json').version")"

echo "== building headroom (release)"
(cd "$root" && cargo build --release --locked -p headroom-cli)
headroom="$root/target/release/headroom"

node_cmd="env NODE_PATH=$tmp/node_modules node $here/hf_gguf_parse.js $file"
hr_cmd="$headroom inspect $file"

# Both must succeed on the file before anything is timed.
eval "$node_cmd" >/dev/null
$hr_cmd >/dev/null

echo "== file: $file ($(stat -c %s "$file") bytes)"
echo "== node $(node --version), @huggingface/gguf $hf_version, $(nproc) cores, load: $(cut -d' ' -f1-3 /proc/loadavg)"

if ! command -v hyperfine >/dev/null; then
  if command -v apt-get >/dev/null; then
    apt-get install -y hyperfine >/dev/null 2>&1 || true
  fi
fi

if command -v hyperfine >/dev/null; then
  # -N: no shell in between, so each timing is the process alone.
  hyperfine -N --warmup 3 --runs "$runs" --export-json "$tmp/h.json" \
    -n headroom "$hr_cmd" -n hf-gguf "$node_cmd"
  read -r hr_ms node_ms < <(node -e '
    const r = require(process.argv[1]).results;
    const ms = (n) => (r.find((x) => x.command === n).mean * 1e3).toFixed(2);
    console.log(ms("headroom"), ms("hf-gguf"));' "$tmp/h.json")
else
  time_mean_ms() { # runs "$@" $runs times (after 3 warm-ups), prints the mean in ms
    local i t0 t1 total=0
    for i in 1 2 3; do eval "$@" >/dev/null; done
    for ((i = 0; i < runs; i++)); do
      t0=$(date +%s%N); eval "$@" >/dev/null; t1=$(date +%s%N)
      total=$((total + t1 - t0))
    done
    awk -v t="$total" -v n="$runs" 'BEGIN { printf "%.2f", t / n / 1e6 }'
  }
  hr_ms="$(time_mean_ms "$hr_cmd")"
  node_ms="$(time_mean_ms "$node_cmd")"
fi

echo "== load after: $(cut -d' ' -f1-3 /proc/loadavg)"
awk -v h="$hr_ms" -v n="$node_ms" 'BEGIN {
  printf "headroom inspect: %.2f ms   @huggingface/gguf: %.2f ms   ratio: %.1fx\n", h, n, n / h }'
