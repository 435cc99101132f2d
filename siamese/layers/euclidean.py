"""Euclidean (L2) distance layer."""

from __future__ import annotations

import keras

from siamese.distances import EUCLIDEAN
from siamese.layers.base import DistanceLayer


@keras.saving.register_keras_serializable(package="siamese")
class EuclideanDistance(DistanceLayer):
    """``||a - b||_2`` per row: ``layer([a, b])`` with ``(batch, dim)`` inputs -> ``(batch, 1)`` float32.

    A safe square root: identical embeddings give exactly 0 and a finite (zero) gradient, also under
    ``mixed_float16`` (computed in float32). Values from :data:`siamese.distances.EUCLIDEAN`.
    """

    measure = EUCLIDEAN
