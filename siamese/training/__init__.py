"""Training: from a validated config to a model directory. ``siamese train`` and ``siamese.api.train`` wrap it.

* :mod:`siamese.training.data`  -- identity folders -> split -> aligned faces, validation pairs (PreparedData)
* :mod:`siamese.training.build` -- tower, loss, optimizer, metrics, margin schedules from the registries
* :mod:`siamese.training.fit`   -- the run itself (:func:`train`)
* :mod:`siamese.training.card`  -- validation figures, the model card, the default calibration
"""

from __future__ import annotations

from siamese.training.build import (
    build_loss,
    build_optimizer,
    build_tower,
    get_strategy,
    resolve_precision,
    set_seeds,
    verification_metrics,
)
from siamese.training.data import PreparedData, make_aligner, prepare_data, sample_pairs
from siamese.training.fit import TrainResult, train

__all__ = ["PreparedData", "TrainResult", "build_loss", "build_optimizer", "build_tower", "get_strategy",
           "make_aligner", "prepare_data", "resolve_precision", "sample_pairs", "set_seeds", "train",
           "verification_metrics"]
