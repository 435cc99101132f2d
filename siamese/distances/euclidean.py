"""Euclidean (L2) distance ``||a - b||``."""

from __future__ import annotations

from typing import Any

from siamese.distances.base import Distance, safe_sqrt
from siamese.distances.squared_euclidean import off_diagonal, pairwise_l2, squared_chord, squared_rows


class Euclidean(Distance):
    """``||a - b||_2`` with a safe square root (0 and a finite gradient for identical vectors); in ``[0, 2]`` for
    unit vectors. TFA name ``"L2"`` (TFA does not normalise the embeddings, nor does this)."""

    name = "euclidean"
    tfa_name = "L2"
    max_value = 2.0

    def _rowwise(self, xp: Any, a: Any, b: Any) -> Any:
        return safe_sqrt(squared_rows(xp, a, b), xp)

    def _cross(self, xp: Any, a: Any, b: Any) -> Any:
        return pairwise_l2(xp, a, b, squared=False)

    def _matrix(self, xp: Any, x: Any) -> Any:
        return pairwise_l2(xp, x, x, squared=False) * off_diagonal(xp, x)

    def _from_similarity(self, xp: Any, s: Any) -> Any:
        return safe_sqrt(squared_chord(xp, s), xp)
