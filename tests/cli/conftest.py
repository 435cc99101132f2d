"""One ORL smoke model for all CLI tests: trained once per session with the shipped config."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from siamese.cli.app import app

REPO = Path(__file__).resolve().parents[2]


def run_cli(*args: str) -> tuple[int, str, str]:
    """Run the siamese CLI in-process; returns (exit code, stdout, stderr)."""
    result = CliRunner().invoke(app, list(map(str, args)))
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture(scope="session")
def smoke_model(tmp_path_factory: pytest.TempPathFactory, data_root: Path) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("orl") / "model"
    code, stdout, stderr = run_cli("train", REPO / "configs" / "orl-smoke.yaml", "--data", data_root,
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
