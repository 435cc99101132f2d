"""A distance layer for any registered :class:`siamese.distances.Distance` (plug-ins without a layer class)."""

from __future__ import annotations

from typing import Any

import keras

from siamese import distances
from siamese.layers.base import DistanceLayer


@keras.saving.register_keras_serializable(package="siamese")
class PairDistance(DistanceLayer):
    """``layer([a, b])`` -> ``(batch, 1)`` float32 with the distance registered as ``distance``.

    The built-in distances have their own classes (:class:`EuclideanDistance` ...); this one serves distances
    added to :data:`siamese.plugins.DISTANCES`, and records the distance's name in its config.
    """

    def __init__(self, distance: str | distances.Distance = "euclidean", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.measure = distances.get(distance, key="distance")  # type: ignore[misc]

    @property
    def kind(self) -> str:  # type: ignore[override]
        return self.measure.name

    @property
    def metric(self) -> str:  # type: ignore[override]
        return self.measure.tfa_name or self.measure.name

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "distance": self.measure.name}
