"""Uniform output and error handling for commands: human text or ``--json``, one-line errors, exit codes."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from functools import wraps
from typing import Any

import typer

from siamese.errors import SiameseError


def emit(payload: dict[str, Any], as_json: bool, text: str | Callable[[dict[str, Any]], str] | None = None) -> None:
    """Print ``payload`` as JSON (``as_json``) or as human text."""
    if as_json:
        typer.echo(json.dumps(payload, indent=2, default=str))
    elif text is not None:
        typer.echo(text(payload) if callable(text) else text)
    else:
        for k, v in payload.items():
            typer.echo(f"{k}: {v}")


def fail(message: str, code: int = 2) -> None:
    """One line on stderr, then exit with ``code``."""
    typer.echo(f"siamese: error: {message}", err=True)
    raise typer.Exit(code)


def handle_errors(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Turn SiameseError (and bad-input OSErrors) into one stderr line and exit code 2."""

    @wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except SiameseError as e:
            fail(str(e), e.exit_code)
        except (FileNotFoundError, PermissionError, IsADirectoryError) as e:
            fail(f"{e.filename}: {e.strerror}", 2)
        except KeyboardInterrupt:
            typer.echo("siamese: interrupted", err=True)
            sys.exit(130)

    return wrapper
