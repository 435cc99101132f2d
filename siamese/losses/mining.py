"""In-batch mining for the triplet losses: label masks and masked extrema.

Kept apart from the distance matrix and from the reduction (as in pytorch-metric-learning).
All functions take an ``(n, n)`` float32 distance matrix ``pdist`` whose row ``i`` holds the
distances from anchor ``i``; masks are float32 0/1 matrices. The arithmetic follows
TensorFlow Addons 0.23 ``triplet.py`` so that results agree with it to rounding.
"""

from __future__ import annotations

from typing import Any

import keras
from keras import ops


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


def upper_bound(sorted_rows: Any, values: Any) -> Any:
    """Row-wise ``searchsorted(..., side="right")``: ``(n, m)`` int32 counts of entries ``<= value``.

    ``sorted_rows`` ``(n, k)`` ascending along the last axis, ``values`` ``(n, m)``.
    """
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        return tf.searchsorted(sorted_rows, values, side="right", out_type=tf.int32)
    return ops.cast(  # pragma: no cover - other Keras backends
        ops.vectorized_map(lambda r: ops.searchsorted(r[0], r[1], side="right"), (sorted_rows, values)),
        "int32",
    )


def semihard_negatives(pdist: Any, negatives: Any) -> Any:
    """``(n, n)`` matrix: entry ``[a, p]`` is the semi-hard negative distance for pair ``(a, p)``.

    The smallest ``d(a, n)`` over negatives ``n`` with ``d(a, n) > d(a, p)``; if there is none,
    the largest negative distance of anchor ``a`` (FaceNet / TFA). Same values and gradients as
    TFA's ``(n*n, n)`` tiled mask, but in ``O(n**2 log n)`` time and ``O(n**2)`` memory: each
    anchor's negative distances are sorted once and every ``d(a, p)`` is located by binary search.
    """
    is_negative = ops.greater(negatives, 0.0)
    # non-negatives get a finite sentinel above every distance of the row, so they sort last and are never
    # counted by the binary search (a finite value keeps --debug's numeric checks quiet, unlike +inf)
    sentinel = ops.max(pdist, axis=-1, keepdims=True) + 1.0
    sorted_negatives = ops.sort(ops.where(is_negative, pdist, sentinel), axis=-1)  # others last
    rank = upper_bound(sorted_negatives, pdist)  # [a, p]: negatives of a with d(a, n) <= d(a, p)
    has_outside = ops.less(ops.cast(rank, "float32"), ops.sum(negatives, axis=-1, keepdims=True))
    index = ops.minimum(rank, ops.shape(pdist)[-1] - 1)
    nearest_farther = ops.take_along_axis(sorted_negatives, index, axis=-1)
    # TFA's masked minimum returns (d - row_max) + row_max: keep that rounding, and the gradient.
    row_max = ops.broadcast_to(ops.max(pdist, axis=-1, keepdims=True), ops.shape(pdist))
    negatives_outside = (ops.where(has_outside, nearest_farther, row_max) - row_max) + row_max
    negatives_inside = ops.broadcast_to(masked_maximum(pdist, negatives, axis=-1), ops.shape(pdist))
    return ops.where(has_outside, negatives_outside, negatives_inside)


def hardest_positives(pdist: Any, positives: Any) -> Any:
    """``(n, 1)``: largest positive distance per anchor."""
    return masked_maximum(pdist, positives, axis=-1)


def hardest_negatives(pdist: Any, negatives: Any) -> Any:
    """``(n, 1)``: smallest negative distance per anchor."""
    return masked_minimum(pdist, negatives, axis=-1)
