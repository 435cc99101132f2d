"""Checks of the arguments the Python API takes from its caller: a wrong type is one SiameseError naming the
argument (never a TypeError from deep inside), as the command line gives for a bad option."""

from __future__ import annotations

import numbers
import os
from collections.abc import Iterable
from typing import Any

from siamese.errors import ConfigError

__all__ = ["check_int", "check_path", "check_paths", "check_real", "photo_list"]


def _type(value: Any) -> str:
    return type(value).__name__


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else f"a {_type(value)}"


def check_path(value: Any, what: str) -> str | os.PathLike[str]:
    """``value`` if it is a path (``str`` or ``os.PathLike`` of str); ConfigError naming ``what`` otherwise."""
    if isinstance(value, str) or (isinstance(value, os.PathLike) and isinstance(os.fspath(value), str)):
        return value
    raise ConfigError(f"{what}: expected a path (str or os.PathLike), got {_type(value)}")


def check_paths(**named: Any) -> None:
    """:func:`check_path` on each argument given (not None), named by its keyword."""
    for what, value in named.items():
        if value is not None:
            check_path(value, what)


def photo_list(value: Any, what: str) -> list[str | os.PathLike[str]]:
    """Photos given as one path or an iterable of paths -> a list of paths; ConfigError naming ``what`` for
    anything else (None, an array of pixels, a path among non-paths)."""
    if isinstance(value, str | os.PathLike):
        return [check_path(value, what)]
    if value is None or not isinstance(value, Iterable) or isinstance(value, bytes | dict):
        raise ConfigError(f"{what}: expected a path or a list of paths, got {_type(value)}")
    return [check_path(v, f"{what}[{i}]") for i, v in enumerate(value)]


def check_int(value: Any, what: str, minimum: int | None = None) -> int:
    """An integer (a NumPy one too, not a bool) at least ``minimum``; ConfigError naming ``what`` otherwise."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ConfigError(f"{what}: expected an integer, got {_shown(value)}")
    if minimum is not None and int(value) < minimum:
        raise ConfigError(f"{what}: must be at least {minimum}, got {int(value)}")
    return int(value)


def check_real(value: Any, what: str) -> float:
    """A real number (a NumPy one too, not a bool) -> float; ConfigError naming ``what`` otherwise. Range checks
    stay with the caller."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ConfigError(f"{what}: expected a number, got {_shown(value)}")
    return float(value)
