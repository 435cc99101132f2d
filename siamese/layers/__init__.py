"""Distance layers and pairwise distance matrices.

``get(name)`` maps a distance name to its layer class::

    "euclidean" | "l2"                      -> EuclideanDistance
    "squared_euclidean" | "squared-l2"      -> SquaredEuclideanDistance
    "cosine" | "angular"                    -> CosineDistance

Every layer is called as ``layer([a, b])`` on ``(batch, dim)`` embeddings and returns
``(batch, 1)`` float32 distances (small = similar). ``Layer.kind`` is the canonical name to
record in a model card; ``Layer.metric`` the matching ``metric`` of :func:`pairwise_distances`.
"""

from __future__ import annotations

from siamese.errors import ConfigError
from siamese.layers.base import DistanceLayer, safe_sqrt
from siamese.layers.cosine import CosineDistance, l2_normalize
from siamese.layers.euclidean import EuclideanDistance
from siamese.layers.pairwise import (
    angular_distance,
    canonical_metric,
    pairwise_distances,
    pairwise_euclidean,
)
from siamese.layers.squared_euclidean import SquaredEuclideanDistance

#: Canonical names and aliases (lower case, ``-`` and ``_`` both accepted) -> class.
DISTANCES: dict[str, type[DistanceLayer]] = {
    "euclidean": EuclideanDistance,
    "l2": EuclideanDistance,
    "squared_euclidean": SquaredEuclideanDistance,
    "squared_l2": SquaredEuclideanDistance,
    "cosine": CosineDistance,
    "angular": CosineDistance,
}


def get(name: str | type[DistanceLayer] | DistanceLayer) -> type[DistanceLayer]:
    """Distance layer class for ``name`` (case-insensitive; ``-`` = ``_``); classes pass through.

    Raises :class:`~siamese.errors.ConfigError` naming the key ``distance`` for unknown names.
    """
    if isinstance(name, DistanceLayer):
        return type(name)
    if isinstance(name, type) and issubclass(name, DistanceLayer):
        return name
    key = name.strip().lower().replace("-", "_") if isinstance(name, str) else None
    if key not in DISTANCES:
        choices = ", ".join(sorted(DISTANCES))
        raise ConfigError(f"distance: unknown distance {name!r} (choose from {choices})")
    return DISTANCES[key]


def names() -> list[str]:
    """Canonical distance names (the ``kind`` of each layer class)."""
    return sorted({cls.kind for cls in DISTANCES.values()})


__all__ = [
    "DISTANCES",
    "CosineDistance",
    "DistanceLayer",
    "EuclideanDistance",
    "SquaredEuclideanDistance",
    "angular_distance",
    "canonical_metric",
    "get",
    "l2_normalize",
    "names",
    "pairwise_distances",
    "pairwise_euclidean",
    "safe_sqrt",
]
