"""Batch contrastive loss against a brute-force loop over every pair; compiled fit; config round trip."""

from __future__ import annotations

import itertools

import keras
import numpy as np
import pytest

from siamese.losses import BatchContrastiveLoss, batch_contrastive_loss


def _brute(labels: np.ndarray, emb: np.ndarray, margin: float, balanced: bool) -> float:
    pos, neg = [], []
    for i, j in itertools.permutations(range(len(labels)), 2):
        d = float(np.linalg.norm(emb[i] - emb[j]))
        (pos if labels[i] == labels[j] else neg).append(d * d if labels[i] == labels[j] else max(margin - d, 0) ** 2)
    if balanced:
        return 0.5 * (np.mean(pos) + np.mean(neg))
    return float(np.mean(pos + neg))


@pytest.mark.parametrize("balanced", [True, False])
@pytest.mark.parametrize("margin", [0.5, 1.0, 1.5])
def test_matches_brute_force_over_all_pairs(rng, balanced: bool, margin: float) -> None:
    labels = rng.integers(0, 4, size=12)
    emb = rng.normal(size=(12, 5)).astype("float32")
    emb /= np.linalg.norm(emb, axis=1, keepdims=True)
    got = float(batch_contrastive_loss(labels, emb, margin=margin, balanced=balanced))
    assert got == pytest.approx(_brute(labels, emb, margin, balanced), rel=1e-5, abs=1e-6)
    loss = BatchContrastiveLoss(margin=margin, balanced=balanced)
    assert float(loss(labels, emb)) == pytest.approx(got, rel=1e-6)


def test_margin_variable_and_config_round_trip() -> None:
    loss = BatchContrastiveLoss(margin=0.7, distance_metric="angular", balanced=False)
    loss.margin.assign(1.3)
    clone = BatchContrastiveLoss.from_config(loss.get_config())
    assert clone.margin_value == pytest.approx(1.3) and clone.distance_metric == "angular" and not clone.balanced


def test_compiled_fit_lowers_the_loss(rng) -> None:
    keras.utils.set_random_seed(0)
    x = rng.normal(size=(64, 8)).astype("float32")
    y = np.repeat(np.arange(16), 4)
    x += np.repeat(rng.normal(scale=3.0, size=(16, 8)), 4, axis=0).astype("float32")
    model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(4), keras.layers.UnitNormalization()])
    model.compile(optimizer=keras.optimizers.Adam(0.05), loss=BatchContrastiveLoss(margin=1.0))
    before = model.evaluate(x, y, batch_size=64, verbose=0)
    model.fit(x, y, batch_size=64, epochs=30, verbose=0, shuffle=False)
    assert model.evaluate(x, y, batch_size=64, verbose=0) < 0.5 * before
