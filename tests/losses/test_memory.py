"""Cross-batch memory of BatchContrastiveLoss against a numpy simulation of the FIFO memory and of every pair;
its state inside a compiled (XLA) train step of a model that holds it (``LossState``); config round trip and the
errors. The backend-neutral tests run again under ``KERAS_BACKEND=jax`` (a subprocess), where the compiled step
carries only the model's own variables."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from siamese.errors import ConfigError
from siamese.losses import BatchContrastiveLoss
from siamese.losses.memory import CrossBatchMemory


def _terms(same: np.ndarray, d: np.ndarray, margin: float, pos_margin: float) -> np.ndarray:
    return np.where(same, np.maximum(d - pos_margin, 0.0) ** 2, np.maximum(margin - d, 0.0) ** 2)


def _avg_nonzero(terms: np.ndarray, weights: np.ndarray) -> float:
    active = (weights > 0) & (terms > 0)
    return float((terms * weights).sum() / active.sum()) if active.any() else 0.0


def _oracle(batches: list[tuple[np.ndarray, np.ndarray]], size: int, start: int, weight: float,
            margin: float = 1.0, pos_margin: float = 0.2) -> list[float]:
    """Loss per call: every pair i != j of the batch, plus ``weight`` x every batch-to-memory pair, each reduced by
    the mean over its non-zero terms; the memory (newest first, at most ``size``) gets the batch after the call,
    from call ``start`` on."""
    mem_x, mem_y, out = np.zeros((0, batches[0][1].shape[1])), np.zeros(0), []
    for step, (y, x) in enumerate(batches):
        d = np.linalg.norm(x[:, None] - x[None], axis=-1)
        same = y[:, None] == y[None]
        value = _avg_nonzero(_terms(same, d, margin, pos_margin), 1.0 - np.eye(len(y)))
        if len(mem_y):
            dm = np.linalg.norm(x[:, None] - mem_x[None], axis=-1)
            value += weight * _avg_nonzero(_terms(y[:, None] == mem_y[None], dm, margin, pos_margin),
                                           np.ones_like(dm))
        out.append(value)
        if step >= start:
            mem_x, mem_y = np.concatenate([x, mem_x])[:size], np.concatenate([y, mem_y])[:size]
    return out


def _batches(rng: np.random.Generator, n: int = 10, dim: int = 6,
             calls: int = 5) -> list[tuple[np.ndarray, np.ndarray]]:
    out = []
    for _ in range(calls):
        x = rng.normal(size=(n, dim)).astype("float32")
        out.append((rng.integers(0, 6, size=n), x / np.linalg.norm(x, axis=1, keepdims=True)))
    return out


@pytest.mark.parametrize(("size", "start", "weight"), [(16, 0, 1.0), (25, 2, 0.5), (4, 1, 2.0)])
def test_loss_with_memory_matches_a_numpy_simulation(rng, size: int, start: int, weight: float) -> None:
    batches = _batches(rng)
    loss = BatchContrastiveLoss(margin=1.0, pos_margin=0.2, reducer="avg_nonzero", memory_size=size,
                                memory_dim=6, memory_start=start, memory_weight=weight)
    got = [float(loss(y, x)) for y, x in batches]
    np.testing.assert_allclose(got, _oracle(batches, size, start, weight), rtol=1e-5, atol=1e-6)
    plain = BatchContrastiveLoss(margin=1.0, pos_margin=0.2, reducer="avg_nonzero")
    assert got[0] == pytest.approx(float(plain(*batches[0])), rel=1e-6)  # the first call meets an empty memory
    assert got[-1] != pytest.approx(float(plain(*batches[-1])), rel=1e-3)


def _training_model(loss: BatchContrastiveLoss) -> tuple[keras.Model, keras.Model]:
    """``(tower, model)``: a unit-norm dense tower, and the model to train, which also holds the loss's memory."""
    from siamese.layers import LossState

    inputs = keras.Input((8,))
    tower = keras.Model(inputs, keras.layers.UnitNormalization()(keras.layers.Dense(6)(inputs)))
    return tower, keras.Model(tower.input, LossState(loss.state_variables)(tower.output))


