"""Abstract :class:`Reducer`: loss terms and their weights in, one float32 scalar out."""

from __future__ import annotations

import abc
from typing import Any, ClassVar

from keras import ops

from siamese.losses._components import Component


def weighted_mean(terms: Any, weights: Any) -> Any:
    """``sum(terms * weights) / sum(weights)``, 0 when no weight is set."""
    return ops.divide_no_nan(ops.sum(terms * weights), ops.sum(weights))


def nonzero_mean(terms: Any, weights: Any) -> Any:
    """``sum(terms * weights) / sum(weights where terms > 0)``: zero terms do not dilute it; 0 when none is > 0."""
    active = ops.where(ops.greater(terms, 0.0), weights, ops.zeros_like(weights))
    return ops.divide_no_nan(ops.sum(terms * weights), ops.sum(active))


class Reducer(Component, abc.ABC):
    """Reduces the loss terms selected by a miner to the loss value (pytorch-metric-learning's reducers).

    ``reducer(terms, weights=None, genuine=None)``: ``terms`` float32 of any shape (per pair, per anchor or
    per anchor-positive pair), ``weights`` of the same shape (the miner's 0/1 selection, or sample weights;
    ``None``: all ones), ``genuine`` 0/1 of the same shape marking the terms of genuine (same identity) pairs
    (only :attr:`needs_genuine` reducers use it). Returns a float32 scalar; 0 when nothing is selected.
    """

    #: Whether the reducer needs ``genuine`` (i.e. only works for pair losses).
    needs_genuine: ClassVar[bool] = False

    def __call__(self, terms: Any, weights: Any = None, genuine: Any = None) -> Any:
        terms = ops.cast(terms, "float32")
        weights = ops.ones_like(terms) if weights is None else ops.cast(weights, "float32")
        if self.needs_genuine:
            if genuine is None:
                raise ValueError(f"reducer {self.name!r} needs the genuine-pair mask (a pair loss)")
            genuine = ops.cast(genuine, "float32")
        return self.reduce(terms, weights, genuine)

    @abc.abstractmethod
    def reduce(self, terms: Any, weights: Any, genuine: Any) -> Any:
        """The reduction, on float32 tensors of the same shape."""
