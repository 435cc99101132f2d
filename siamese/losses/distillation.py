"""Distillation losses: a student tower learns from a teacher's embeddings (:mod:`siamese.teachers`).

Both are called as ``loss(teacher_embeddings, student_embeddings)`` on a batch of the same photos (``y_true`` is
the teacher's ``(n, dt)``, ``y_pred`` the student's ``(n, ds)``) and return a float32 scalar made of the same pieces
as the rest of :mod:`siamese.losses`: a distance (:mod:`siamese.distances`) and a reducer
(:mod:`siamese.losses.reducers`). Weigh them against the contrastive term with Keras ``loss_weights``.

* :class:`EmbeddingDistillationLoss`: ``1 - cos(student_i, teacher_i)`` per photo (needs ``ds == dt``).
* :class:`RelationalDistillationLoss`: ``(d_s(i, j) - d_t(i, j))^2`` over the pairs ``i < j`` of the batch, with
  the same distance for both (teacher embeddings are L2-normalised first): the student reproduces the teacher's
  pair distances, i.e. a contrastive-style objective whose targets come from the teacher (Park et al., "Relational
  Knowledge Distillation", CVPR 2019, distance-wise term without its normalisation).

An all-zero teacher row means "the teacher has no embedding of this photo" (it found no face): the photo's terms
get weight 0 (its pairs too), so such photos still serve the labelled loss without a made-up target.
"""

from __future__ import annotations

from typing import Any

import keras
from keras import ops

from siamese import distances
from siamese.losses import reducers as reducers_lib


def _unit(x: Any) -> Any:
    return distances.l2_normalize(ops.cast(x, "float32"), axis=-1)


def teacher_present(teacher: Any) -> Any:
    """``(n,)`` float32: 1 where the teacher row is an embedding, 0 where it is all zero (no teacher output)."""
    return ops.cast(ops.any(ops.not_equal(ops.cast(teacher, "float32"), 0.0), axis=-1), "float32")


def embedding_distillation_terms(teacher: Any, student: Any) -> Any:
    """``(n,)`` float32: ``1 - cos(student_i, teacher_i)``."""
    return 1.0 - ops.sum(_unit(teacher) * _unit(student), axis=-1)


def relational_distillation_terms(teacher: Any, student: Any, distance: Any = "euclidean") -> tuple[Any, Any]:
    """``((n, n) squared differences of pair distances, (n, n) 0/1 weights of the pairs i < j whose two photos
    have a teacher embedding)``."""
    dist = distances.get(distance)
    t = dist.matrix(_unit(teacher))
    s = dist.matrix(ops.cast(student, "float32"))
    n = ops.shape(t)[0]
    present = teacher_present(teacher)
    upper = ops.triu(ops.ones((n, n), dtype="float32"), k=1) * present[:, None] * present[None, :]
    return ops.square(s - t), upper


class _DistillationLoss(keras.losses.Loss):
    """Shared: a reducer (default ``mean``) and serialisation; the value is already reduced."""

    def __init__(self, reducer: Any = None, reduction: str | None = "sum_over_batch_size", name: str | None = None,
                 dtype: str | None = None) -> None:
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        self.reducer = reducers_lib.get(reducer, default="mean")

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "reducer": reducers_lib.to_config(self.reducer)}


@keras.saving.register_keras_serializable(package="siamese")
class EmbeddingDistillationLoss(_DistillationLoss):
    """Mean (or the ``reducer`` of) ``1 - cos(student_i, teacher_i)``; ``loss(teacher, student)``."""

    def __init__(self, reducer: Any = None, reduction: str | None = "sum_over_batch_size",
                 name: str | None = "embedding_distillation_loss", dtype: str | None = None) -> None:
        super().__init__(reducer, reduction, name, dtype)

    def call(self, y_true: Any, y_pred: Any) -> Any:
        return self.reducer(embedding_distillation_terms(y_true, y_pred), teacher_present(y_true))


@keras.saving.register_keras_serializable(package="siamese")
class RelationalDistillationLoss(_DistillationLoss):
    """Mean (or the ``reducer`` of) ``(d_s(i, j) - d_t(i, j))^2`` over the batch's pairs; ``loss(teacher, student)``.
    ``distance``: a name of ``siamese.plugins.DISTANCES`` (default euclidean)."""

    def __init__(self, distance: Any = "euclidean", reducer: Any = None, reduction: str | None = "sum_over_batch_size",
                 name: str | None = "relational_distillation_loss", dtype: str | None = None) -> None:
        super().__init__(reducer, reduction, name, dtype)
        self.distance = distances.canonical(distance)

    def call(self, y_true: Any, y_pred: Any) -> Any:
        terms, weights = relational_distillation_terms(y_true, y_pred, self.distance)
        return self.reducer(terms, weights)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "distance": self.distance}
