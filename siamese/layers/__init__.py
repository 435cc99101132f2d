"""Distance layers (and, for one release, the pairwise matrices now in :mod:`siamese.distances`).

``get(name)`` maps a distance name or alias (see :data:`siamese.plugins.DISTANCES`) to its layer class::

    "euclidean" | "l2"                      -> EuclideanDistance
    "squared_euclidean" | "squared-l2"      -> SquaredEuclideanDistance
    "cosine" | "angular"                    -> CosineDistance
    any other registered distance           -> PairDistance with that distance

Every layer is called as ``layer([a, b])`` on ``(batch, dim)`` embeddings and returns ``(batch, 1)`` float32
distances (small = similar); the values come from the layer's :class:`siamese.distances.Distance`
(``Layer.measure``). ``Layer.kind`` is the canonical name to record in a model card.

:class:`LossState` is no distance: an identity layer that puts the state of a loss (a cross-batch memory) into the
training model, so that every backend's compiled step carries it (:mod:`siamese.layers.loss_state`).
"""

from __future__ import annotations

import functools
from collections.abc import Callable

from siamese import distances
from siamese.layers.base import DistanceLayer, safe_sqrt
from siamese.layers.cosine import CosineDistance, l2_normalize
from siamese.layers.euclidean import EuclideanDistance
from siamese.layers.generic import PairDistance
from siamese.layers.loss_state import LossState, loss_state_variables
from siamese.layers.pairwise import (
    angular_distance,
    canonical_metric,
    pairwise_distances,
    pairwise_euclidean,
)
from siamese.layers.squared_euclidean import SquaredEuclideanDistance
from siamese.plugins import DISTANCES  # the registry of distances (was a name -> layer class dict)

_BUILTIN_LAYERS: tuple[type[DistanceLayer], ...] = (EuclideanDistance, SquaredEuclideanDistance, CosineDistance)


def get(name: str | distances.Distance | type[DistanceLayer] | DistanceLayer) -> Callable[..., DistanceLayer]:
    """Layer class for a distance name or alias (case-insensitive; ``-`` = ``_``) or a Distance; layer
    classes and layers pass through as their class. A registered distance without its own layer class gives
    :class:`PairDistance` bound to it. Unknown names raise :class:`~siamese.errors.ConfigError` (key
    ``distance``).
    """
    if isinstance(name, DistanceLayer):
        return type(name)
    if isinstance(name, type) and issubclass(name, DistanceLayer):
        return name
    measure = distances.get(name, key="distance")
    for cls in _BUILTIN_LAYERS:
        if cls.measure == measure:
            return cls
    return functools.partial(PairDistance, distance=measure)


def names() -> list[str]:
    """Canonical distance names (the ``kind`` of each layer)."""
    return distances.names()


__all__ = [
    "DISTANCES",
    "CosineDistance",
    "DistanceLayer",
    "EuclideanDistance",
    "LossState",
    "PairDistance",
    "SquaredEuclideanDistance",
    "angular_distance",
    "canonical_metric",
    "get",
    "l2_normalize",
    "loss_state_variables",
    "names",
    "pairwise_distances",
    "pairwise_euclidean",
    "safe_sqrt",
]
