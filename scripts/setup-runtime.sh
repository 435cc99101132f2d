#!/usr/bin/env bash
# Creates ./.venv-runtime: siamese WITHOUT its training extra (no TensorFlow, no Keras) + pytest, for the runtime
# tests. Idempotent: re-installs only when pyproject.toml changed.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
if [ ! -x .venv-runtime/bin/python ]; then
  "$PY" -m venv .venv-runtime
fi
stamp=.venv-runtime/.siamese-installed
want=$(sha256sum pyproject.toml | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  .venv-runtime/bin/python -m pip install --quiet --upgrade pip
  .venv-runtime/bin/python -m pip install --quiet -e . "pytest>=8" "pytest-timeout>=2.3"
  echo "$want" > "$stamp"
fi
if .venv-runtime/bin/python -c "import tensorflow" 2>/dev/null || .venv-runtime/bin/python -c "import keras" 2>/dev/null; then
  echo "setup-runtime: TensorFlow or Keras is importable in .venv-runtime; the runtime must not need them" >&2
  exit 1
fi
