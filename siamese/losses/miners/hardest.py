"""The hardest genuine and the hardest impostor pair of each anchor."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import keras
from keras import ops

from siamese.losses.miners.base import PairMiner, masked_argmax, masked_argmin, one_hot_columns


@keras.saving.register_keras_serializable(package="siamese")
class HardestPairMiner(PairMiner):
    """Per anchor ``a``: the pair to its farthest positive and the pair to its nearest negative (an anchor
    without positives / negatives contributes no such pair; ties: the first column)."""

    name = "hardest"

    def __call__(self, pdist: Any, positives: Any, negatives: Any, margins: Mapping[str, Any] | None = None) -> Any:
        d = ops.stop_gradient(pdist)
        n = ops.shape(d)[0]
        return (one_hot_columns(masked_argmax(d, positives), n) * positives,
                one_hot_columns(masked_argmin(d, negatives), n) * negatives)
