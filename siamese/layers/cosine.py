"""Cosine distance layer."""

from __future__ import annotations

import keras

from siamese.distances import COSINE, NORM_EPSILON, l2_normalize
from siamese.layers.base import DistanceLayer

__all__ = ["NORM_EPSILON", "CosineDistance", "l2_normalize"]  # l2_normalize, NORM_EPSILON: old place


@keras.saving.register_keras_serializable(package="siamese")
class CosineDistance(DistanceLayer):
    """``1 - cos(a, b)`` per row, in ``[0, 2]``: ``(batch, dim)`` inputs -> ``(batch, 1)`` float32.

    Inputs need not be normalised (they are L2-normalised here). Rounding below 0 is clipped to 0. Computed in
    float32 even under ``mixed_float16``; the gradient is finite for identical embeddings. Values from
    :data:`siamese.distances.COSINE`.
    """

    measure = COSINE
