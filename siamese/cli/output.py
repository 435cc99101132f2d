"""Uniform output and error handling for commands: human text or ``--json``, one-line errors, exit codes."""

from __future__ import annotations

import contextlib
import json
import os
import sys
from collections.abc import Callable
from contextvars import ContextVar
from functools import wraps
from typing import Any

import typer

from siamese.errors import SiameseError, os_reason

# Set while a command that was given --json runs: its errors are then also a JSON object on stdout.
_json_errors: ContextVar[bool] = ContextVar("siamese_json_errors", default=False)


def emit(payload: dict[str, Any], as_json: bool, text: str | Callable[[dict[str, Any]], str] | None = None) -> None:
    """Print ``payload`` as JSON (``as_json``) or as human text."""
    if as_json:
        typer.echo(json.dumps(payload, indent=2, default=str))
    elif text is not None:
        typer.echo(text(payload) if callable(text) else text)
    else:
        for k, v in payload.items():
            typer.echo(f"{k}: {v}")


def _short(message: str, limit: int = 400) -> str:
    """One line, at most ``limit`` characters."""
    line = " ".join(str(message).split())
    return line if len(line) <= limit else line[:limit - 3] + "..."


def warn(message: str) -> None:
    """One line on stderr that does not stop the command (e.g. a skipped photo)."""
    typer.echo(f"siamese: warning: {_short(message)}", err=True)


def fail(message: str, code: int = 2, as_json: bool | None = None) -> None:
    """One line on stderr, then exit with ``code``. Under ``--json`` (``as_json``, or the running command's flag)
    stdout also gets ``{"error": message, "exit_code": code}``, so a script that parses stdout always can."""
    typer.echo(f"siamese: error: {_short(message)}", err=True)
    if _json_errors.get() if as_json is None else as_json:
        with contextlib.suppress(OSError):  # a closed stdout must not turn the error's exit 2 into click's exit 1
            typer.echo(json.dumps({"error": " ".join(str(message).split()), "exit_code": code}, indent=2))
    raise typer.Exit(code)


def handle_errors(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Turn SiameseError, OSErrors (a bad path, a read-only or full disk) and any unexpected error into one stderr
    line and exit code 2."""

    @wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        token = _json_errors.set(bool(kwargs.get("as_json")))
        try:
            return fn(*args, **kwargs)
        except SiameseError as e:
            fail(str(e), e.exit_code)
        except OSError as e:  # the environment, not a bug: a missing or read-only path, a full disk, ...
            if os.environ.get("SIAMESE_DEBUG"):
                raise
            reason = os_reason(e)
            files = " -> ".join(str(f) for f in (e.filename, e.filename2) if f)
            fail(f"{files}: {reason}" if files else reason, 2)
        except KeyboardInterrupt:
            typer.echo("siamese: interrupted", err=True)
            sys.exit(130)
        except (typer.Exit, typer.Abort, SystemExit):
            raise
        except Exception as e:  # a bug must never read as a decision (exit 1 = different / unknown)
            if os.environ.get("SIAMESE_DEBUG"):
                raise
            fail(f"internal error: {type(e).__name__}: {e} (set SIAMESE_DEBUG=1 for the traceback)", 2)
        finally:
            _json_errors.reset(token)

    return wrapper
