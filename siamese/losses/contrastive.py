"""Contrastive loss (Hadsell, Chopra & LeCun 2006) with two margins, on predicted distances."""

from __future__ import annotations

from typing import Any

import keras
from keras import ops

from siamese import distances
from siamese.losses.base import MarginLoss


def contrastive_terms(y: Any, d: Any, margin: Any = 1.0, pos_margin: Any = 0.0) -> Any:
    """Elementwise ``y * max(d - pos_margin, 0)**2 + (1 - y) * max(margin - d, 0)**2`` (float32 inputs)."""
    m = ops.cast(margin, "float32")
    pm = ops.cast(pos_margin, "float32")
    return y * ops.square(ops.maximum(d - pm, 0.0)) + (1.0 - y) * ops.square(ops.maximum(m - d, 0.0))


def contrastive_loss(y_true: Any, distance: Any, margin: float | Any = 1.0, pos_margin: float | Any = 0.0) -> Any:
    """Per-pair contrastive loss ``y * max(d - pos_margin, 0)**2 + (1 - y) * max(margin - d, 0)**2``,
    shape ``(batch,)``; with ``pos_margin = 0`` Hadsell's / TensorFlow Addons' ``y d**2 + (1-y) max(m-d, 0)**2``.

    ``y_true``: ``(batch,)`` or ``(batch, 1)``, **1 = same identity** (genuine pair), 0 = different (the
    Hadsell / TensorFlow Addons convention; some tutorials, e.g. the Keras "siamese contrastive" example and
    PyImageSearch articles, use the inverse labels). ``distance``: the model's output, a distance >= 0 (not an
    embedding), ``(batch, 1)`` or ``(batch,)``. Genuine pairs closer than ``pos_margin`` and impostor pairs
    farther than ``margin`` cost nothing. Margins: floats, tensors or ``keras.Variable``. Float32.
    """
    d = ops.reshape(ops.cast(distance, "float32"), (-1,))
    y = ops.reshape(ops.cast(y_true, "float32"), (-1,))
    return contrastive_terms(y, d, margin, pos_margin)


@keras.saving.register_keras_serializable(package="siamese")
class ContrastiveLoss(MarginLoss):
    """Keras loss wrapping :func:`contrastive_loss` (``y_true`` 1 = same identity; ``y_pred`` a distance).

    ``margin`` (impostor) and ``pos_margin`` (genuine) are non-trainable ``keras.Variable`` s in
    :attr:`margins` that callbacks may ``assign`` during training. ``reducer=None`` (default): per-pair values
    reduced by Keras' ``reduction`` (mean over the batch; ``sample_weight`` honoured), i.e. TensorFlow Addons.
    With a ``reducer`` (``"mean"``, ``"avg_nonzero"``, ``"balanced"``, ``"balanced_nonzero"``) the loss is the
    reducer's scalar and ``sample_weight`` becomes the reducer's weights. ``distance``: the distance the inputs were
    measured with (informational, recorded in the config; the input already is a distance).
    """

    #: takes the distances of a twin model's pairs (not the embeddings of a P x K batch)
    pair_input = True

    def __init__(
        self,
        margin: float | keras.Variable = 1.0,
        pos_margin: float | keras.Variable = 0.0,
        reducer: Any = None,
        distance: str | distances.Distance | None = None,
        reduction: str | None = "sum_over_batch_size",
        name: str | None = "contrastive_loss",
        dtype: str | None = None,
    ) -> None:
        super().__init__(margin=margin, reducer=reducer, reduction=reduction, name=name, dtype=dtype)
        self.pos_margin = self.add_margin("pos_margin", pos_margin)
        self.distance = None if distance is None else distances.get(distance, key="distance")

    def call(self, y_true: Any, y_pred: Any) -> Any:
        if self.reducer is not None:
            return self.reduced(y_true, y_pred)
        return contrastive_loss(y_true, y_pred, self.margin, self.pos_margin)

    def reduced(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> Any:
        y = ops.reshape(ops.cast(y_true, "float32"), (-1,))
        terms = contrastive_loss(y, y_pred, self.margin, self.pos_margin)
        weights = None if sample_weight is None else ops.reshape(ops.cast(sample_weight, "float32"), (-1,))
        return self.reducer(terms, weights, genuine=y)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config["distance"] = None if self.distance is None else self.distance.name
        return config
