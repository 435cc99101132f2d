"""On-the-fly augmentation as Keras preprocessing layers, for use inside tf.data pipelines."""

from __future__ import annotations

import keras


def make_augmentation(flip: bool = True, affine: float = 0.05, color: float = 0.1, seed: int = 0,
                      shift: float = 0.0) -> keras.Sequential:
    """A ``keras.Sequential`` of random layers for float32 images in [0, 255], ``(batch, H, W, 3)``.

    * ``flip``: ``RandomFlip("horizontal")``.
    * ``affine`` (> 0): ``RandomTranslation(affine, affine)`` (fraction of height/width),
      ``RandomRotation(affine)`` (fraction of a full turn: 0.05 = up to 18 degrees) and
      ``RandomZoom(affine)``, all with reflected borders.
    * ``shift`` (> 0): ``RandomTranslation(shift, shift)`` alone (fraction of height/width), for aligned faces
      that should not be rotated or zoomed.
    * ``color`` (> 0): ``RandomBrightness(color)`` and ``RandomContrast(color)`` on the 0..255 range.

    Each transform is drawn per image. Layer ``i`` is seeded with ``seed + i``: two objects made
    with the same arguments produce the same sequence of batches. One object keeps its random
    state, so build a fresh one for each pipeline that must be reproducible. Only active when
    called with ``training=True`` (pipelines do); in inference the model sees images unchanged.
    """
    if affine < 0 or color < 0 or shift < 0:
        raise ValueError("affine, color and shift must be >= 0")
    layers: list[keras.layers.Layer] = []
    if flip:
        layers.append(keras.layers.RandomFlip("horizontal", seed=seed + len(layers), name="flip"))
    if affine > 0:
        s = seed + len(layers)
        layers += [
            keras.layers.RandomTranslation(affine, affine, fill_mode="reflect", seed=s, name="translate"),
            keras.layers.RandomRotation(affine, fill_mode="reflect", seed=s + 1, name="rotate"),
            keras.layers.RandomZoom(affine, fill_mode="reflect", seed=s + 2, name="zoom"),
        ]
    if shift > 0:
        layers.append(keras.layers.RandomTranslation(shift, shift, fill_mode="reflect", seed=seed + len(layers),
                                                     name="shift"))
    if color > 0:
        layers += [
            keras.layers.RandomBrightness(color, value_range=(0.0, 255.0), seed=seed + len(layers), name="brightness"),
            keras.layers.RandomContrast(color, value_range=(0.0, 255.0), seed=seed + len(layers) + 1, name="contrast"),
        ]
    if not layers:
        layers.append(keras.layers.Identity(name="identity"))
    return keras.Sequential(layers, name="augmentation")
