"""Every case of the TensorFlow Addons 0.23 reference vectors, for the functions and the classes."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from siamese import losses

RTOL, ATOL = 1e-5, 1e-6
N_CASES = 8


@pytest.fixture(scope="module")
def vectors(reference_root: Path) -> dict:
    return json.loads((reference_root / "tfa_loss_vectors.json").read_text())


def test_reference_file_shape(vectors):
    for key in ("contrastive", "triplet_semihard", "triplet_hard"):
        assert len(vectors[key]) == N_CASES
    assert set(vectors["triplet_semihard"][0]["loss"]) == {"L2", "squared-L2", "angular"}
    assert set(vectors["triplet_hard"][0]["loss"]) == {
        "L2", "L2/soft", "squared-L2", "squared-L2/soft", "angular", "angular/soft",
    }


@pytest.mark.parametrize("case", range(N_CASES))
def test_contrastive(vectors, case):
    c = vectors["contrastive"][case]
    y = np.asarray(c["y_true"], dtype=np.float32)
    d = np.asarray(c["distance"], dtype=np.float32)
    per_pair = np.asarray(losses.contrastive_loss(y, d, c["margin"]))
    assert per_pair.shape == (len(y),)
    np.testing.assert_allclose(per_pair, c["per_pair"], rtol=RTOL, atol=ATOL)
    # (batch, 1) distances and integer labels, as a model gives them.
    loss = losses.ContrastiveLoss(margin=c["margin"])
    mean = float(loss(y.astype(np.int32), d[:, None]))
    np.testing.assert_allclose(mean, c["mean"], rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("metric", ["L2", "squared-L2", "angular"])
@pytest.mark.parametrize("case", range(N_CASES))
def test_triplet_semihard(vectors, case, metric):
    c = vectors["triplet_semihard"][case]
    labels = np.asarray(c["labels"], dtype=np.int32)
    emb = np.asarray(c["embeddings"], dtype=np.float32)
    expected = c["loss"][metric]
    got = float(losses.triplet_semihard_loss(labels, emb, c["margin"], metric))
    np.testing.assert_allclose(got, expected, rtol=RTOL, atol=ATOL)
    loss = losses.TripletSemiHardLoss(margin=c["margin"], distance_metric=metric)
    np.testing.assert_allclose(float(loss(labels[:, None], emb)), expected, rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("key", ["L2", "L2/soft", "squared-L2", "squared-L2/soft", "angular", "angular/soft"])
@pytest.mark.parametrize("case", range(N_CASES))
def test_triplet_hard(vectors, case, key):
    c = vectors["triplet_hard"][case]
    metric, _, soft = key.partition("/")
    labels = np.asarray(c["labels"], dtype=np.int32)
    emb = np.asarray(c["embeddings"], dtype=np.float32)
    expected = c["loss"][key]
    got = float(losses.triplet_hard_loss(labels, emb, c["margin"], soft=bool(soft), distance_metric=metric))
    np.testing.assert_allclose(got, expected, rtol=RTOL, atol=ATOL)
    loss = losses.TripletHardLoss(margin=c["margin"], soft=bool(soft), distance_metric=metric)
    np.testing.assert_allclose(float(loss(labels, emb)), expected, rtol=RTOL, atol=ATOL)
