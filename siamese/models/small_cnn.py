"""A small convolutional tower for CPU training, tests and smoke runs (about 0.3 M parameters at width 32)."""

from __future__ import annotations

import keras
from keras import layers

from siamese.models.common import embedding_head, pool_features, rescale


def build_small_cnn(input_shape: tuple[int, int, int] = (64, 64, 3), embedding_dim: int = 64,
                    width: int = 32, blocks: int = 3, dropout: float = 0.0, pooling: str = "avg",
                    name: str = "small_cnn") -> keras.Model:
    """Conv-BN-ReLU blocks (two convs each, channels doubling) with max-pooling, then ``pooling`` of the last
    feature map (``"avg"``, ``"gdc"`` or ``"flatten"``: :func:`siamese.models.common.pool_features`), then the head.

    Input: float32 images in [0, 255], ``input_shape`` (H, W, 3). Output: L2-normalised ``(batch, embedding_dim)``.
    """
    inputs = keras.Input(shape=input_shape, name="image")
    x = rescale(inputs)
    channels = width
    for b in range(blocks):
        for c in range(2):
            x = layers.Conv2D(channels, 3, padding="same", use_bias=False, name=f"b{b}_conv{c}")(x)
            x = layers.BatchNormalization(name=f"b{b}_bn{c}")(x)
            x = layers.ReLU(name=f"b{b}_relu{c}")(x)
        x = layers.MaxPooling2D(2, name=f"b{b}_pool")(x)
        channels *= 2
    x = pool_features(x, pooling)
    outputs = embedding_head(x, embedding_dim, dropout)
    return keras.Model(inputs, outputs, name=name)
