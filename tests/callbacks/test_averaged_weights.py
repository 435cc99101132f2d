"""AveragedWeightsAtEpochEnd against a brute-force numpy moving average of the raw weights of every step, and
against the same fit without averaging (the raw trajectory must not change)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import keras
import numpy as np

from siamese.callbacks import AveragedWeightsAtEpochEnd
from siamese.config import load_config
from siamese.training import build

REPO = Path(__file__).resolve().parents[2]
MOMENTUM = 0.8
EPOCHS, STEPS, BATCH = 3, 4, 8


class _Record(keras.callbacks.Callback):
    """The weights after every step (raw) and what the callbacks after the averaging one see at each epoch's end."""

    def __init__(self, stop_after_epoch: int | None = None) -> None:
        super().__init__()
        self.steps: list[list[np.ndarray]] = []
        self.epoch_ends: list[list[np.ndarray]] = []
        self.stop_after_epoch = stop_after_epoch

    def on_train_batch_end(self, batch: int, logs: Any = None) -> None:
        self.steps.append([np.array(w) for w in self.model.get_weights()])

    def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
        self.epoch_ends.append([np.array(w) for w in self.model.get_weights()])
        if epoch == self.stop_after_epoch:
            self.model.stop_training = True  # as EarlyStopping does, after the averaging callback


def _fit(use_ema: bool, stop_after_epoch: int | None = None) -> tuple[keras.Model, _Record]:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(STEPS * BATCH, 5)).astype("float32")
    y = rng.normal(size=(STEPS * BATCH, 3)).astype("float32")
    keras.utils.set_random_seed(1)
    model = keras.Sequential([keras.Input((5,)), keras.layers.Dense(4, activation="tanh"), keras.layers.Dense(3)])
    model.compile(optimizer=keras.optimizers.SGD(0.2, use_ema=use_ema, ema_momentum=MOMENTUM), loss="mse")
    rec = _Record(stop_after_epoch)
    cbs = [AveragedWeightsAtEpochEnd(), rec] if use_ema else [rec]
    model.fit(x, y, batch_size=BATCH, epochs=EPOCHS, shuffle=False, verbose=0, callbacks=cbs)
    return model, rec


def _numpy_ema(steps: list[list[np.ndarray]]) -> list[list[np.ndarray]]:
    """Keras' convention: the first step sets the average to the weights, then avg = m * avg + (1 - m) * w."""
    out, avg = [], None
    for w in steps:
        if avg is None:
            avg = [v.copy() for v in w]
        else:
            avg = [MOMENTUM * a + (1 - MOMENTUM) * v for a, v in zip(avg, w, strict=True)]
        out.append(avg)
    return out


def _close(a: list[np.ndarray], b: list[np.ndarray]) -> None:
    for u, v in zip(a, b, strict=True):
        np.testing.assert_allclose(u, v, rtol=1e-5, atol=1e-6)


def test_epoch_ends_see_the_numpy_average_and_training_goes_on_from_the_raw_weights() -> None:
    model, rec = _fit(use_ema=True)
    plain_model, plain = _fit(use_ema=False)
    assert len(rec.steps) == EPOCHS * STEPS
    # the raw trajectory is the plain fit's: the averaged weights never leak into training
    for got, want in zip(rec.steps, plain.steps, strict=True):
        _close(got, want)
    ema = _numpy_ema(rec.steps)
    for epoch, seen in enumerate(rec.epoch_ends):
        _close(seen, ema[(epoch + 1) * STEPS - 1])
    _close(model.get_weights(), ema[-1])
    # and the average differs from the raw weights, or the checks above would prove nothing
    assert max(float(np.abs(a - b).max()) for a, b in zip(ema[-1], rec.steps[-1], strict=True)) > 1e-3


def test_a_run_stopped_early_still_ends_on_the_average() -> None:
    # keras.callbacks.SwapEMAWeights(swap_on_epoch=True) would end this run on the raw weights
    model, rec = _fit(use_ema=True, stop_after_epoch=0)
    assert len(rec.steps) == STEPS
    _close(model.get_weights(), _numpy_ema(rec.steps)[-1])


def test_config_ema_builds_an_averaging_optimizer_and_rejects_bad_momenta() -> None:
    from siamese.errors import ConfigError

    cfg = load_config(REPO / "configs" / "orl-smoke.yaml", ["train.optimizer.ema=0.995"])
    opt = build.build_optimizer(cfg)
    assert opt.use_ema and abs(opt.ema_momentum - 0.995) < 1e-9
    assert not build.build_optimizer(load_config(REPO / "configs" / "orl-smoke.yaml")).use_ema
    for bad in ("1.0", "0", "true", "-0.5"):
        try:
            load_config(REPO / "configs" / "orl-smoke.yaml", [f"train.optimizer.ema={bad}"])
        except ConfigError as e:
            assert "train.optimizer.ema" in str(e)
        else:
            raise AssertionError(f"ema={bad} was accepted")
