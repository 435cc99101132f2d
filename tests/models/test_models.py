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


def _pooled(pooling: str, feature_map: np.ndarray) -> tuple[keras.Model, np.ndarray]:
    """A model of ``pool_features`` alone, its weights and BN statistics set at random, and its output."""
    from siamese.models.common import pool_features

    inputs = keras.Input(shape=feature_map.shape[1:])
    model = keras.Model(inputs, pool_features(inputs, pooling))
    rng = np.random.default_rng(7)
    for layer in model.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            c = layer.gamma.shape[0]
            layer.set_weights([rng.uniform(0.5, 2, c), rng.normal(size=c), rng.normal(size=c), rng.uniform(0.5, 2, c)])
        elif layer.weights:
            layer.set_weights([rng.normal(size=w.shape) for w in layer.weights])
    return model, np.asarray(model(feature_map, training=False), dtype=np.float64)


def _bn(x: np.ndarray, layer: keras.layers.BatchNormalization) -> np.ndarray:
    gamma, beta, mean, var = (np.asarray(w, dtype=np.float64) for w in layer.get_weights())
    return (x - mean) / np.sqrt(var + layer.epsilon) * gamma + beta


@pytest.fixture(scope="module")
def feature_map() -> np.ndarray:
    return np.random.default_rng(3).normal(size=(5, 4, 3, 6)).astype("float32")  # (batch, H, W, C), H != W


def test_avg_pooling_is_the_mean_over_positions(feature_map: np.ndarray) -> None:
    _, got = _pooled("avg", feature_map)
    np.testing.assert_allclose(got, feature_map.astype(np.float64).mean(axis=(1, 2)), rtol=1e-5, atol=1e-6)


def test_gdc_is_one_learned_weighting_of_the_positions_per_channel(feature_map: np.ndarray) -> None:
    model, got = _pooled("gdc", feature_map)
    kernel = np.asarray(model.get_layer("gdc_conv").get_weights()[0], dtype=np.float64)[..., 0]  # (H, W, C)
    assert kernel.shape == feature_map.shape[1:]
    oracle = _bn(np.einsum("bhwc,hwc->bc", feature_map.astype(np.float64), kernel), model.get_layer("gdc_bn"))
    assert got.shape == (5, 6)
    np.testing.assert_allclose(got, oracle, rtol=1e-4, atol=1e-5)


def test_flatten_keeps_every_position_after_bn(feature_map: np.ndarray) -> None:
    model, got = _pooled("flatten", feature_map)
    oracle = _bn(feature_map.astype(np.float64), model.get_layer("out_bn")).reshape(5, -1)  # row-major H, W, C
    np.testing.assert_allclose(got, oracle, rtol=1e-4, atol=1e-5)


def test_small_cnn_pooling_changes_only_the_pooling() -> None:
    towers = {p: get_tower("small_cnn", input_shape=(32, 32, 3), embedding_dim=16, width=8, blocks=3, pooling=p)
              for p in ("avg", "gdc", "flatten")}
    h, c = 32 // 2 ** 3, 8 * 2 ** 2  # the last map: 4 x 4 x 32
    avg = towers["avg"].count_params()
    assert towers["gdc"].count_params() == avg + h * h * c + 4 * c  # the depthwise kernel + its BN
    assert towers["flatten"].count_params() == avg + 4 * c + (h * h * c - c) * 16  # BN + a wider embedding_dense
    for tower in towers.values():
        emb = np.asarray(tower(_images(2, 32), training=False))
        np.testing.assert_allclose(np.linalg.norm(emb, axis=1), 1.0, rtol=1e-5)


def test_unknown_pooling_is_a_config_error_naming_the_key() -> None:
    from siamese.config import load_config
    from siamese.training.build import build_tower

    cfg = load_config(None, ["model.tower_args={width: 8, pooling: max}", "faces.size=32"])
    with pytest.raises(ConfigError, match=r"model.tower_args: small_cnn: pooling must be one of avg, gdc, flatten, "
                                          r"got 'max'"):
        build_tower(cfg)
