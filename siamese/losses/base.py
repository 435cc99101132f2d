"""Base classes of the margin losses: margins in non-trainable variables, an optional reducer, and the
embedding losses (labels + embeddings in, distance matrix via :mod:`siamese.distances`, miner, reducer)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, ClassVar

import keras
from keras import ops

from siamese import distances
from siamese.errors import ConfigError
from siamese.losses import miners as miners_lib
from siamese.losses import reducers as reducers_lib

DistanceFn = Callable[[Any], Any]

#: Keras reductions accepted by a loss with a reducer: both return the reducer's scalar as it is (the default
#: also scales it for ``tf.distribute`` replicas as Keras does); "sum"/"mean" would silently do nothing.
REDUCED_REDUCTIONS = ("sum_over_batch_size", "none", None)


def margin_variable(margin: float | keras.Variable, name: str = "margin") -> keras.Variable:
    """``margin`` as a scalar float32 non-trainable ``keras.Variable`` (a variable is kept as is)."""
    if isinstance(margin, keras.Variable):
        return margin
    value = float(ops.convert_to_numpy(margin))
    return keras.Variable(value, dtype="float32", trainable=False, name=name)


def _scale_for_replicas(value: Any) -> Any:
    """``value / replicas`` under a ``tf.distribute`` strategy, as Keras' ``sum_over_batch_size`` does."""
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        replicas = tf.distribute.get_strategy().num_replicas_in_sync
        if replicas > 1:
            return value * (1.0 / replicas)
    return value


