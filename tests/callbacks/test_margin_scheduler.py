"""MarginScheduler in a real compiled fit with the project's ContrastiveLoss.

The model's output is its input distance (Dense 1x1, weight 1, bias 0, learning rate 0), so the
epoch loss must equal the contrastive formula in numpy with the scheduled margin of that epoch.
"""

from __future__ import annotations

import keras
import numpy as np
import pytest

from siamese.callbacks import MarginScheduler, find_margin_variable, schedules
from siamese.errors import ConfigError
from siamese.losses import ContrastiveLoss


def _pairs(n: int = 256, seed: int = 11) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    label = (rng.random(n) < 0.5).astype(np.float32)
    distance = rng.uniform(0.0, 2.0, n).astype(np.float32).reshape(-1, 1)
    return label, distance


def _expected_loss(label, distance, margin):
    d = distance.reshape(-1).astype(np.float64)
    return float(np.mean(label * d**2 + (1 - label) * np.maximum(margin - d, 0.0) ** 2))


def _fit(loss, callbacks, epochs, jit_compile=False):
    label, distance = _pairs()
    inputs = keras.Input((1,))
    outputs = keras.layers.Dense(1, kernel_initializer="ones", bias_initializer="zeros")(inputs)
    model = keras.Model(inputs, outputs)
    model.compile(optimizer=keras.optimizers.SGD(0.0), loss=loss, jit_compile=jit_compile)
    history = model.fit(distance, label, batch_size=64, epochs=epochs, shuffle=False, verbose=0,
                        callbacks=callbacks)
    return history.history, label, distance


@pytest.mark.parametrize("jit_compile", [False, True])
def test_margin_follows_schedule_and_drives_the_contrastive_loss(jit_compile):
    schedule = schedules.get({"name": "linear_warmup", "start": 0.25, "end": 1.5, "warmup_epochs": 3})
    loss = ContrastiveLoss(margin=1.0)
    seen = []

    class Recorder(keras.callbacks.Callback):  # a logger placed after the scheduler sees "margin"
        def on_epoch_end(self, epoch, logs=None):
            seen.append(logs["margin"])

    history, label, distance = _fit(loss, [MarginScheduler(schedule), Recorder()], epochs=5,
                                    jit_compile=jit_compile)
    margins = [schedule(e) for e in range(5)]
    assert history["margin"] == pytest.approx(margins, abs=1e-6)
    assert seen == history["margin"]
    expected = [_expected_loss(label, distance, m) for m in margins]
    assert len(set(np.round(expected, 4))) >= 4  # the margin really matters for this data
    assert history["loss"] == pytest.approx(expected, rel=1e-5, abs=1e-6)
    assert float(keras.ops.convert_to_numpy(loss.margin)) == pytest.approx(1.5)
    assert loss.get_config()["margin"] == pytest.approx(1.5)


def test_callable_and_constant_schedules_with_loss_in_a_list():
    loss = ContrastiveLoss(margin=2.0)
    history, label, distance = _fit([loss], [MarginScheduler(lambda epoch: 0.5 + 0.5 * epoch)], epochs=3)
    assert history["margin"] == pytest.approx([0.5, 1.0, 1.5])
    assert history["loss"] == pytest.approx([_expected_loss(label, distance, m) for m in (0.5, 1.0, 1.5)],
                                             rel=1e-5)
    history, label, distance = _fit(loss, [MarginScheduler(0.75)], epochs=2)
    assert history["margin"] == pytest.approx([0.75, 0.75])
    assert history["loss"] == pytest.approx([_expected_loss(label, distance, 0.75)] * 2, rel=1e-5)


def test_explicit_variable_drives_a_custom_loss():
    margin = keras.Variable(0.0, trainable=False, dtype="float32")

    def loss(y_true, y_pred):  # mean(margin * d): a plain function has no .margin of its own
        return keras.ops.mean(margin * keras.ops.reshape(y_pred, (-1,)))

    history, _, distance = _fit(loss, [MarginScheduler(schedules.step({0: 1.0, 1: 3.0}), margin=margin)],
                                epochs=2)
    assert history["margin"] == [1.0, 3.0]
    assert history["loss"] == pytest.approx([float(distance.mean()), 3 * float(distance.mean())], rel=1e-5)


def test_missing_margin_is_a_clear_error():
    with pytest.raises(ConfigError, match="no `.margin`"):
        _fit("mse", [MarginScheduler(1.0)], epochs=1)
    with pytest.raises(ConfigError, match="margin must be"):
        MarginScheduler(1.0, margin="mse")


