"""OpenCV's native WARN lines never reach stderr once siamese.faces is imported (one-line CLI contract)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

_PROBE = """
import sys
{setup}
import cv2
cv2.imread({missing!r})  # OpenCV logs '[ WARN:0@...] ... can't open/read file' on fd 2
print("ok")
"""


def _stderr_of(setup: str, tmp_path: Path) -> str:
    code = _PROBE.format(setup=setup, missing=str(tmp_path / "missing.jpg"))
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[2]))
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr
    return done.stderr


def test_warn_lines_silenced_by_importing_siamese_faces(tmp_path: Path) -> None:
    assert "WARN" in _stderr_of("", tmp_path)  # the probe does provoke a warning without siamese
    for module in ("siamese.faces", "siamese.faces.image_io", "siamese.faces.yunet_detector"):
        assert _stderr_of(f"import {module}", tmp_path) == ""
