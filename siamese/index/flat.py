"""Exact search: ``IndexIDMap2(IndexFlatIP)``; the default backend (best up to ~1M vectors)."""

from __future__ import annotations

from typing import ClassVar

import faiss
import numpy as np

from siamese.index.backend import FaissBackend, IndexFileError, _id_array


class FlatBackend(FaissBackend):
    """Brute-force inner product over all vectors: exact, cheap add and remove."""

    kind: ClassVar[str] = "flat"
    cheap_remove: ClassVar[bool] = True

    def _new_index(self) -> faiss.Index:
        return faiss.IndexIDMap2(faiss.IndexFlatIP(self.dim))

    def _adopt(self, index: faiss.Index) -> None:
        if not isinstance(index, faiss.IndexIDMap2) or not isinstance(
            faiss.downcast_index(index.index), faiss.IndexFlatIP
        ):
            raise IndexFileError(f"expected IndexIDMap2(IndexFlatIP), got {type(index).__name__}")
        self._index = index

    def remove(self, ids: np.ndarray) -> int:
        ids = _id_array(ids)
        return int(self._index.remove_ids(ids)) if len(ids) else 0

    def ids(self) -> np.ndarray:
        return np.sort(faiss.vector_to_array(self._index.id_map).astype(np.int64))

    def reconstruct(self, ids: np.ndarray) -> np.ndarray | None:
        ids = _id_array(ids)
        out = np.empty((len(ids), self.dim), np.float32)
        for row, value in enumerate(ids):
            out[row] = self._index.reconstruct(int(value))
        return out
