"""Triplet losses: brute-force numpy oracle of the mining, shapes/dtypes, dynamic batch,
degenerate batches, config round trip and a compiled model.fit (jit on/off, mixed precision)."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf

from siamese import losses
from siamese.errors import ConfigError


def np_distances(x: np.ndarray, metric: str) -> np.ndarray:
    x = x.astype(np.float64)
    diff = x[:, None, :] - x[None, :, :]
    if metric == "L2":
        return np.sqrt(np.sum(diff**2, axis=-1))
    if metric == "squared-L2":
        return np.sum(diff**2, axis=-1)
    unit = x / np.linalg.norm(x, axis=1, keepdims=True)
    return np.maximum(1.0 - unit @ unit.T, 0.0)


def np_semihard(labels, x, margin, metric):
    """FaceNet semi-hard mining, one (anchor, positive) pair at a time."""
    d = np_distances(x, metric)
    terms = []
    for a in range(len(x)):
        negatives = [n for n in range(len(x)) if labels[n] != labels[a]]
        for p in range(len(x)):
            if p == a or labels[p] != labels[a]:
                continue
            farther = [d[a, n] for n in negatives if d[a, n] > d[a, p]]
            d_an = min(farther) if farther else max(d[a, n] for n in negatives)
            terms.append(max(d[a, p] - d_an + margin, 0.0))
    return np.mean(terms)


def np_hard(labels, x, margin, metric, soft=False):
    """Batch-hard: hardest positive and hardest negative per anchor."""
    d = np_distances(x, metric)
    terms = []
    for a in range(len(x)):
        d_ap = max(d[a, p] for p in range(len(x)) if p != a and labels[p] == labels[a])
        d_an = min(d[a, n] for n in range(len(x)) if labels[n] != labels[a])
        terms.append(np.log1p(np.exp(d_ap - d_an)) if soft else max(d_ap - d_an + margin, 0.0))
    return np.mean(terms)


def batch(rng, n_classes=3, per_class=4, dim=5):
    labels = np.repeat(np.arange(n_classes), per_class)
    rng.shuffle(labels)
    x = rng.normal(size=(len(labels), dim)).astype(np.float32) + labels[:, None].astype(np.float32) * 0.5
    return labels.astype(np.int32), x


@pytest.mark.parametrize("metric", ["L2", "squared-L2", "angular"])
@pytest.mark.parametrize("margin", [0.2, 1.0])
def test_semihard_matches_brute_force(metric, margin, rng):
    labels, x = batch(rng)
    got = float(losses.triplet_semihard_loss(labels, x, margin, metric))
    np.testing.assert_allclose(got, np_semihard(labels, x, margin, metric), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("metric", ["L2", "squared-L2", "angular"])
@pytest.mark.parametrize("soft", [False, True])
def test_hard_matches_brute_force(metric, soft, rng):
    labels, x = batch(rng)
    got = float(losses.triplet_hard_loss(labels, x, 0.5, soft=soft, distance_metric=metric))
    np.testing.assert_allclose(got, np_hard(labels, x, 0.5, metric, soft), rtol=1e-5, atol=1e-6)


def test_soft_hard_loss_does_not_overflow():
    labels = np.array([0, 0, 1, 1])
    x = np.array([[0.0], [200.0], [0.1], [200.1]], dtype=np.float32)  # gap ~ 4e4 in squared-L2
    value = float(losses.triplet_hard_loss(labels, x, soft=True, distance_metric="squared-L2"))
    assert np.isfinite(value) and value == pytest.approx(np_hard(labels, x, 1.0, "squared-L2", soft=False) - 1.0)


def test_label_shapes_float16_and_float_labels(rng):
    labels, x = batch(rng)
    ref = float(losses.triplet_semihard_loss(labels, x))
    assert float(losses.triplet_semihard_loss(labels[:, None], x)) == ref
    assert float(losses.triplet_semihard_loss(labels.astype(np.float32), x)) == ref  # as Keras passes them
    half = losses.triplet_hard_loss(labels, x.astype(np.float16))
    assert half.dtype == "float32"
    np.testing.assert_allclose(float(half), float(losses.triplet_hard_loss(labels, x)), rtol=1e-2)


def test_semihard_without_positive_pairs_is_zero_not_nan(rng):
    x = rng.normal(size=(4, 3)).astype(np.float32)
    assert float(losses.triplet_semihard_loss(np.arange(4), x)) == 0.0


def test_perfectly_separated_batch_has_zero_loss():
    labels = np.array([0, 0, 1, 1])
    x = np.array([[0.0, 0.0], [0.0, 0.1], [5.0, 0.0], [5.0, 0.1]], dtype=np.float32)
    assert float(losses.triplet_semihard_loss(labels, x, margin=1.0)) == 0.0
    assert float(losses.triplet_hard_loss(labels, x, margin=1.0)) == 0.0
    # With a margin wider than the gap the hinge is active again: 0.1 - 5.0 + 6.0 = 1.1.
    assert float(losses.triplet_hard_loss(labels, x, margin=6.0)) == pytest.approx(1.1, rel=1e-5)


@pytest.mark.parametrize("fn", [losses.triplet_semihard_loss, losses.triplet_hard_loss])
def test_dynamic_batch_size_in_tf_function(fn, rng):
    traced = tf.function(
        lambda y, e: fn(y, e, 0.5),
        input_signature=[tf.TensorSpec((None,), tf.int32), tf.TensorSpec((None, 5), tf.float32)],
    )
    for per_class in (2, 3):
        labels, x = batch(rng, per_class=per_class)
        np.testing.assert_allclose(float(traced(labels, x)), float(fn(labels, x, 0.5)), rtol=1e-6)


def test_gradients_finite_with_duplicate_embeddings(rng):
    labels, x = batch(rng)
    x[1] = x[0]
    variable = tf.Variable(x)
    for metric in ("L2", "squared-L2", "angular"):
        with tf.GradientTape() as tape:
            value = losses.triplet_semihard_loss(labels, variable, 0.5, metric) + losses.triplet_hard_loss(
                labels, variable, 0.5, distance_metric=metric
            )
        assert np.all(np.isfinite(tape.gradient(value, variable).numpy()))


@keras.saving.register_keras_serializable(package="siamese_tests")
def manhattan(embeddings):
    return tf.reduce_sum(tf.abs(embeddings[:, None, :] - embeddings[None, :, :]), axis=-1)


def test_callable_metric_and_config_round_trip(rng):
    labels, x = batch(rng)
    loss = losses.TripletSemiHardLoss(margin=0.3, distance_metric=manhattan)
    expected = float(losses.triplet_semihard_loss(labels, x, 0.3, manhattan))
    assert float(loss(labels, x)) == pytest.approx(expected)
    clone = keras.losses.deserialize(keras.losses.serialize(loss))
    assert clone.distance_metric is manhattan
    assert float(clone(labels, x)) == pytest.approx(expected)


@pytest.mark.parametrize(
    "loss",
    [
        losses.TripletSemiHardLoss(margin=0.3, distance_metric="squared_euclidean"),
        losses.TripletHardLoss(margin=0.4, soft=True, distance_metric="cosine"),
    ],
)
def test_config_round_trip(loss, rng):
    loss.margin.assign(0.75)
    config = loss.get_config()
    assert config["margin"] == pytest.approx(0.75)
    assert config["distance"] in ("squared_euclidean", "cosine")
    assert loss.distance_metric in ("squared-L2", "angular")  # the old attribute, one release
    clone = type(loss).from_config(config)
    assert clone.get_config() == config
    assert isinstance(clone.margin, keras.Variable) and not clone.margin.trainable
    labels, x = batch(rng)
    assert float(clone(labels, x)) == pytest.approx(float(loss(labels, x)))


def test_unknown_metric():
    with pytest.raises(ConfigError, match="distance_metric"):
        losses.TripletHardLoss(distance_metric="L1")


def _embedding_model():
    inputs = keras.Input((6,))
    x = keras.layers.Dense(8, activation="relu")(inputs)
    x = keras.layers.Dense(4)(x)
    outputs = keras.layers.UnitNormalization(dtype="float32")(x)
    return keras.Model(inputs, outputs)


@pytest.mark.parametrize(
    ("loss_cls", "jit_compile"),
    [(losses.TripletSemiHardLoss, True), (losses.TripletHardLoss, False)],
)
def test_compiled_fit_and_margin_assignment(loss_cls, jit_compile, rng):
    keras.utils.set_random_seed(3)
    labels = np.repeat(np.arange(4), 4).astype(np.int32)
    centres = rng.normal(size=(4, 6))
    x = (centres[labels] + 0.3 * rng.normal(size=(16, 6))).astype(np.float32)
    model = _embedding_model()
    loss = loss_cls(margin=0.2)
    model.compile(optimizer=keras.optimizers.Adam(0.02), loss=loss, jit_compile=jit_compile)
    history = model.fit(x, labels, batch_size=16, epochs=15, shuffle=False, verbose=0).history["loss"]
    assert np.all(np.isfinite(history)) and history[-1] < history[0]
    emb = np.asarray(model(x, training=False))  # eager: no third XLA compilation
    before = model.evaluate(x, labels, batch_size=16, verbose=0)
    np.testing.assert_allclose(before, float(loss(labels, emb)), rtol=1e-5, atol=1e-6)
    loss.margin.assign(1.5)
    after = model.evaluate(x, labels, batch_size=16, verbose=0)
    expected = float(loss_cls(margin=1.5)(labels, emb))
    np.testing.assert_allclose(after, expected, rtol=1e-5, atol=1e-6)
    assert after > before


def test_fit_under_mixed_float16(rng):
    previous = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy("mixed_float16")
    try:
        keras.utils.set_random_seed(4)
        labels = np.repeat(np.arange(3), 4).astype(np.int32)
        x = rng.normal(size=(12, 6)).astype(np.float32)
        inputs = keras.Input((6,))
        emb = keras.layers.Dense(4)(inputs)  # float16 embeddings
        model = keras.Model(inputs, emb)
        model.compile(optimizer="adam", loss=losses.TripletSemiHardLoss(margin=0.5, distance_metric="angular"))
        history = model.fit(x, labels, batch_size=12, epochs=3, verbose=0).history["loss"]
        assert np.all(np.isfinite(history))
        assert model.predict(x, verbose=0).dtype == np.float16
    finally:
        keras.mixed_precision.set_global_policy(previous)


def dense_semihard_negatives(pdist, negatives):
    """TFA's formulation: the full (anchor, positive, negative) mask, O(n**3) memory."""
    from keras import ops

    candidates = pdist[:, None, :]
    outside = ops.cast(
        ops.logical_and(ops.cast(negatives[:, None, :], "bool"), ops.greater(candidates, pdist[:, :, None])),
        "float32",
    )
    has_outside = ops.greater(ops.sum(outside, axis=-1), 0.0)
    negatives_outside = ops.squeeze(losses.masked_minimum(candidates, outside, axis=-1), axis=-1)
    negatives_inside = ops.broadcast_to(losses.masked_maximum(pdist, negatives), ops.shape(pdist))
    return ops.where(has_outside, negatives_outside, negatives_inside)


