"""Private file helpers: owner-only modes, fsync, crash-safe replace of a file."""

from __future__ import annotations

import contextlib
import os
import stat
from pathlib import Path
from typing import BinaryIO

from siamese._files import TMP_SUFFIX, fsync_dir
from siamese._files import atomic_writer as _atomic_writer

__all__ = ["DIR_MODE", "FILE_MODE", "TMP_SUFFIX", "atomic_writer", "create_private_file", "fsync_dir",
           "make_private_dir", "make_tree_private", "remove_stale_temps"]

FILE_MODE = 0o600
DIR_MODE = 0o700


def make_private_dir(path: Path) -> None:
    """Create ``path`` (parents as needed) and set it to mode 0700."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.mkdir(mode=DIR_MODE, exist_ok=True)
    os.chmod(path, DIR_MODE)


def make_tree_private(root: Path) -> None:
    """Owner-only modes (files 0600, folders 0700) on ``root`` and everything under it, for stores whose library
    writes with the process umask (milvus-lite: 0644 / 0755). Entries that vanish meanwhile are skipped; symlinks
    are not followed."""
    os.chmod(root, DIR_MODE)
    for folder, dirs, files in os.walk(root):
        for name, mode in [*((d, DIR_MODE) for d in dirs), *((f, FILE_MODE) for f in files)]:
            path = os.path.join(folder, name)
            with contextlib.suppress(FileNotFoundError):
                st = os.lstat(path)
                if not stat.S_ISLNK(st.st_mode) and st.st_mode & 0o777 != mode:
                    os.chmod(path, mode)


def create_private_file(path: Path) -> None:
    """Create an empty file with mode 0600; raises FileExistsError if it exists."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    try:
        os.fchmod(fd, FILE_MODE)
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_writer(path: Path) -> contextlib.AbstractContextManager[BinaryIO]:
    """Write ``path`` all-or-nothing with mode 0600 (see :func:`siamese._files.atomic_writer`).

    A crash at any moment leaves either the old file or the new one (plus, at worst, a stray
    ``*.tmp`` file that :func:`remove_stale_temps` cleans up).
    """
    return _atomic_writer(path, FILE_MODE)


def remove_stale_temps(directory: Path, name: str) -> None:
    """Delete temp files left by :func:`atomic_writer` for ``name`` (a crashed writer)."""
    for stray in directory.glob(f".{name}.*{TMP_SUFFIX}"):
        with contextlib.suppress(OSError):
            stray.unlink()
