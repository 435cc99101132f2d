"""Verification metrics on pair distances: ROC AUC, EER, TAR@FAR, best accuracy.

Conventions (the whole :mod:`siamese.evaluation` package):

* ``distances``: 1-D float array, one distance per pair, smaller = more similar;
* ``same``: 1-D array of the same length, ``1`` (or ``True``) = same person (genuine pair),
  ``0`` = different people (impostor pair);
* a pair is **accepted** as "same person" when ``distance <= threshold``;
* FAR (false accept rate) = accepted impostors / impostors; TAR = accepted genuine / genuine;
  FRR = 1 - TAR.

Thresholds are float64. Candidate thresholds lie *between* observed distances (the midpoint
of two consecutive distinct distances), so that a threshold never sits on a sample and the
decision for every pair does not depend on float rounding at the boundary. Compare float64
distances with them (a float64 midpoint of two float32 values may round onto the upper value
when cast back to float32).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike
from sklearn.metrics import roc_auc_score, roc_curve

DEFAULT_FARS: tuple[float, ...] = (1e-3, 1e-2)


def check_pairs(distances: ArrayLike, same: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """Validate and return ``(distances float64 (n,), same bool (n,))``.

    Raises ValueError for a shape mismatch, an empty input, a non-finite distance (NaN, inf),
    a label other than 0/1, or when only one class (all genuine or all impostor) is present.
    """
    d = np.asarray(distances)
    s = np.asarray(same)
    if d.ndim != 1 or s.ndim != 1:
        raise ValueError(f"distances and same must be 1-D, got shapes {d.shape} and {s.shape}")
    if d.shape != s.shape:
        raise ValueError(f"distances and same differ in length: {d.shape[0]} != {s.shape[0]}")
    if d.size == 0:
        raise ValueError("no pairs given (empty distances)")
    if not np.issubdtype(d.dtype, np.number) or np.iscomplexobj(d):
        raise ValueError(f"distances must be real numbers, got dtype {d.dtype}")
    d = d.astype(np.float64)
    bad = ~np.isfinite(d)
    if bad.any():
        first = int(np.flatnonzero(bad)[0])
        raise ValueError(f"{int(bad.sum())} non-finite distance(s) (NaN or inf), first at index {first}")
    if s.dtype != np.bool_:
        if not np.issubdtype(s.dtype, np.number) or not np.isin(s, (0, 1)).all():
            raise ValueError("same must hold only 0 (different people) and 1 (same person)")
        s = s.astype(bool)
    n_genuine = int(s.sum())
    if n_genuine == 0:
        raise ValueError(f"all {s.size} pairs are impostor pairs (label 0); need genuine and impostor pairs")
    if n_genuine == s.size:
        raise ValueError(f"all {s.size} pairs are genuine pairs (label 1); need genuine and impostor pairs")
    return d, s


@dataclass(frozen=True)
class OperatingPoints:
    """Every distinct decision on a set of pairs, by increasing threshold.

    ``thresholds[i]`` (float64, increasing) accepts exactly the pairs counted in
    ``accepted_genuine[i]`` and ``accepted_impostor[i]`` (exact integer counts). Point 0
    accepts nothing; the last point accepts everything.
    """

    thresholds: np.ndarray
    accepted_genuine: np.ndarray
    accepted_impostor: np.ndarray
    n_genuine: int
    n_impostor: int

    @property
    def tar(self) -> np.ndarray:
        return self.accepted_genuine / self.n_genuine

    @property
    def far(self) -> np.ndarray:
        return self.accepted_impostor / self.n_impostor

    @property
    def accuracy(self) -> np.ndarray:
        correct = self.accepted_genuine + (self.n_impostor - self.accepted_impostor)
        return correct / (self.n_genuine + self.n_impostor)


def _between(lower: np.ndarray, upper: np.ndarray) -> np.ndarray:
    """Midpoints ``t`` with ``lower <= t < upper`` exactly (lower < upper element-wise)."""
    mid = lower + (upper - lower) / 2.0
    return np.where(mid < upper, mid, lower)


def operating_points(distances: ArrayLike, same: ArrayLike) -> OperatingPoints:
    """All operating points from scikit-learn's ``roc_curve`` (on ``-distance``).

    Point ``i >= 1`` accepts every pair with distance <= the i-th smallest distinct distance
    ``u_i``; its threshold is the midpoint between ``u_i`` and ``u_{i+1}`` (the last one is
    ``u_max`` plus half the last gap). Point 0 accepts nothing; its threshold is ``u_0``
    minus half the first gap. With one distinct distance the gaps are one float ulp.
    """
    d, s = check_pairs(distances, same)
    fpr, tpr, score_thresholds = roc_curve(s, -d, drop_intermediate=False)
    n_genuine, n_impostor = int(s.sum()), int((~s).sum())
    accepted_genuine = np.rint(tpr * n_genuine).astype(np.int64)
    accepted_impostor = np.rint(fpr * n_impostor).astype(np.int64)
    u = -score_thresholds[1:].astype(np.float64)  # distinct distances, increasing
    if u.size > 1:
        first_gap, last_gap = u[1] - u[0], u[-1] - u[-2]
        below = u[0] - first_gap / 2.0
        above = u[-1] + last_gap / 2.0
        below = below if below < u[0] else np.nextafter(u[0], -np.inf)
        above = above if above > u[-1] else u[-1]
    else:
        below, above = np.nextafter(u[0], -np.inf), u[0]
    thresholds = np.concatenate([[below], _between(u[:-1], u[1:]), [above]])
    return OperatingPoints(thresholds, accepted_genuine, accepted_impostor, n_genuine, n_impostor)


def best_threshold(distances: ArrayLike, same: ArrayLike) -> tuple[float, float]:
    """Threshold maximising accuracy, and that accuracy: ``(threshold, accuracy)``.

    Vectorised over every distinct decision (see :func:`operating_points`): candidates are the
    midpoints between consecutive distinct distances plus one below the smallest and one above
    the largest. Ties: the **smallest** threshold among those with the best accuracy (the
    strictest one, hence the lowest FAR).
    """
    points = operating_points(distances, same)
    return _best(points)


def _best(points: OperatingPoints) -> tuple[float, float]:
    accuracy = points.accuracy
    i = int(np.argmax(accuracy))  # first maximum = smallest threshold
    return float(points.thresholds[i]), float(accuracy[i])


def _at_far(points: OperatingPoints, target_far: float) -> int:
    """Index of the largest threshold whose FAR <= target_far (0 when only 'accept none' fits)."""
    if not 0.0 <= target_far <= 1.0:
        raise ValueError(f"target FAR must lie in [0, 1], got {target_far}")
    allowed = target_far * points.n_impostor * (1.0 + 1e-12)  # exact counts; guard 0.001 * 3000
    return int(np.searchsorted(points.accepted_impostor, allowed, side="right")) - 1


def tar_at_far(distances: ArrayLike, same: ArrayLike, target_far: float) -> dict[str, float]:
    """TAR at the largest threshold whose FAR <= ``target_far``.

    Returns ``{"target_far", "tar", "far" (achieved), "threshold"}``.
    """
    points = operating_points(distances, same)
    return _tar_entry(points, target_far)


def _tar_entry(points: OperatingPoints, target_far: float) -> dict[str, float]:
    i = _at_far(points, target_far)
    return {
        "target_far": float(target_far),
        "tar": float(points.tar[i]),
        "far": float(points.far[i]),
        "threshold": float(points.thresholds[i]),
    }


def _eer(points: OperatingPoints) -> tuple[float, float]:
    """Equal error rate and its threshold, linearly interpolated where FAR - FRR changes sign.

    FAR - FRR rises from -1 (accept none) to +1 (accept all). Between the two operating points
    that bracket 0, FAR, FRR and the threshold are interpolated linearly with the same weight.
    """
    far = points.far
    frr = 1.0 - points.tar
    diff = far - frr
    j = int(np.argmax(diff >= 0.0))  # first point with FAR >= FRR; j >= 1 since diff[0] = -1
    if diff[j] == 0.0:
        return float(far[j]), float(points.thresholds[j])
    w = -diff[j - 1] / (diff[j] - diff[j - 1])
    eer = far[j - 1] + w * (far[j] - far[j - 1])
    threshold = points.thresholds[j - 1] + w * (points.thresholds[j] - points.thresholds[j - 1])
    return float(eer), float(threshold)


def far_key(target_far: float) -> str:
    """Key of a target FAR in result dicts: ``1e-3 -> "0.001"``."""
    return f"{target_far:g}"


def verification_metrics(
    distances: ArrayLike, same: ArrayLike, fars: tuple[float, ...] = DEFAULT_FARS
) -> dict[str, Any]:
    """Threshold-free and best-threshold figures on one set of pairs. JSON-safe dict.

    Keys: ``roc_auc`` (scikit-learn ``roc_auc_score`` on ``-distance``), ``eer`` and
    ``eer_threshold`` (FAR == FRR, interpolated), ``tar_at_far`` (``{far_key(f): {"target_far",
    "tar", "far", "threshold"}}`` for each ``f`` in ``fars``: TAR at the largest threshold whose
    FAR <= f), ``best_accuracy`` and ``best_threshold`` (see :func:`best_threshold`),
    ``n_pairs``, ``n_genuine``, ``n_impostor``. Accept = ``distance <= threshold``.
    """
    d, s = check_pairs(distances, same)
    points = operating_points(d, s)
    eer, eer_threshold = _eer(points)
    threshold, accuracy = _best(points)
    return {
        "roc_auc": float(roc_auc_score(s, -d)),
        "eer": eer,
        "eer_threshold": eer_threshold,
        "tar_at_far": {far_key(f): _tar_entry(points, f) for f in fars},
        "best_accuracy": accuracy,
        "best_threshold": threshold,
        "n_pairs": int(d.size),
        "n_genuine": points.n_genuine,
        "n_impostor": points.n_impostor,
    }


def accuracy_at(distances: ArrayLike, same: ArrayLike, threshold: float) -> float:
    """Fraction of pairs decided correctly when accepting ``distance <= threshold``.

    Unlike the other functions, one class alone is allowed (a test fold may hold one class).
    """
    d = np.asarray(distances, dtype=np.float64)
    s = np.asarray(same).astype(bool)
    if d.size == 0:
        raise ValueError("no pairs given (empty distances)")
    if not np.isfinite(d).all():
        raise ValueError("non-finite distance(s) (NaN or inf)")
    return float(np.mean((d <= threshold) == s))
