"""Triplet losses with in-batch mining (semi-hard: FaceNet; hard: batch-hard, Hermans et al.).

Reimplements TensorFlow Addons 0.23 ``triplet_semihard_loss`` / ``triplet_hard_loss`` on
``keras.ops``: distance matrix (:func:`siamese.layers.pairwise_distances`), mining masks
(:mod:`siamese.losses.mining`) and reduction are separate steps. Inputs: integer identity
``labels`` ``(batch,)`` or ``(batch, 1)`` and ``embeddings`` ``(batch, dim)``. Everything is
computed in float32 (also for float16 / bfloat16 embeddings) and the loss is a float32 scalar.

``distance_metric``: ``"L2"`` (Euclidean, embeddings NOT normalised, as TFA), ``"squared-L2"``,
``"angular"`` (``1 - cosine`` of the L2-normalised embeddings) or a callable
``embeddings (n, dim) -> distances (n, n)``.
"""

from __future__ import annotations

from typing import Any

import keras
from keras import ops

from siamese.layers.pairwise import DistanceFn, canonical_metric, pairwise_distances
from siamese.losses.base import MarginLoss
from siamese.losses.mining import (
    hardest_negatives,
    hardest_positives,
    label_masks,
    semihard_negatives,
)


def _prepare(labels: Any, embeddings: Any, distance_metric: str | DistanceFn) -> tuple[Any, Any, Any]:
    embeddings = ops.cast(embeddings, "float32")
    pdist = pairwise_distances(embeddings, distance_metric)
    positives, negatives = label_masks(labels)
    return pdist, positives, negatives


def triplet_semihard_loss(
    labels: Any, embeddings: Any, margin: float | Any = 1.0, distance_metric: str | DistanceFn = "L2"
) -> Any:
    """Mean over all positive pairs ``(a, p)`` of ``max(d(a,p) - d(a,n*) + margin, 0)``, float32 scalar.

    ``n*`` is the semi-hard negative of :func:`~siamese.losses.mining.semihard_negatives`. Same
    as TFA except that a batch without any positive pair gives 0 instead of NaN (0/0).
    """
    pdist, positives, negatives = _prepare(labels, embeddings, distance_metric)
    m = ops.cast(margin, "float32")
    loss_matrix = m + pdist - semihard_negatives(pdist, negatives)
    total = ops.sum(ops.maximum(loss_matrix * positives, 0.0))
    num_positives = ops.sum(positives)
    return ops.where(num_positives > 0.0, total / ops.maximum(num_positives, 1.0), 0.0)


def triplet_hard_loss(
    labels: Any,
    embeddings: Any,
    margin: float | Any = 1.0,
    soft: bool = False,
    distance_metric: str | DistanceFn = "L2",
) -> Any:
    """Batch-hard triplet loss, float32 scalar: mean over anchors of
    ``max(d_hardest_pos - d_hardest_neg + margin, 0)``, or ``softplus(d_pos - d_neg)`` if ``soft``
    (the margin is then unused). Anchors without positives/negatives follow TFA's masked extrema.
    """
    pdist, positives, negatives = _prepare(labels, embeddings, distance_metric)
    gap = hardest_positives(pdist, positives) - hardest_negatives(pdist, negatives)
    if soft:  # softplus = log1p(exp(gap)) as TFA, written so that a large gap cannot overflow
        return ops.mean(ops.maximum(gap, 0.0) + ops.log1p(ops.exp(-ops.abs(gap))))
    return ops.mean(ops.maximum(gap + ops.cast(margin, "float32"), 0.0))


class _TripletLoss(MarginLoss):
    """Shared parts: validated ``distance_metric`` (name or callable) and its serialisation."""

    def __init__(
        self,
        margin: float | keras.Variable = 1.0,
        distance_metric: str | DistanceFn = "L2",
        reduction: str | None = "sum_over_batch_size",
        name: str | None = None,
        dtype: str | None = None,
    ) -> None:
        super().__init__(margin=margin, reduction=reduction, name=name, dtype=dtype)
        if isinstance(distance_metric, dict):  # from get_config of a callable
            distance_metric = keras.saving.deserialize_keras_object(distance_metric)
        if not callable(distance_metric):
            distance_metric = canonical_metric(distance_metric)
        self.distance_metric = distance_metric

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        metric = self.distance_metric
        config["distance_metric"] = metric if isinstance(metric, str) else (
            keras.saving.serialize_keras_object(metric)
        )
        return config


@keras.saving.register_keras_serializable(package="siamese")
class TripletSemiHardLoss(_TripletLoss):
    """Keras loss for :func:`triplet_semihard_loss`: ``loss(labels, embeddings)`` -> scalar."""

    def __init__(
        self,
        margin: float | keras.Variable = 1.0,
        distance_metric: str | DistanceFn = "L2",
        reduction: str | None = "sum_over_batch_size",
        name: str | None = "triplet_semihard_loss",
        dtype: str | None = None,
    ) -> None:
        super().__init__(margin, distance_metric, reduction=reduction, name=name, dtype=dtype)

    def call(self, y_true: Any, y_pred: Any) -> Any:
        return triplet_semihard_loss(y_true, y_pred, self.margin, self.distance_metric)


@keras.saving.register_keras_serializable(package="siamese")
class TripletHardLoss(_TripletLoss):
    """Keras loss for :func:`triplet_hard_loss`: ``loss(labels, embeddings)`` -> scalar."""

    def __init__(
        self,
        margin: float | keras.Variable = 1.0,
        soft: bool = False,
        distance_metric: str | DistanceFn = "L2",
        reduction: str | None = "sum_over_batch_size",
        name: str | None = "triplet_hard_loss",
        dtype: str | None = None,
    ) -> None:
        super().__init__(margin, distance_metric, reduction=reduction, name=name, dtype=dtype)
        self.soft = bool(soft)

    def call(self, y_true: Any, y_pred: Any) -> Any:
        return triplet_hard_loss(y_true, y_pred, self.margin, self.soft, self.distance_metric)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config["soft"] = self.soft
        return config
