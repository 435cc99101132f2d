"""Squared Euclidean distance layer."""

from __future__ import annotations

import keras

from siamese.distances import SQUARED_EUCLIDEAN
from siamese.layers.base import DistanceLayer


@keras.saving.register_keras_serializable(package="siamese")
class SquaredEuclideanDistance(DistanceLayer):
    """``||a - b||_2^2`` per row: ``layer([a, b])`` with ``(batch, dim)`` inputs -> ``(batch, 1)`` float32.

    Smooth everywhere (no square root); computed in float32 even under ``mixed_float16``. Values from
    :data:`siamese.distances.SQUARED_EUCLIDEAN`.
    """

    measure = SQUARED_EUCLIDEAN
