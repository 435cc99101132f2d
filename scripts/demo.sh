#!/usr/bin/env bash
# The main job, from a fresh machine: set up .venv, then train -> enroll -> verify -> identify -> evaluate on ORL.
# Face data comes from $SIAMESE_DATA (default: ../shared/data beside the checkout). Output goes to runs/demo/.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export SIAMESE_DATA=${SIAMESE_DATA:-$(cd .. && pwd)/shared/data}
export TF_CPP_MIN_LOG_LEVEL=${TF_CPP_MIN_LOG_LEVEL:-2}
exec .venv/bin/python scripts/demo.py "$@"