@pytest.mark.parametrize("jit_compile", [False, True])
def test_compiled_train_steps_update_the_memory_as_eager_calls_do(rng, jit_compile: bool) -> None:
    """A compiled fit with a zero learning rate: the memory after 4 steps holds the tower's embeddings of the last
    batches, newest first, exactly as 4 eager calls leave it, and the logged losses are the oracle's."""
    keras.utils.set_random_seed(0)
    xs = rng.normal(size=(40, 8)).astype("float32")
    ys = rng.integers(0, 5, size=40)
    loss = BatchContrastiveLoss(margin=1.0, pos_margin=0.2, reducer="avg_nonzero", memory_size=24, memory_dim=6,
                                memory_start=1)
    tower, model = _training_model(loss)
    assert [v.path for v in model.non_trainable_variables] == [v.path for v in loss.memory.variables]
    model.compile(optimizer=keras.optimizers.SGD(0.0), loss=loss, jit_compile=jit_compile)
    hist = model.fit(xs, ys, batch_size=10, epochs=1, shuffle=False, verbose=0)
    emb = keras.ops.convert_to_numpy(tower.predict(xs, batch_size=40, verbose=0))
    batches = [(ys[i:i + 10], emb[i:i + 10]) for i in range(0, 40, 10)]
    want = np.concatenate([emb[30:40], emb[20:30], emb[10:20][:4]])  # steps 1-3 enqueued, 24 rows kept
    np.testing.assert_allclose(keras.ops.convert_to_numpy(loss.memory.embeddings), want, atol=1e-5)
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(loss.memory.labels),
                                  np.concatenate([ys[30:40], ys[20:30], ys[10:14]]).astype("float32"))
    assert float(keras.ops.convert_to_numpy(loss.memory.steps)) == 4.0
    # Keras logs the running mean of the step losses over the epoch
    assert hist.history["loss"][0] == pytest.approx(np.mean(_oracle(batches, 24, 1, 1.0)), rel=1e-4)
    assert len(tower.weights) == 2  # the tower that would be saved holds none of the memory


def test_the_best_checkpoint_of_the_training_model_restores_the_memory(rng, tmp_path) -> None:
    loss = BatchContrastiveLoss(margin=1.0, reducer="avg_nonzero", memory_size=12, memory_dim=6)
    _, model = _training_model(loss)
    model.compile(optimizer=keras.optimizers.SGD(0.01), loss=loss)
    model.fit(rng.normal(size=(20, 8)).astype("float32"), rng.integers(0, 4, size=20), batch_size=10, verbose=0)
    saved = keras.ops.convert_to_numpy(loss.memory.embeddings)
    model.save_weights(tmp_path / "best.weights.h5")
    loss.memory.reset()
    assert float(keras.ops.sum(loss.memory.filled)) == 0.0
    model.load_weights(tmp_path / "best.weights.h5")
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(loss.memory.embeddings), saved)
    assert np.abs(saved).sum() > 0


def test_a_jax_step_without_the_memory_in_its_model_is_a_config_error(rng) -> None:
    """JAX would trace the memory's variables as constants and drop their updates: a silent empty memory."""
    if keras.backend.backend() != "jax":
        pytest.skip("TensorFlow assigns the loss's variables in place; JAX only: run by test_the_memory_on_jax")
    loss = BatchContrastiveLoss(margin=1.0, memory_size=12, memory_dim=6)
    tower, _ = _training_model(loss)
    tower.compile(optimizer=keras.optimizers.SGD(0.01), loss=loss)
    with pytest.raises(ConfigError, match="LossState"):
        tower.fit(rng.normal(size=(20, 8)).astype("float32"), rng.integers(0, 4, size=20), batch_size=10, verbose=0)


