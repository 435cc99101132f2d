"""Callback that drives a loss margin from a per-epoch schedule."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

import keras

from siamese.callbacks import schedules
from siamese.errors import ConfigError


def _is_variable(value: Any) -> bool:
    return isinstance(value, keras.Variable) or (hasattr(value, "assign") and hasattr(value, "dtype"))


def find_margin_variable(loss: Any) -> Any | None:
    """The first ``.margin`` variable among ``loss``: a loss object, or a dict / list / tuple of them
    (searched in order, nested). ``None`` when there is none."""
    if loss is None:
        return None
    margin = getattr(loss, "margin", None)
    if margin is not None and _is_variable(margin):
        return margin
    if isinstance(loss, Mapping):
        items = list(loss.values())
    elif isinstance(loss, list | tuple):
        items = list(loss)
    else:
        return None
    for item in items:
        found = find_margin_variable(item)
        if found is not None:
            return found
    return None


class MarginScheduler(keras.callbacks.Callback):
    """Sets the loss margin to ``schedule(epoch)`` at each epoch start; logs it as ``"margin"``.

    ``schedule``: a number (constant), an ``epoch -> float`` callable (0-based epoch), a
    :mod:`siamese.callbacks.schedules` object or its config dict.
    ``margin``: the ``keras.Variable`` to drive (or a loss holding one in ``.margin``); ``None``
    looks in ``model.loss`` (a loss, or a dict / list of losses) for the first ``.margin`` variable,
    e.g. :class:`siamese.losses.ContrastiveLoss`; raises :class:`~siamese.errors.ConfigError` if
    none. A compiled ``fit`` reads the variable at every step, so no retracing is needed.
    ``verbose``: 1 prints the margin at each epoch start.

    The value is written into the epoch-end logs, so :class:`keras.callbacks.History` (and any
    logging callback placed *after* this one, e.g. TensorBoard) records it.
    """

    def __init__(
        self,
        schedule: float | Mapping[str, Any] | schedules.MarginSchedule | Callable[[int], float],
        margin: Any = None,
        verbose: int = 0,
    ) -> None:
        super().__init__()
        self.schedule = schedules.get(schedule)
        if margin is not None and not _is_variable(margin):
            margin = find_margin_variable(margin)
            if margin is None:
                raise ConfigError("MarginScheduler: margin must be a keras.Variable or a loss with a "
                                  "`.margin` variable")
        self.margin = margin
        self.verbose = int(verbose)
        self._variable: Any = margin

    def _resolve(self) -> Any:
        if self._variable is None:
            loss = getattr(self.model, "loss", None)
            self._variable = find_margin_variable(loss)
            if self._variable is None:
                raise ConfigError(
                    f"MarginScheduler: model.loss has no `.margin` keras.Variable (loss: {loss!r}); "
                    "use a margin loss such as siamese.losses.ContrastiveLoss or pass margin="
                )
        return self._variable

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        self._resolve()

    def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        value = float(self.schedule(epoch))
        if not math.isfinite(value):
            raise ValueError(f"MarginScheduler: schedule gave a non-finite margin {value!r} at epoch {epoch}")
        variable = self._resolve()
        variable.assign(value)
        if self.verbose > 0:
            print(f"\nEpoch {epoch + 1}: MarginScheduler setting margin to {value:.6g}.")

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        if logs is not None:
            logs["margin"] = float(keras.ops.convert_to_numpy(self._resolve()))

    def current_margin(self) -> float:
        """The driven variable's value now."""
        return float(keras.ops.convert_to_numpy(self._resolve()))
