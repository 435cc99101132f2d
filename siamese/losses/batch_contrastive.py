"""Contrastive loss over every pair of an identity-labelled batch ("batch contrastive").

A P x K batch of n embeddings holds n(n-1)/2 pairs, far more than the n/2 pairs a twin model sees per step:
the same Hadsell contrastive term (:func:`siamese.losses.contrastive_loss`: ``y d^2 + (1-y) max(margin-d, 0)^2``,
label 1 = same identity) is applied to all of them, with the distance matrix from
:func:`siamese.layers.pairwise_distances` (so the pieces stay separate: distance, pair masks, reduction).
``balanced=True`` averages genuine and impostor pairs separately and takes the mean of the two, so the far more
numerous impostor pairs do not drown the genuine ones. Called as ``loss(labels, embeddings)``; float32 scalar.
"""

from __future__ import annotations

from typing import Any

import keras
from keras import ops

from siamese.layers.pairwise import DistanceFn, pairwise_distances
from siamese.losses.contrastive import contrastive_loss
from siamese.losses.mining import label_masks
from siamese.losses.triplet import _TripletLoss


def batch_contrastive_loss(labels: Any, embeddings: Any, margin: float | Any = 1.0,
                           distance_metric: str | DistanceFn = "L2", balanced: bool = True) -> Any:
    """Contrastive loss over all pairs ``i != j`` of the batch; float32 scalar (0 for a batch without pairs)."""
    pdist = pairwise_distances(ops.cast(embeddings, "float32"), distance_metric)
    positives, negatives = label_masks(labels)
    per_pair = ops.reshape(contrastive_loss(ops.reshape(positives, (-1,)), ops.reshape(pdist, (-1,)), margin),
                           ops.shape(pdist))
    n_pos, n_neg = ops.sum(positives), ops.sum(negatives)
    pos = ops.sum(per_pair * positives) / ops.maximum(n_pos, 1.0)
    neg = ops.sum(per_pair * negatives) / ops.maximum(n_neg, 1.0)
    if balanced:
        return 0.5 * (pos + neg)
    return (ops.sum(per_pair * positives) + ops.sum(per_pair * negatives)) / ops.maximum(n_pos + n_neg, 1.0)


@keras.saving.register_keras_serializable(package="siamese")
class BatchContrastiveLoss(_TripletLoss):
    """:func:`batch_contrastive_loss` as a Keras loss; margin in the ``keras.Variable`` ``.margin``."""

    def __init__(self, margin: float | keras.Variable = 1.0, distance_metric: str | DistanceFn = "L2",
                 balanced: bool = True, reduction: str | None = "sum_over_batch_size",
                 name: str = "batch_contrastive_loss", dtype: str | None = None) -> None:
        super().__init__(margin, distance_metric, reduction=reduction, name=name, dtype=dtype)
        self.balanced = bool(balanced)

    def call(self, y_true: Any, y_pred: Any) -> Any:
        return batch_contrastive_loss(y_true, y_pred, self.margin, self.distance_metric, self.balanced)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config["balanced"] = self.balanced
        return config
