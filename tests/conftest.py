"""Shared fixtures. Face data comes from $SIAMESE_DATA, reference vectors from $SIAMESE_REFERENCE.

Outside CI a missing data folder skips the tests that need it; in CI (CI=true) it fails them, so
that a misconfigured run can never pass by skipping.
"""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path

import numpy as np
import pytest

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
