"""File helpers shared by every module that writes: crash-safe replace, directory fsync, content hashes.

Crash-safe means: the bytes go to a temporary file in the same folder (created with the final permission bits
before any byte is written), are fsync'ed, then ``os.replace`` takes the final name and the folder is fsync'ed.
A crash at any moment leaves the old file or the new one, at worst plus a stray ``.<name>.*.tmp``.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

TMP_SUFFIX = ".tmp"


def fsync_dir(path: str | os.PathLike[str]) -> None:
    """fsync a directory so that a rename / create / unlink in it is durable (no-op where unsupported)."""
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _fsync_file(path: str | os.PathLike[str]) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str], mode: int = 0o600) -> Iterator[Path]:
    """Context manager yielding a temporary path beside ``path`` (same suffix) for a library that writes files
    itself (``keras.Model.save``, a TFLite converter, a SavedModel folder); on success its content replaces ``path``
    all-or-nothing with permission bits ``mode`` (files) -- a folder is replaced only if ``path`` does not exist."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp_dir = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=TMP_SUFFIX, dir=path.parent))
    tmp = tmp_dir / f"out{''.join(path.suffixes)}"
    try:
        yield tmp
        if tmp.is_dir():
            for sub in sorted(tmp.rglob("*")):
                if sub.is_file():
                    _fsync_file(sub)
            os.rename(tmp, path)  # never replaces an existing folder
        else:
            os.chmod(tmp, mode)
            _fsync_file(tmp)
            os.replace(tmp, path)
        fsync_dir(path.parent)
    finally:
        import shutil

        shutil.rmtree(tmp_dir, ignore_errors=True)


@contextlib.contextmanager
def atomic_writer(path: str | os.PathLike[str], mode: int = 0o600) -> Iterator[BinaryIO]:
    """Context manager yielding a binary handle whose content replaces ``path`` all-or-nothing."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=TMP_SUFFIX, dir=path.parent)
    try:
        os.fchmod(fd, mode)
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


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes, mode: int = 0o600) -> Path:
    """Write ``data`` to ``path`` crash-safely with permission bits ``mode``; creates the parent folder."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_writer(path, mode) as handle:
        handle.write(data)
    return path


def atomic_write_text(path: str | os.PathLike[str], text: str, mode: int = 0o644) -> Path:
    """UTF-8 text version of :func:`atomic_write_bytes` (default mode 0644: not biometric)."""
    return atomic_write_bytes(path, text.encode("utf-8"), mode)


def file_sha256(path: str | os.PathLike[str]) -> str:
    """sha256 hex digest of a file's bytes, read in 1 MiB blocks (raises OSError if unreadable)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
