"""ArcFace-style improved residual network (IR-ResNet) tower, face-grade at 112x112.

Deng et al., "ArcFace", CVPR 2019 (the insightface ``iresnet`` family): BN-Conv-BN-PReLU-Conv-BN residual units,
stride-2 at the first unit of each stage, and an output block BN-Dropout-Flatten-Dense-BN. ``depth=18`` gives
stages (2, 2, 2, 2) with 64-128-256-512 channels (about 24 M parameters at 112x112 with a 512-d embedding);
``width`` scales the channels for CPU budgets (``width=0.25`` is about 1.5 M parameters).
"""

from __future__ import annotations

import keras
from keras import layers

from siamese.models.common import embedding_head, pool_features, rescale

STAGES = {18: (2, 2, 2, 2), 34: (3, 4, 6, 3), 50: (3, 4, 14, 3)}


def _unit(x: keras.KerasTensor, channels: int, stride: int, name: str) -> keras.KerasTensor:
    shortcut = x
    y = layers.BatchNormalization(epsilon=2e-5, name=f"{name}_bn1")(x)
    y = layers.Conv2D(channels, 3, padding="same", use_bias=False, name=f"{name}_conv1")(y)
    y = layers.BatchNormalization(epsilon=2e-5, name=f"{name}_bn2")(y)
    y = layers.PReLU(shared_axes=[1, 2], name=f"{name}_prelu")(y)
    y = layers.Conv2D(channels, 3, strides=stride, padding="same", use_bias=False, name=f"{name}_conv2")(y)
    y = layers.BatchNormalization(epsilon=2e-5, name=f"{name}_bn3")(y)
    if stride != 1 or x.shape[-1] != channels:
        shortcut = layers.Conv2D(channels, 1, strides=stride, use_bias=False, name=f"{name}_down")(x)
        shortcut = layers.BatchNormalization(epsilon=2e-5, name=f"{name}_down_bn")(shortcut)
    return layers.Add(name=f"{name}_add")([y, shortcut])


def build_iresnet(input_shape: tuple[int, int, int] = (112, 112, 3), embedding_dim: int = 512, depth: int = 18,
                  width: float = 1.0, dropout: float = 0.0, name: str = "iresnet") -> keras.Model:
    """IR-ResNet tower. Input float32 [0, 255] ``input_shape``; output L2-normalised ``(batch, embedding_dim)``."""
    if depth not in STAGES:
        raise ValueError(f"iresnet depth must be one of {sorted(STAGES)}, got {depth}")
    channels = [max(8, int(round(c * width))) for c in (64, 128, 256, 512)]
    inputs = keras.Input(shape=input_shape, name="image")
    x = rescale(inputs)
    x = layers.Conv2D(channels[0], 3, padding="same", use_bias=False, name="stem_conv")(x)
    x = layers.BatchNormalization(epsilon=2e-5, name="stem_bn")(x)
    x = layers.PReLU(shared_axes=[1, 2], name="stem_prelu")(x)
    for s, (units, c) in enumerate(zip(STAGES[depth], channels, strict=True)):
        for u in range(units):
            x = _unit(x, c, 2 if u == 0 else 1, name=f"s{s}_u{u}")
    x = pool_features(x, "flatten")
    outputs = embedding_head(x, embedding_dim, dropout)
    return keras.Model(inputs, outputs, name=name)
