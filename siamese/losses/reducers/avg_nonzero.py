"""Mean over the terms that are > 0 (pytorch-metric-learning's AvgNonZeroReducer)."""

from __future__ import annotations

from typing import Any

import keras

from siamese.losses.reducers.base import Reducer, nonzero_mean


@keras.saving.register_keras_serializable(package="siamese")
class AvgNonZeroReducer(Reducer):
    """``sum(w * terms) / sum(w where terms > 0)``: satisfied (zero) terms do not dilute the loss; 0 if none."""

    name = "avg_nonzero"

    def reduce(self, terms: Any, weights: Any, genuine: Any) -> Any:
        return nonzero_mean(terms, weights)
