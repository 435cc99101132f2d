"""Margin schedules: ``epoch (0-based int) -> margin (float)``, each with ``get_config``.

Build one from a training config with :func:`get` / :func:`from_config`::

    get({"name": "linear_warmup", "start": 0.5, "end": 1.0, "warmup_epochs": 3})
    get({"name": "step", "values_by_epoch": {0: 0.5, 5: 1.0}})
    get(1.0)  # constant

``from_config(s.get_config())`` rebuilds ``s``. Bad configs raise :class:`~siamese.errors.ConfigError`
naming the key.
"""

from __future__ import annotations

import abc
import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from siamese import plugins
from siamese.errors import ConfigError

__all__ = [
    "SCHEDULES",
    "Constant",
    "Cosine",
    "LinearWarmup",
    "MarginSchedule",
    "Step",
    "constant",
    "cosine",
    "from_config",
    "get",
    "linear_warmup",
    "step",
]


def _number(name: str, key: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ConfigError(f"margin schedule {name!r}: {key} must be a finite number, got {value!r}")
    return float(value)


def _count(name: str, key: str, value: Any, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float) or value != int(value) or value < minimum:
        raise ConfigError(f"margin schedule {name!r}: {key} must be an integer >= {minimum}, got {value!r}")
    return int(value)


class MarginSchedule(abc.ABC):
    """A margin as a function of the 0-based epoch. Subclasses set :attr:`name` (registry key)."""

    name: str = ""

    @abc.abstractmethod
    def __call__(self, epoch: int) -> float:
        """Margin for ``epoch`` (0-based)."""

    @abc.abstractmethod
    def get_config(self) -> dict[str, Any]:
        """JSON/YAML-friendly dict with ``"name"``; :func:`from_config` rebuilds the schedule."""

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items() if k != "name")
        return f"{type(self).__name__}({args})"


class Constant(MarginSchedule):
    """The same ``value`` at every epoch."""

    name = "constant"

    def __init__(self, value: float) -> None:
        self.value = _number(self.name, "value", value)

    def __call__(self, epoch: int) -> float:
        return self.value

    def get_config(self) -> dict[str, Any]:
        return {"name": self.name, "value": self.value}


class LinearWarmup(MarginSchedule):
    """``start`` at epoch 0, linear to ``end`` reached at epoch ``warmup_epochs``, then ``end``.

    ``start + (end - start) * min(epoch, warmup_epochs) / warmup_epochs``; ``warmup_epochs=0``
    means ``end`` from the start.
    """

    name = "linear_warmup"

    def __init__(self, start: float, end: float, warmup_epochs: int) -> None:
        self.start = _number(self.name, "start", start)
        self.end = _number(self.name, "end", end)
        self.warmup_epochs = _count(self.name, "warmup_epochs", warmup_epochs, 0)

    def __call__(self, epoch: int) -> float:
        if self.warmup_epochs == 0 or epoch >= self.warmup_epochs:
            return self.end
        return self.start + (self.end - self.start) * max(epoch, 0) / self.warmup_epochs

    def get_config(self) -> dict[str, Any]:
        return {"name": self.name, "start": self.start, "end": self.end, "warmup_epochs": self.warmup_epochs}


class Cosine(MarginSchedule):
    """Half-cosine from ``start`` (epoch 0) to ``end`` (epoch ``total_epochs - 1``, the last of a
    ``total_epochs`` run), then ``end``: ``end + (start - end) * (1 + cos(pi * p)) / 2`` with
    ``p = min(epoch / (total_epochs - 1), 1)``.
    """

    name = "cosine"

    def __init__(self, start: float, end: float, total_epochs: int) -> None:
        self.start = _number(self.name, "start", start)
        self.end = _number(self.name, "end", end)
        self.total_epochs = _count(self.name, "total_epochs", total_epochs, 1)

    def __call__(self, epoch: int) -> float:
        span = self.total_epochs - 1
        progress = 1.0 if span == 0 else min(max(epoch, 0) / span, 1.0)
        return self.end + (self.start - self.end) * (1.0 + math.cos(math.pi * progress)) / 2.0

    def get_config(self) -> dict[str, Any]:
        return {"name": self.name, "start": self.start, "end": self.end, "total_epochs": self.total_epochs}


