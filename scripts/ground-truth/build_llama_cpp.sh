#!/usr/bin/env bash
# Builds llama.cpp's CPU tools from the llama.cpp tree vendored in the PyPI sdist of
# llama-cpp-python, into ~/.cache/headroom/llama.cpp-<version>; a machine that has the build
# reuses it. Prints the directory that holds the binaries.
#
#   scripts/ground-truth/build_llama_cpp.sh            # CPU build
#   GGML_CUDA=1 scripts/ground-truth/build_llama_cpp.sh  # CUDA build (needs nvcc)
set -euo pipefail

VERSION="${LLAMA_CPP_PYTHON_VERSION:-0.3.36}"
CACHE="${HEADROOM_CACHE:-$HOME/.cache/headroom}"
VARIANT="cpu"
[ "${GGML_CUDA:-0}" = "1" ] && VARIANT="cuda"
ROOT="$CACHE/llama.cpp-$VERSION"
BUILD="$ROOT/build-$VARIANT"
BIN="$BUILD/bin"
TOOLS=(llama-bench llama-cli llama-completion llama-batched-bench llama-server llama-quantize)

have_all() {
    for t in llama-bench llama-batched-bench llama-server llama-quantize; do
        [ -x "$BIN/$t" ] || return 1
    done
    [ -x "$BIN/llama-completion" ] || [ -x "$BIN/llama-cli" ]
}

if have_all; then
    echo "$BIN"
    exit 0
fi

# shellcheck source=scripts/ground-truth/venv.sh
. "$(dirname "$0")/venv.sh"

mkdir -p "$ROOT"
if [ ! -f "$ROOT/src/CMakeLists.txt" ]; then
    tmp="$(mktemp -d)"
    pip download --quiet --no-deps --no-binary llama-cpp-python \
        "llama-cpp-python==$VERSION" -d "$tmp" >&2
    tar -xzf "$tmp"/llama_cpp_python-"$VERSION".tar.gz -C "$tmp"
    rm -rf "$ROOT/src"
    mv "$tmp/llama_cpp_python-$VERSION/vendor/llama.cpp" "$ROOT/src"
    rm -rf "$tmp"
fi

# A -DGGML_NATIVE=ON build turns on AMX where the CPU reports it, and on these VMs it then
# crashes on quantized models; the instruction sets are listed one by one instead.
flags=(-DGGML_NATIVE=OFF)
cpu_has() { grep -qw "$1" /proc/cpuinfo; }
cpu_has avx && flags+=(-DGGML_AVX=ON)
cpu_has avx2 && flags+=(-DGGML_AVX2=ON)
cpu_has fma && flags+=(-DGGML_FMA=ON)
cpu_has f16c && flags+=(-DGGML_F16C=ON)
cpu_has avx_vnni && flags+=(-DGGML_AVX_VNNI=ON)
if cpu_has avx512f; then
    flags+=(-DGGML_AVX512=ON)
    cpu_has avx512vbmi && flags+=(-DGGML_AVX512_VBMI=ON)
    cpu_has avx512_vnni && flags+=(-DGGML_AVX512_VNNI=ON)
    cpu_has avx512_bf16 && flags+=(-DGGML_AVX512_BF16=ON)
fi
flags+=(-DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_BF16=OFF)
[ "$VARIANT" = "cuda" ] && flags+=(-DGGML_CUDA=ON)

cmake -S "$ROOT/src" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release \
    -DBUILD_SHARED_LIBS=OFF -DLLAMA_CURL=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF \
    -DLLAMA_BUILD_TOOLS=ON -DLLAMA_BUILD_SERVER=ON "${flags[@]}" >&2
# Older trees have no llama-completion (llama-cli is the completion tool there).
known="$(ninja -C "$BUILD" -t targets all 2>/dev/null || true)"
targets=()
for t in "${TOOLS[@]}"; do
    if grep -q "^$t:" <<<"$known"; then
        targets+=("$t")
    fi
done
cmake --build "$BUILD" -j "${JOBS:-2}" --target "${targets[@]}" >&2
echo "$BIN"
