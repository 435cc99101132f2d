"""Contrastive loss (Hadsell, Chopra & LeCun 2006) on predicted distances."""

from __future__ import annotations

from typing import Any

import keras
from keras import ops

from siamese.losses.base import MarginLoss


def contrastive_loss(y_true: Any, distance: Any, margin: float | Any = 1.0) -> Any:
    """Per-pair contrastive loss ``y * d**2 + (1 - y) * max(margin - d, 0)**2``, shape ``(batch,)``.

    ``y_true``: ``(batch,)`` or ``(batch, 1)``, **1 = same identity** (genuine pair), 0 = different
    (the Hadsell / TensorFlow Addons convention; some tutorials, e.g. the Keras "siamese
    contrastive" example and PyImageSearch articles, use the inverse labels).
    ``distance``: the model's output, a distance (not an embedding), ``(batch, 1)`` or ``(batch,)``.
    ``margin``: float, tensor or ``keras.Variable``. Computed and returned in float32.
    """
    d = ops.reshape(ops.cast(distance, "float32"), (-1,))
    y = ops.reshape(ops.cast(y_true, "float32"), (-1,))
    m = ops.cast(margin, "float32")
    return y * ops.square(d) + (1.0 - y) * ops.square(ops.maximum(m - d, 0.0))


@keras.saving.register_keras_serializable(package="siamese")
class ContrastiveLoss(MarginLoss):
    """Keras loss wrapping :func:`contrastive_loss`; default reduction: mean over the batch.

    ``y_true`` 1 = same identity (see :func:`contrastive_loss`); ``y_pred`` is a distance.
    ``self.margin`` is always a non-trainable ``keras.Variable`` (created from a float if
    needed) that callbacks may ``assign`` during training.
    """

    #: takes the distances of a twin model's pairs (not the embeddings of a P x K batch)
    pair_input = True

    def __init__(
        self,
        margin: float | keras.Variable = 1.0,
        reduction: str | None = "sum_over_batch_size",
        name: str | None = "contrastive_loss",
        dtype: str | None = None,
    ) -> None:
        super().__init__(margin=margin, reduction=reduction, name=name, dtype=dtype)

    def call(self, y_true: Any, y_pred: Any) -> Any:
        return contrastive_loss(y_true, y_pred, self.margin)
