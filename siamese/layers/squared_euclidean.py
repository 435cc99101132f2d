"""Squared Euclidean distance layer."""

from __future__ import annotations

from typing import Any

import keras
from keras import ops

from siamese.layers.base import DistanceLayer


@keras.saving.register_keras_serializable(package="siamese")
class SquaredEuclideanDistance(DistanceLayer):
    """``||a - b||_2^2`` per row: ``layer([a, b])`` with ``(batch, dim)`` inputs -> ``(batch, 1)`` float32.

    Smooth everywhere (no square root); computed in float32 even under ``mixed_float16``.
    """

    kind = "squared_euclidean"
    metric = "squared-L2"

    def distance(self, a: Any, b: Any) -> Any:
        return ops.sum(ops.square(a - b), axis=-1, keepdims=True)
