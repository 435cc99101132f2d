"""Verification metrics for distance-output models (Keras 3 stateful metrics).

All metrics take ``update_state(y_true, distance, sample_weight=None)`` with ``y_true`` 1 = same
person and distances (smaller = more similar), accumulate genuine / impostor distance histograms
(summed across batches and replicas, reset each epoch) and sweep thresholds over the bin edges.

Registry (:data:`siamese.plugins.METRICS`): ``get("eer")``, ``get({"name": "tar_at_far", "far": 1e-3})``,
``get(metric)``.
"""

from __future__ import annotations

from typing import Any

import keras

from siamese import plugins
from siamese.errors import ConfigError
from siamese.metrics import functional
from siamese.metrics.base import HistogramVerificationMetric
from siamese.metrics.equal_error_rate import EqualErrorRate
from siamese.metrics.true_accept_rate import TrueAcceptRate
from siamese.metrics.verification_accuracy import VerificationAccuracy
from siamese.metrics.verification_auc import VerificationAUC

METRICS = plugins.METRICS  # the registry of metric classes (was a name -> class dict)


def get(identifier: str | dict[str, Any] | keras.metrics.Metric) -> keras.metrics.Metric:
    """A fresh metric from a name (``"eer"``), a config dict (``{"name": "tar_at_far", "far": 1e-4}``,
    extra keys are constructor arguments) or a metric instance (returned as is).

    Raises :class:`~siamese.errors.ConfigError` for an unknown name or bad arguments.
    """
    if isinstance(identifier, keras.metrics.Metric):
        return identifier
    if isinstance(identifier, str):
        name, kwargs = identifier, {}
    elif isinstance(identifier, dict):
        kwargs = dict(identifier)
        name = kwargs.pop("name", None)
        if not isinstance(name, str):
            raise ConfigError(f"metric config needs a 'name' string, got {identifier!r}")
    else:
        raise ConfigError(f"cannot build a metric from {identifier!r}")
    try:
        return METRICS.build(name, **kwargs)
    except ValueError as error:  # a bad argument value (bad names / arguments are ConfigErrors already)
        raise ConfigError(f"{METRICS.key}: {name}: {error}") from error


__all__ = [
    "METRICS",
    "EqualErrorRate",
    "HistogramVerificationMetric",
    "TrueAcceptRate",
    "VerificationAUC",
    "VerificationAccuracy",
    "functional",
    "get",
]
