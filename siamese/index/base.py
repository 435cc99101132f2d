"""The gallery plug-in point: what every gallery backend offers (local FAISS + SQLite, Milvus, ...).

A gallery holds *identities* (unique names) owning *templates* (float32 L2-normalised embeddings of
``dim`` values) and is bound to one embedding model by a *fingerprint* string recorded at creation.
Search ranks by inner product (= cosine similarity of unit vectors, larger is more alike).

Backends are listed in :data:`siamese.plugins.GALLERIES`; :func:`siamese.index.open_gallery` picks one
from a gallery address (a directory, a milvus-lite file, a Milvus server URI).
"""

from __future__ import annotations

import abc
import contextlib
import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, Literal

import numpy as np

from siamese.errors import GalleryError
from siamese.index.types import Match, Source

SourceLike = Source | str | os.PathLike[str] | None
EntryLike = tuple[str, np.ndarray] | tuple[str, np.ndarray, Sequence[SourceLike] | None]


class Gallery(abc.ABC):
    """Enrolled identities and their templates, searchable; build with :meth:`create` or :meth:`open`.

    Attributes every backend sets: ``dim`` (embedding size), ``fingerprint`` (the bound model),
    ``kind`` (index kind: ``"flat"``, ``"ivf"``, ``"hnsw"``) and ``read_only``.
    """

    dim: int
    fingerprint: str
    kind: str
    read_only: bool

    # -- construction -------------------------------------------------------------------------
    @classmethod
    @abc.abstractmethod
    def create(cls, address: Any, fingerprint: str, dim: int, index: str = "flat", **opts: Any) -> Gallery:
        """Create an empty gallery bound to ``fingerprint`` holding ``dim``-sized embeddings."""

    @classmethod
    @abc.abstractmethod
    def open(cls, address: Any, fingerprint: str | None = None, *, read_only: bool = False) -> Gallery:
        """Open an existing gallery; ModelMismatchError if ``fingerprint`` is given and differs."""

    @classmethod
    def open_or_create(cls, address: Any, fingerprint: str, dim: int, index: str = "flat", **opts: Any) -> Gallery:
        """Open the gallery at ``address`` (checking ``fingerprint``), creating it first if there is none; when
        another process creates it meanwhile, open that one (both enrolments land). Backends with a stronger
        mechanism (the local gallery's creation lock) override this."""
        from siamese.errors import GalleryError
        from siamese.index.address import gallery_exists

        if not gallery_exists(address):
            try:
                return cls.create(address, fingerprint, dim, index, **opts)
            except GalleryError:
                if not gallery_exists(address):  # not lost a race with another creator: a real failure
                    raise
        return cls.open(address, fingerprint)

    # -- writes ---------------------------------------------------------------------------------
    def add(self, name: str, embeddings: np.ndarray, sources: Sequence[SourceLike] | None = None, *,
            fingerprint: str | None = None, new_sources_only: bool = False) -> list[int]:
        """Enrol templates for ``name`` (created if new, else appended); returns the new template ids.

        ``embeddings``: float32 ``(n, dim)`` L2-normalised; ``sources``: one per template (:class:`Source`, a file
        path to hash, or None)."""
        return self.add_many([(name, embeddings, sources)], fingerprint=fingerprint,
                             new_sources_only=new_sources_only)[0]

    @abc.abstractmethod
    def add_many(self, entries: Iterable[EntryLike], *, fingerprint: str | None = None,
                 new_sources_only: bool = False) -> list[list[int]]:
        """Enrol several identities at once (all land or none); template ids per entry.

        ``new_sources_only``: a template whose source sha256 is already among its name's templates when the write
        happens (or earlier in the same call) is not added, so its entry's id list is shorter. Checked at write
        time, so two enrolments of the same photo racing each other add it once (see each backend for how sure)."""

    @abc.abstractmethod
    def remove(self, name: str) -> int:
        """Forget ``name`` and its templates; returns how many templates went. GalleryError if unknown."""

    @abc.abstractmethod
    def batch(self) -> contextlib.AbstractContextManager[Gallery]:
        """A block of writes that the backend may group (locks held, files written once at the end)."""

    # -- reads ----------------------------------------------------------------------------------
    @abc.abstractmethod
    def search(self, embeddings: np.ndarray, k: int = 5, *, by: Literal["identity", "template"] = "identity",
               min_similarity: float | None = None, fingerprint: str | None = None) -> list[list[Match]]:
        """Top-k matches per query row, best first (by identity: each identity's best template)."""

    @abc.abstractmethod
    def templates(self, name: str) -> np.ndarray:
        """Embeddings enrolled for ``name``, float32 ``(n, dim)`` in enrolment order; GalleryError if unknown."""

    def sources(self, name: str) -> list[Source | None]:
        """Provenance of ``name``'s templates, in the order of :meth:`templates` (None where unknown)."""
        return [None] * len(self.templates(name))

    @abc.abstractmethod
    def names(self) -> list[str]:
        """Enrolled identity names, sorted."""

    @abc.abstractmethod
    def __len__(self) -> int:
        """Number of enrolled identities."""

    @abc.abstractmethod
    def __contains__(self, name: object) -> bool: ...

    @abc.abstractmethod
    def info(self) -> dict[str, Any]:
        """Counts, dim, index kind and options, fingerprint and where the data lives."""

    # -- lifetime -------------------------------------------------------------------------------
    @abc.abstractmethod
    def close(self) -> None: ...

    def __enter__(self) -> Gallery:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def check_search_args(k: Any, by: Any) -> None:
    """GalleryError unless ``k`` is a positive int and ``by`` is ``"identity"`` or ``"template"``."""
    if isinstance(k, bool) or not isinstance(k, int | np.integer) or k < 1:
        raise GalleryError(f"k must be a positive int, got {k!r}")
    if by not in ("identity", "template"):
        raise GalleryError(f"by must be 'identity' or 'template', got {by!r}")


def source_digests(sources: Iterable[Source | None]) -> set[str]:
    """The sha256 digests among ``sources`` (templates without one are left out)."""
    return {s.sha256 for s in sources if s is not None and s.sha256}


def without_known_sources(checked: list[tuple[str, np.ndarray, list[Source | None]]],
                          known: Callable[[str], Iterable[Source | None]]
                          ) -> list[tuple[str, np.ndarray, list[Source | None]]]:
    """``checked`` entries (name, vectors, sources), each without the templates whose source sha256 is in
    ``known(name)`` (the sources the name has now; empty for a new name) or earlier in ``checked`` for the same name.
    Templates without a sha256 are kept. Same length as ``checked``; an entry may be left with no template."""
    seen: dict[str, set[str]] = {}
    out = []
    for name, vectors, sources in checked:
        if name not in seen:
            seen[name] = source_digests(known(name))
        keep = []
        for i, src in enumerate(sources):
            sha = src.sha256 if src is not None else None
            if sha is None or sha not in seen[name]:
                keep.append(i)
                if sha is not None:
                    seen[name].add(sha)
        out.append((name, vectors[keep], [sources[i] for i in keep]))
    return out


def iter_identities(gallery: Gallery) -> Iterator[tuple[str, np.ndarray, list[Source | None]]]:
    """``(name, templates, sources)`` for every identity of ``gallery``, by name."""
    for name in gallery.names():
        yield name, gallery.templates(name), gallery.sources(name)
