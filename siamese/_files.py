"""File helpers shared by every module that writes: crash-safe replace, directory fsync, content hashes.

Crash-safe means: the bytes go to a temporary file in the same folder (created with the final permission bits
before any byte is written), are fsync'ed, then ``os.replace`` takes the final name and the folder is fsync'ed.
A crash at any moment leaves the old file or the new one, at worst plus a stray ``.<name>.*.tmp``.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from siamese.errors import FileTooLargeError, InputFileError

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
def atomic_path(path: str | os.PathLike[str], mode: int = 0o600, *, replace_folder: bool = False) -> Iterator[Path]:
    """Context manager yielding a temporary path beside ``path`` (same suffix) for a library that writes files
    itself (``keras.Model.save``, a TFLite converter, a SavedModel folder); on success its content replaces ``path``
    all-or-nothing with permission bits ``mode`` (files). A folder replaces an existing ``path`` only with
    ``replace_folder`` (the old one is renamed aside, the new one renamed in, then the old one removed: a crash
    between the two renames leaves the old folder inside the ``.<name>.*.tmp`` beside it)."""
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
            if replace_folder and path.is_dir():
                old = tmp_dir / "old"
                try:
                    os.rename(path, old)
                    os.rename(tmp, path)
                except BaseException:
                    if old.exists() and not path.exists():
                        os.rename(old, path)
                    raise
            else:
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


def _kind(mode: int) -> str:
    for test, name in ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO"), (stat.S_ISCHR, "a character device"),
                       (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket")):
        if test(mode):
            return name
    return "not a plain file"


@contextlib.contextmanager
def open_regular_file(path: str | os.PathLike[str]) -> Iterator[tuple[BinaryIO, int]]:
    """Open ``path`` for reading only if it is a regular file (symlinks followed); yields ``(handle, size)``.

    The file is opened with ``O_NONBLOCK`` (a FIFO without a writer cannot block the open) and checked with
    ``fstat`` on the opened descriptor (no race with a rename). Raises :class:`~siamese.errors.InputFileError`
    ``"<path>: not a regular file (a FIFO)"``, ``"<path>: no such file"`` or ``"<path>: cannot read (...)"``.
    """
    flags = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NOCTTY", 0)
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        raise InputFileError(path, "no such file") from None
    except OSError as exc:
        raise InputFileError(path, f"cannot read ({exc.strerror or exc})") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise InputFileError(path, f"not a regular file ({_kind(info.st_mode)})")
        handle = os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise
    with handle:
        try:
            yield handle, info.st_size
        except OSError as exc:
            raise InputFileError(path, f"cannot read ({exc.strerror or exc})") from None


def read_regular_file(path: str | os.PathLike[str], max_bytes: int) -> bytes:
    """All bytes of the regular file ``path``, refusing anything else and anything over ``max_bytes``.

    The size is checked from ``fstat`` BEFORE reading, and at most ``max_bytes + 1`` bytes are ever read (a file
    growing meanwhile is refused too). Raises :class:`~siamese.errors.InputFileError` (see
    :func:`open_regular_file`) or :class:`~siamese.errors.FileTooLargeError` ``"<path>: larger than N MB ..."``.
    """
    def too_large(size: str) -> FileTooLargeError:
        return FileTooLargeError(path, f"larger than {max_bytes / (1 << 20):.4g} MB ({size} bytes), refused unread")

    with open_regular_file(path) as (handle, size):
        if size > max_bytes:
            raise too_large(str(size))
        data = handle.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise too_large(f"over {max_bytes}")
    return data


def file_sha256(path: str | os.PathLike[str]) -> str:
    """sha256 hex digest of a regular file's bytes, read in 1 MiB blocks.

    Raises :class:`~siamese.errors.InputFileError` when ``path`` is missing, unreadable or not a regular file
    (a FIFO, a device, a directory: see :func:`open_regular_file`).
    """
    digest = hashlib.sha256()
    with open_regular_file(path) as (handle, _):
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
