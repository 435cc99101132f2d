"""Callback that drives loss margins (any of ``loss.margins``) from per-epoch schedules."""

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


def find_margins(loss: Any) -> dict[str, Any] | None:
    """``{name: variable}`` of the first loss in ``loss`` (a loss, or a dict / list / tuple of them, searched in
    order, nested) that has margins: its ``.margins``, or ``{"margin": .margin}``. ``None`` when none has."""
    if loss is None:
        return None
    margins = getattr(loss, "margins", None)
    if isinstance(margins, Mapping) and margins and all(_is_variable(v) for v in margins.values()):
        return dict(margins)
    margin = getattr(loss, "margin", None)
    if margin is not None and _is_variable(margin):
        return {"margin": margin}
    items = list(loss.values()) if isinstance(loss, Mapping) else list(loss) if isinstance(loss, list | tuple) else []
    for item in items:
        found = find_margins(item)
        if found is not None:
            return found
    return None


def _is_schedule_config(spec: Any) -> bool:
    return isinstance(spec, Mapping) and isinstance(spec.get("name"), str)


class MarginScheduler(keras.callbacks.Callback):
    """Sets loss margins from per-epoch schedules at each epoch start; logs each as ``<name>`` (e.g. ``"margin"``,
    ``"pos_margin"``) in the epoch logs, so History and TensorBoard record them.

    Two forms:

    * ``MarginScheduler(schedule, margin=None)``: drives one margin. ``margin``: the ``keras.Variable`` (or a loss
      holding one in ``.margin``); ``None`` looks in ``loss`` or else ``model.loss`` (a loss, or a dict / list of
      losses) for the first ``.margin`` variable.
    * ``MarginScheduler({"pos_margin": sched, "margin": sched2}, loss=loss)``: drives each named margin of
      ``loss.margins`` (``loss=None``: of ``model.loss``).

    A schedule is a number (constant), an ``epoch -> float`` callable (0-based epoch), a
    :mod:`siamese.callbacks.schedules` object or its config dict. Missing margins raise
    :class:`~siamese.errors.ConfigError`. A compiled ``fit`` on TensorFlow reads the variables at every step, so
    no retracing is needed; on JAX the step functions are made again in an epoch whose margins changed.
    ``verbose``: 1 prints the margins at each epoch start. Logging callbacks placed *after* this one see the
    values.
    """

    def __init__(
        self,
        schedule: float | Mapping[str, Any] | schedules.MarginSchedule | Callable[[int], float],
        margin: Any = None,
        verbose: int = 0,
        loss: Any = None,
    ) -> None:
        super().__init__()
        if isinstance(schedule, Mapping) and not _is_schedule_config(schedule):
            if margin is not None:
                raise ConfigError("MarginScheduler: with schedules per margin name, pass the loss as loss=")
            if not schedule:
                raise ConfigError("MarginScheduler: no margin schedules given")
            self.schedules = {str(name): schedules.get(spec) for name, spec in schedule.items()}
        else:
            self.schedules = {"margin": schedules.get(schedule)}
        self.schedule = next(iter(self.schedules.values()))  # the first (only, in the old form) schedule
        if margin is not None and not _is_variable(margin):
            margin = find_margin_variable(margin)
            if margin is None:
                raise ConfigError("MarginScheduler: margin must be a keras.Variable or a loss with a "
                                  "`.margin` variable")
        self.margin = margin
        self.loss = loss
        self.verbose = int(verbose)
        self._variables: dict[str, Any] | None = None if margin is None else {"margin": margin}

    def _resolve(self) -> dict[str, Any]:
        if self._variables is None:
            loss = self.loss if self.loss is not None else getattr(self.model, "loss", None)
            margins = find_margins(loss)
            if margins is None:
                raise ConfigError(
                    f"MarginScheduler: {'loss' if self.loss is not None else 'model.loss'} has no `.margin` "
                    f"keras.Variable (loss: {loss!r}); use a margin loss such as siamese.losses.ContrastiveLoss "
                    "or pass margin="
                )
            missing = [name for name in self.schedules if name not in margins]
            if missing:
                raise ConfigError(f"MarginScheduler: the loss has no margin {', '.join(map(repr, missing))} "
                                  f"(it has {', '.join(sorted(margins))})")
            self._variables = {name: margins[name] for name in self.schedules}
        return self._variables

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        self._resolve()

    def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        variables = self._resolve()
        changed = False
        for name, schedule in self.schedules.items():
            value = float(schedule(epoch))
            if not math.isfinite(value):
                raise ValueError(f"MarginScheduler: schedule gave a non-finite {name} {value!r} at epoch {epoch}")
            changed |= value != float(keras.ops.convert_to_numpy(variables[name]))
            variables[name].assign(value)
            if self.verbose > 0:
                print(f"\nEpoch {epoch + 1}: MarginScheduler setting {name} to {value:.6g}.")
        if changed and keras.backend.backend() == "jax" and self.model is not None:
            self._retrace()

    def _retrace(self) -> None:
        """On JAX a compiled step receives the model's variables as arguments, but a loss's margins are not the
        model's: the step was traced with their values as constants. Make new step functions (traced at their
        next call, with the new values); TensorFlow reads the variables inside its step and needs none of this."""
        self.model.make_train_function(force=True)
        self.model.test_function = None

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        if logs is not None:
            logs.update(self.current_margins())

    def current_margins(self) -> dict[str, float]:
        """``{name: value now}`` of every driven margin."""
        return {name: float(keras.ops.convert_to_numpy(v)) for name, v in self._resolve().items()}

    def current_margin(self) -> float:
        """The value now of the first driven margin (``margin`` in the old one-margin form)."""
        return next(iter(self.current_margins().values()))
