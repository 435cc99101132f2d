"""In-batch mining for the triplet losses: label masks and masked extrema.

Kept apart from the distance matrix and from the reduction (as in pytorch-metric-learning).
All functions take an ``(n, n)`` float32 distance matrix ``pdist`` whose row ``i`` holds the
distances from anchor ``i``; masks are float32 0/1 matrices. The arithmetic follows
TensorFlow Addons 0.23 ``triplet.py`` so that results agree with it to rounding.
"""

from __future__ import annotations

from typing import Any

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


def semihard_negatives(pdist: Any, negatives: Any) -> Any:
    """``(n, n)`` matrix: entry ``[a, p]`` is the semi-hard negative distance for pair ``(a, p)``.

    The smallest ``d(a, n)`` over negatives ``n`` with ``d(a, n) > d(a, p)``; if there is none,
    the largest negative distance of anchor ``a`` (FaceNet / TFA). Memory ``O(n**3)``.
    """
    # outside[a, p, n]: n is a negative of a and farther from a than p.
    candidates = pdist[:, None, :]  # (a, 1, n)
    outside = ops.logical_and(
        ops.cast(negatives[:, None, :], "bool"), ops.greater(candidates, pdist[:, :, None])
    )
    outside = ops.cast(outside, "float32")
    has_outside = ops.greater(ops.sum(outside, axis=-1), 0.0)  # (a, p)
    negatives_outside = ops.squeeze(masked_minimum(candidates, outside, axis=-1), axis=-1)
    negatives_inside = masked_maximum(pdist, negatives, axis=-1)  # (a, 1), broadcast over p
    negatives_inside = ops.broadcast_to(negatives_inside, ops.shape(pdist))
    return ops.where(has_outside, negatives_outside, negatives_inside)


def hardest_positives(pdist: Any, positives: Any) -> Any:
    """``(n, 1)``: largest positive distance per anchor."""
    return masked_maximum(pdist, positives, axis=-1)


def hardest_negatives(pdist: Any, negatives: Any) -> Any:
    """``(n, 1)``: smallest negative distance per anchor."""
    return masked_minimum(pdist, negatives, axis=-1)
