"""Contrastive loss over the mined pairs of an identity-labelled batch ("batch contrastive").

A P x K batch of n embeddings holds n(n-1)/2 pairs, far more than the n/2 pairs a twin model sees per step:
the two-margin contrastive term (:func:`siamese.losses.contrastive_loss`, label 1 = same identity) is applied
to the pairs a miner selects, on the distance matrix of :mod:`siamese.distances`, and reduced by a reducer.
Defaults (all pairs, ``balanced``: the mean of the genuine mean and the impostor mean, so that the far more
numerous impostor pairs do not drown the genuine ones) are the loss as it always was.
Called as ``loss(labels, embeddings)``; float32 scalar.
"""

from __future__ import annotations

from typing import Any

import keras
from keras import ops

from siamese import distances
from siamese.errors import ConfigError
from siamese.losses import miners as miners_lib
from siamese.losses import reducers as reducers_lib
from siamese.losses.base import DistanceFn, EmbeddingLoss, embedding_inputs, resolve_distance
from siamese.losses.contrastive import contrastive_terms
from siamese.losses.memory import CrossBatchMemory


def mined_pair_loss(pdist: Any, positives: Any, negatives: Any, margin: Any, pos_margin: Any,
                    miner: miners_lib.Miner, reducer: reducers_lib.Reducer) -> Any:
    """``reducer`` over the pairs ``miner`` selects of the two-margin contrastive term, for a distance matrix
    and its label masks."""
    pos_weights, neg_weights = miner(pdist, positives, negatives, {"margin": margin, "pos_margin": pos_margin})
    terms = contrastive_terms(positives, pdist, margin, pos_margin)
    return reducer(terms, pos_weights + neg_weights, genuine=positives)


def batch_contrastive_loss(labels: Any, embeddings: Any, margin: float | Any = 1.0,
                           distance_metric: Any = "L2", balanced: bool = True, pos_margin: float | Any = 0.0,
                           miner: Any = None, reducer: Any = None) -> Any:
    """Contrastive loss over the pairs ``i != j`` of the batch (all of them by default); float32 scalar, 0 for a
    batch without pairs. ``balanced`` picks the reducer (``balanced`` or ``mean``) unless ``reducer`` is given."""
    inputs = embedding_inputs(ops.cast(labels, "float32"), embeddings, resolve_distance(None, distance_metric))
    if reducer is None:  # instances, not registry look-ups: this may run inside a tf.function
        reducer = reducers_lib.BalancedReducer() if balanced else reducers_lib.MeanReducer()
    miner = miners_lib.AllPairsMiner() if miner is None else miners_lib.get(miner)
    return mined_pair_loss(*inputs, margin, pos_margin, miner, reducers_lib.get(reducer))


@keras.saving.register_keras_serializable(package="siamese")
class BatchContrastiveLoss(EmbeddingLoss):
    """Two-margin contrastive term over the pairs a pair ``miner`` selects, reduced by ``reducer``.

    ``miner``: ``"all_pairs"`` (default), ``"margin_violators"``, ``"hardest"`` or any pair miner.
    ``reducer``: ``"balanced"`` (default), ``"mean"``, ``"avg_nonzero"``, ``"balanced_nonzero"``. ``balanced``
    (old, one release): ``True`` = ``reducer="balanced"``, ``False`` = ``reducer="mean"``. Margins ``margin`` /
    ``pos_margin`` in :attr:`margins`. See :class:`~siamese.losses.base.EmbeddingLoss` for ``distance``.

    ``memory_size`` > 0 adds a cross-batch memory (:mod:`siamese.losses.memory`, XBM) of the last ``memory_size``
    embeddings (width ``memory_dim``), filled from step ``memory_start`` on: the loss becomes the batch's plus
    ``memory_weight`` times the same term over the batch-to-memory pairs, mined and reduced alike (miner
    ``all_pairs`` or ``margin_violators``). Every call is a training step: it updates the memory. Its variables are
    :attr:`state_variables`, which the training model must hold on JAX (:class:`siamese.layers.LossState`).
    """

    miner_kind = "pairs"
    default_miner = "all_pairs"
    default_reducer = "balanced"

    def __init__(
        self,
        margin: float | keras.Variable = 1.0,
        pos_margin: float | keras.Variable = 0.0,
        distance: Any = None,
        miner: Any = None,
        reducer: Any = None,
        balanced: bool | None = None,
        reduction: str | None = "sum_over_batch_size",
        name: str = "batch_contrastive_loss",
        dtype: str | None = None,
        distance_metric: str | DistanceFn | None = None,
        memory_size: int = 0,
        memory_dim: int | None = None,
        memory_start: int = 0,
        memory_weight: float = 1.0,
    ) -> None:
        if balanced is not None and reducer is None:
            reducer = "balanced" if balanced else "mean"
        super().__init__(margin=margin, distance=distance, miner=miner, reducer=reducer, reduction=reduction,
                         name=name, dtype=dtype, distance_metric=distance_metric)
        self.pos_margin = self.add_margin("pos_margin", pos_margin)
        self.memory_weight = float(memory_weight)
        self.memory: CrossBatchMemory | None = None
        if memory_size:
            if self.miner.name not in ("all_pairs", "margin_violators"):
                raise ConfigError(f"loss.miner: {self.miner.name!r} mines within the batch; the cross-batch memory "
                                  "takes all_pairs or margin_violators")
            if not isinstance(self.distance, distances.Distance):
                raise ConfigError("loss.args.memory_size: the cross-batch memory needs a named distance, "
                                  "not a callable")
            self.memory = CrossBatchMemory(memory_size, memory_dim, memory_start)

    @property
    def balanced(self) -> bool:
        """Old flag (one release): whether the reducer is ``balanced``."""
        return self.reducer.name == "balanced"

    @property
    def state_variables(self) -> list[keras.Variable]:
        """The cross-batch memory's variables (``[]`` without a memory)."""
        return [] if self.memory is None else self.memory.variables

    def mined_loss(self, pdist: Any, positives: Any, negatives: Any) -> Any:
        return mined_pair_loss(pdist, positives, negatives, self.margin, self.pos_margin, self.miner, self.reducer)

    def reduced(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> Any:
        value = super().reduced(y_true, y_pred, sample_weight)
        if self.memory is None:
            return value
        memory_value = self.mined_loss(*self.memory.pairs(y_true, y_pred, self.distance))
        self.memory.update(y_true, y_pred)
        return value + self.memory_weight * memory_value

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        if self.memory is not None:
            config.update(self.memory.get_config(), memory_weight=self.memory_weight)
        return config
