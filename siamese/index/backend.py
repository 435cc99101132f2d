"""Search backends: the abstract plug-in point and the FAISS base class with its on-disk format.

A backend holds ``(id, vector)`` pairs, ids int64 (the catalogue's template ids), vectors float32
``(n, dim)`` L2-normalised, and answers top-k inner-product queries (similarity: larger = more
similar, in [-1, 1] for unit vectors). It is a *derived cache*: the catalogue is the truth.

Index file layout (one file, replaced atomically)::

    [FAISS write_index payload][trailer: JSON, utf-8][trailer length: uint64 LE][magic b"SIAMIDX1"]

The trailer holds the payload's byte count and SHA-256 and a caller-supplied ``tag`` (the gallery
stores the catalogue generation it was built from). A file that fails any check is reported as
:class:`IndexFileError` and the gallery rebuilds it from the catalogue.
"""

from __future__ import annotations

import abc
import hashlib
import json
import os
import struct
from pathlib import Path
from typing import Any, ClassVar

import faiss
import numpy as np

from siamese.index._fs import atomic_writer

MAGIC = b"SIAMIDX1"
FORMAT_VERSION = 1
_TAIL = struct.Struct("<Q8s")
_CHUNK = 1 << 24


class IndexFileError(Exception):
    """An index file is missing, truncated, corrupt or of another kind/dim (internal: triggers a rebuild)."""


