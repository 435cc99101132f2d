"""Pairwise distance matrices of one batch of embeddings: thin aliases onto :mod:`siamese.distances`.

Kept for one release; use ``siamese.distances.get(name).matrix(embeddings)`` instead. The matrices reproduce
TensorFlow Addons 0.23 ``metric_learning.pairwise_distance`` and ``angular_distance`` operation for
operation, always in float32 (numpy in -> numpy out; tensors in -> tensors out).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from siamese import distances

DistanceFn = Callable[[Any], Any]


def canonical_metric(metric: str | distances.Distance) -> str:
    """TensorFlow Addons name (``"L2"``, ``"squared-L2"``, ``"angular"``) of a distance name or alias."""
    return distances.get(metric, key="distance_metric").tfa_name


def pairwise_euclidean(embeddings: Any, squared: bool = False) -> Any:
    """``(n, n)`` matrix of (squared) L2 distances between the rows of ``embeddings`` ``(n, dim)``."""
    return (distances.SQUARED_EUCLIDEAN if squared else distances.EUCLIDEAN).matrix(embeddings)


def angular_distance(embeddings: Any) -> Any:
    """``(n, n)`` matrix of ``1 - cos`` between the L2-normalised rows, clipped at 0 (as TFA)."""
    return distances.COSINE.matrix(embeddings)


def pairwise_distances(embeddings: Any, metric: str | distances.Distance | DistanceFn = "L2") -> Any:
    """Distance matrix ``(n, n)`` float32 of a batch ``(n, dim)``.

    ``metric``: a distance name or alias (``"L2"``, ``"euclidean"``, ``"squared-L2"``, ``"cosine"`` ...), a
    :class:`~siamese.distances.Distance`, or a callable taking the float32 embeddings and returning the
    matrix. Unknown names raise :class:`~siamese.errors.ConfigError` naming ``distance_metric``.
    """
    if callable(metric) and not isinstance(metric, distances.Distance):
        from keras import ops

        return ops.cast(metric(ops.cast(embeddings, "float32")), "float32")
    return distances.get(metric, key="distance_metric").matrix(embeddings)
