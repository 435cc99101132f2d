"""Approximate search with a graph: ``IndexIDMap2(IndexHNSWFlat)``, inner product.

Fast queries on large galleries, no training. FAISS cannot delete from an HNSW graph, so
:meth:`HNSWBackend.remove` rebuilds the graph from the stored vectors (slow on big galleries).
"""

from __future__ import annotations

from typing import Any, ClassVar

import faiss
import numpy as np

from siamese.index.backend import FaissBackend, IndexFileError, _id_array


class HNSWBackend(FaissBackend):
    """HNSW graph; ``m`` links per node, ``ef_construction`` / ``ef_search`` beam widths."""

    kind: ClassVar[str] = "hnsw"
    cheap_remove: ClassVar[bool] = False

    def __init__(self, dim: int, m: int = 32, ef_construction: int = 80, ef_search: int = 64) -> None:
        for key, value in (("m", m), ("ef_construction", ef_construction), ("ef_search", ef_search)):
            if not isinstance(value, int) or value < 2:
                raise ValueError(f"{key} must be an int >= 2, got {value!r}")
        self.m, self.ef_construction, self.ef_search = m, ef_construction, ef_search
        super().__init__(dim)

    def _new_index(self) -> faiss.Index:
        graph = faiss.IndexHNSWFlat(self.dim, self.m, faiss.METRIC_INNER_PRODUCT)
        graph.hnsw.efConstruction = self.ef_construction
        graph.hnsw.efSearch = self.ef_search
        return faiss.IndexIDMap2(graph)

    def _graph(self, index: faiss.Index | None = None) -> faiss.IndexHNSWFlat:
        return faiss.downcast_index((index or self._index).index)

    def _adopt(self, index: faiss.Index) -> None:
        if not isinstance(index, faiss.IndexIDMap2) or not isinstance(
            faiss.downcast_index(index.index), faiss.IndexHNSWFlat
        ):
            raise IndexFileError(f"expected IndexIDMap2(IndexHNSWFlat), got {type(index).__name__}")
        self._index = index
        graph = self._graph()
        graph.hnsw.efSearch = self.ef_search
        graph.hnsw.efConstruction = self.ef_construction

    def _all(self) -> tuple[np.ndarray, np.ndarray]:
        stored = faiss.vector_to_array(self._index.id_map).astype(np.int64)
        vectors = self._graph().storage.reconstruct_n(0, self.size) if self.size else np.empty((0, self.dim))
        return stored, np.asarray(vectors, np.float32).reshape(-1, self.dim)

    def remove(self, ids: np.ndarray) -> int:
        ids = _id_array(ids)
        stored, vectors = self._all()
        keep = ~np.isin(stored, ids)
        removed = int(len(stored) - keep.sum())
        if removed:
            self._index = self._new_index()  # a fresh graph: nothing of the removed nodes survives
            self.add(stored[keep], vectors[keep])
        return removed

    def reset(self) -> None:
        self._index = self._new_index()

    def ids(self) -> np.ndarray:
        return np.sort(faiss.vector_to_array(self._index.id_map).astype(np.int64))

    def reconstruct(self, ids: np.ndarray) -> np.ndarray | None:
        stored, vectors = self._all()
        order = np.argsort(stored)
        pos = np.searchsorted(stored, _id_array(ids), sorter=order)
        return vectors[order[pos]]

    def get_config(self) -> dict[str, Any]:
        return {"dim": self.dim, "m": self.m, "ef_construction": self.ef_construction,
                "ef_search": self.ef_search}
