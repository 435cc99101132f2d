"""One object holding every evaluation figure: :class:`EvaluationResult`."""

from __future__ import annotations

import math
from dataclasses import MISSING, asdict, dataclass, fields
from typing import Any

from numpy.typing import ArrayLike

from siamese.evaluation.metrics import DEFAULT_FARS, check_pairs, verification_metrics
from siamese.evaluation.protocol import kfold_accuracy


@dataclass(frozen=True)
class EvaluationResult:
    """Figures for one set of pairs. Accept = ``distance <= threshold``; rates in [0, 1].

    ``tar_at_far``: ``{"0.001": {"target_far", "tar", "far", "threshold"}, ...}``.
    ``kfold``: the :func:`kfold_accuracy` dict when folds were given, else None.
    ``best_accuracy``/``best_threshold`` are chosen on *all* the pairs (optimistic); the
    protocol figure is ``kfold["mean_accuracy"] ± kfold["standard_error"]``.
    """

    n_pairs: int
    n_genuine: int
    n_impostor: int
    roc_auc: float
    eer: float
    eer_threshold: float
    best_accuracy: float
    best_threshold: float
    tar_at_far: dict[str, dict[str, float]]
    kfold: dict[str, Any] | None = None
    acceptance: str = "distance <= threshold"

    @property
    def accuracy(self) -> float:
        """The headline accuracy: k-fold mean when available, else the best accuracy."""
        return float(self.kfold["mean_accuracy"]) if self.kfold else self.best_accuracy

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dict (plain floats, ints, strings, lists, dicts; no NaN)."""
        data = asdict(self)
        _check_json_safe(data, "result")
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> EvaluationResult:
        """Inverse of :meth:`to_dict`; unknown keys are ignored. Raises ValueError on a missing key."""
        names = {f.name for f in fields(cls)}
        required = {f.name for f in fields(cls) if f.default is MISSING}
        missing = sorted(required - set(data))
        if missing:
            raise ValueError(f"evaluation result: missing key(s) {missing}")
        return cls(**{k: v for k, v in data.items() if k in names})


def _check_json_safe(value: Any, where: str) -> None:
    if isinstance(value, dict):
        for k, v in value.items():
            if not isinstance(k, str):
                raise TypeError(f"{where}: non-string key {k!r}")
            _check_json_safe(v, f"{where}.{k}")
    elif isinstance(value, list | tuple):
        for i, v in enumerate(value):
            _check_json_safe(v, f"{where}[{i}]")
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"{where}: non-finite value {value}")
    elif value is not None and not isinstance(value, bool | int | str):
        raise TypeError(f"{where}: {type(value).__name__} is not JSON-safe")


def evaluate_distances(
    distances: ArrayLike,
    same: ArrayLike,
    folds: ArrayLike | int | None = None,
    *,
    fars: tuple[float, ...] = DEFAULT_FARS,
    seed: int = 0,
) -> EvaluationResult:
    """All figures for pair distances: :func:`verification_metrics` plus, when ``folds`` is
    given (fold ids per pair, or an int for seeded random folds), :func:`kfold_accuracy`.
    """
    d, s = check_pairs(distances, same)
    metrics = verification_metrics(d, s, fars)
    kfold = None if folds is None else kfold_accuracy(d, s, folds, seed=seed)
    return EvaluationResult(kfold=kfold, **metrics)
