"""Fixtures of the CLI tests (the ORL smoke model and run_cli live in tests/conftest.py, shared with tests/runtime)."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from tests.conftest import run_cli  # noqa: F401  (re-exported for the CLI tests)

REPO = Path(__file__).resolve().parents[2]


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
