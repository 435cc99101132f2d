#!/usr/bin/env bash
# The test command: sets up .venv, lints, and runs the whole suite.
# Face data comes from $SIAMESE_DATA (default: ../shared/data beside the checkout).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export SIAMESE_DATA=${SIAMESE_DATA:-$(cd .. && pwd)/shared/data}
export SIAMESE_YUNET=${SIAMESE_YUNET:-$(cd .. && pwd)/shared/models/face_detection_yunet_2023mar.onnx}
export SIAMESE_REFERENCE=${SIAMESE_REFERENCE:-$(cd .. && pwd)/shared/reference}
export TF_CPP_MIN_LOG_LEVEL=${TF_CPP_MIN_LOG_LEVEL:-2}
.venv/bin/ruff check .
.venv/bin/python -m pytest "$@"
