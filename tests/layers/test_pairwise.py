"""Pairwise distance matrices: brute-force numpy, zero diagonal, finite gradients, names."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from siamese import layers
from siamese.errors import ConfigError


def brute_force(metric: str, x: np.ndarray) -> np.ndarray:
    x = x.astype(np.float64)
    n = len(x)
    out = np.zeros((n, n))
    for i in range(n):
        for j in range(n):
            if metric == "L2":
                out[i, j] = np.linalg.norm(x[i] - x[j])
            elif metric == "squared-L2":
                out[i, j] = np.sum((x[i] - x[j]) ** 2)
            else:
                out[i, j] = 1.0 - x[i] @ x[j] / (np.linalg.norm(x[i]) * np.linalg.norm(x[j]))
    return out


@pytest.mark.parametrize("metric", ["L2", "squared-L2", "angular"])
def test_matches_brute_force(metric, rng):
    x = rng.normal(size=(8, 5)).astype(np.float32)
    x[3] = x[1]  # a duplicate row: off-diagonal zero
    got = np.asarray(layers.pairwise_distances(x, metric))
    assert got.dtype == np.float32 and got.shape == (8, 8)
    np.testing.assert_allclose(got, brute_force(metric, x), atol=2e-5)
    assert np.all(np.diag(got) == 0.0) or metric == "angular"
    np.testing.assert_allclose(np.diag(got), 0.0, atol=1e-6)
    assert np.all(got >= 0.0)
    if metric != "angular":
        assert got[1, 3] == 0.0 and got[3, 1] == 0.0


@pytest.mark.parametrize(
    ("alias", "metric"), [("euclidean", "L2"), ("squared_euclidean", "squared-L2"), ("cosine", "angular")]
)
def test_aliases(alias, metric, rng):
    x = rng.normal(size=(4, 3)).astype(np.float32)
    np.testing.assert_array_equal(
        np.asarray(layers.pairwise_distances(x, alias)), np.asarray(layers.pairwise_distances(x, metric))
    )


def test_callable_metric_and_unknown_name(rng):
    x = rng.normal(size=(4, 3)).astype(np.float32)
    got = layers.pairwise_distances(x, lambda e: tf.abs(e[:, :1] - tf.transpose(e[:, :1])))
    np.testing.assert_allclose(np.asarray(got), np.abs(x[:, :1] - x[:, :1].T), atol=1e-7)
    with pytest.raises(ConfigError, match="distance_metric"):
        layers.pairwise_distances(x, "L1")


@pytest.mark.parametrize("metric", ["L2", "squared-L2", "angular"])
def test_finite_gradient_with_duplicate_rows_float16(metric, rng):
    x = rng.normal(size=(6, 4)).astype(np.float16)
    x[2] = x[0]
    variable = tf.Variable(x)
    with tf.GradientTape() as tape:
        d = layers.pairwise_distances(variable, metric)
        total = tf.reduce_sum(d)
    assert d.dtype == tf.float32
    assert np.all(np.isfinite(tape.gradient(total, variable).numpy()))


def test_dynamic_batch_in_tf_function(rng):
    f = tf.function(
        lambda e: layers.pairwise_distances(e, "L2"),
        input_signature=[tf.TensorSpec((None, 3), tf.float32)],
    )
    for n in (2, 5):
        x = rng.normal(size=(n, 3)).astype(np.float32)
        np.testing.assert_allclose(f(x).numpy(), brute_force("L2", x), atol=2e-5)
