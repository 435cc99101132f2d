"""Towers and the twin model: shapes, unit-norm embeddings, shared weights, .keras round trip (safe mode)."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from siamese.errors import ConfigError
from siamese.models import build_siamese, get_tower, get_tower_from


@pytest.fixture(scope="module")
def twin() -> keras.Model:
    keras.utils.set_random_seed(0)
    return build_siamese(get_tower("small_cnn", input_shape=(32, 32, 3), embedding_dim=16, width=8), "euclidean")


def _images(n: int, size: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).uniform(0, 255, (n, size, size, 3)).astype("float32")


@pytest.mark.parametrize("name,kwargs,size", [
    ("small_cnn", {"width": 8}, 32),
    ("iresnet", {"width": 0.125, "depth": 18}, 48),
])
def test_tower_outputs_unit_norm_embeddings(name: str, kwargs: dict, size: int) -> None:
    tower = get_tower(name, input_shape=(size, size, 3), embedding_dim=24, **kwargs)
    emb = np.asarray(tower(_images(3, size), training=False))
    assert emb.shape == (3, 24)
    np.testing.assert_allclose(np.linalg.norm(emb, axis=1), 1.0, rtol=1e-5)


def test_iresnet18_at_112_is_face_grade_size() -> None:
    tower = get_tower("iresnet", input_shape=(112, 112, 3), embedding_dim=512)
    params = tower.count_params()
    assert 20e6 < params < 30e6  # ArcFace IR-18 is ~24 M parameters


def test_unknown_tower_is_refused() -> None:
    with pytest.raises(ConfigError, match="model.tower: unknown tower 'vgg_face'"):
        get_tower("vgg_face")


def test_twin_shares_one_tower_and_outputs_distances(twin: keras.Model) -> None:
    tower = get_tower_from(twin)
    assert tower.name == "tower"
    # one set of tower weights: the twin has exactly the tower's weights (the distance layer has none)
    assert len(twin.weights) == len(tower.weights)
    a, b = _images(4, 32, 1), _images(4, 32, 2)
    d = np.asarray(twin([a, b], training=False))
    assert d.shape == (4, 1)
    ea, eb = np.asarray(tower(a, training=False)), np.asarray(tower(b, training=False))
    oracle = np.linalg.norm(ea.astype(np.float64) - eb.astype(np.float64), axis=1)
    np.testing.assert_allclose(d[:, 0], oracle, rtol=1e-5, atol=1e-6)
    # identical inputs -> zero distance
    np.testing.assert_allclose(np.asarray(twin([a, a], training=False)), 0.0, atol=1e-3)


def test_keras_round_trip_in_safe_mode(twin: keras.Model, tmp_path) -> None:
    a, b = _images(3, 32, 3), _images(3, 32, 4)
    twin.save(tmp_path / "twin.keras")
    tower = get_tower_from(twin)
    tower.save(tmp_path / "tower.keras")
    twin2 = keras.saving.load_model(tmp_path / "twin.keras", safe_mode=True)
    tower2 = keras.saving.load_model(tmp_path / "tower.keras", safe_mode=True)
    np.testing.assert_array_equal(np.asarray(twin([a, b])), np.asarray(twin2([a, b])))
    np.testing.assert_array_equal(np.asarray(tower(a)), np.asarray(tower2(a)))
    assert get_tower_from(twin2).name == "tower"
