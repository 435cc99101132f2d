"""Pairs that violate the current margins (those whose contrastive term is non-zero)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import keras
from keras import ops

from siamese.losses.miners.base import PairMiner


@keras.saving.register_keras_serializable(package="siamese")
class MarginViolatorMiner(PairMiner):
    """Genuine pairs with ``d > pos_margin`` and impostor pairs with ``d < margin`` (the loss's current margins,
    read at every step, so a scheduled margin changes the selection without retracing)."""

    name = "margin_violators"

    def __call__(self, pdist: Any, positives: Any, negatives: Any, margins: Mapping[str, Any] | None = None) -> Any:
        margins = margins or {}
        pos_margin = ops.cast(margins.get("pos_margin", 0.0), "float32")
        margin = ops.cast(margins.get("margin", 1.0), "float32")
        d = ops.stop_gradient(pdist)
        return (positives * ops.cast(ops.greater(d, pos_margin), "float32"),
                negatives * ops.cast(ops.less(d, margin), "float32"))
