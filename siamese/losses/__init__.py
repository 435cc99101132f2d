"""Metric-learning losses (TensorFlow Addons 0.23 semantics, on Keras 3).

* :func:`contrastive_loss` / :class:`ContrastiveLoss` - on predicted **distances** of pairs,
  ``y_true`` 1 = same identity.
* :func:`batch_contrastive_loss` / :class:`BatchContrastiveLoss` - the contrastive term over every pair of an
  identity-labelled batch, ``loss(labels, embeddings)``.
* :func:`triplet_semihard_loss` / :class:`TripletSemiHardLoss`,
  :func:`triplet_hard_loss` / :class:`TripletHardLoss` - on embeddings of identity-labelled
  batches, ``loss(labels, embeddings)``.

Every loss class keeps its margin in the non-trainable ``keras.Variable`` ``loss.margin``.
``get(name)`` maps ``"contrastive"``, ``"triplet_semihard"``, ``"triplet_hard"`` to classes.
"""

from __future__ import annotations

from siamese.errors import ConfigError
from siamese.losses.base import MarginLoss, margin_variable
from siamese.losses.batch_contrastive import BatchContrastiveLoss, batch_contrastive_loss
from siamese.losses.contrastive import ContrastiveLoss, contrastive_loss
from siamese.losses.mining import (
    hardest_negatives,
    hardest_positives,
    label_masks,
    masked_maximum,
    masked_minimum,
    semihard_negatives,
)
from siamese.losses.triplet import (
    TripletHardLoss,
    TripletSemiHardLoss,
    triplet_hard_loss,
    triplet_semihard_loss,
)

LOSSES: dict[str, type[MarginLoss]] = {
    "contrastive": ContrastiveLoss,
    "triplet_semihard": TripletSemiHardLoss,
    "triplet_hard": TripletHardLoss,
    "batch_contrastive": BatchContrastiveLoss,
}


def get(name: str | type[MarginLoss]) -> type[MarginLoss]:
    """Loss class for ``name`` (case-insensitive, ``-`` = ``_``); raises ConfigError (key ``loss``)."""
    if isinstance(name, type) and issubclass(name, MarginLoss):
        return name
    key = name.strip().lower().replace("-", "_") if isinstance(name, str) else None
    if key not in LOSSES:
        raise ConfigError(f"loss: unknown loss {name!r} (choose from {', '.join(sorted(LOSSES))})")
    return LOSSES[key]


__all__ = [
    "LOSSES",
    "BatchContrastiveLoss",
    "ContrastiveLoss",
    "MarginLoss",
    "TripletHardLoss",
    "TripletSemiHardLoss",
    "batch_contrastive_loss",
    "contrastive_loss",
    "get",
    "hardest_negatives",
    "hardest_positives",
    "label_masks",
    "margin_variable",
    "masked_maximum",
    "masked_minimum",
    "semihard_negatives",
    "triplet_hard_loss",
    "triplet_semihard_loss",
]
