"""Semi-hard negatives (FaceNet, Schroff et al. 2015) in O(n^2 log n)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import keras
from keras import ops

from siamese.losses.miners.base import TripletMiner, masked_argmax, masked_maximum


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


def semihard_search(pdist: Any, negatives: Any) -> tuple[Any, Any, Any]:
    """``(has_outside, nearest_farther_index, nearest_farther)``, each ``(n, n)`` for the pairs ``(a, p)``.

    ``nearest_farther[a, p]`` is the smallest ``d(a, n)`` over negatives ``n`` with ``d(a, n) > d(a, p)``
    (valid where ``has_outside``), at column ``nearest_farther_index[a, p]``. Each anchor's negative distances
    are sorted once and every ``d(a, p)`` is located by binary search.
    """
    is_negative = ops.greater(negatives, 0.0)
    # non-negatives get a finite sentinel above every distance of the row, so they sort last and are never
    # counted by the binary search (a finite value keeps --debug's numeric checks quiet, unlike +inf)
    sentinel = ops.max(pdist, axis=-1, keepdims=True) + 1.0
    keyed = ops.where(is_negative, pdist, sentinel)
    order = ops.cast(ops.argsort(keyed, axis=-1), "int32")
    sorted_negatives = ops.take_along_axis(keyed, order, axis=-1)  # others last
    rank = upper_bound(sorted_negatives, pdist)  # [a, p]: negatives of a with d(a, n) <= d(a, p)
    has_outside = ops.less(ops.cast(rank, "float32"), ops.sum(negatives, axis=-1, keepdims=True))
    position = ops.minimum(rank, ops.shape(pdist)[-1] - 1)
    return (has_outside, ops.take_along_axis(order, position, axis=-1),
            ops.take_along_axis(sorted_negatives, position, axis=-1))


def semihard_negatives(pdist: Any, negatives: Any) -> Any:
    """``(n, n)`` matrix: entry ``[a, p]`` is the semi-hard negative distance for pair ``(a, p)``.

    The smallest ``d(a, n)`` over negatives ``n`` with ``d(a, n) > d(a, p)``; if there is none, the largest
    negative distance of anchor ``a`` (FaceNet / TFA). Same values and gradients as TFA's ``(n*n, n)`` tiled
    mask, in ``O(n**2 log n)`` time and ``O(n**2)`` memory.
    """
    has_outside, _, nearest_farther = semihard_search(pdist, negatives)
    # TFA's masked minimum returns (d - row_max) + row_max: keep that rounding, and the gradient.
    row_max = ops.broadcast_to(ops.max(pdist, axis=-1, keepdims=True), ops.shape(pdist))
    negatives_outside = (ops.where(has_outside, nearest_farther, row_max) - row_max) + row_max
    negatives_inside = ops.broadcast_to(masked_maximum(pdist, negatives, axis=-1), ops.shape(pdist))
    return ops.where(has_outside, negatives_outside, negatives_inside)


@keras.saving.register_keras_serializable(package="siamese")
class SemiHardMiner(TripletMiner):
    """Every anchor-positive pair ``(a, p)`` with its semi-hard negative: the nearest negative farther than
    ``p``, else the farthest negative (FaceNet / TensorFlow Addons)."""

    name = "semihard"

    def __call__(self, pdist: Any, positives: Any, negatives: Any, margins: Mapping[str, Any] | None = None) -> Any:
        d = ops.stop_gradient(pdist)
        has_outside, outside_index, _ = semihard_search(d, negatives)
        inside_index = ops.broadcast_to(masked_argmax(d, negatives), ops.shape(d))
        return positives, ops.where(has_outside, outside_index, inside_index)
