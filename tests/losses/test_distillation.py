"""Distillation losses against brute-force numpy; serialisation; a student fit toward a teacher."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from siamese.losses.distillation import EmbeddingDistillationLoss, RelationalDistillationLoss
from siamese.plugins import LOSSES


def _unit(x: np.ndarray) -> np.ndarray:
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def test_embedding_distillation_is_mean_cosine_distance(rng: np.random.Generator) -> None:
    t, s = rng.normal(size=(7, 16)), rng.normal(size=(7, 16))
    oracle = np.mean([1.0 - np.dot(_unit(t)[i], _unit(s)[i]) for i in range(7)])
    assert float(EmbeddingDistillationLoss()(t.astype(np.float32), s.astype(np.float32))) == pytest.approx(
        oracle, abs=1e-5)
    assert float(EmbeddingDistillationLoss()(t.astype(np.float32), 3.0 * t.astype(np.float32))) == pytest.approx(
        0.0, abs=1e-5)


@pytest.mark.parametrize("distance", ["euclidean", "squared_euclidean", "cosine"])
@pytest.mark.parametrize("reducer", ["mean", "avg_nonzero"])
def test_relational_distillation_matches_a_double_loop(distance: str, reducer: str,
                                                       rng: np.random.Generator) -> None:
    t = rng.normal(size=(6, 16)).astype(np.float32)
    s = _unit(rng.normal(size=(6, 8))).astype(np.float32)  # the student may have another size than the teacher
    tu = _unit(t.astype(np.float64))

    def d(a: np.ndarray, b: np.ndarray) -> float:
        if distance == "cosine":
            return 1.0 - float(np.dot(a, b) / (np.linalg.norm(a) * np.linalg.norm(b)))
        sq = float(np.sum((a - b) ** 2))
        return sq if distance == "squared_euclidean" else np.sqrt(sq)

    terms = [(d(s[i].astype(np.float64), s[j].astype(np.float64)) - d(tu[i], tu[j])) ** 2
             for i in range(6) for j in range(i + 1, 6)]
    if reducer == "avg_nonzero":
        terms = [x for x in terms if x > 0]
    got = float(RelationalDistillationLoss(distance=distance, reducer=reducer)(t, s))
    assert got == pytest.approx(float(np.mean(terms)), rel=1e-3, abs=1e-5)


def test_configs_round_trip_and_registry() -> None:
    loss = RelationalDistillationLoss(distance="angular", reducer="avg_nonzero")
    clone = RelationalDistillationLoss.from_config(loss.get_config())
    assert clone.distance == "cosine" and clone.reducer.name == "avg_nonzero"
    assert LOSSES.get("relational_distillation") is RelationalDistillationLoss
    assert LOSSES.get("embedding_distillation") is EmbeddingDistillationLoss


def test_a_student_fit_toward_the_teacher_lowers_both_losses(rng: np.random.Generator) -> None:
    keras.utils.set_random_seed(0)
    x = rng.normal(size=(64, 10)).astype(np.float32)
    teacher = _unit(x @ rng.normal(size=(10, 8))).astype(np.float32)
    student = keras.Sequential([keras.Input((10,)), keras.layers.Dense(8),
                                keras.layers.UnitNormalization()])
    relational, direct = RelationalDistillationLoss(), EmbeddingDistillationLoss()
    before = (float(relational(teacher, student(x))), float(direct(teacher, student(x))))
    student.compile(optimizer=keras.optimizers.Adam(0.05), loss=lambda t, s: relational(t, s) + direct(t, s))
    student.fit(x, teacher, batch_size=16, epochs=15, verbose=0, shuffle=False)
    after = (float(relational(teacher, student(x))), float(direct(teacher, student(x))))
    assert after[0] < 0.5 * before[0] and after[1] < 0.5 * before[1]


def test_photos_without_a_teacher_embedding_are_left_out(rng: np.random.Generator) -> None:
    """An all-zero teacher row (the teacher found no face) weighs nothing: the losses equal those of the batch
    without that photo."""
    t = rng.normal(size=(6, 8)).astype(np.float32)
    s = rng.normal(size=(6, 8)).astype(np.float32)
    missing = t.copy()
    missing[2] = 0.0
    keep = [0, 1, 3, 4, 5]
    for loss in (EmbeddingDistillationLoss(), RelationalDistillationLoss()):
        assert float(loss(missing, s)) == pytest.approx(float(loss(t[keep], s[keep])), rel=1e-5)
        assert float(loss(missing, s)) != pytest.approx(float(loss(t, s)), rel=1e-3)
