"""Area under the ROC curve of a distance-based verifier."""

from __future__ import annotations

from typing import Any

import keras

from siamese.metrics import functional as F
from siamese.metrics.base import HistogramVerificationMetric


@keras.saving.register_keras_serializable(package="siamese")
class VerificationAUC(HistogramVerificationMetric):
    """ROC AUC: the probability that a genuine pair is closer than an impostor pair.

    Pairs falling in the same bin count as ties (1/2), so the error against the exact AUC is at
    most ``0.5 * sum_i g_i * m_i / (G * M)`` (g, m: genuine / impostor bin counts). 0 while a class
    is missing.
    """

    def __init__(
        self,
        num_bins: int = 2048,
        max_distance: float = 2.0,
        name: str = "verification_auc",
        dtype: Any = None,
    ) -> None:
        super().__init__(num_bins=num_bins, max_distance=max_distance, name=name, dtype=dtype)

    def result(self) -> Any:
        return F.roc_auc(*self.histograms())
