"""Miners: which pairs / triplets of an identity-labelled P x K batch a loss uses (weights, never values).

Registered in :data:`siamese.plugins.MINERS`:

====================  ========  ===================================================================
``all_pairs``         pairs     every genuine pair ``i != j`` and every impostor pair
``margin_violators``  pairs     pairs whose contrastive term is non-zero for the current margins
``hardest``           pairs     per anchor: its farthest positive and its nearest negative
``semihard``          triplets  every (anchor, positive) with its semi-hard negative (FaceNet, TFA)
``batch_hard``        triplets  per anchor: hardest positive and hardest negative (TFA)
====================  ========  ===================================================================
"""

from __future__ import annotations

from typing import Any

from siamese.losses._components import resolve, serialize
from siamese.losses.miners.all_pairs import AllPairsMiner
from siamese.losses.miners.base import (
    Miner,
    PairMiner,
    TripletMiner,
    label_masks,
    masked_maximum,
    masked_minimum,
)
from siamese.losses.miners.batch_hard import BatchHardMiner, hardest_negatives, hardest_positives
from siamese.losses.miners.hardest import HardestPairMiner
from siamese.losses.miners.margin_violators import MarginViolatorMiner
from siamese.losses.miners.semihard import SemiHardMiner, semihard_negatives, upper_bound
from siamese.plugins import MINERS


def get(spec: Any, default: str = "all_pairs") -> Miner:
    """A miner from a name, ``{"name": ..., **arguments}``, a Keras-serialised dict or an instance."""
    return resolve(spec, MINERS, Miner, default)


def to_config(miner: Miner) -> str | dict[str, Any]:
    """``miner`` for a config: its registry name (or a Keras serialisation if unregistered)."""
    return serialize(miner, MINERS)


__all__ = [
    "AllPairsMiner",
    "BatchHardMiner",
    "HardestPairMiner",
    "MarginViolatorMiner",
    "Miner",
    "PairMiner",
    "SemiHardMiner",
    "TripletMiner",
    "get",
    "hardest_negatives",
    "hardest_positives",
    "label_masks",
    "masked_maximum",
    "masked_minimum",
    "semihard_negatives",
    "to_config",
    "upper_bound",
]