def test_gradient_reaches_the_batch_and_not_the_memory(rng) -> None:
    if keras.backend.backend() != "tensorflow":
        pytest.skip("a GradientTape check")
    import tensorflow as tf

    (y0, x0), (y1, x1) = _batches(rng, calls=2)
    loss = BatchContrastiveLoss(margin=1.0, pos_margin=0.2, reducer="avg_nonzero", memory_size=10, memory_dim=6)
    loss(y0, x0)
    x = tf.Variable(x1)
    with tf.GradientTape() as tape:
        value = loss(y1, x)
    grads = tape.gradient(value, [x, loss.memory.embeddings])
    assert grads[1] is None and float(tf.reduce_sum(tf.abs(grads[0]))) > 0.0


def test_config_round_trip_and_reset(rng) -> None:
    loss = BatchContrastiveLoss(margin=0.9, memory_size=8, memory_dim=6, memory_start=3, memory_weight=0.5)
    config = loss.get_config()
    assert {k: config[k] for k in ("memory_size", "memory_dim", "memory_start", "memory_weight")} == \
        {"memory_size": 8, "memory_dim": 6, "memory_start": 3, "memory_weight": 0.5}
    clone = BatchContrastiveLoss.from_config(config)
    assert clone.memory.size == 8 and clone.memory.start == 3 and clone.memory_weight == 0.5
    assert "memory_size" not in BatchContrastiveLoss().get_config() and BatchContrastiveLoss().memory is None
    memory = CrossBatchMemory(4, 6)
    y, x = _batches(rng, calls=1)[0]
    memory.update(y, x)
    assert float(keras.ops.sum(memory.filled)) == 4.0
    memory.reset()
    assert float(keras.ops.sum(memory.filled)) == 0.0 and float(keras.ops.convert_to_numpy(memory.steps)) == 0.0


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"memory_size": 8, "memory_dim": 6, "miner": "hardest"}, "loss.miner"),
    ({"memory_size": 8}, "memory_dim"),
    ({"memory_size": -1, "memory_dim": 6}, "memory_size"),
    ({"memory_size": 8, "memory_dim": 6, "memory_start": -2}, "memory_start"),
])
def test_bad_memory_settings_are_config_errors(kwargs: dict, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        BatchContrastiveLoss(**kwargs)


def test_the_memory_on_jax() -> None:
    """The numpy oracle, the compiled steps, the checkpoint, the reset and the missing-``LossState`` error, again
    under ``KERAS_BACKEND=jax``."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    if keras.backend.backend() == "jax":
        pytest.skip("already running on JAX")
    repo = Path(__file__).resolve().parents[2]
    env = dict(os.environ, KERAS_BACKEND="jax", JAX_PLATFORMS="cpu", TF_CPP_MIN_LOG_LEVEL="2")
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", __file__, "-k",
                           "numpy_simulation or compiled_train_steps or best_checkpoint or without_the_memory or "
                           "round_trip"], capture_output=True, text=True, env=env, timeout=300, cwd=repo)
    assert done.returncode == 0, done.stdout[-3000:]
    assert "8 passed" in done.stdout, done.stdout[-1500:]


def test_more_than_one_process_is_refused_before_anything_is_read() -> None:
    from siamese.config import validate
    from siamese.training.fit import check_loss_state

    cfg = validate({"loss": {"name": "batch_contrastive", "args": {"memory_size": 32}}})
    check_loss_state(cfg, 1)
    check_loss_state(validate({}), 2)  # no memory: any number of processes
    with pytest.raises(ConfigError, match="one process and one replica"):
        check_loss_state(cfg, 2)


def test_build_loss_gives_the_memory_the_model_embedding_width() -> None:
    from siamese.config import validate
    from siamese.training.build import build_loss

    cfg = validate({"loss": {"name": "batch_contrastive", "args": {"memory_size": 32, "memory_start": 5}},
                           "model": {"embedding_dim": 24}})
    loss = build_loss(cfg)
    assert loss.memory.dim == 24 and loss.memory.size == 32 and loss.memory.start == 5
