"""Helpers of the CLI tests. The ORL smoke model (``smoke_model``) and ``orl_pairs_csv`` are session fixtures in
tests/conftest.py, so that the model is trained once per session for every test that needs it."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from siamese.cli.app import app

REPO = Path(__file__).resolve().parents[2]


def run_cli(*args: str) -> tuple[int, str, str]:
    """Run the siamese CLI in-process; returns (exit code, stdout, stderr)."""
    result = CliRunner().invoke(app, list(map(str, args)))
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr
