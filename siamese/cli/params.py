"""Parameters the commands share: path options and arguments, ``--model``.

A path parameter takes the text as given: an empty one (``--out ""``, an unset shell variable) is a usage error
instead of the current folder, and nothing is checked on the file system here (the command says which file is
missing or unreadable, and why, in its one error line).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

__all__ = ["MODEL_OPT", "parse_path", "path_argument", "path_option"]


def parse_path(value: str | Path) -> Path:
    """A path given on the command line; ``typer.BadParameter`` for an empty one."""
    if isinstance(value, Path):  # a default
        return value
    if not value.strip():
        raise typer.BadParameter("empty path")
    return Path(value)


def path_option(default: Any, *decls: str, **kwargs: Any) -> Any:
    """``typer.Option`` for a path (see the module docstring)."""
    return typer.Option(default, *decls, parser=parse_path, **kwargs)


def path_argument(default: Any, **kwargs: Any) -> Any:
    """``typer.Argument`` for a path (see the module docstring)."""
    return typer.Argument(default, parser=parse_path, **kwargs)


MODEL_OPT = path_option(None, "--model", "-m", help="Model directory (default: $SIAMESE_MODEL or the user data dir).")
