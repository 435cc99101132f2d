"""Batch-hard triplets (Hermans, Beyer & Leibe 2017): hardest positive and hardest negative per anchor."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import keras
from keras import ops

from siamese.losses.miners.base import (
    TripletMiner,
    masked_argmax,
    masked_argmin,
    masked_maximum,
    masked_minimum,
    one_hot_columns,
)


def hardest_positives(pdist: Any, positives: Any) -> Any:
    """``(n, 1)``: largest positive distance per anchor."""
    return masked_maximum(pdist, positives, axis=-1)


def hardest_negatives(pdist: Any, negatives: Any) -> Any:
    """``(n, 1)``: smallest negative distance per anchor."""
    return masked_minimum(pdist, negatives, axis=-1)


@keras.saving.register_keras_serializable(package="siamese")
class BatchHardMiner(TripletMiner):
    """One triplet per anchor: its farthest positive and its nearest negative. As TensorFlow Addons, every
    anchor counts: without positives the "positive" is the row's smallest entry, without negatives the
    "negative" its largest (TFA's masked extrema)."""

    name = "batch_hard"

    def __call__(self, pdist: Any, positives: Any, negatives: Any, margins: Mapping[str, Any] | None = None) -> Any:
        d = ops.stop_gradient(pdist)
        weights = one_hot_columns(masked_argmax(d, positives), ops.shape(d)[0])
        negative_index = ops.broadcast_to(masked_argmin(d, negatives), ops.shape(d))
        return weights, negative_index
