"""Abstract miners, the label masks and the masked extrema they share (TensorFlow Addons semantics).

All functions take an ``(n, n)`` float32 distance matrix ``pdist`` whose row ``i`` holds the distances from
anchor ``i``; masks are float32 0/1 matrices.
"""

from __future__ import annotations

import abc
from collections.abc import Mapping
from typing import Any, ClassVar

from keras import ops

from siamese.losses._components import Component


def label_masks(labels: Any) -> tuple[Any, Any]:
    """``(positives, negatives)`` float32 ``(n, n)`` masks for integer ``labels`` ``(n,)``/``(n, 1)``.

    ``positives[i, j] = 1`` iff ``i != j`` and same label; ``negatives[i, j] = 1`` iff labels differ.
    """
    labels = ops.reshape(labels, (-1, 1))
    adjacency = ops.cast(ops.equal(labels, ops.transpose(labels)), "float32")
    positives = adjacency - ops.eye(ops.shape(labels)[0], dtype="float32")
    return positives, 1.0 - adjacency


def masked_maximum(data: Any, mask: Any, axis: int = -1) -> Any:
    """Maximum of ``data`` over ``mask == 1`` along ``axis`` (kept, size 1).

    Where the mask is empty the result is the unmasked minimum of that row (TFA behaviour).
    """
    axis_minimums = ops.min(data, axis=axis, keepdims=True)
    return ops.max((data - axis_minimums) * mask, axis=axis, keepdims=True) + axis_minimums


def masked_minimum(data: Any, mask: Any, axis: int = -1) -> Any:
    """Minimum of ``data`` over ``mask == 1`` along ``axis`` (kept, size 1).

    Where the mask is empty the result is the unmasked maximum of that row (TFA behaviour).
    """
    axis_maximums = ops.max(data, axis=axis, keepdims=True)
    return ops.min((data - axis_maximums) * mask, axis=axis, keepdims=True) + axis_maximums


def masked_argmax(pdist: Any, mask: Any) -> Any:
    """``(n, 1)`` int32 column of the largest masked entry per row; where the mask is empty, of the row's
    smallest entry (the entry :func:`masked_maximum` returns)."""
    below = ops.min(pdist, axis=-1, keepdims=True) - 1.0
    best = ops.argmax(ops.where(ops.greater(mask, 0.0), pdist, below), axis=-1)
    fallback = ops.argmin(pdist, axis=-1)
    return ops.expand_dims(ops.cast(ops.where(ops.any(ops.greater(mask, 0.0), axis=-1), best, fallback), "int32"), -1)


def masked_argmin(pdist: Any, mask: Any) -> Any:
    """``(n, 1)`` int32 column of the smallest masked entry per row; where the mask is empty, of the row's
    largest entry (the entry :func:`masked_minimum` returns)."""
    return masked_argmax(-pdist, mask)


def one_hot_columns(index: Any, n: Any) -> Any:
    """``(n, n)`` float32: 1 at ``[i, index[i]]`` for an ``(n, 1)`` column of indices."""
    return ops.cast(ops.equal(ops.expand_dims(ops.arange(n, dtype="int32"), 0), index), "float32")


class Miner(Component, abc.ABC):
    """Selects what a loss sees in an identity-labelled batch; returns weights (masks), never a loss value.

    ``miner(pdist, positives, negatives, margins)``: ``pdist`` the ``(n, n)`` float32 distance matrix,
    ``positives`` / ``negatives`` from :func:`label_masks`, ``margins`` the loss's ``{name: value}`` (e.g.
    ``margin``, ``pos_margin``). Nothing returned carries a gradient.
    """

    #: ``"pairs"`` (for pair losses) or ``"triplets"`` (for triplet losses).
    kind: ClassVar[str] = ""

    @abc.abstractmethod
    def __call__(self, pdist: Any, positives: Any, negatives: Any, margins: Mapping[str, Any] | None = None) -> Any:
        ...


class PairMiner(Miner):
    """Returns ``(positive_weights, negative_weights)``, float32 ``(n, n)``: the genuine and the impostor
    pairs ``(i, j)`` the loss uses (subsets of ``positives`` and ``negatives``)."""

    kind = "pairs"


class TripletMiner(Miner):
    """Returns ``(weights, negative_index)``: ``weights`` float32 ``(n, n)`` over anchor-positive pairs
    ``(a, p)``, ``negative_index`` int32 ``(n, n)``: the mined triplets are ``(a, p, negative_index[a, p])``
    for every ``weights[a, p] > 0`` (a compact ``(n, n, n)`` triplet mask)."""

    kind = "triplets"