def _mine_both(labels, x, metric):
    from siamese.layers import pairwise_distances

    variable = tf.Variable(x)
    results = []
    for miner in (losses.semihard_negatives, dense_semihard_negatives):
        with tf.GradientTape() as tape:
            positives, negatives = losses.label_masks(labels)
            mined = miner(pairwise_distances(variable, metric), negatives)
            total = tf.reduce_sum(mined * positives)
        results.append((mined.numpy(), tape.gradient(total, variable).numpy()))
    return results


LABELS = np.array([0, 0, 0, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3], dtype=np.int32)


@pytest.mark.parametrize("metric", ["L2", "squared-L2", "angular"])
def test_sorted_semihard_miner_equals_dense_tfa_miner_with_ties(metric, rng):
    """The O(n^2 log n) miner gives exactly TFA's O(n^3) values, on a grid with many equal distances."""
    x = rng.integers(-2, 3, size=(15, 3)).astype(np.float32)
    x[4] = x[3]
    (fast, _), (dense, _) = _mine_both(LABELS, x, metric)
    np.testing.assert_array_equal(fast, dense)


@pytest.mark.parametrize("metric", ["L2", "squared-L2", "angular"])
def test_sorted_semihard_miner_gradient_equals_dense(metric, rng):
    """Without ties (where the gradient is a subgradient choice) gradients agree too."""
    x = rng.normal(size=(15, 4)).astype(np.float32)
    (fast, grad_fast), (dense, grad_dense) = _mine_both(LABELS, x, metric)
    np.testing.assert_array_equal(fast, dense)
    np.testing.assert_allclose(grad_fast, grad_dense, rtol=1e-5, atol=1e-6)
