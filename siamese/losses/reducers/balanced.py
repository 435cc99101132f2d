"""Mean of the genuine-pair mean and the impostor-pair mean."""

from __future__ import annotations

from typing import Any, ClassVar

import keras

from siamese.losses.reducers.base import Reducer, weighted_mean


@keras.saving.register_keras_serializable(package="siamese")
class BalancedReducer(Reducer):
    """``(mean over genuine terms + mean over impostor terms) / 2`` (each 0 when empty), so that the far more
    numerous impostor pairs of a P x K batch do not drown the genuine ones. Pair losses only."""

    name = "balanced"
    needs_genuine: ClassVar[bool] = True

    def reduce(self, terms: Any, weights: Any, genuine: Any) -> Any:
        return 0.5 * (weighted_mean(terms, weights * genuine) + weighted_mean(terms, weights * (1.0 - genuine)))
