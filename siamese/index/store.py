"""The catalogue plug-in point: the source of truth for identities and their templates.

A store keeps identities (unique names) and templates (int64 id = the search backend's id,
identity, float32 embedding, provenance). Every write is one transaction that also increments the
store's *generation*, a counter that tells readers and the index cache that something changed.
Template ids are never reused, so an id seen in a stale index cache means the same vector.
"""

from __future__ import annotations

import abc
import contextlib
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import numpy as np

from siamese.index.types import Source

Entry = tuple[str, np.ndarray, Sequence[Source | None]]
"""One identity to add: ``(name, embeddings float32 (n, dim), sources (n,))``."""


class Store(abc.ABC):
    """Abstract catalogue of identities and templates (see module docstring)."""

    read_only: bool

    @abc.abstractmethod
    def initialize(self, meta: Mapping[str, str]) -> None:
        """Create an empty catalogue with the given meta values (one transaction)."""

    @abc.abstractmethod
    def meta(self) -> dict[str, str]:
        """All meta values (fingerprint, dim, index kind, schema version, created, generation, ...)."""

    @abc.abstractmethod
    def generation(self) -> int:
        """Counter incremented by every committed write."""

    @abc.abstractmethod
    def add(self, entries: Sequence[Entry]) -> list[np.ndarray]:
        """Add templates for each ``(name, embeddings, sources)`` in ONE transaction; creates
        identities as needed; returns the new template ids (int64) per entry."""

    @abc.abstractmethod
    def remove(self, name: str) -> np.ndarray:
        """Delete an identity and all its templates in one transaction; returns the template ids.
        Raises GalleryError for an unknown name."""

    @abc.abstractmethod
    def names(self) -> list[str]:
        """Identity names, sorted."""

    @abc.abstractmethod
    def templates(self, name: str) -> np.ndarray:
        """Embeddings of one identity, float32 ``(n, dim)`` in enrolment order; GalleryError if unknown."""

    @abc.abstractmethod
    def template_ids(self) -> np.ndarray:
        """All template ids, sorted, int64."""

    @abc.abstractmethod
    def embeddings(self, ids: np.ndarray | None = None, batch: int = 65536) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """Yield ``(ids int64 (b,), embeddings float32 (b, dim))`` for the given ids (all if None).
        GalleryError if a stored embedding is not finite (also for :meth:`templates`)."""

    @abc.abstractmethod
    def lookup(self) -> tuple[np.ndarray, np.ndarray, dict[int, str]]:
        """``(template ids sorted, their identity ids, {identity id: name})`` for naming search hits."""

    @abc.abstractmethod
    def counts(self) -> tuple[int, int]:
        """``(identities, templates)``."""

    @abc.abstractmethod
    def scrub(self) -> None:
        """Make deleted data unrecoverable from the store's files (e.g. VACUUM)."""

    @abc.abstractmethod
    def files(self) -> list[str]:
        """Paths of the files the store uses (that exist now)."""

    @abc.abstractmethod
    def close(self) -> None: ...

    @contextlib.contextmanager
    def snapshot(self) -> Iterator[None]:
        """Read several values from one consistent state (no-op unless overridden)."""
        yield

    def version_token(self) -> str | None:
        """A value that changes whenever the store's content changes, also by a tool other than siamese (the
        gallery rebuilds its index cache when it differs from the one the cache was built at); None: unknown."""
        return None

    def get_config(self) -> dict[str, Any]:
        return {}
