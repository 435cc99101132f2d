"""Callbacks that put training state where TensorBoard and History can see it: learning rate, gradient norms."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import keras


class LearningRateLogger(keras.callbacks.Callback):
    """Writes the optimizer's current learning rate (schedules included) into the epoch logs as ``lr``."""

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        if logs is not None:
            lr = self.model.optimizer.learning_rate
            logs["lr"] = float(lr.numpy() if hasattr(lr, "numpy") else lr)


class GradientNormLogger(keras.callbacks.Callback):
    """Per-layer gradient norms of ``loss`` on one fixed batch ``(x, y)`` at each epoch end, as TensorBoard scalars
    ``grad_norm/<weight path>`` under ``log_dir``. For a model with several outputs (a head, a teacher) ``loss`` is
    the embedding loss, on the ``"embedding"`` output and target. The probe leaves no trace on training: the
    model's non-trainable state (batch-norm statistics, a loss's cross-batch memory) is restored after it."""

    def __init__(self, loss: Any, x: Any, y: Any, log_dir: str | Path) -> None:
        super().__init__()
        import tensorflow as tf

        self.loss, self.x, self.y = loss, x, y
        self.writer = tf.summary.create_file_writer(str(log_dir))

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        import tensorflow as tf

        from siamese.layers import loss_state_variables

        state = list(self.model.non_trainable_variables)
        state += [v for v in loss_state_variables(self.loss) if all(v is not w for w in state)]
        saved = [keras.ops.convert_to_numpy(v) for v in state]
        try:
            with tf.GradientTape() as tape:
                pred, y = self.model(self.x, training=True), self.y
                if isinstance(pred, dict):
                    pred = pred["embedding"]
                if isinstance(y, dict):
                    y = y["embedding"]
                value = self.loss(y, pred)
            grads = tape.gradient(value, self.model.trainable_weights)
        finally:
            for v, value_before in zip(state, saved, strict=True):
                v.assign(value_before)
        with self.writer.as_default():
            for w, g in zip(self.model.trainable_weights, grads, strict=True):
                if g is not None:
                    tf.summary.scalar(f"grad_norm/{w.path}", tf.norm(g), step=epoch)
