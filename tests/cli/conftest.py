"""Helpers of the CLI tests. The ORL smoke model (``smoke_model``), ``orl_pairs_csv`` and ``run_cli`` live in
tests/conftest.py, so that the model is trained once per session for every test folder (tests/runtime too)."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import run_cli  # noqa: F401  (re-exported for the CLI tests)

REPO = Path(__file__).resolve().parents[2]