class MarginLoss(keras.losses.Loss):
    """A ``keras.losses.Loss`` whose margins are non-trainable ``keras.Variable`` s: :attr:`margins`
    ``{name: variable}``; :attr:`margin` is the (negative) margin, present in every margin loss.

    A callback (e.g. ``siamese.callbacks.MarginScheduler``) may ``assign`` any of them between steps: a
    compiled ``model.fit`` reads the variables at every step, so new values are used without retracing.
    ``get_config`` records their current values as floats.

    ``reducer`` (:mod:`siamese.losses.reducers`): when set, :meth:`call` returns the reducer's float32 scalar
    and Keras' ``reduction`` must be ``"sum_over_batch_size"`` (default; the value is only scaled for
    ``tf.distribute`` replicas) or ``"none"``/``None`` (the value as is); other reductions raise
    :class:`~siamese.errors.ConfigError` rather than being silently ignored.
    """

    def __init__(
        self,
        margin: float | keras.Variable = 1.0,
        reducer: Any = None,
        reduction: str | None = "sum_over_batch_size",
        name: str | None = None,
        dtype: str | None = None,
    ) -> None:
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        self._margins: dict[str, keras.Variable] = {}
        self.margin = self.add_margin("margin", margin)
        self.reducer = None if reducer is None else reducers_lib.get(reducer)
        if self.reducer is not None and reduction not in REDUCED_REDUCTIONS:
            raise ConfigError(
                f"reduction: {type(self).__name__} returns a scalar already reduced by its reducer "
                f"{self.reducer.name!r}; reduction must be 'sum_over_batch_size' or 'none', got {reduction!r}"
            )

    def add_margin(self, name: str, value: float | keras.Variable) -> keras.Variable:
        """Register margin ``name`` (a float, or a variable shared as is) and return its variable."""
        variable = margin_variable(value, name=name)
        self._margins[name] = variable
        return variable

    @property
    def margins(self) -> dict[str, keras.Variable]:
        """``{name: keras.Variable}`` of every margin of this loss (e.g. ``margin``, ``pos_margin``)."""
        return dict(self._margins)

    @property
    def margin_value(self) -> float:
        """Current margin as a Python float."""
        return float(ops.convert_to_numpy(self.margin))

    def margin_values(self) -> dict[str, float]:
        """Current value of every margin."""
        return {k: float(ops.convert_to_numpy(v)) for k, v in self._margins.items()}

    @property
    def state_variables(self) -> list[keras.Variable]:
        """Variables the loss updates itself during training (none here; a cross-batch memory's): a training model
        must hold them (:class:`siamese.layers.LossState`) for JAX's compiled step to carry the updates."""
        return []

    def __call__(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> Any:
        if self.reducer is None:
            return super().__call__(y_true, y_pred, sample_weight=sample_weight)
        with keras.name_scope(self.name):
            value = self.reduced(ops.convert_to_tensor(y_true, dtype=self.dtype),
                                 ops.convert_to_tensor(y_pred, dtype=self.dtype), sample_weight)
            return _scale_for_replicas(value) if self.reduction == "sum_over_batch_size" else value

    def reduced(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> Any:
        """The reducer's scalar (losses with a reducer implement this; :meth:`call` returns it)."""
        raise NotImplementedError

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update(self.margin_values())
        config["reducer"] = None if self.reducer is None else reducers_lib.to_config(self.reducer)
        return config


def resolve_distance(distance: Any, distance_metric: Any = None) -> distances.Distance | DistanceFn:
    """A loss's distance from ``distance=`` or the old ``distance_metric=`` (one release): a registered name or
    alias (TFA's ``"L2"`` ...), a :class:`~siamese.distances.Distance`, or a callable ``embeddings -> (n, n)``
    (also as its Keras serialisation)."""
    if distance_metric is not None:
        if distance is not None and distance != distance_metric:
            raise ConfigError(f"distance: give distance= or the old distance_metric=, not both "
                              f"({distance!r} vs {distance_metric!r})")
        distance, key = distance_metric, "distance_metric"
    else:
        distance, key = ("euclidean" if distance is None else distance), "distance"
    if isinstance(distance, Mapping):  # from get_config of a callable
        distance = keras.saving.deserialize_keras_object(dict(distance))
    if callable(distance) and not isinstance(distance, distances.Distance):
        return distance
    return distances.get(distance, key=key)


def embedding_inputs(labels: Any, embeddings: Any, distance: distances.Distance | DistanceFn) -> tuple[Any, Any, Any]:
    """``(pdist, positives, negatives)``: the float32 ``(n, n)`` distance matrix of ``embeddings`` and the label
    masks of ``labels`` (:func:`~siamese.losses.miners.label_masks`)."""
    x = ops.cast(embeddings, "float32")
    pdist = distance.matrix(x) if isinstance(distance, distances.Distance) else ops.cast(distance(x), "float32")
    positives, negatives = miners_lib.label_masks(labels)
    return pdist, positives, negatives


class EmbeddingLoss(MarginLoss):
    """``loss(labels, embeddings)`` on an identity-labelled batch: the ``(n, n)`` distance matrix of
    ``distance`` (:mod:`siamese.distances`, TFA's formulation), the label masks, a ``miner`` of
    :attr:`miner_kind` and a ``reducer``. Computed in float32; a float32 scalar. Per-sample weights are not
    supported (the miner weighs the pairs).

    ``distance``: a distance name or alias (``"euclidean"`` = TFA ``"L2"``, embeddings not normalised;
    ``"squared_euclidean"``; ``"cosine"`` = ``"angular"``), a :class:`~siamese.distances.Distance` or a
    callable ``embeddings (n, dim) -> (n, n)``. ``distance_metric``: old name of ``distance`` (one release).
    """

    miner_kind: ClassVar[str] = "pairs"
    default_miner: ClassVar[str] = "all_pairs"
    default_reducer: ClassVar[str] = "mean"

    def __init__(
        self,
        margin: float | keras.Variable = 1.0,
        distance: str | distances.Distance | DistanceFn | None = None,
        miner: Any = None,
        reducer: Any = None,
        reduction: str | None = "sum_over_batch_size",
        name: str | None = None,
        dtype: str | None = None,
        distance_metric: str | DistanceFn | None = None,
    ) -> None:
        super().__init__(margin=margin, reducer=reducers_lib.get(reducer, self.default_reducer),
                         reduction=reduction, name=name, dtype=dtype)
        self.distance = resolve_distance(distance, distance_metric)
        self.miner = miners_lib.get(miner, self.default_miner)
        if self.miner.kind != self.miner_kind:
            raise ConfigError(f"loss.miner: {type(self).__name__} needs a miner of {self.miner_kind}, "
                              f"{self.miner.name!r} mines {self.miner.kind}")
        if self.reducer.needs_genuine and self.miner_kind != "pairs":
            raise ConfigError(f"loss.reducer: {self.reducer.name!r} needs genuine/impostor pairs; "
                              f"{type(self).__name__} has triplet terms")

    @property
    def distance_metric(self) -> str | DistanceFn:
        """Old name (one release): TensorFlow Addons' spelling of the distance, or the callable."""
        d = self.distance
        return d.tfa_name if isinstance(d, distances.Distance) else d

    def reduced(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> Any:
        if sample_weight is not None:
            raise ConfigError(f"sample_weight: {type(self).__name__} weighs the pairs of a batch through its "
                              "miner; per-sample weights are not supported")
        return self.mined_loss(*embedding_inputs(y_true, y_pred, self.distance))

    def mined_loss(self, pdist: Any, positives: Any, negatives: Any) -> Any:
        """The reduced loss for a distance matrix and its label masks."""
        raise NotImplementedError

    def call(self, y_true: Any, y_pred: Any) -> Any:
        return self.reduced(ops.cast(y_true, "float32"), y_pred)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        d = self.distance
        config["distance"] = d.name if isinstance(d, distances.Distance) else keras.saving.serialize_keras_object(d)
        config["miner"] = miners_lib.to_config(self.miner)
        return config