class Step(MarginSchedule):
    """Piecewise constant: ``values[i]`` for ``boundaries[i-1] <= epoch < boundaries[i]``.

    Give either ``boundaries`` (strictly increasing epochs > 0) and ``values`` (one more than
    boundaries), or ``values_by_epoch`` ``{first_epoch: value}`` which must include epoch 0
    (keys may be strings, as YAML/JSON keys often are). E.g. ``{0: 0.5, 5: 1.0}`` equals
    ``boundaries=[5], values=[0.5, 1.0]``.
    """

    name = "step"

    def __init__(
        self,
        boundaries: Sequence[int] | None = None,
        values: Sequence[float] | None = None,
        values_by_epoch: Mapping[int | str, float] | None = None,
    ) -> None:
        if values_by_epoch is not None:
            if boundaries is not None or values is not None:
                raise ConfigError("margin schedule 'step': give values_by_epoch or boundaries+values, not both")
            if not isinstance(values_by_epoch, Mapping) or not values_by_epoch:
                raise ConfigError(f"margin schedule 'step': values_by_epoch must be a non-empty mapping, "
                                  f"got {values_by_epoch!r}")
            try:
                pairs = sorted((int(k), v) for k, v in values_by_epoch.items())
            except (TypeError, ValueError) as error:
                raise ConfigError(f"margin schedule 'step': values_by_epoch keys must be epochs: {error}") from None
            if pairs[0][0] != 0:
                raise ConfigError("margin schedule 'step': values_by_epoch must give the value at epoch 0")
            boundaries = [k for k, _ in pairs[1:]]
            values = [v for _, v in pairs]
        if values is None or isinstance(values, str | bytes) or not isinstance(values, Sequence):
            raise ConfigError(f"margin schedule 'step': values must be a list of numbers, got {values!r}")
        boundaries = [] if boundaries is None else boundaries
        if isinstance(boundaries, str | bytes) or not isinstance(boundaries, Sequence):
            raise ConfigError(f"margin schedule 'step': boundaries must be a list of epochs, got {boundaries!r}")
        self.values = [_number(self.name, "values", v) for v in values]
        self.boundaries = [_count(self.name, "boundaries", b, 1) for b in boundaries]
        if len(self.values) != len(self.boundaries) + 1:
            raise ConfigError(f"margin schedule 'step': needs len(values) == len(boundaries) + 1, got "
                              f"{len(self.values)} values and {len(self.boundaries)} boundaries")
        if any(b >= c for b, c in zip(self.boundaries, self.boundaries[1:], strict=False)):
            raise ConfigError(f"margin schedule 'step': boundaries must increase strictly, got {self.boundaries}")

    def __call__(self, epoch: int) -> float:
        return self.values[sum(1 for b in self.boundaries if epoch >= b)]

    def get_config(self) -> dict[str, Any]:
        return {"name": self.name, "boundaries": list(self.boundaries), "values": list(self.values)}


SCHEDULES = plugins.SCHEDULES  # the registry of schedule classes (was a name -> class dict)


def constant(value: float) -> Constant:
    """:class:`Constant` schedule."""
    return Constant(value)


def linear_warmup(start: float, end: float, warmup_epochs: int) -> LinearWarmup:
    """:class:`LinearWarmup` schedule."""
    return LinearWarmup(start, end, warmup_epochs)


def cosine(start: float, end: float, total_epochs: int) -> Cosine:
    """:class:`Cosine` schedule."""
    return Cosine(start, end, total_epochs)


def step(
    values_by_epoch: Mapping[int | str, float] | None = None,
    *,
    boundaries: Sequence[int] | None = None,
    values: Sequence[float] | None = None,
) -> Step:
    """:class:`Step` schedule: ``step({0: 0.5, 5: 1.0})`` or ``step(boundaries=[5], values=[0.5, 1.0])``."""
    return Step(boundaries=boundaries, values=values, values_by_epoch=values_by_epoch)


def from_config(config: Mapping[str, Any]) -> MarginSchedule:
    """Schedule from ``{"name": <name in siamese.plugins.SCHEDULES>, **constructor arguments}``."""
    if not isinstance(config, Mapping):
        raise ConfigError(f"margin schedule config must be a mapping, got {config!r}")
    kwargs = dict(config)
    name = kwargs.pop("name", None)
    if name not in SCHEDULES:
        raise ConfigError(f"{SCHEDULES.key}: unknown name {name!r}; known: {', '.join(SCHEDULES.names())}")
    return SCHEDULES.build(name, **kwargs)


def get(spec: float | Mapping[str, Any] | MarginSchedule | Callable[[int], float]) -> Callable[[int], float]:
    """A schedule from a number (constant), a config mapping, a schedule or any ``epoch -> float``
    callable (returned as is)."""
    if isinstance(spec, MarginSchedule):
        return spec
    if isinstance(spec, int | float) and not isinstance(spec, bool):
        return Constant(spec)
    if isinstance(spec, Mapping):
        return from_config(spec)
    if callable(spec):
        return spec
    raise ConfigError(f"margin schedule: expected a number, a config mapping or a callable, got {spec!r}")
