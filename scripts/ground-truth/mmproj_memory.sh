#!/usr/bin/env bash
# The projector (mmproj) memory llama.cpp allocates, measured: a random-weight F16 mmproj of three
# vision towers (write_mmproj.py) is loaded by llama-mtmd-cli next to a small text model of the
# projector's output width, at -lv 4, and the log is kept. clip.cpp prints the projector's weights
# (`load_hparams: model size`) and the warmup's compute buffer (`reserve_compute_meta: ... compute
# buffer size`); crates/headroom-cli/tests/mmproj_measured.rs holds Headroom's numbers to them.
#
#   scripts/ground-truth/mmproj_memory.sh [OUT_DIR]      (ONLY=qwen3-vl-8b for one tower)
#
# Needs the harness's llama.cpp build (build_llama_cpp.sh, plus the llama-mtmd-cli target), its
# venv (venv.sh) and its text models in ~/.cache/headroom/gt-models (harness.py writes them).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
out=${1:-$repo/tests/fixtures/ground-truth/mmproj}
cache=${HEADROOM_CACHE:-$HOME/.cache/headroom}
bin=$cache/llama.cpp-0.3.36/build-cpu/bin
models=$cache/gt-models
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# shellcheck disable=SC1091
. "$cache/venv/bin/activate"
mkdir -p "$out"

# tower (catalog model), projector output width, text model of that width, chat template.
# Qwen3-VL's projector feeds the text model (1 + 3 deepstack) x its output: 4 x 256 = 1024.
runs=(
  "gemma-3-12b 1152 gemma-3-1b-Q4_0 gemma"
  "qwen2.5-vl-7b 896 qwen2.5-0.5b-Q4_0 chatml"
  "qwen3-vl-4b 256 qwen3-0.6b-Q4_0 chatml"
  "qwen3-vl-8b 256 qwen3-0.6b-Q4_0 chatml"
)
only=${ONLY:-}
for r in "${runs[@]}"; do
  [[ -n $only && $r != "$only "* ]] && continue
  read -r tower width text template <<<"$r"
  mm=$work/$tower-mmproj-F16.gguf
  python "$here/write_mmproj.py" "$repo/data/models/$tower.json" "$mm" --n-embd-text "$width" >/dev/null
  cmd=(llama-mtmd-cli -m "$text.gguf" --mmproj "$tower-mmproj-F16.gguf" --chat-template "$template"
       -p hi -n 1 -t 1 -c 512 -lv 4)
  {
    echo "# ${cmd[*]}"
    echo "# mmproj: write_mmproj.py data/models/$tower.json --n-embd-text $width (random F16 weights)"
    (cd "$work" && ln -sf "$models/$text.gguf" . &&
      flock /tmp/headroom-measure.lock "$bin/${cmd[0]}" "${cmd[@]:1}" 2>&1) |
      grep -E 'clip_|load_hparams|get_dummy_batch|reserve_compute_meta|warmup|CLIP|mtmd' || true
  } >"$out/$tower.log"
  echo "$out/$tower.log"
done
