"""Metric-learning losses (TensorFlow Addons 0.23 semantics, on Keras 3), composed as in
pytorch-metric-learning from a distance (:mod:`siamese.distances`), a miner (:mod:`siamese.losses.miners`)
and a reducer (:mod:`siamese.losses.reducers`).

* :func:`contrastive_loss` / :class:`ContrastiveLoss` - on predicted **distances** of pairs, ``y_true`` 1 = same
  identity; two margins ``margin`` (impostors) and ``pos_margin`` (genuine pairs, default 0 = Hadsell / TFA).
* :func:`batch_contrastive_loss` / :class:`BatchContrastiveLoss` - the contrastive term over the mined pairs of
  an identity-labelled batch, ``loss(labels, embeddings)``.
* :func:`triplet_semihard_loss` / :class:`TripletSemiHardLoss`, :func:`triplet_hard_loss` /
  :class:`TripletHardLoss` (and the general :class:`TripletLoss`) - on embeddings of identity-labelled batches.

Every loss keeps its margins in non-trainable ``keras.Variable`` s, ``loss.margins`` ``{name: variable}``
(``loss.margin`` is the impostor margin). ``get(name)`` / ``build(name, **kwargs)`` go through
:data:`siamese.plugins.LOSSES` (``contrastive``, ``batch_contrastive``, ``triplet_semihard``, ``triplet_hard``).
"""

from __future__ import annotations

from typing import Any

import keras

from siamese.losses import miners, reducers
from siamese.losses.base import EmbeddingLoss, MarginLoss, margin_variable
from siamese.losses.batch_contrastive import BatchContrastiveLoss, batch_contrastive_loss
from siamese.losses.contrastive import ContrastiveLoss, contrastive_loss
from siamese.losses.miners import (  # old siamese.losses.mining helpers, importable here for one release
    hardest_negatives,
    hardest_positives,
    label_masks,
    masked_maximum,
    masked_minimum,
    semihard_negatives,
)
from siamese.losses.triplet import (
    TripletHardLoss,
    TripletLoss,
    TripletSemiHardLoss,
    triplet_hard_loss,
    triplet_semihard_loss,
)
from siamese.plugins import LOSSES  # the registry (was a name -> class dict)


def get(name: str | type[keras.losses.Loss]) -> type[keras.losses.Loss]:
    """Loss class registered as ``name`` (case-insensitive, ``-`` = ``_``); classes pass through.

    Raises :class:`~siamese.errors.ConfigError` naming the key ``loss.name``.
    """
    if isinstance(name, type) and issubclass(name, keras.losses.Loss):
        return name
    return LOSSES.get(name)


def build(name: str, **kwargs: Any) -> keras.losses.Loss:
    """A loss from its registry name and constructor arguments (e.g. a training config's ``loss`` section:
    ``build("batch_contrastive", margin=1.0, pos_margin=0.2, miner="hardest", reducer="avg_nonzero")``).
    Unknown names or arguments raise :class:`~siamese.errors.ConfigError`."""
    return LOSSES.build(name, **kwargs)


__all__ = [
    "LOSSES",
    "BatchContrastiveLoss",
    "ContrastiveLoss",
    "EmbeddingLoss",
    "MarginLoss",
    "TripletHardLoss",
    "TripletLoss",
    "TripletSemiHardLoss",
    "batch_contrastive_loss",
    "build",
    "contrastive_loss",
    "get",
    "hardest_negatives",
    "hardest_positives",
    "label_masks",
    "margin_variable",
    "masked_maximum",
    "masked_minimum",
    "miners",
    "reducers",
    "semihard_negatives",
    "triplet_hard_loss",
    "triplet_semihard_loss",
]
