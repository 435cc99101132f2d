"""Mean over the selected terms (TensorFlow Addons' reduction)."""

from __future__ import annotations

from typing import Any

import keras

from siamese.losses.reducers.base import Reducer, weighted_mean


@keras.saving.register_keras_serializable(package="siamese")
class MeanReducer(Reducer):
    """``sum(w * terms) / sum(w)``: the mean over all mined pairs / anchors, zero terms included (TFA)."""

    name = "mean"

    def reduce(self, terms: Any, weights: Any, genuine: Any) -> Any:
        return weighted_mean(terms, weights)
