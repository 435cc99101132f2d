"""TEMPORARY shim until the siamese.distances package lands (removed at merge)."""
from __future__ import annotations

from typing import Any

import numpy as np


class _D:
    def __init__(self, name: str, max_value: float) -> None:
        self.name, self.max_value = name, max_value

    def rowwise(self, a: Any, b: Any) -> Any:
        a = np.asarray(a, dtype=np.float32)
        b = np.asarray(b, dtype=np.float32)
        if self.name == "cosine":
            an = a / np.maximum(np.linalg.norm(a, axis=1, keepdims=True), 1e-12)
            bn = b / np.maximum(np.linalg.norm(b, axis=1, keepdims=True), 1e-12)
            return 1.0 - np.sum(an * bn, axis=1)
        d2 = np.sum((a - b) ** 2, axis=1)
        return d2 if self.name == "squared_euclidean" else np.sqrt(np.maximum(d2, 0.0))

    def from_similarity(self, s: Any) -> Any:
        s = np.clip(np.asarray(s, dtype=np.float32), -1.0, 1.0)
        if self.name == "cosine":
            return 1.0 - s
        d2 = np.maximum(2.0 - 2.0 * s, 0.0)
        return d2 if self.name == "squared_euclidean" else np.sqrt(d2)


EUCLIDEAN = _D("euclidean", 2.0)
SQUARED_EUCLIDEAN = _D("squared_euclidean", 4.0)
COSINE = _D("cosine", 2.0)


def get(name: Any) -> Any:
    from siamese.plugins import DISTANCES

    return DISTANCES.get(name)