def test_non_finite_schedule_value_stops_training():
    with pytest.raises(ValueError, match="non-finite"):
        _fit(ContrastiveLoss(), [MarginScheduler(lambda epoch: float("nan"))], epochs=1)


def test_find_margin_variable_in_nested_containers():
    first, second = ContrastiveLoss(margin=0.3), ContrastiveLoss(margin=0.9)
    assert find_margin_variable(first) is first.margin
    assert find_margin_variable(["mse", first, second]) is first.margin
    assert find_margin_variable({"a": "mse", "b": (None, second)}) is second.margin
    assert find_margin_variable({"a": "mse"}) is None
    assert MarginScheduler(1.0, margin=second).margin is second.margin


def test_verbose_prints_the_margin(capsys):
    callback = MarginScheduler(schedules.constant(0.8), margin=keras.Variable(0.0), verbose=1)
    callback.on_epoch_begin(2)
    assert "Epoch 3: MarginScheduler setting margin to 0.8" in capsys.readouterr().out
    assert callback.current_margin() == pytest.approx(0.8)


def test_mirrored_strategy_replicas_see_the_scheduled_margin():
    import json
    import os
    import subprocess
    import sys
    from pathlib import Path

    repo = str(Path(__file__).resolve().parents[2])
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", CUDA_VISIBLE_DEVICES="")
    env["PYTHONPATH"] = repo + os.pathsep + env.get("PYTHONPATH", "")
    helper = Path(__file__).with_name("distributed_margin_check.py")
    done = subprocess.run([sys.executable, str(helper)], capture_output=True, text=True, env=env,
                          timeout=300, cwd=repo)
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["replicas"] == 2
    assert report["margin"] == pytest.approx([0.5, 1.0, 1.5])
    label, distance = _pairs()
    assert report["loss"] == pytest.approx([_expected_loss(label, distance, m) for m in (0.5, 1.0, 1.5)],
                                           rel=1e-5)


def _expected_two_margins(label, distance, margin, pos_margin):
    d = distance.reshape(-1).astype(np.float64)
    return float(np.mean(label * np.maximum(d - pos_margin, 0.0) ** 2 + (1 - label) * np.maximum(margin - d, 0.0) ** 2))


def test_two_named_margins_are_driven_and_logged():
    loss = ContrastiveLoss(margin=1.0, pos_margin=0.0)
    pos = schedules.step({0: 0.0, 1: 0.3, 2: 0.6})
    neg = schedules.linear_warmup(0.5, 1.5, 2)
    seen = []

    class Recorder(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            seen.append((logs["margin"], logs["pos_margin"]))

    scheduler = MarginScheduler({"pos_margin": pos, "margin": neg}, loss=loss)
    history, label, distance = _fit(loss, [scheduler, Recorder()], epochs=3)
    margins = [neg(e) for e in range(3)]
    pos_margins = [pos(e) for e in range(3)]
    assert history["margin"] == pytest.approx(margins) and history["pos_margin"] == pytest.approx(pos_margins)
    assert seen == list(zip(history["margin"], history["pos_margin"], strict=True))
    expected = [_expected_two_margins(label, distance, m, p) for m, p in zip(margins, pos_margins, strict=True)]
    assert history["loss"] == pytest.approx(expected, rel=1e-5, abs=1e-6)
    assert scheduler.current_margins() == pytest.approx({"pos_margin": 0.6, "margin": 1.5})


def test_named_margins_found_in_model_loss_and_missing_names_refused():
    loss = ContrastiveLoss(margin=1.0)
    history, _, _ = _fit(loss, [MarginScheduler({"pos_margin": 0.25})], epochs=1)
    assert history["pos_margin"] == [0.25] and "margin" not in history
    with pytest.raises(ConfigError, match="no margin 'gap'"):
        _fit(loss, [MarginScheduler({"gap": 1.0})], epochs=1)
    with pytest.raises(ConfigError, match="loss="):
        MarginScheduler({"margin": 1.0}, margin=loss.margin)


def test_a_compiled_fit_on_jax_follows_the_scheduled_margins():
    """JAX traces a compiled step with a loss's margins as constants (they are not the model's variables), so the
    scheduler makes the step again when a margin changes: the numpy-oracle tests above, run again on JAX."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    if keras.backend.backend() == "jax":
        pytest.skip("already running on JAX")
    repo = Path(__file__).resolve().parents[2]
    env = dict(os.environ, KERAS_BACKEND="jax", TF_CPP_MIN_LOG_LEVEL="2")
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", __file__, "-k",
                           "follows_schedule or two_named"], capture_output=True, text=True, env=env, timeout=300,
                          cwd=repo)
    assert done.returncode == 0, done.stdout[-3000:]
    assert "3 passed" in done.stdout