class SearchBackend(abc.ABC):
    """Abstract nearest-neighbour store keyed by int64 ids, ranked by inner product.

    Shapes: ``ids`` int64 ``(n,)``; ``vectors`` / ``queries`` float32 ``(n, dim)``.
    """

    kind: ClassVar[str] = ""
    #: True when :meth:`remove` is cheap (no rebuild of the whole structure).
    cheap_remove: ClassVar[bool] = True

    def __init__(self, dim: int) -> None:
        if not isinstance(dim, int | np.integer) or int(dim) <= 0:
            raise ValueError(f"dim must be a positive int, got {dim!r}")
        self.dim = int(dim)

    @property
    @abc.abstractmethod
    def size(self) -> int:
        """Number of vectors held."""

    def __len__(self) -> int:
        return self.size

    @abc.abstractmethod
    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        """Add vectors under the given (new, unique) ids."""

    @abc.abstractmethod
    def remove(self, ids: np.ndarray) -> int:
        """Remove the given ids (unknown ids are ignored); returns how many were removed."""

    @abc.abstractmethod
    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Top-k per query: ``(similarities float32 (nq, k), ids int64 (nq, k))``, best first, id -1 = none."""

    @abc.abstractmethod
    def ids(self) -> np.ndarray:
        """All ids held, sorted ascending, int64."""

    @abc.abstractmethod
    def reset(self) -> None:
        """Remove everything (trained parameters, if any, are kept)."""

    @abc.abstractmethod
    def save(self, path: str | os.PathLike[str], tag: dict[str, Any] | None = None) -> None:
        """Write the backend to ``path`` atomically (temp file + fsync + replace), with ``tag``."""

    @abc.abstractmethod
    def load(self, path: str | os.PathLike[str]) -> dict[str, Any]:
        """Replace the contents with those saved at ``path``; returns the saved tag.

        Raises :class:`IndexFileError` if the file is missing, corrupt or of another kind / dim.
        """

    def reconstruct(self, ids: np.ndarray) -> np.ndarray | None:
        """Stored vectors for ``ids`` (float32 ``(n, dim)``), or None if the backend cannot tell."""
        return None

    def get_config(self) -> dict[str, Any]:
        return {"dim": self.dim}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> SearchBackend:
        return cls(**config)


def _id_array(ids: Any) -> np.ndarray:
    return np.ascontiguousarray(np.asarray(ids, dtype=np.int64).reshape(-1))


def _vec_array(vectors: Any, dim: int) -> np.ndarray:
    arr = np.ascontiguousarray(np.asarray(vectors, dtype=np.float32))
    if arr.ndim != 2 or arr.shape[1] != dim:
        raise ValueError(f"expected vectors of shape (n, {dim}), got {arr.shape}")
    return arr


def write_index_file(path: Path, index: faiss.Index, meta: dict[str, Any]) -> None:
    """Serialise ``index`` to ``path`` crash-safely with a checksummed trailer (see module doc)."""
    with atomic_writer(path) as handle:
        digest = hashlib.sha256()
        count = 0

        def sink(chunk: bytes) -> None:
            nonlocal count
            digest.update(chunk)
            handle.write(chunk)
            count += len(chunk)

        writer = faiss.PyCallbackIOWriter(sink, _CHUNK)
        faiss.write_index(index, writer)
        del writer  # flushes the last block
        trailer = dict(meta, format=FORMAT_VERSION, payload_bytes=count, sha256=digest.hexdigest())
        blob = json.dumps(trailer, sort_keys=True).encode()
        handle.write(blob)
        handle.write(_TAIL.pack(len(blob), MAGIC))


def read_index_file(path: Path) -> tuple[faiss.Index, dict[str, Any]]:
    """Read and verify a file written by :func:`write_index_file`; raises IndexFileError."""
    try:
        with open(path, "rb") as handle:
            total = os.fstat(handle.fileno()).st_size
            if total < _TAIL.size:
                raise IndexFileError(f"{path}: truncated")
            handle.seek(total - _TAIL.size)
            length, magic = _TAIL.unpack(handle.read(_TAIL.size))
            if magic != MAGIC or length > total - _TAIL.size:
                raise IndexFileError(f"{path}: not a siamese index file")
            handle.seek(total - _TAIL.size - length)
            trailer = json.loads(handle.read(length))
            payload = int(trailer["payload_bytes"])
            if trailer.get("format") != FORMAT_VERSION or payload + length + _TAIL.size != total:
                raise IndexFileError(f"{path}: bad trailer")
            handle.seek(0)
            digest = hashlib.sha256()
            left = payload
            while left:
                chunk = handle.read(min(_CHUNK, left))
                if not chunk:
                    raise IndexFileError(f"{path}: truncated payload")
                digest.update(chunk)
                left -= len(chunk)
            if digest.hexdigest() != trailer["sha256"]:
                raise IndexFileError(f"{path}: checksum mismatch")
            handle.seek(0)
            reader = faiss.PyCallbackIOReader(handle.read, _CHUNK)
            index = faiss.read_index(reader)
            del reader
    except IndexFileError:
        raise
    except (OSError, ValueError, KeyError, TypeError, RuntimeError) as exc:
        raise IndexFileError(f"{path}: {exc}") from exc
    return index, trailer


class FaissBackend(SearchBackend):
    """Base for FAISS backends: search, save and load around ``self._index`` (a ``faiss.Index``)."""

    def __init__(self, dim: int) -> None:
        super().__init__(dim)
        self._index: faiss.Index = self._new_index()

    @abc.abstractmethod
    def _new_index(self) -> faiss.Index: ...

    def _adopt(self, index: faiss.Index) -> None:
        """Take over a loaded index (override to check its type and apply search parameters)."""
        self._index = index

    @property
    def index(self) -> faiss.Index:
        """The underlying FAISS index (for benchmarks and tools; do not mutate)."""
        return self._index

    @property
    def size(self) -> int:
        return int(self._index.ntotal)

    def _checked(self, ids: np.ndarray, vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``ids`` as int64 and ``vectors`` as float32 ``(n, dim)``; ValueError if their counts differ."""
        ids, vectors = _id_array(ids), _vec_array(vectors, self.dim)
        if len(ids) != len(vectors):
            raise ValueError(f"{len(ids)} ids for {len(vectors)} vectors")
        return ids, vectors

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        """Add ``vectors`` under ``ids`` (default: ``add_with_ids`` of an id-mapped index)."""
        ids, vectors = self._checked(ids, vectors)
        if len(ids):
            self._index.add_with_ids(vectors, ids)

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        queries = _vec_array(queries, self.dim)
        if self.size == 0 or len(queries) == 0:
            return (np.full((len(queries), k), -np.inf, np.float32), np.full((len(queries), k), -1, np.int64))
        sims, ids = self._index.search(queries, int(k))
        return sims, ids

    def save(self, path: str | os.PathLike[str], tag: dict[str, Any] | None = None) -> None:
        meta = {"kind": self.kind, "dim": self.dim, "ntotal": self.size, "tag": tag or {}}
        write_index_file(Path(path), self._index, meta)

    def load(self, path: str | os.PathLike[str]) -> dict[str, Any]:
        index, trailer = read_index_file(Path(path))
        if trailer.get("kind") != self.kind or trailer.get("dim") != self.dim or index.d != self.dim:
            raise IndexFileError(f"{path}: holds a {trailer.get('kind')!r} index of dim {index.d}")
        if int(index.ntotal) != int(trailer.get("ntotal", -1)):
            raise IndexFileError(f"{path}: vector count does not match its trailer")
        self._adopt(index)
        return dict(trailer.get("tag") or {})

    def reset(self) -> None:
        self._index.reset()
