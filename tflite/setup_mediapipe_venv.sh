#!/usr/bin/env bash
# Create the MediaPipe virtual environment used by tflite/gpu_delegate_check.py (kept apart from
# bgseg's own environment: mediapipe pins numpy 1.26 and opencv-contrib). Idempotent.
# Usage: tflite/setup_mediapipe_venv.sh [VENV_DIR]   (default: .venv-mediapipe in the repo root)
set -euo pipefail
cd "$(dirname "$0")/.."
venv="${1:-.venv-mediapipe}"
if ! "$venv/bin/python" -c "import mediapipe" 2>/dev/null; then
  python3 -m venv "$venv"
  "$venv/bin/python" -m pip install -q mediapipe==0.10.21
fi
"$venv/bin/python" -c "import mediapipe; print('mediapipe', mediapipe.__version__, 'in $venv')"
