#!/usr/bin/env bash
# The test command: sets up .venv (everything) and .venv-runtime (no TensorFlow), lints, and runs the whole suite:
# first in .venv, then the runtime tests again in .venv-runtime, where importing TensorFlow fails.
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

# The runtime without TensorFlow: a model trained by the full environment, then enroll/verify/identify/gallery/
# evaluate on LiteRT in an environment that cannot import TensorFlow or Keras.
bash scripts/setup-runtime.sh
runtime_model="$(mktemp -d)/model"
.venv/bin/siamese train configs/orl-smoke.yaml --out "$runtime_model" --quiet --json > /dev/null
SIAMESE_RUNTIME_MODEL="$runtime_model" SIAMESE_EXPECT_NO_TF=1 .venv-runtime/bin/python -m pytest -p no:cacheprovider tests/runtime
