"""ContrastiveLoss: convention, margin variable, config, and a compiled model.fit (jit on/off)."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from siamese import layers, losses
from siamese.errors import ConfigError


def numpy_contrastive(y: np.ndarray, d: np.ndarray, margin: float) -> np.ndarray:
    y, d = y.reshape(-1).astype(np.float64), d.reshape(-1).astype(np.float64)
    return y * d**2 + (1 - y) * np.maximum(margin - d, 0.0) ** 2


def test_label_convention_one_means_same():
    d = np.array([0.0, 0.3, 2.0], dtype=np.float32)
    genuine = np.asarray(losses.contrastive_loss(np.ones(3), d, margin=1.0))
    impostor = np.asarray(losses.contrastive_loss(np.zeros(3), d, margin=1.0))
    np.testing.assert_allclose(genuine, [0.0, 0.09, 4.0], rtol=1e-6)  # pulls same identity together
    np.testing.assert_allclose(impostor, [1.0, 0.49, 0.0], rtol=1e-6)  # pushes others past the margin


def test_shapes_and_sample_weight(rng):
    y = rng.integers(0, 2, size=(6, 1))
    d = rng.uniform(0, 2, size=(6, 1)).astype(np.float32)
    per_pair = np.asarray(losses.contrastive_loss(y, d, 1.5))
    assert per_pair.shape == (6,) and per_pair.dtype == np.float32
    np.testing.assert_allclose(per_pair, numpy_contrastive(y, d, 1.5), rtol=1e-6)
    w = np.array([1, 0, 2, 0, 1, 1], dtype=np.float32)
    got = float(losses.ContrastiveLoss(margin=1.5)(y, d, sample_weight=w))
    np.testing.assert_allclose(got, np.sum(per_pair * w) / 6, rtol=1e-6)
    none = losses.ContrastiveLoss(margin=1.5, reduction=None)(y[:, 0], d[:, 0])
    np.testing.assert_allclose(np.asarray(none), per_pair, rtol=1e-6)


def test_float16_distance_computed_in_float32():
    d = np.array([300.0], dtype=np.float16)  # 300**2 overflows float16
    out = losses.contrastive_loss(np.ones(1), d)
    assert out.dtype == "float32" and float(out[0]) == pytest.approx(90000.0)


def test_margin_is_always_a_non_trainable_variable():
    loss = losses.ContrastiveLoss(margin=0.7)
    assert isinstance(loss.margin, keras.Variable)
    assert not loss.margin.trainable
    assert loss.margin_value == pytest.approx(0.7)
    assert isinstance(losses.ContrastiveLoss().margin, keras.Variable)
    shared = keras.Variable(2.0, trainable=False)
    assert losses.ContrastiveLoss(margin=shared).margin is shared


def test_get_config_records_current_margin():
    loss = losses.ContrastiveLoss(margin=1.0, name="c")
    loss.margin.assign(2.5)
    config = loss.get_config()
    assert config["margin"] == pytest.approx(2.5) and isinstance(config["margin"], float)
    clone = losses.ContrastiveLoss.from_config(config)
    assert clone.margin_value == pytest.approx(2.5) and clone.name == "c"
    assert clone.margin is not loss.margin
    revived = keras.losses.deserialize(keras.losses.serialize(loss))
    assert isinstance(revived, losses.ContrastiveLoss) and revived.margin_value == pytest.approx(2.5)


def test_registry():
    assert losses.get("contrastive") is losses.ContrastiveLoss
    assert losses.get("triplet-semihard") is losses.TripletSemiHardLoss
    assert losses.get("Triplet_Hard") is losses.TripletHardLoss
    with pytest.raises(ConfigError, match="loss.name: unknown loss 'arcface'"):
        losses.get("arcface")


class CountingContrastiveLoss(losses.ContrastiveLoss):
    """Counts Python executions of ``call``: inside a compiled step they happen only when tracing."""

    traces = 0

    def call(self, y_true, y_pred):
        CountingContrastiveLoss.traces += 1
        return super().call(y_true, y_pred)


@pytest.mark.parametrize("jit_compile", [False, True])
def test_assigning_margin_changes_compiled_loss_without_retracing(jit_compile, rng):
    keras.utils.set_random_seed(0)
    left, right = keras.Input((3,)), keras.Input((3,))
    tower = keras.layers.Dense(4)
    model = keras.Model([left, right], layers.EuclideanDistance()([tower(left), tower(right)]))
    loss = CountingContrastiveLoss(margin=0.5)
    # learning rate 0: weights stay fixed, so the loss depends on the margin only.
    model.compile(optimizer=keras.optimizers.SGD(0.0), loss=loss, jit_compile=jit_compile)
    a = rng.normal(size=(8, 3)).astype(np.float32)
    b = rng.normal(size=(8, 3)).astype(np.float32)
    y = np.array([1, 0, 1, 0, 0, 1, 0, 0], dtype=np.float32)
    d = model.predict([a, b], verbose=0)

    fit_1 = model.fit([a, b], y, batch_size=8, epochs=1, verbose=0).history["loss"][0]
    eval_1 = model.evaluate([a, b], y, batch_size=8, verbose=0)
    traces = CountingContrastiveLoss.traces
    assert traces > 0
    np.testing.assert_allclose([fit_1, eval_1], numpy_contrastive(y, d, 0.5).mean(), rtol=1e-5)

    loss.margin.assign(3.0)
    fit_2 = model.fit([a, b], y, batch_size=8, epochs=1, verbose=0).history["loss"][0]
    eval_2 = model.evaluate([a, b], y, batch_size=8, verbose=0)
    np.testing.assert_allclose([fit_2, eval_2], numpy_contrastive(y, d, 3.0).mean(), rtol=1e-5)
    assert eval_2 > eval_1
    assert CountingContrastiveLoss.traces == traces, "assigning the margin retraced the step"


def test_fit_reduces_loss_and_saves_with_compiled_loss(tmp_path, rng):
    keras.utils.set_random_seed(1)
    left, right = keras.Input((4,)), keras.Input((4,))
    tower = keras.layers.Dense(3)
    model = keras.Model([left, right], layers.EuclideanDistance()([tower(left), tower(right)]))
    model.compile(optimizer=keras.optimizers.SGD(0.05), loss=losses.ContrastiveLoss(margin=1.0))
    a = rng.normal(size=(32, 4)).astype(np.float32)
    same = rng.integers(0, 2, size=32).astype(np.float32)
    b = np.where(same[:, None] == 1, a + 0.05 * rng.normal(size=(32, 4)), rng.normal(size=(32, 4)))
    history = model.fit([a, b.astype(np.float32)], same, batch_size=16, epochs=8, verbose=0).history["loss"]
    assert np.all(np.isfinite(history)) and history[-1] < history[0]
    model.loss.margin.assign(1.25)
    path = tmp_path / "m.keras"
    model.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True)
    assert isinstance(loaded.loss, losses.ContrastiveLoss)
    assert loaded.loss.margin_value == pytest.approx(1.25)
