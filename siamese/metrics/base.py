"""Base class of the histogram-based verification metrics."""

from __future__ import annotations

from typing import Any

import keras

from siamese.metrics import functional as F


class HistogramVerificationMetric(keras.metrics.Metric):
    """Accumulates genuine / impostor distance histograms; subclasses turn them into one figure.

    ``update_state(y_true, distance, sample_weight=None)``: ``y_true`` 1 = same person, 0 = not;
    ``distance`` ``(batch,)`` or ``(batch, 1)``, smaller = more similar; ``sample_weight`` optional,
    ``(batch,)``. Distances are counted in ``num_bins`` equal bins over ``[0, max_distance]``
    (values outside are clipped into the end bins, non-finite ones ignored); thresholds are swept
    over the bin edges, so figures are exact up to the resolution ``max_distance / num_bins``
    (default ``2.0 / 2048 ~ 0.001``; 2.0 is the largest Euclidean distance between unit vectors).

    The histograms are non-trainable ``aggregation="sum"`` state variables: they sum across
    batches, across replicas under a ``tf.distribute`` strategy, and are zeroed by
    :meth:`reset_state` (Keras does this at each epoch). Memory: ``2 * num_bins`` float32.
    """

    def __init__(
        self,
        num_bins: int = 2048,
        max_distance: float = 2.0,
        name: str | None = None,
        dtype: Any = None,
    ) -> None:
        super().__init__(name=name, dtype=dtype)
        if isinstance(num_bins, bool) or int(num_bins) != num_bins or num_bins < 2:
            raise ValueError(f"num_bins must be an integer >= 2, got {num_bins!r}")
        if not float(max_distance) > 0:
            raise ValueError(f"max_distance must be > 0, got {max_distance!r}")
        self.num_bins = int(num_bins)
        self.max_distance = float(max_distance)
        # counts are float32 whatever the dtype policy: float16 counts would saturate at 2048
        self.genuine_counts = self.add_variable(
            shape=(self.num_bins,), initializer="zeros", dtype="float32", aggregation="sum",
            name="genuine_counts",
        )
        self.impostor_counts = self.add_variable(
            shape=(self.num_bins,), initializer="zeros", dtype="float32", aggregation="sum",
            name="impostor_counts",
        )

    @property
    def resolution(self) -> float:
        """Bin width in distance units: ``max_distance / num_bins``."""
        return self.max_distance / self.num_bins

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        """Adds a batch of pairs: labels ``y_true`` and distances ``y_pred``."""
        genuine, impostor = F.distance_histograms(
            y_true, y_pred, self.num_bins, self.max_distance, sample_weight
        )
        self.genuine_counts.assign_add(genuine)
        self.impostor_counts.assign_add(impostor)

    def reset_state(self) -> None:
        for variable in self.variables:
            variable.assign(keras.ops.zeros(variable.shape, dtype=variable.dtype))

    def histograms(self) -> tuple[Any, Any]:
        """The accumulated ``(genuine, impostor)`` counts, each ``(num_bins,)`` float32."""
        return (keras.ops.convert_to_tensor(self.genuine_counts),
                keras.ops.convert_to_tensor(self.impostor_counts))

    def result(self) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update({"num_bins": self.num_bins, "max_distance": self.max_distance})
        return config
