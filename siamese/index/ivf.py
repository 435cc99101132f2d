"""Approximate search with an inverted file: ``IndexIVFFlat`` (inner product) for large galleries.

Until ``train_size`` vectors have been added the backend searches exactly (an
``IndexIDMap2(IndexFlatIP)``); the add that reaches ``train_size`` trains the coarse quantizer
(k-means, FAISS's fixed seed, so deterministic) on all vectors held and moves them to the IVF.
``nlist`` (cells) defaults to ``4 * sqrt(n)`` capped so each cell gets >= 39 training vectors;
``nprobe`` cells are scanned per query.

The trained IVF stores our int64 ids natively (``add_with_ids``) instead of being wrapped in
``IndexIDMap2``: FAISS's ``IndexIDMap2.remove_ids`` assumes removal shifts the sub-index's
internal ids like a flat array, which IVF does not, so the wrapper returns wrong ids after a
removal (checked in ``tests/index/test_backends.py``).
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

import faiss
import numpy as np

from siamese.index.backend import FaissBackend, IndexFileError, _id_array


class IVFBackend(FaissBackend):
    """Inverted-file index; exact until trained."""

    kind: ClassVar[str] = "ivf"
    cheap_remove: ClassVar[bool] = True

    def __init__(self, dim: int, nlist: int | None = None, nprobe: int = 16, train_size: int = 10_000) -> None:
        if nlist is not None and (not isinstance(nlist, int) or nlist < 1):
            raise ValueError(f"nlist must be a positive int or None, got {nlist!r}")
        if not isinstance(nprobe, int) or nprobe < 1:
            raise ValueError(f"nprobe must be a positive int, got {nprobe!r}")
        if not isinstance(train_size, int) or train_size < 1:
            raise ValueError(f"train_size must be a positive int, got {train_size!r}")
        self.nlist, self.nprobe, self.train_size = nlist, nprobe, train_size
        super().__init__(dim)

    def _new_index(self) -> faiss.Index:
        return faiss.IndexIDMap2(faiss.IndexFlatIP(self.dim))

    @property
    def trained(self) -> bool:
        """True once the vectors live in a trained IVF."""
        return isinstance(self._index, faiss.IndexIVF)

    def _adopt(self, index: faiss.Index) -> None:
        if isinstance(index, faiss.IndexIVFFlat) and index.metric_type == faiss.METRIC_INNER_PRODUCT:
            index.nprobe = self.nprobe
        elif not (
            isinstance(index, faiss.IndexIDMap2)
            and isinstance(faiss.downcast_index(index.index), faiss.IndexFlatIP)
        ):
            raise IndexFileError(f"expected IndexIVFFlat or IndexIDMap2(IndexFlatIP), got {type(index)}")
        self._index = index

    def _train(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        n = len(vectors)
        nlist = self.nlist or max(1, min(int(4 * math.sqrt(n)), n // 39))
        nlist = max(1, min(nlist, n))
        quantizer = faiss.IndexFlatIP(self.dim)
        ivf = faiss.IndexIVFFlat(quantizer, self.dim, nlist, faiss.METRIC_INNER_PRODUCT)
        ivf.train(vectors)
        ivf.add_with_ids(vectors, ids)
        ivf.nprobe = self.nprobe
        self._quantizer = quantizer  # keep the Python owner alive alongside the IVF
        self._index = ivf

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        ids, vectors = self._checked(ids, vectors)
        if not len(ids):
            return
        if self.trained:
            self._index.add_with_ids(vectors, ids)
            return
        if self.size + len(ids) < self.train_size:
            self._index.add_with_ids(vectors, ids)
            return
        held_ids = faiss.vector_to_array(self._index.id_map).astype(np.int64)
        held = faiss.downcast_index(self._index.index).reconstruct_n(0, self.size) if self.size else None
        all_ids = np.concatenate([held_ids, ids])
        all_vectors = vectors if held is None else np.concatenate([np.asarray(held, np.float32), vectors])
        self._train(all_ids, np.ascontiguousarray(all_vectors))

    def remove(self, ids: np.ndarray) -> int:
        ids = _id_array(ids)
        return int(self._index.remove_ids(ids)) if len(ids) else 0

    def ids(self) -> np.ndarray:
        if not self.trained:
            return np.sort(faiss.vector_to_array(self._index.id_map).astype(np.int64))
        invlists = self._index.invlists
        parts = []
        for cell in range(self._index.nlist):
            count = invlists.list_size(cell)
            if count:
                parts.append(faiss.rev_swig_ptr(invlists.get_ids(cell), count).astype(np.int64))
        return np.sort(np.concatenate(parts)) if parts else np.empty(0, np.int64)

    def reset(self) -> None:
        self._index.reset()  # a trained IVF keeps its quantizer

    def get_config(self) -> dict[str, Any]:
        return {"dim": self.dim, "nlist": self.nlist, "nprobe": self.nprobe, "train_size": self.train_size}
