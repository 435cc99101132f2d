"""Equal error rate."""

from __future__ import annotations

from typing import Any

import keras

from siamese.metrics import functional as F
from siamese.metrics.base import HistogramVerificationMetric


@keras.saving.register_keras_serializable(package="siamese")
class EqualErrorRate(HistogramVerificationMetric):
    """EER: the error rate where false accepts equal false rejects (lower is better).

    Interpolated linearly between the two bin edges around the crossing; off the exact EER by at
    most the largest fraction of either class in one bin. 0 while a class is missing.
    """

    def __init__(
        self,
        num_bins: int = 2048,
        max_distance: float = 2.0,
        name: str = "eer",
        dtype: Any = None,
    ) -> None:
        super().__init__(num_bins=num_bins, max_distance=max_distance, name=name, dtype=dtype)

    def result(self) -> Any:
        return F.equal_error_rate(*self.histograms())
