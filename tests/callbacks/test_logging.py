"""GradientNormLogger: its gradients are the loss's own on the fixed batch (a tape in the test as the oracle), and
its probe leaves the training state as it found it: batch-norm statistics and a loss's cross-batch memory."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from siamese.callbacks import GradientNormLogger
from siamese.layers import LossState
from siamese.losses import BatchContrastiveLoss

tf = pytest.importorskip("tensorflow")


def _model(loss: BatchContrastiveLoss) -> keras.Model:
    inputs = keras.Input((8,))
    x = keras.layers.BatchNormalization()(keras.layers.Dense(6)(inputs))
    tower = keras.Model(inputs, keras.layers.UnitNormalization()(x))
    return keras.Model(tower.input, LossState(loss.state_variables)(tower.output))


def test_the_probe_logs_the_gradient_norms_and_restores_the_state(rng, tmp_path) -> None:
    keras.utils.set_random_seed(0)
    loss = BatchContrastiveLoss(margin=1.0, pos_margin=0.2, reducer="avg_nonzero", memory_size=16, memory_dim=6)
    model = _model(loss)
    x = (3.0 + rng.normal(size=(12, 8))).astype("float32")  # far from BN's initial statistics
    y = rng.integers(0, 4, size=12)
    before = [keras.ops.convert_to_numpy(v).copy() for v in model.non_trainable_variables]
    assert len(before) == 2 + len(loss.state_variables)  # BN's moving mean and variance, then the memory

    cb = GradientNormLogger(loss, x, y, tmp_path / "grad_norms")
    cb.set_model(model)
    cb.on_epoch_end(0)
    cb.writer.flush()

    for v, want in zip(model.non_trainable_variables, before, strict=True):
        np.testing.assert_array_equal(keras.ops.convert_to_numpy(v), want, err_msg=v.path)
    # the oracle: the same loss on the same batch, under a tape of the test's own (the memory is empty again)
    with tf.GradientTape() as tape:
        value = loss(y, model(x, training=True))
    want = {w.path: float(tf.norm(g)) for w, g in zip(model.trainable_weights,
                                                      tape.gradient(value, model.trainable_weights), strict=True)}
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(str(tmp_path / "grad_norms")).Reload()
    got = {t.removeprefix("grad_norm/"): float(tf.make_ndarray(events.Tensors(t)[0].tensor_proto))
           for t in events.Tags()["tensors"]}
    assert got.keys() == want.keys() and len(got) == 4  # Dense kernel and bias, BN gamma and beta
    for path, norm in want.items():
        assert got[path] == pytest.approx(norm, rel=1e-5), path
