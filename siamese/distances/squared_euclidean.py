"""Squared Euclidean distance ``||a - b||^2`` (and the TFA pairwise form shared with Euclidean)."""

from __future__ import annotations

from typing import Any

from siamese.distances.base import Distance


def pairwise_l2(xp: Any, a: Any, b: Any, squared: bool) -> Any:
    """``(n, m)`` (squared) L2 distances as TensorFlow Addons computes them.

    Expanded form ``|a|^2 + |b|^2 - 2 a.b`` clipped at 0; entries ``<= 0`` are masked (the square root sees
    ``d + 1e-16`` there and the result is multiplied by 0, so they are exactly 0 with a zero gradient).
    """
    squared_a = xp.sum(xp.square(a), axis=1, keepdims=True)
    squared_b = xp.transpose(xp.sum(xp.square(b), axis=1, keepdims=True))
    distances_sq = xp.maximum(squared_a + squared_b - 2.0 * xp.matmul(a, xp.transpose(b)), 0.0)
    error_mask = xp.cast(xp.less_equal(distances_sq, 0.0), "float32")
    distances = distances_sq if squared else xp.sqrt(distances_sq + error_mask * 1e-16)
    return distances * (1.0 - error_mask)


def squared_rows(xp: Any, a: Any, b: Any) -> Any:
    """``(n,)`` squared L2 distance of each row pair."""
    return xp.sum(xp.square(a - b), axis=-1)


def squared_chord(xp: Any, s: Any) -> Any:
    """Squared L2 distance of two unit vectors with inner product ``s``: ``max(2 - 2 s, 0)``."""
    return xp.maximum(2.0 - 2.0 * s, 0.0)


def off_diagonal(xp: Any, x: Any) -> Any:
    """``(n, n)`` float32 ones with a zero diagonal, ``n`` the rows of ``x``."""
    return 1.0 - xp.eye(xp.shape(x)[0], dtype="float32")


class SquaredEuclidean(Distance):
    """``||a - b||_2^2``: smooth everywhere; in ``[0, 4]`` for unit vectors. TFA name ``"squared-L2"``."""

    name = "squared_euclidean"
    tfa_name = "squared-L2"
    max_value = 4.0

    def _rowwise(self, xp: Any, a: Any, b: Any) -> Any:
        return squared_rows(xp, a, b)

    def _cross(self, xp: Any, a: Any, b: Any) -> Any:
        return pairwise_l2(xp, a, b, squared=True)

    def _matrix(self, xp: Any, x: Any) -> Any:
        return pairwise_l2(xp, x, x, squared=True) * off_diagonal(xp, x)

    def _from_similarity(self, xp: Any, s: Any) -> Any:
        return squared_chord(xp, s)
