"""Margin softmax losses of the identification head (CosFace, ArcFace) on cosines to class centres.

``y_true``: integer class ids ``(batch,)`` in ``[0, num_classes)``; ``y_pred``: cosines ``(batch, num_classes)``
(:class:`siamese.models.heads.CosineClassifier`). The target class's cosine ``c`` becomes ``c - m`` (cosface) or
``cos(arccos(c) + m)`` (arcface; where ``arccos(c) + m > pi``, which would reward moving away from the class,
``c - m sin(pi - m)`` as in InsightFace, so the target never decreases as ``c`` grows); all cosines are multiplied
by ``scale``; the loss is the cross-entropy of the
softmax, per sample, float32. The margin is the non-trainable variable ``loss.margins["head_margin"]``, so
:class:`siamese.callbacks.MarginScheduler` can warm it up.
"""

from __future__ import annotations

import math
from typing import Any

import keras
from keras import ops

from siamese.errors import ConfigError
from siamese.losses.base import margin_variable

KINDS = ("cosface", "arcface")
_EPS = 1e-6


def margin_softmax_loss(y_true: Any, cosines: Any, margin: Any = 0.35, scale: float = 30.0,
                        kind: str = "cosface") -> Any:
    """Per-sample cross-entropy ``(batch,)`` of the margin softmax (see module docstring)."""
    cos = ops.cast(cosines, "float32")
    labels = ops.cast(ops.reshape(y_true, (-1,)), "int32")
    onehot = ops.one_hot(labels, ops.shape(cos)[-1], dtype="float32")
    m = ops.cast(margin, "float32")
    if kind == "cosface":
        target = cos - m
    elif kind == "arcface":  # cos(theta + m) only while theta + m <= pi, else CosFace-like (InsightFace's rule)
        arc = ops.cos(ops.arccos(ops.clip(cos, -1.0 + _EPS, 1.0 - _EPS)) + m)
        target = ops.where(cos > ops.cos(math.pi - m), arc, cos - m * ops.sin(math.pi - m))
    else:
        raise ConfigError(f"model.head.kind: {kind!r} is not one of {', '.join(KINDS)}")
    logits = float(scale) * (onehot * target + (1.0 - onehot) * cos)
    return -ops.sum(onehot * ops.log_softmax(logits, axis=-1), axis=-1)


@keras.saving.register_keras_serializable(package="siamese")
class MarginSoftmaxLoss(keras.losses.Loss):
    """Keras loss around :func:`margin_softmax_loss`; margin in ``margins["head_margin"]``."""

    def __init__(self, margin: float | keras.Variable = 0.35, scale: float = 30.0, kind: str = "cosface",
                 reduction: str | None = "sum_over_batch_size", name: str | None = "identity_loss",
                 dtype: str | None = None) -> None:
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        if kind not in KINDS:
            raise ConfigError(f"model.head.kind: {kind!r} is not one of {', '.join(KINDS)}")
        if not float(scale) > 0:
            raise ConfigError(f"model.head.scale: must be positive, got {scale!r}")
        self.kind = kind
        self.scale = float(scale)
        self.head_margin = margin_variable(margin, name="head_margin")

    @property
    def margins(self) -> dict[str, keras.Variable]:
        return {"head_margin": self.head_margin}

    def call(self, y_true: Any, y_pred: Any) -> Any:
        return margin_softmax_loss(y_true, y_pred, self.head_margin, self.scale, self.kind)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "margin": float(ops.convert_to_numpy(self.head_margin)),
                "scale": self.scale, "kind": self.kind}
