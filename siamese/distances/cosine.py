"""Cosine distance ``1 - cos(a, b)`` (TFA's "angular")."""

from __future__ import annotations

from typing import Any

from siamese.distances.base import Distance, l2_normalize


class Cosine(Distance):
    """``1 - cos(a, b)`` of the L2-normalised vectors, clipped at 0; in ``[0, 2]``. TFA name ``"angular"``.

    Inputs need not be normalised. The matrix is TFA's ``angular_distance`` (its diagonal is ~0, not forced).
    """

    name = "cosine"
    tfa_name = "angular"
    max_value = 2.0

    def _rowwise(self, xp: Any, a: Any, b: Any) -> Any:
        similarity = xp.sum(l2_normalize(a, xp=xp) * l2_normalize(b, xp=xp), axis=-1)
        return xp.maximum(1.0 - similarity, 0.0)

    def _cross(self, xp: Any, a: Any, b: Any) -> Any:
        similarity = xp.matmul(l2_normalize(a, axis=1, xp=xp), xp.transpose(l2_normalize(b, axis=1, xp=xp)))
        return xp.maximum(1.0 - similarity, 0.0)

    def _from_similarity(self, xp: Any, s: Any) -> Any:
        return 1.0 - s
