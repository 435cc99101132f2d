"""Triplet losses with in-batch mining (semi-hard: FaceNet; hard: batch-hard, Hermans et al.).

Reimplements TensorFlow Addons 0.23 ``triplet_semihard_loss`` / ``triplet_hard_loss`` on ``keras.ops`` as
compositions: distance matrix (:mod:`siamese.distances`), a triplet miner (:mod:`siamese.losses.miners`) and a
reducer (:mod:`siamese.losses.reducers`, ``mean`` as TFA). Inputs: integer identity ``labels`` ``(batch,)`` or
``(batch, 1)`` and ``embeddings`` ``(batch, dim)``. Everything is computed in float32 (also for float16 /
bfloat16 embeddings) and the loss is a float32 scalar.

``distance`` (old name ``distance_metric``): ``"L2"``/``"euclidean"`` (embeddings NOT normalised, as TFA),
``"squared-L2"``/``"squared_euclidean"``, ``"angular"``/``"cosine"`` (``1 - cosine``), a
:class:`~siamese.distances.Distance` or a callable ``embeddings (n, dim) -> distances (n, n)``.
"""

from __future__ import annotations

from typing import Any

import keras
from keras import ops

from siamese.losses import miners as miners_lib
from siamese.losses import reducers as reducers_lib
from siamese.losses.base import DistanceFn, EmbeddingLoss, embedding_inputs, resolve_distance


def mined_triplet_loss(pdist: Any, positives: Any, negatives: Any, margin: Any, miner: miners_lib.Miner,
                       reducer: reducers_lib.Reducer, soft: bool = False) -> Any:
    """``reducer`` over the triplets ``miner`` selects of ``max(d(a,p) - d(a,n) + margin, 0)`` (or
    ``softplus(d(a,p) - d(a,n))`` if ``soft``), for a distance matrix and its label masks."""
    weights, negative_index = miner(pdist, positives, negatives, {"margin": margin})
    gap = pdist - ops.take_along_axis(pdist, negative_index, axis=-1)
    if soft:  # softplus = log1p(exp(gap)) as TFA, written so that a large gap cannot overflow
        terms = ops.maximum(gap, 0.0) + ops.log1p(ops.exp(-ops.abs(gap)))
    else:
        terms = ops.maximum(gap + ops.cast(margin, "float32"), 0.0)
    return reducer(terms, weights)


def _functional(labels: Any, embeddings: Any, margin: Any, distance_metric: Any, miner: miners_lib.Miner,
                soft: bool) -> Any:
    inputs = embedding_inputs(ops.cast(labels, "float32"), embeddings, resolve_distance(None, distance_metric))
    return mined_triplet_loss(*inputs, margin, miner, reducers_lib.MeanReducer(), soft)


def triplet_semihard_loss(labels: Any, embeddings: Any, margin: float | Any = 1.0,
                          distance_metric: Any = "L2") -> Any:
    """Mean over all positive pairs ``(a, p)`` of ``max(d(a,p) - d(a,n*) + margin, 0)``, float32 scalar.

    ``n*`` is the semi-hard negative (:class:`~siamese.losses.miners.SemiHardMiner`). Same as TFA except that a
    batch without any positive pair gives 0 instead of NaN (0/0).
    """
    return _functional(labels, embeddings, margin, distance_metric, miners_lib.SemiHardMiner(), soft=False)


def triplet_hard_loss(labels: Any, embeddings: Any, margin: float | Any = 1.0, soft: bool = False,
                      distance_metric: Any = "L2") -> Any:
    """Batch-hard triplet loss, float32 scalar: mean over anchors of
    ``max(d_hardest_pos - d_hardest_neg + margin, 0)``, or ``softplus(d_pos - d_neg)`` if ``soft``
    (the margin is then unused). Anchors without positives/negatives follow TFA's masked extrema.
    """
    return _functional(labels, embeddings, margin, distance_metric, miners_lib.BatchHardMiner(), soft=soft)


class TripletLoss(EmbeddingLoss):
    """``max(d(a, p) - d(a, n) + margin, 0)`` (or ``softplus(d(a, p) - d(a, n))`` if ``soft``) over the triplets
    a triplet ``miner`` selects, reduced by ``reducer`` (default ``mean``: TFA)."""

    miner_kind = "triplets"
    default_miner = "semihard"
    default_reducer = "mean"

    def __init__(
        self,
        margin: float | keras.Variable = 1.0,
        distance: Any = None,
        miner: Any = None,
        reducer: Any = None,
        soft: bool = False,
        reduction: str | None = "sum_over_batch_size",
        name: str | None = "triplet_loss",
        dtype: str | None = None,
        distance_metric: str | DistanceFn | None = None,
    ) -> None:
        super().__init__(margin=margin, distance=distance, miner=miner, reducer=reducer, reduction=reduction,
                         name=name, dtype=dtype, distance_metric=distance_metric)
        self.soft = bool(soft)

    def mined_loss(self, pdist: Any, positives: Any, negatives: Any) -> Any:
        return mined_triplet_loss(pdist, positives, negatives, self.margin, self.miner, self.reducer, self.soft)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config["soft"] = self.soft
        return config


@keras.saving.register_keras_serializable(package="siamese")
class TripletSemiHardLoss(TripletLoss):
    """:class:`TripletLoss` with the ``semihard`` miner and the ``mean`` reducer (TFA's
    ``TripletSemiHardLoss``): ``loss(labels, embeddings)`` -> scalar."""

    default_miner = "semihard"

    def __init__(
        self,
        margin: float | keras.Variable = 1.0,
        distance: Any = None,
        miner: Any = None,
        reducer: Any = None,
        soft: bool = False,
        reduction: str | None = "sum_over_batch_size",
        name: str | None = "triplet_semihard_loss",
        dtype: str | None = None,
        distance_metric: str | DistanceFn | None = None,
    ) -> None:
        super().__init__(margin, distance=distance, miner=miner, reducer=reducer, soft=soft, reduction=reduction,
                         name=name, dtype=dtype, distance_metric=distance_metric)


@keras.saving.register_keras_serializable(package="siamese")
class TripletHardLoss(TripletLoss):
    """:class:`TripletLoss` with the ``batch_hard`` miner and the ``mean`` reducer (TFA's ``TripletHardLoss``):
    ``loss(labels, embeddings)`` -> scalar."""

    default_miner = "batch_hard"

    def __init__(
        self,
        margin: float | keras.Variable = 1.0,
        soft: bool = False,
        distance: Any = None,
        miner: Any = None,
        reducer: Any = None,
        reduction: str | None = "sum_over_batch_size",
        name: str | None = "triplet_hard_loss",
        dtype: str | None = None,
        distance_metric: str | DistanceFn | None = None,
    ) -> None:
        super().__init__(margin, distance=distance, miner=miner, reducer=reducer, soft=soft, reduction=reduction,
                         name=name, dtype=dtype, distance_metric=distance_metric)
