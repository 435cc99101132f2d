"""Identification heads for joint training (DeepID2-style): a classifier over the training identities on top of
the tower's unit embedding, trained together with the contrastive term. The saved tower never contains the head
(:func:`siamese.training.train` saves the tower alone).

* ``softmax``: a dense layer, logits, cross-entropy.
* ``cosface`` (Wang et al. 2018, additive cosine margin) and ``arcface`` (Deng et al. 2019, additive angular
  margin): :class:`CosineClassifier` (cosines to L2-normalised class centres) with
  :class:`siamese.losses.MarginSoftmaxLoss` whose margin (``head_margin``) is a variable callbacks can schedule.

``identification_head(kind, num_classes, margin, scale) -> (layer, loss)`` builds both halves (registry
``siamese.plugins.HEADS``).
"""

from __future__ import annotations

from typing import Any

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="siamese")
class CosineClassifier(keras.layers.Layer):
    """Cosine similarity of each embedding to learned, L2-normalised class centres: ``(batch, dim)`` ->
    ``(batch, num_classes)`` float32 in [-1, 1]."""

    def __init__(self, num_classes: int, **kwargs: Any) -> None:
        kwargs.setdefault("dtype", "float32")
        super().__init__(**kwargs)
        if int(num_classes) < 2:
            raise ValueError(f"num_classes must be at least 2, got {num_classes}")
        self.num_classes = int(num_classes)

    def build(self, input_shape: Any) -> None:
        self.centres = self.add_weight(name="centres", shape=(int(input_shape[-1]), self.num_classes),
                                       initializer="glorot_uniform", trainable=True)

    def call(self, embeddings: Any) -> Any:
        from siamese.distances import l2_normalize

        x = l2_normalize(ops.cast(embeddings, "float32"), axis=-1)
        w = l2_normalize(ops.cast(self.centres, "float32"), axis=0)
        return ops.matmul(x, w)

    def compute_output_shape(self, input_shape: Any) -> tuple[Any, int]:
        return (input_shape[0], self.num_classes)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "num_classes": self.num_classes}


def softmax_head(num_classes: int, margin: float = 0.0, scale: float = 1.0) -> tuple[Any, Any]:
    """A dense classifier and sparse cross-entropy on its logits (``margin`` and ``scale`` unused)."""
    layer = keras.layers.Dense(int(num_classes), dtype="float32", name="identity_logits")
    return layer, keras.losses.SparseCategoricalCrossentropy(from_logits=True, name="identity_loss")


def cosface_head(num_classes: int, margin: float = 0.35, scale: float = 30.0) -> tuple[Any, Any]:
    """CosineClassifier + additive cosine margin softmax (CosFace)."""
    from siamese.losses.identification import MarginSoftmaxLoss

    return CosineClassifier(num_classes, name="identity_cosines"), MarginSoftmaxLoss(margin, scale, kind="cosface")


def arcface_head(num_classes: int, margin: float = 0.5, scale: float = 30.0) -> tuple[Any, Any]:
    """CosineClassifier + additive angular margin softmax (ArcFace)."""
    from siamese.losses.identification import MarginSoftmaxLoss

    return CosineClassifier(num_classes, name="identity_cosines"), MarginSoftmaxLoss(margin, scale, kind="arcface")


def identification_head(kind: str, num_classes: int, margin: float | None = None,
                        scale: float | None = None) -> tuple[Any, Any]:
    """``(layer, loss)`` of the head registered as ``kind`` (``siamese.plugins.HEADS``)."""
    from siamese.plugins import HEADS

    kwargs = {k: v for k, v in (("margin", margin), ("scale", scale)) if v is not None}
    return HEADS.get(kind)(num_classes, **kwargs)
