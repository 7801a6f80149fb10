# Sourced by the harness scripts: a Python virtual environment under ~/.cache/headroom with the
# PyPI tools the harness uses (cmake, ninja, gguf, numpy), created once and reused.
GT_VENV="${HEADROOM_CACHE:-$HOME/.cache/headroom}/venv"
if [ ! -x "$GT_VENV/bin/python" ]; then
    python3 -m venv "$GT_VENV" >&2
    "$GT_VENV/bin/pip" install --quiet "cmake==3.31.6" "ninja==1.13.0" "gguf==0.19.0" "numpy<3" >&2
fi
export PATH="$GT_VENV/bin:$PATH"
