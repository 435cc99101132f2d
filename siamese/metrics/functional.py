"""Verification figures from genuine / impostor distance histograms (plain functions).

Conventions: label ``1`` = same person (genuine), ``0`` = impostor; inputs are *distances*
(small = similar). Distances are binned into ``num_bins`` equal bins over ``[0, max_distance]``;
bin ``i`` covers ``[i * h, (i + 1) * h)`` with ``h = max_distance / num_bins`` (the resolution);
values outside the range are clipped into the end bins.

A threshold is swept over the ``num_bins + 1`` bin edges ``t_k = k * h`` (``k = 0 .. num_bins``):
at edge ``k`` the pairs in bins ``0 .. k-1`` are accepted ("same"). Every sweep is a vectorised
cumulative sum over bins (no Python loop over thresholds), so the functions trace inside
``tf.function`` / compiled ``model.fit``; they take and return backend tensors (``keras.ops``),
numpy arrays work too. When one class is empty, EER, TAR and AUC are undefined and return ``0``.
"""

from __future__ import annotations

from typing import Any

from keras import ops

Tensor = Any

__all__ = [
    "accuracy_curve",
    "best_accuracy",
    "distance_histograms",
    "equal_error_rate",
    "roc_auc",
    "tar_at_far",
]


def distance_histograms(
    y_true: Tensor,
    distance: Tensor,
    num_bins: int = 2048,
    max_distance: float = 2.0,
    sample_weight: Tensor | None = None,
) -> tuple[Tensor, Tensor]:
    """Weighted counts of genuine and impostor distances per bin, each float32 ``(num_bins,)``.

    ``y_true``: labels, any shape with ``batch`` elements (``> 0.5`` means genuine).
    ``distance``: ``(batch,)`` or ``(batch, 1)``. ``sample_weight``: broadcastable to ``(batch,)``;
    ``None`` means 1. Non-finite distances are ignored (weight 0).
    """
    distance = ops.reshape(ops.cast(distance, "float32"), (-1,))
    genuine = ops.cast(ops.reshape(y_true, (-1,)), "float32") > 0.5
    if sample_weight is None:
        weight = ops.ones_like(distance)
    else:
        weight = ops.reshape(ops.cast(sample_weight, "float32"), (-1,))
        weight = ops.broadcast_to(weight, ops.shape(distance))
    finite = ops.isfinite(distance)
    weight = ops.where(finite, weight, ops.zeros_like(weight))
    distance = ops.where(finite, distance, ops.zeros_like(distance))
    scaled = ops.floor(distance * (num_bins / float(max_distance)))
    bins = ops.cast(ops.clip(scaled, 0, num_bins - 1), "int32")
    # one segment sum: genuine pairs go to segments [0, n), impostors to [n, 2n)
    segment = bins + ops.where(genuine, 0, num_bins)
    counts = ops.segment_sum(weight, segment, num_segments=2 * num_bins)
    return counts[:num_bins], counts[num_bins:]


def _cumulative(counts: Tensor) -> Tensor:
    """``(n,)`` counts -> ``(n + 1,)`` accepted counts at each bin edge (leading 0)."""
    counts = ops.cast(counts, "float32")
    return ops.concatenate([ops.zeros((1,), "float32"), ops.cumsum(counts)])


def _safe_divide(x: Tensor, y: Tensor) -> Tensor:
    return ops.where(y > 0, x / ops.maximum(y, 1e-30), ops.zeros_like(x))


def accuracy_curve(genuine: Tensor, impostor: Tensor) -> Tensor:
    """Accuracy at each bin edge, ``(num_bins + 1,)``: (accepted genuine + rejected impostor) / all."""
    accepted_genuine = _cumulative(genuine)
    accepted_impostor = _cumulative(impostor)
    n_genuine, n_impostor = accepted_genuine[-1], accepted_impostor[-1]
    correct = accepted_genuine + (n_impostor - accepted_impostor)
    return _safe_divide(correct, n_genuine + n_impostor)


