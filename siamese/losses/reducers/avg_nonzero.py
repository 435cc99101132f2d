"""Mean over the terms that are > 0 (pytorch-metric-learning's AvgNonZeroReducer)."""

from __future__ import annotations

from typing import Any

import keras
from keras import ops

from siamese.losses.reducers.base import Reducer


@keras.saving.register_keras_serializable(package="siamese")
class AvgNonZeroReducer(Reducer):
    """``sum(w * terms) / sum(w where terms > 0)``: satisfied (zero) terms do not dilute the loss; 0 if none."""

    name = "avg_nonzero"

    def reduce(self, terms: Any, weights: Any, genuine: Any) -> Any:
        active = ops.where(ops.greater(terms, 0.0), weights, ops.zeros_like(weights))
        return ops.divide_no_nan(ops.sum(terms * weights), ops.sum(active))
