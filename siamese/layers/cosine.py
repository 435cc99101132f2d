"""Cosine distance layer."""

from __future__ import annotations

from typing import Any

import keras
from keras import ops

from siamese.layers.base import DistanceLayer

#: Floor of the squared norm in the normalisation (as ``tf.math.l2_normalize``).
NORM_EPSILON = 1e-12


def l2_normalize(x: Any, axis: int = -1) -> Any:
    """``x / sqrt(max(sum(x**2), 1e-12))`` along ``axis`` (TensorFlow's ``l2_normalize``)."""
    squared_norm = ops.sum(ops.square(x), axis=axis, keepdims=True)
    return x * ops.rsqrt(ops.maximum(squared_norm, NORM_EPSILON))


@keras.saving.register_keras_serializable(package="siamese")
class CosineDistance(DistanceLayer):
    """``1 - cos(a, b)`` per row, in ``[0, 2]``: ``(batch, dim)`` inputs -> ``(batch, 1)`` float32.

    Inputs need not be normalised (they are L2-normalised here). Rounding below 0 is clipped
    to 0. Computed in float32 even under ``mixed_float16``; the gradient is finite for
    identical embeddings.
    """

    kind = "cosine"
    metric = "angular"

    def distance(self, a: Any, b: Any) -> Any:
        similarity = ops.sum(l2_normalize(a) * l2_normalize(b), axis=-1, keepdims=True)
        return ops.maximum(1.0 - similarity, 0.0)
