"""Euclidean (L2) distance layer."""

from __future__ import annotations

from typing import Any

import keras
from keras import ops

from siamese.layers.base import DistanceLayer, safe_sqrt


@keras.saving.register_keras_serializable(package="siamese")
class EuclideanDistance(DistanceLayer):
    """``||a - b||_2`` per row: ``layer([a, b])`` with ``(batch, dim)`` inputs -> ``(batch, 1)`` float32.

    The square root is a safe square root: identical embeddings give exactly 0 and a finite
    (zero) gradient, also under ``mixed_float16`` (computed in float32).
    """

    kind = "euclidean"
    metric = "L2"

    def distance(self, a: Any, b: Any) -> Any:
        squared = ops.sum(ops.square(a - b), axis=-1, keepdims=True)
        return safe_sqrt(squared)
