"""Verification accuracy at the best threshold or at a fixed one."""

from __future__ import annotations

from typing import Any

import keras
from keras import ops

from siamese.metrics import functional as F
from siamese.metrics.base import HistogramVerificationMetric


@keras.saving.register_keras_serializable(package="siamese")
class VerificationAccuracy(HistogramVerificationMetric):
    """Fraction of pairs classified right; a pair is predicted "same" when ``distance <= threshold``.

    ``threshold=None``: the best accuracy over all thresholds (bin edges) for all pairs seen so
    far; it is at most the exact best and at least it minus the largest fraction of pairs in one
    bin. :meth:`best_threshold` gives the lowest edge reaching it. With a fixed ``threshold`` the
    accuracy is counted exactly (not from the histograms).
    """

    def __init__(
        self,
        threshold: float | None = None,
        num_bins: int = 2048,
        max_distance: float = 2.0,
        name: str = "verification_accuracy",
        dtype: Any = None,
    ) -> None:
        super().__init__(num_bins=num_bins, max_distance=max_distance, name=name, dtype=dtype)
        self.threshold = None if threshold is None else float(threshold)
        if self.threshold is not None:
            self.correct = self.add_variable(
                shape=(), initializer="zeros", dtype="float32", aggregation="sum", name="correct"
            )
            self.total = self.add_variable(
                shape=(), initializer="zeros", dtype="float32", aggregation="sum", name="total"
            )

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        super().update_state(y_true, y_pred, sample_weight)
        if self.threshold is None:
            return
        distance = ops.reshape(ops.cast(y_pred, "float32"), (-1,))
        genuine = ops.reshape(ops.cast(y_true, "float32"), (-1,)) > 0.5
        if sample_weight is None:
            weight = ops.ones_like(distance)
        else:
            weight = ops.broadcast_to(ops.reshape(ops.cast(sample_weight, "float32"), (-1,)),
                                      ops.shape(distance))
        weight = ops.where(ops.isfinite(distance), weight, ops.zeros_like(weight))
        right = ops.equal(distance <= self.threshold, genuine)
        self.correct.assign_add(ops.sum(ops.where(right, weight, ops.zeros_like(weight))))
        self.total.assign_add(ops.sum(weight))

    def result(self) -> Any:
        if self.threshold is not None:
            return F._safe_divide(ops.convert_to_tensor(self.correct), ops.convert_to_tensor(self.total))
        accuracy, _ = F.best_accuracy(*self.histograms(), max_distance=self.max_distance)
        return accuracy

    def best_threshold(self) -> Any:
        """Lowest bin edge (distance units) with the best accuracy; the fixed threshold if one is set."""
        if self.threshold is not None:
            return ops.convert_to_tensor(self.threshold, "float32")
        _, threshold = F.best_accuracy(*self.histograms(), max_distance=self.max_distance)
        return threshold

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config["threshold"] = self.threshold
        return config
