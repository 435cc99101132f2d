"""Small value types of the gallery API: search hits and template provenance."""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass
from typing import NamedTuple

from siamese._files import file_sha256

_SHA256 = re.compile(r"[0-9a-f]{64}")


class Match(NamedTuple):
    """One search hit. ``similarity`` is the inner product of the unit query and template vectors
    (cosine similarity in [-1, 1], larger = more alike); ``rank`` counts from 0, best first.
    (A NamedTuple: immutable, and cheap to make by the thousand per search batch.)"""

    name: str
    template_id: int
    similarity: float
    rank: int


@dataclass(frozen=True, slots=True)
class Source:
    """Where a template came from: SHA-256 (hex) of the source file's bytes and, optionally, its path."""

    sha256: str | None = None
    path: str | None = None

    def __post_init__(self) -> None:
        if self.sha256 is not None and not _SHA256.fullmatch(self.sha256):
            raise ValueError(f"sha256 must be 64 lowercase hex digits, got {self.sha256!r}")

    @classmethod
    def from_bytes(cls, data: bytes, path: str | os.PathLike[str] | None = None) -> Source:
        return cls(hashlib.sha256(data).hexdigest(), None if path is None else os.fspath(path))

    @classmethod
    def from_file(cls, path: str | os.PathLike[str]) -> Source:
        """Hash the file's bytes; InputFileError if it is missing, unreadable or not a regular file."""
        return cls(file_sha256(path), os.fspath(path))
