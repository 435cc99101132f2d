"""Private file helpers: owner-only modes, fsync, crash-safe replace of a file."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

FILE_MODE = 0o600
DIR_MODE = 0o700
TMP_SUFFIX = ".tmp"


def make_private_dir(path: Path) -> None:
    """Create ``path`` (parents as needed) and set it to mode 0700."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.mkdir(mode=DIR_MODE, exist_ok=True)
    os.chmod(path, DIR_MODE)


def create_private_file(path: Path) -> None:
    """Create an empty file with mode 0600; raises FileExistsError if it exists."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    try:
        os.fchmod(fd, FILE_MODE)
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_dir(path: Path) -> None:
    """fsync a directory so that a rename / create / unlink in it is durable."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextlib.contextmanager
def atomic_writer(path: Path) -> Iterator[BinaryIO]:
    """Write ``path`` all-or-nothing: temp file (0600) in the same dir, fsync, ``os.replace``, fsync dir.

    A crash at any moment leaves either the old file or the new one (plus, at worst, a stray
    ``*.tmp`` file that :func:`remove_stale_temps` cleans up).
    """
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=TMP_SUFFIX, dir=path.parent)
    try:
        os.fchmod(fd, FILE_MODE)
        with os.fdopen(fd, "wb") as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    fsync_dir(path.parent)


def remove_stale_temps(directory: Path, name: str) -> None:
    """Delete temp files left by :func:`atomic_writer` for ``name`` (a crashed writer)."""
    for stray in directory.glob(f".{name}.*{TMP_SUFFIX}"):
        with contextlib.suppress(OSError):
            stray.unlink()
