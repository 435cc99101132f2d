"""Shared fixtures. Face data comes from $SIAMESE_DATA, reference vectors from $SIAMESE_REFERENCE.

Outside CI a missing data folder skips the tests that need it; in CI (CI=true) it fails them, so
that a misconfigured run can never pass by skipping.
"""

from __future__ import annotations

import csv
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import cv2
import numpy as np
import pytest

from siamese import plugins
from siamese.errors import NoFaceError
from siamese.teachers import Teacher

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

_REPO = Path(__file__).resolve().parents[1]


def _need(path: Path | None, what: str) -> Path:
    if path is not None and path.exists():
        return path
    message = f"{what} not found ({path}); set the environment variable"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="session")
def data_root() -> Path:
    value = os.environ.get("SIAMESE_DATA")
    return _need(Path(value) if value else _REPO.parent / "shared" / "data", "SIAMESE_DATA")


@pytest.fixture(scope="session")
def orl_root(data_root: Path) -> Path:
    return _need(data_root / "orl", "ORL faces")


@pytest.fixture(scope="session")
def lfw_root(data_root: Path) -> Path:
    return _need(data_root / "lfw", "LFW")


@pytest.fixture(scope="session")
def reference_root() -> Path:
    value = os.environ.get("SIAMESE_REFERENCE")
    return _need(Path(value) if value else _REPO.parent / "shared" / "reference", "SIAMESE_REFERENCE")


@pytest.fixture(scope="session")
def yunet_model() -> Path:
    value = os.environ.get("SIAMESE_YUNET")
    default = _REPO.parent / "shared" / "models" / "face_detection_yunet_2023mar.onnx"
    return _need(Path(value) if value else default, "SIAMESE_YUNET")


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(1234)


def run_cli(*args: str) -> tuple[int, str, str]:
    """Run the siamese CLI in-process; returns (exit code, stdout, stderr)."""
    from typer.testing import CliRunner

    from siamese.cli.app import app

    result = CliRunner().invoke(app, list(map(str, args)))
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture(scope="session")
def smoke_model(tmp_path_factory: pytest.TempPathFactory, data_root: Path) -> tuple[Path, dict]:
    """The ORL smoke model (configs/orl-smoke.yaml), trained once per session through the CLI; with
    $SIAMESE_RUNTIME_MODEL set (the TensorFlow-free environment cannot train) that directory is used instead."""

    given = os.environ.get("SIAMESE_RUNTIME_MODEL")
    if given:
        return Path(given), {}
    out = tmp_path_factory.mktemp("orl") / "model"
    code, stdout, stderr = run_cli("train", _REPO / "configs" / "orl-smoke.yaml", "--data", data_root,
                                   "--out", out, "--json")
    assert code == 0, stderr
    return out, json.loads(stdout)


@pytest.fixture(scope="session")
def orl_pairs_csv(tmp_path_factory: pytest.TempPathFactory, orl_root: Path) -> Path:
    """Pairs of ORL photos 6..10 (genuine: same person, impostor: next person), all 40 people."""
    path = tmp_path_factory.mktemp("pairs") / "orl_pairs.csv"
    with path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["path_a", "path_b", "same"])
        for s in range(1, 41):
            for i in range(6, 10):
                w.writerow([orl_root / f"s{s}" / f"{i}.pgm", orl_root / f"s{s}" / f"{i + 1}.pgm", 1])
                w.writerow([orl_root / f"s{s}" / f"{i}.pgm", orl_root / f"s{s % 40 + 1}" / f"{i}.pgm", 0])
    return path


def release_together(children: list, timeout: float = 120) -> None:
    """Child processes that print ``ready`` and wait for ``go`` on stdin: release them at once, then require
    each to exit 0 printing ``done``."""
    for child in children:
        assert child.stdout.readline().strip() == "ready", child.stderr.read()
    for child in children:
        child.stdin.write("go\n")
        child.stdin.flush()
    for child in children:
        out, err = child.communicate(timeout=timeout)
        assert child.returncode == 0, err
        assert out.strip() == "done"


# A recording teacher: a fixed random projection of the photo (no model files), registered as ``recording``; it
# records every photo it is shown, and finds no face in a photo whose name is in ``RecordingTeacher.faceless``.
class RecordingTeacher(Teacher):
    name = "recording"
    dim = 16
    seen: ClassVar[list[str]] = []
    faceless: ClassVar[set[str]] = set()

    def __init__(self, salt: int = 0) -> None:
        self.salt = salt
        self._proj = np.random.default_rng(salt).normal(size=(8 * 8, self.dim)).astype(np.float32)

    def embed_image(self, image_rgb: np.ndarray, source: str = "<image>") -> np.ndarray:
        RecordingTeacher.seen.append(source)
        if Path(source).name in self.faceless:
            raise NoFaceError(source, "no face found by the recording teacher")
        gray = cv2.resize(cv2.cvtColor(image_rgb, cv2.COLOR_RGB2GRAY), (8, 8), interpolation=cv2.INTER_AREA)
        v = (gray.astype(np.float32).reshape(-1) / 255.0 - 0.5) @ self._proj
        return v / np.linalg.norm(v)

    def settings_key(self) -> str:
        return f"recording:salt={self.salt}"

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "salt": self.salt}


@pytest.fixture
def recording_teacher(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[type[RecordingTeacher]]:
    monkeypatch.setenv("SIAMESE_CACHE", str(tmp_path / "cache"))
    if "recording" not in plugins.TEACHERS:
        plugins.TEACHERS.register("recording", RecordingTeacher)
    RecordingTeacher.seen.clear()
    RecordingTeacher.faceless.clear()
    yield RecordingTeacher
    RecordingTeacher.seen.clear()
    RecordingTeacher.faceless.clear()
