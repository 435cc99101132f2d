"""Pieces shared by the towers: input rescaling, pooling of the last feature map, the L2-normalised embedding head."""

from __future__ import annotations

import keras
from keras import layers


def rescale(inputs: keras.KerasTensor) -> keras.KerasTensor:
    """Map [0, 255] pixels to [-1, 1]."""
    return layers.Rescaling(1.0 / 127.5, offset=-1.0, name="rescale")(inputs)


def embedding_head(x: keras.KerasTensor, embedding_dim: int, dropout: float = 0.0) -> keras.KerasTensor:
    """Dense projection to ``embedding_dim`` then L2 normalisation, both in float32 (safe under mixed precision)."""
    if dropout:
        x = layers.Dropout(dropout, name="head_dropout")(x)
    x = layers.Dense(embedding_dim, name="embedding_dense", dtype="float32")(x)
    x = layers.BatchNormalization(name="embedding_bn", dtype="float32")(x)
    return layers.UnitNormalization(axis=-1, name="l2_normalize", dtype="float32")(x)


#: how a tower turns its last ``(H, W, C)`` feature map into one feature vector (``pool_features``)
POOLINGS = ("avg", "gdc", "flatten")


def pool_features(x: keras.KerasTensor, pooling: str = "avg") -> keras.KerasTensor:
    """The last feature map ``(batch, H, W, C)`` to ``(batch, F)``.

    * ``"avg"``: global average pooling, ``F = C``: every position of the face weighs the same.
    * ``"gdc"``: global depthwise convolution (MobileFaceNet, Chen et al. 2018): one learned ``H x W`` weighting per
      channel, then BN; ``F = C``, ``H * W * C`` more weights. On aligned faces a position means a part of the face
      (eyes, mouth), which the average throws away.
    * ``"flatten"``: BN then flatten, ``F = H * W * C`` (ArcFace's output block "E", Deng et al. 2019; the IR-ResNet's).
    """
    if pooling == "avg":
        return layers.GlobalAveragePooling2D(name="gap")(x)
    if pooling == "gdc":
        h, w = x.shape[1], x.shape[2]
        x = layers.DepthwiseConv2D((h, w), padding="valid", use_bias=False, name="gdc_conv")(x)
        x = layers.BatchNormalization(name="gdc_bn")(x)
        return layers.Flatten(name="gdc_flatten")(x)
    if pooling == "flatten":
        x = layers.BatchNormalization(epsilon=2e-5, name="out_bn")(x)
        return layers.Flatten(name="flatten")(x)
    raise ValueError(f"pooling must be one of {', '.join(POOLINGS)}, got {pooling!r}")
