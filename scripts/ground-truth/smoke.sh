#!/usr/bin/env bash
# CI smoke stage of the ground-truth harness: one tiny real architecture (Granite-4.0-H-350M, a
# Mamba-2 hybrid with four attention layers), random weights, three memory cells and one
# llama-bench run, imported and validated. Fails when `headroom import` no longer reads what the
# pinned llama.cpp prints or memory drifts past 2% (KV exact to the MiB). The llama.cpp build and
# the GGUF files are cached in ~/.cache/headroom; a cold run builds llama.cpp first.
set -euo pipefail
cd "$(dirname "$0")/../.."
H=scripts/ground-truth/harness.py
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
scripts/ground-truth/build_llama_cpp.sh >/dev/null
cargo build -q --locked -p headroom-cli
export HEADROOM="$PWD/target/debug/headroom"
model=granite-4.0-h-350m
python3 "$H" --out "$out" prepare --models "$model" --quants Q8_0,Q4_0
python3 "$H" --out "$out" memory --models "$model" --grid smoke
python3 "$H" --out "$out" bench --models "$model" --quants Q4_0 --depths 0 --threads 2 --reps 1
python3 "$H" --out "$out" import
python3 "$H" check "$out/records.jsonl" --min-memory 3 --min-speed 2
