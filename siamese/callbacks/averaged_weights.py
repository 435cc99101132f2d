"""Epoch ends on the exponential moving average of the weights (``train.optimizer.ema``)."""

from __future__ import annotations

from typing import Any

import keras
import numpy as np


class AveragedWeightsAtEpochEnd(keras.callbacks.Callback):
    """At each epoch's end put the optimizer's moving average of the trainable weights (Keras ``use_ema``) into the
    model, so that the callbacks after this one (validation, best checkpoint, early stopping) see the averaged
    weights; at the next epoch's start put the raw weights back and training goes on from them.

    Unlike ``keras.callbacks.SwapEMAWeights(swap_on_epoch=True)`` the average is also left in the optimizer's slot,
    so a run that early stopping ends before its last epoch still ends on the averaged weights when ``fit`` writes
    that slot into the model. Non-trainable state (batch-norm statistics) is not averaged, as in Keras.
    The raw weights are held as one numpy copy between an epoch's end and the next epoch's start.
    """

    def __init__(self) -> None:
        super().__init__()
        self._raw: list[np.ndarray] | None = None

    def _optimizer(self) -> Any:
        opt = self.model.optimizer
        opt = getattr(opt, "inner_optimizer", opt)  # mixed precision's LossScaleOptimizer
        if not getattr(opt, "use_ema", False) or not hasattr(opt, "_model_variables_moving_average"):
            raise ValueError("AveragedWeightsAtEpochEnd needs an optimizer built with use_ema=True")
        return opt

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        opt = self._optimizer()
        self._raw = [keras.ops.convert_to_numpy(v) for v in opt._trainable_variables]
        for var, average in zip(opt._trainable_variables, opt._model_variables_moving_average, strict=True):
            var.assign(average)

    def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        if self._raw is None:
            return
        opt = self._optimizer()
        for var, raw in zip(opt._trainable_variables, self._raw, strict=True):
            var.assign(raw)
        self._raw = None
