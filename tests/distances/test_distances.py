"""siamese.distances: brute-force numpy oracles, numpy path == keras path, gradients at zero distance, registry."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

from siamese import distances as D
from siamese.errors import ConfigError
from siamese.model_dir import DISTANCE_RANGE, pairwise_distance_np, similarity_to_distance

ALL = [D.EUCLIDEAN, D.SQUARED_EUCLIDEAN, D.COSINE]


def brute(name: str, x: np.ndarray, y: np.ndarray) -> float:
    x, y = x.astype(np.float64), y.astype(np.float64)
    if name == "euclidean":
        return float(np.linalg.norm(x - y))
    if name == "squared_euclidean":
        return float(np.sum((x - y) ** 2))
    return 1.0 - float(x @ y) / (np.linalg.norm(x) * np.linalg.norm(y))


def brute_cross(name: str, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    out = np.zeros((len(a), len(b)))
    for i in range(len(a)):
        for j in range(len(b)):
            out[i, j] = brute(name, a[i], b[j])
    return out


@pytest.fixture
def data(rng):
    a = rng.normal(size=(7, 5)).astype(np.float32)
    b = rng.normal(size=(7, 5)).astype(np.float32)
    b[0] = a[0]        # identical
    b[1] = 3.0 * a[1]  # same direction
    b[2] = -a[2]       # opposite
    a[4] = a[3]        # duplicate rows inside a: off-diagonal zero of the matrix
    return a, b


@pytest.mark.parametrize("dist", ALL, ids=str)
def test_numpy_path_matches_brute_force(dist, data):
    a, b = data
    rows = dist.rowwise(a, b)
    assert isinstance(rows, np.ndarray) and rows.dtype == np.float32 and rows.shape == (7,)
    np.testing.assert_allclose(rows, [brute(dist.name, x, y) for x, y in zip(a, b, strict=True)], atol=2e-5)
    cross = dist.cross(a, b[:3])
    assert cross.dtype == np.float32 and cross.shape == (7, 3)
    np.testing.assert_allclose(cross, brute_cross(dist.name, a, b[:3]), atol=3e-5)
    matrix = dist.matrix(a)
    assert matrix.dtype == np.float32 and matrix.shape == (7, 7)
    np.testing.assert_allclose(matrix, brute_cross(dist.name, a, a), atol=3e-5)
    assert np.all(matrix >= 0.0) and np.all(rows >= 0.0)
    if dist is not D.COSINE:  # TFA's masked sqrt and zero diagonal: exact zeros
        assert np.all(np.diag(matrix) == 0.0) and matrix[3, 4] == 0.0 and matrix[4, 3] == 0.0


@pytest.mark.parametrize("dist", ALL, ids=str)
def test_from_similarity_and_max_value_on_unit_vectors(dist, data):
    a, b = data
    a = a / np.linalg.norm(a, axis=1, keepdims=True)
    b = b / np.linalg.norm(b, axis=1, keepdims=True)
    s = np.sum(a * b, axis=1)
    np.testing.assert_allclose(dist.from_similarity(s), dist.rowwise(a, b), atol=1e-5)
    np.testing.assert_allclose(dist.from_similarity(s), similarity_to_distance(s, dist.name), atol=1e-6)
    np.testing.assert_allclose(dist.rowwise(a, b), pairwise_distance_np(a, b, dist.name), atol=1e-5)
    assert float(dist.from_similarity(np.float32(1.5))) == 0.0  # clipped to [-1, 1]
    assert float(dist.from_similarity(-1.0)) == pytest.approx(dist.max_value)
    assert dist.max_value == DISTANCE_RANGE[dist.name]
    assert float(dist.rowwise(a[:1], -a[:1])[0]) == pytest.approx(dist.max_value, rel=1e-6)


@pytest.mark.parametrize("dist", ALL, ids=str)
def test_numpy_path_equals_keras_path(dist, data):
    a, b = data
    s = np.linspace(-1.2, 1.2, 9).astype(np.float32)
    pairs = [(dist.rowwise(a, b), dist.rowwise(tf.constant(a), tf.constant(b))),
             (dist.cross(a, b), dist.cross(tf.constant(a), tf.constant(b))),
             (dist.matrix(a), dist.matrix(tf.Variable(a))),
             (dist.from_similarity(s), dist.from_similarity(tf.constant(s)))]
    for numpy_value, keras_value in pairs:
        assert isinstance(keras_value, tf.Tensor) and keras_value.dtype == tf.float32
        np.testing.assert_allclose(numpy_value, keras_value.numpy(), rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("dist", ALL, ids=str)
def test_float64_and_float16_inputs_are_computed_in_float32(dist, data):
    a, b = data
    assert dist.rowwise(a.astype(np.float64), b).dtype == np.float32
    assert dist.matrix(tf.constant(a, tf.float16)).dtype == tf.float32


@pytest.mark.parametrize("dist", ALL, ids=str)
def test_finite_gradients_at_zero_distance(dist, data):
    a, _ = data
    variable = tf.Variable(a)
    with tf.GradientTape() as tape:
        total = (tf.reduce_sum(dist.rowwise(variable, tf.identity(variable)))
                 + tf.reduce_sum(dist.matrix(variable))  # duplicate rows 3 and 4
                 + tf.reduce_sum(dist.cross(variable, tf.constant(a))))
    assert np.all(np.isfinite(tape.gradient(total, variable).numpy()))
    s = tf.Variable(np.array([1.0, 0.3, -1.0], np.float32))
    with tf.GradientTape() as tape:
        value = tf.reduce_sum(dist.from_similarity(s))
    assert np.all(np.isfinite(tape.gradient(value, s).numpy()))


@pytest.mark.parametrize(("name", "dist"), [
    ("euclidean", D.EUCLIDEAN), ("L2", D.EUCLIDEAN), ("l2", D.EUCLIDEAN),
    ("squared_euclidean", D.SQUARED_EUCLIDEAN), ("squared-L2", D.SQUARED_EUCLIDEAN),
    ("Squared_L2", D.SQUARED_EUCLIDEAN),
    ("cosine", D.COSINE), ("angular", D.COSINE),
])
def test_get_names_and_aliases(name, dist):
    assert D.get(name) is dist
    assert D.get(dist) is dist and D.get(type(dist)) == dist
    assert D.canonical(name) == dist.name
    assert str(dist) == dist.name


def test_unknown_distance_names_the_key():
    assert D.names() == ["cosine", "euclidean", "squared_euclidean"]
    with pytest.raises(ConfigError, match=r"^model\.distance: unknown distance 'manhattan'"):
        D.get("manhattan")
    with pytest.raises(ConfigError, match=r"^loss\.distance: unknown distance 'L1'"):
        D.get("L1", key="loss.distance")


def test_numpy_path_imports_neither_keras_nor_tensorflow():
    code = ("import sys, numpy as np; from siamese import distances as D; x = np.eye(3, 4); "
            "[(d.rowwise(x, x), d.matrix(x), d.cross(x, x), d.from_similarity(0.5)) "
            "for d in (D.get('l2'), D.SQUARED_EUCLIDEAN, D.COSINE)]; "
            "print('keras' in sys.modules, 'tensorflow' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["False", "False"]
