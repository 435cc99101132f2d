"""True accept rate at a fixed false accept rate."""

from __future__ import annotations

from typing import Any

import keras

from siamese.metrics import functional as F
from siamese.metrics.base import HistogramVerificationMetric


@keras.saving.register_keras_serializable(package="siamese")
class TrueAcceptRate(HistogramVerificationMetric):
    """TAR@FAR: genuine pairs accepted at the largest threshold whose FAR is ``<= far``.

    Thresholds are bin edges, so the value is at most the exact TAR and at least it minus the
    largest genuine fraction in one bin. Needs at least ``1 / far`` impostor pairs to mean much.
    """

    def __init__(
        self,
        far: float = 1e-3,
        num_bins: int = 2048,
        max_distance: float = 2.0,
        name: str | None = None,
        dtype: Any = None,
    ) -> None:
        if not 0.0 <= float(far) <= 1.0:
            raise ValueError(f"far must be in [0, 1], got {far!r}")
        name = name or f"tar_at_far_{float(far):g}"
        super().__init__(num_bins=num_bins, max_distance=max_distance, name=name, dtype=dtype)
        self.far = float(far)

    def result(self) -> Any:
        return F.tar_at_far(*self.histograms(), far=self.far)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config["far"] = self.far
        return config
