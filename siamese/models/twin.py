"""The twin-tower model: one shared-weight tower, two inputs, one distance."""

from __future__ import annotations

import keras

TOWER_NAME = "tower"


def build_siamese(tower: keras.Model, distance: str = "euclidean", name: str = "siamese") -> keras.Model:
    """Apply ``tower`` (shared weights) to inputs ``image_a`` and ``image_b`` and join them by a distance layer.

    ``distance`` is a name registered in :mod:`siamese.layers` ("euclidean", "squared_euclidean", "cosine").
    Output: ``(batch, 1)`` float32 distances (small = similar). The tower is stored under the layer name
    ``"tower"``; :func:`get_tower_from` returns it.
    """
    from siamese import layers as distance_layers

    if tower.name != TOWER_NAME:
        tower = keras.Model(tower.input, tower.output, name=TOWER_NAME)
    shape = tower.input_shape[1:]
    a = keras.Input(shape=shape, name="image_a")
    b = keras.Input(shape=shape, name="image_b")
    layer = distance_layers.get(distance)(name="distance")
    d = layer([tower(a), tower(b)])
    return keras.Model([a, b], d, name=name)


def get_tower_from(model: keras.Model) -> keras.Model:
    """The embedding tower of a twin model built by :func:`build_siamese` (or ``model`` itself if it is one)."""
    if model.name == TOWER_NAME or not any(layer.name == TOWER_NAME for layer in model.layers):
        return model
    return model.get_layer(TOWER_NAME)
