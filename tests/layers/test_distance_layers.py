"""Distance layers: values against brute-force numpy, gradients at zero distance (float32 and
mixed_float16), config round trip, registry, and `.keras` save / safe_mode reload."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf

from siamese import layers
from siamese.errors import ConfigError

CLASSES = [layers.EuclideanDistance, layers.SquaredEuclideanDistance, layers.CosineDistance]


def brute_force(kind: str, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a, b = a.astype(np.float64), b.astype(np.float64)
    out = []
    for x, y in zip(a, b, strict=True):
        if kind == "euclidean":
            out.append(np.sqrt(np.sum((x - y) ** 2)))
        elif kind == "squared_euclidean":
            out.append(np.sum((x - y) ** 2))
        else:
            out.append(1.0 - np.dot(x, y) / (np.linalg.norm(x) * np.linalg.norm(y)))
    return np.asarray(out)[:, None]


@pytest.fixture
def mixed_float16():
    previous = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy("mixed_float16")
    try:
        yield
    finally:
        keras.mixed_precision.set_global_policy(previous)


@pytest.mark.parametrize("cls", CLASSES)
def test_matches_brute_force_numpy(cls, rng):
    a = rng.normal(size=(9, 7)).astype(np.float32)
    b = rng.normal(size=(9, 7)).astype(np.float32)
    b[0] = a[0]  # identical pair
    b[1] = 3.0 * a[1]  # same direction: cosine 0, euclidean not
    b[2] = -a[2]  # opposite: cosine 2
    out = cls()([a, b])
    assert tuple(out.shape) == (9, 1)
    assert out.dtype == "float32"
    expected = brute_force(cls.kind, a, b)
    np.testing.assert_allclose(np.asarray(out), expected, rtol=1e-5, atol=1e-5)
    assert float(out[0, 0]) == pytest.approx(0.0, abs=1e-6)
    assert np.all(np.asarray(out) >= 0.0)


def test_cosine_is_scale_invariant_and_bounded(rng):
    a = rng.normal(size=(5, 4)).astype(np.float32)
    layer = layers.CosineDistance()
    np.testing.assert_allclose(np.asarray(layer([a, 7.0 * a])), 0.0, atol=1e-6)
    np.testing.assert_allclose(np.asarray(layer([a, -a])), 2.0, atol=1e-6)


def _gradient_at_identical(cls, x: np.ndarray, **layer_kwargs) -> tuple[np.ndarray, tf.Tensor]:
    layer = cls(**layer_kwargs)
    variable = tf.Variable(x)
    with tf.GradientTape() as tape:
        d = layer([variable, tf.identity(variable)])
        total = tf.reduce_sum(d)
    return tape.gradient(total, variable).numpy(), d


@pytest.mark.parametrize("cls", CLASSES)
def test_gradient_finite_for_identical_embeddings_float32(cls, rng):
    x = rng.normal(size=(4, 6)).astype(np.float32)
    grad, d = _gradient_at_identical(cls, x)
    assert np.all(np.isfinite(grad))
    np.testing.assert_allclose(np.asarray(d), 0.0, atol=1e-6)


@pytest.mark.parametrize("cls", CLASSES)
def test_gradient_finite_for_identical_embeddings_one_side(cls, rng):
    """Gradient with respect to one input only (the other a constant) at zero distance."""
    x = rng.normal(size=(3, 5)).astype(np.float32)
    variable = tf.Variable(x)
    with tf.GradientTape() as tape:
        total = tf.reduce_sum(cls()([variable, tf.constant(x)]))
    assert np.all(np.isfinite(tape.gradient(total, variable).numpy()))


@pytest.mark.parametrize("cls", CLASSES)
@pytest.mark.parametrize("layer_dtype", [None, "mixed_float16"])
def test_mixed_float16_float32_output_and_finite_gradient(cls, layer_dtype, rng, mixed_float16):
    """Under the mixed policy a float16 tower feeds the layer; the distance is float32."""
    kwargs = {} if layer_dtype is None else {"dtype": layer_dtype}
    tower = keras.layers.Dense(8)
    layer = cls(**kwargs)
    x = tf.constant(rng.normal(size=(4, 6)).astype(np.float32))
    other = tf.constant(rng.normal(size=(4, 6)).astype(np.float32))
    with tf.GradientTape() as tape:
        ea, eb = tower(x), tower(x)
        assert ea.dtype == tf.float16
        d = layer([ea, eb])
        d_other = layer([ea, tower(other)])
        total = tf.reduce_sum(d) + tf.reduce_sum(d_other)
    assert d.dtype == tf.float32
    grads = tape.gradient(total, tower.trainable_variables)
    assert all(np.all(np.isfinite(g.numpy())) for g in grads)
    np.testing.assert_allclose(d.numpy(), 0.0, atol=1e-3)
    expected = brute_force(cls.kind, ea.numpy().astype(np.float32), tower(other).numpy().astype(np.float32))
    np.testing.assert_allclose(d_other.numpy(), expected, rtol=1e-4, atol=1e-4)


def test_float16_inputs_are_computed_in_float32():
    """Squared distance 300**2 * 2 overflows float16 (max 65504) but not float32."""
    a = np.full((1, 2), 300.0, dtype=np.float16)
    b = np.zeros((1, 2), dtype=np.float16)
    out = layers.SquaredEuclideanDistance(dtype="mixed_float16")([a, b])
    assert out.dtype == "float32"
    assert float(out[0, 0]) == pytest.approx(180000.0)


@pytest.mark.parametrize("cls", CLASSES)
def test_config_round_trip(cls):
    layer = cls(name=f"my_{cls.kind}")
    config = layer.get_config()
    clone = cls.from_config(config)
    assert clone.name == layer.name
    assert clone.get_config() == config
    revived = keras.layers.deserialize(keras.layers.serialize(layer))
    assert type(revived) is cls


@pytest.mark.parametrize(
    ("name", "cls"),
    [
        ("euclidean", layers.EuclideanDistance),
        ("l2", layers.EuclideanDistance),
        ("L2", layers.EuclideanDistance),
        ("squared_euclidean", layers.SquaredEuclideanDistance),
        ("squared-l2", layers.SquaredEuclideanDistance),
        ("squared-L2", layers.SquaredEuclideanDistance),
        ("cosine", layers.CosineDistance),
        ("angular", layers.CosineDistance),
    ],
)
def test_registry(name, cls):
    assert layers.get(name) is cls
    assert layers.get(cls) is cls
    assert layers.get(cls()) is cls
    assert layers.get(cls.kind) is cls
    assert layers.canonical_metric(cls.metric) == cls.metric


def test_registry_kinds_and_unknown_name():
    assert layers.names() == ["cosine", "euclidean", "squared_euclidean"]
    assert layers.EuclideanDistance.kind == "euclidean"
    with pytest.raises(ConfigError, match="distance: unknown distance 'manhattan'"):
        layers.get("manhattan")


def test_rejects_bad_inputs(rng):
    a = rng.normal(size=(2, 3)).astype(np.float32)
    with pytest.raises(ValueError, match="two"):
        layers.EuclideanDistance()([a, a, a])
    with pytest.raises(ValueError, match="sizes differ"):
        layers.EuclideanDistance()([keras.Input((3,)), keras.Input((4,))])


@pytest.mark.parametrize("cls", CLASSES)
def test_keras_file_round_trip_safe_mode(cls, tmp_path, rng):
    left, right = keras.Input((6,), name="left"), keras.Input((6,), name="right")
    tower = keras.layers.Dense(4, name="tower")
    out = cls(name="distance")([tower(left), tower(right)])
    model = keras.Model([left, right], out)
    assert tuple(model.output.shape) == (None, 1)
    a = rng.normal(size=(5, 6)).astype(np.float32)
    b = rng.normal(size=(5, 6)).astype(np.float32)
    before = model.predict([a, b], verbose=0)
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True)
    assert type(loaded.get_layer("distance")) is cls
    np.testing.assert_array_equal(loaded.predict([a, b], verbose=0), before)


def test_generic_pair_distance_layer_round_trips(tmp_path, rng):
    a = rng.normal(size=(5, 6)).astype(np.float32)
    b = rng.normal(size=(5, 6)).astype(np.float32)
    layer = layers.PairDistance(distance="angular", name="distance")
    assert layer.kind == "cosine" and layer.get_config()["distance"] == "cosine"
    np.testing.assert_array_equal(np.asarray(layer([a, b])), np.asarray(layers.CosineDistance()([a, b])))
    left, right = keras.Input((6,)), keras.Input((6,))
    model = keras.Model([left, right], layer([left, right]))
    model.save(tmp_path / "m.keras")
    loaded = keras.saving.load_model(tmp_path / "m.keras", safe_mode=True)
    assert type(loaded.get_layer("distance")) is layers.PairDistance
    np.testing.assert_array_equal(loaded.predict([a, b], verbose=0), model.predict([a, b], verbose=0))