def best_accuracy(genuine: Tensor, impostor: Tensor, max_distance: float = 2.0) -> tuple[Tensor, Tensor]:
    """``(accuracy, threshold)``: the best accuracy over all bin edges and the lowest edge reaching it.

    ``threshold`` is in distance units (``k * max_distance / num_bins``).
    """
    curve = accuracy_curve(genuine, impostor)
    best = ops.max(curve)
    edges = ops.arange(ops.shape(curve)[0], dtype="float32")
    # edges that miss the best get a finite sentinel past the last edge (numeric checks reject +inf)
    first = ops.min(ops.where(curve >= best, edges, ops.full_like(edges, 2.0 * ops.shape(curve)[0])))
    num_bins = ops.cast(ops.shape(curve)[0] - 1, "float32")
    return best, first * (max_distance / num_bins)


def equal_error_rate(genuine: Tensor, impostor: Tensor) -> Tensor:
    """EER: the rate where FAR == FRR, linearly interpolated between the two bin edges around it.

    FAR(k) = accepted impostors / impostors (rises 0 -> 1), FRR(k) = rejected genuine / genuine
    (falls 1 -> 0). The error against the exact EER is at most the largest fraction of either
    class falling in one bin.
    """
    accepted_genuine = _cumulative(genuine)
    accepted_impostor = _cumulative(impostor)
    n_genuine, n_impostor = accepted_genuine[-1], accepted_impostor[-1]
    far = _safe_divide(accepted_impostor, n_impostor)
    frr = 1.0 - _safe_divide(accepted_genuine, n_genuine)
    diff = far - frr  # non-decreasing, -1 at edge 0 and +1 at the last edge
    k = ops.sum(ops.cast(diff < 0, "int32"))  # first edge where FAR >= FRR
    k = ops.clip(k, 1, ops.shape(diff)[0] - 1)
    d0, d1 = ops.take(diff, k - 1), ops.take(diff, k)
    alpha = _safe_divide(-d0, d1 - d0)
    f0, f1 = ops.take(far, k - 1), ops.take(far, k)
    eer = f0 + alpha * (f1 - f0)
    defined = ops.logical_and(n_genuine > 0, n_impostor > 0)
    return ops.where(defined, eer, ops.zeros_like(eer))


def tar_at_far(genuine: Tensor, impostor: Tensor, far: float = 1e-3) -> Tensor:
    """True accept rate at the largest bin edge whose false accept rate is ``<= far``.

    The comparison is done on counts (``accepted impostors <= far * impostors``, with a relative
    slack of 1e-6 for float rounding). Bin edges are a subset of the exact thresholds, so the
    value is at most the exact TAR and at least it minus the largest genuine fraction in one bin.
    """
    accepted_genuine = _cumulative(genuine)
    accepted_impostor = _cumulative(impostor)
    n_genuine, n_impostor = accepted_genuine[-1], accepted_impostor[-1]
    allowed = float(far) * n_impostor * (1.0 + 1e-6)
    k = ops.sum(ops.cast(accepted_impostor <= allowed, "int32")) - 1  # FAR is non-decreasing
    tar = _safe_divide(ops.take(accepted_genuine, ops.maximum(k, 0)), n_genuine)
    return ops.where(n_impostor > 0, tar, ops.zeros_like(tar))


def roc_auc(genuine: Tensor, impostor: Tensor) -> Tensor:
    """ROC AUC: P(genuine distance < impostor distance), pairs in the same bin counted as ties (1/2).

    Equals the trapezoidal area under the ROC over bin edges; the error against the exact AUC is
    at most ``0.5 * sum_i genuine_i * impostor_i / (n_genuine * n_impostor)``.
    """
    genuine = ops.cast(genuine, "float32")
    impostor = ops.cast(impostor, "float32")
    n_genuine, n_impostor = ops.sum(genuine), ops.sum(impostor)
    impostor_above = n_impostor - ops.cumsum(impostor)  # impostors in bins > i
    wins = ops.sum(genuine * (impostor_above + 0.5 * impostor))
    return _safe_divide(wins, n_genuine * n_impostor)

