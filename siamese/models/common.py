"""Pieces shared by the towers: input rescaling and the L2-normalised embedding head."""

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
