"""Reducers: the selected loss terms -> the loss value. Registered in :data:`siamese.plugins.REDUCERS`.

====================  ==========================================================================================
``mean``              mean over all selected terms (TensorFlow Addons)
``avg_nonzero``       mean over the selected terms that are > 0 (pytorch-metric-learning)
``balanced``          mean of the genuine mean and the impostor mean (pair losses only)
``balanced_nonzero``  mean of the genuine avg_nonzero and the impostor avg_nonzero (pair losses only; as
                      pytorch-metric-learning's ContrastiveLoss reduces)
====================  ==========================================================================================
"""

from __future__ import annotations

from typing import Any

from siamese.losses._components import resolve, serialize
from siamese.losses.reducers.avg_nonzero import AvgNonZeroReducer
from siamese.losses.reducers.balanced import BalancedReducer
from siamese.losses.reducers.balanced_nonzero import BalancedNonZeroReducer
from siamese.losses.reducers.base import Reducer
from siamese.losses.reducers.mean import MeanReducer
from siamese.plugins import REDUCERS


def get(spec: Any, default: str = "mean") -> Reducer:
    """A reducer from a name, ``{"name": ..., **arguments}``, a Keras-serialised dict or an instance."""
    return resolve(spec, REDUCERS, Reducer, default)


def to_config(reducer: Reducer) -> str | dict[str, Any]:
    """``reducer`` for a config: its registry name (or a Keras serialisation if unregistered)."""
    return serialize(reducer, REDUCERS)


__all__ = ["AvgNonZeroReducer", "BalancedNonZeroReducer", "BalancedReducer", "MeanReducer", "Reducer", "get",
           "to_config"]
