"""Mean of the active genuine terms plus mean of the active impostor terms (pytorch-metric-learning's contrastive)."""

from __future__ import annotations

from typing import Any, ClassVar

import keras

from siamese.losses.reducers.base import Reducer, nonzero_mean


@keras.saving.register_keras_serializable(package="siamese")
class BalancedNonZeroReducer(Reducer):
    """``(avg_nonzero over genuine terms + avg_nonzero over impostor terms) / 2`` (each 0 when none is active).

    pytorch-metric-learning's ``ContrastiveLoss`` reduces its ``pos_loss`` and ``neg_loss`` this way (one
    ``AvgNonZeroReducer`` each; it sums them, here halved like ``balanced``, which Adam does not see). Unlike
    ``avg_nonzero`` over all pairs, the few genuine pairs of a batch with many one-photo impostors keep half the
    weight however many impostor pairs are active. Pair losses only.
    """

    name = "balanced_nonzero"
    needs_genuine: ClassVar[bool] = True

    def reduce(self, terms: Any, weights: Any, genuine: Any) -> Any:
        return 0.5 * (nonzero_mean(terms, weights * genuine) + nonzero_mean(terms, weights * (1.0 - genuine)))
