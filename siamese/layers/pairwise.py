"""Pairwise distance matrices of one batch of embeddings (used by the triplet losses).

They reproduce TensorFlow Addons 0.23 ``metric_learning.pairwise_distance`` and
``angular_distance`` operation for operation (the reference the triplet losses are checked
against), on ``keras.ops``, always in float32.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from keras import ops

from siamese.errors import ConfigError
from siamese.layers.cosine import l2_normalize

#: Metric names (TensorFlow Addons spelling) and the aliases accepted for them.
METRICS: dict[str, str] = {
    "l2": "L2",
    "euclidean": "L2",
    "squared-l2": "squared-L2",
    "squared_l2": "squared-L2",
    "squared_euclidean": "squared-L2",
    "squared-euclidean": "squared-L2",
    "angular": "angular",
    "cosine": "angular",
}

DistanceFn = Callable[[Any], Any]


def canonical_metric(metric: str) -> str:
    """TensorFlow Addons name (``"L2"``, ``"squared-L2"``, ``"angular"``) of a metric or alias."""
    try:
        return METRICS[metric.lower()]
    except (KeyError, AttributeError):
        choices = ", ".join(sorted({"L2", "squared-L2", "angular"}))
        raise ConfigError(f"distance_metric: unknown metric {metric!r} (choose from {choices})") from None


def _off_diagonal(n: Any) -> Any:
    """``(n, n)`` float32 matrix of ones with a zero diagonal."""
    return 1.0 - ops.eye(n, dtype="float32")


def pairwise_euclidean(embeddings: Any, squared: bool = False) -> Any:
    """``(n, n)`` matrix of (squared) L2 distances between the rows of ``embeddings`` ``(n, dim)``.

    As TFA: expanded form ``|x|^2 + |y|^2 - 2 x.y`` clipped at 0; zero entries are kept at
    exactly 0 through a masked sqrt (finite gradient); the diagonal is set to 0.
    """
    x = ops.cast(embeddings, "float32")
    squared_norms = ops.sum(ops.square(x), axis=1, keepdims=True)
    distances_sq = squared_norms + ops.transpose(squared_norms) - 2.0 * ops.matmul(x, ops.transpose(x))
    distances_sq = ops.maximum(distances_sq, 0.0)
    error_mask = ops.cast(ops.less_equal(distances_sq, 0.0), "float32")
    distances = distances_sq if squared else ops.sqrt(distances_sq + error_mask * 1e-16)
    distances = distances * (1.0 - error_mask)
    return distances * _off_diagonal(ops.shape(x)[0])


def angular_distance(embeddings: Any) -> Any:
    """``(n, n)`` matrix of ``1 - cos`` between the L2-normalised rows, clipped at 0 (as TFA)."""
    x = l2_normalize(ops.cast(embeddings, "float32"), axis=1)
    return ops.maximum(1.0 - ops.matmul(x, ops.transpose(x)), 0.0)


def pairwise_distances(embeddings: Any, metric: str | DistanceFn = "L2") -> Any:
    """Distance matrix ``(n, n)`` float32 of a batch ``(n, dim)``.

    ``metric``: ``"L2"`` (alias ``"euclidean"``), ``"squared-L2"`` (``"squared_euclidean"``),
    ``"angular"`` (``"cosine"``: ``1 - cosine similarity``), or a callable taking the float32
    embeddings and returning the matrix. Unknown names raise :class:`~siamese.errors.ConfigError`.
    """
    if callable(metric):
        return ops.cast(metric(ops.cast(embeddings, "float32")), "float32")
    name = canonical_metric(metric)
    if name == "L2":
        return pairwise_euclidean(embeddings, squared=False)
    if name == "squared-L2":
        return pairwise_euclidean(embeddings, squared=True)
    return angular_distance(embeddings)
