"""Every pair of the batch."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import keras

from siamese.losses.miners.base import PairMiner


@keras.saving.register_keras_serializable(package="siamese")
class AllPairsMiner(PairMiner):
    """All genuine pairs ``i != j`` and all impostor pairs: ``(positives, negatives)`` unchanged."""

    name = "all_pairs"

    def __call__(self, pdist: Any, positives: Any, negatives: Any, margins: Mapping[str, Any] | None = None) -> Any:
        return positives, negatives
