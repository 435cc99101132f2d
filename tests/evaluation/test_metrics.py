"""Verification metrics against brute-force numpy sweeps and scikit-learn."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from siamese.evaluation import (
    best_threshold,
    check_pairs,
    operating_points,
    tar_at_far,
    verification_metrics,
)


def _pairs(rng: np.random.Generator, n_gen: int, n_imp: int, decimals: int | None = None):
    d = np.concatenate([rng.normal(0.8, 0.2, n_gen), rng.normal(1.3, 0.2, n_imp)])
    if decimals is not None:  # many ties
        d = np.round(d, decimals)
    s = np.concatenate([np.ones(n_gen, int), np.zeros(n_imp, int)])
    order = rng.permutation(d.size)
    return d[order], s[order]


def _brute_candidates(d: np.ndarray) -> np.ndarray:
    """Every decision: accept none, and accept all d <= u for each distinct u."""
    return np.concatenate([[-np.inf], np.unique(d)])


def _brute_accuracy(d, s, t):
    return np.mean((d <= t) == (s == 1))


@pytest.fixture(params=[None, 2], ids=["continuous", "ties"])
def pairs(request, rng):
    return _pairs(rng, 400, 600, request.param)


def test_operating_points_match_brute_force_counts(pairs):
    d, s = pairs
    p = operating_points(d, s)
    assert np.all(np.diff(p.thresholds) > 0)
    gen, imp = d[s == 1], d[s == 0]
    for t, ag, ai in zip(p.thresholds, p.accepted_genuine, p.accepted_impostor, strict=True):
        assert ag == np.sum(gen <= t) and ai == np.sum(imp <= t)
    assert p.accepted_genuine[0] == p.accepted_impostor[0] == 0
    assert p.accepted_genuine[-1] == gen.size and p.accepted_impostor[-1] == imp.size
    # one point per distinct decision
    assert p.thresholds.size == np.unique(d).size + 1


def test_best_threshold_matches_brute_force_sweep(pairs):
    d, s = pairs
    threshold, accuracy = best_threshold(d, s)
    candidates = _brute_candidates(d)
    brute = np.array([_brute_accuracy(d, s, t) for t in candidates])
    assert accuracy == pytest.approx(brute.max(), abs=1e-12)
    assert _brute_accuracy(d, s, threshold) == pytest.approx(accuracy, abs=1e-12)
    # tie-break: no strictly smaller decision reaches the best accuracy
    smaller = candidates[candidates < threshold]
    worse = [_brute_accuracy(d, s, t) for t in smaller if np.sum(d <= t) < np.sum(d <= threshold)]
    assert all(a < accuracy - 1e-12 for a in worse)
    # threshold sits strictly between observed distances
    assert not np.any(d == threshold)


def test_best_threshold_tie_break_is_smallest():
    # accept {0.1}: 3/4 correct; accept {0.1, 0.2, 0.3}: 3/4 correct -> choose the smaller
    d = np.array([0.1, 0.2, 0.3, 0.4])
    s = np.array([1, 0, 1, 0])
    threshold, accuracy = best_threshold(d, s)
    assert accuracy == 0.75
    assert 0.1 <= threshold < 0.2


def test_roc_auc_matches_sklearn_and_mann_whitney(pairs):
    d, s = pairs
    m = verification_metrics(d, s)
    assert m["roc_auc"] == pytest.approx(roc_auc_score(s, -d), abs=1e-12)
    gen, imp = d[s == 1], d[s == 0]
    less = (gen[:, None] < imp[None, :]).mean()
    ties = (gen[:, None] == imp[None, :]).mean()
    assert m["roc_auc"] == pytest.approx(less + 0.5 * ties, abs=1e-12)


def _brute_eer(d, s):
    gen, imp = d[s == 1], d[s == 0]
    fars, frrs = [], []
    for t in _brute_candidates(d):
        fars.append(np.mean(imp <= t))
        frrs.append(np.mean(gen > t))
    fars, frrs = np.array(fars), np.array(frrs)
    for i in range(1, fars.size):
        if fars[i] >= frrs[i]:
            lo, hi = fars[i - 1] - frrs[i - 1], fars[i] - frrs[i]
            w = 0.0 if hi == 0 else -lo / (hi - lo)
            return fars[i - 1] + w * (fars[i] - fars[i - 1]) if hi != 0 else fars[i]
    raise AssertionError("no crossing")


def test_eer_matches_brute_force_crossing(pairs):
    d, s = pairs
    m = verification_metrics(d, s)
    assert m["eer"] == pytest.approx(_brute_eer(d, s), abs=1e-12)
    gen, imp = d[s == 1], d[s == 0]
    far, frr = np.mean(imp <= m["eer_threshold"]), np.mean(gen > m["eer_threshold"])
    assert min(far, frr) - 1e-12 <= m["eer"] <= max(far, frr) + 1e-12
    assert 0.05 < m["eer"] < 0.15  # two normals 2.5 sigma apart: EER ~ 0.106


def test_eer_exact_when_far_equals_frr():
    d = np.array([0.1, 0.2, 0.3, 0.4])
    s = np.array([1, 0, 1, 0])  # at t in [0.2, 0.3): FAR = 1/2, FRR = 1/2
    m = verification_metrics(d, s)
    assert m["eer"] == pytest.approx(0.5)


@pytest.mark.parametrize("target", [1e-3, 1e-2, 0.1])
def test_tar_at_far_matches_brute_force(rng, target):
    d, s = _pairs(rng, 2000, 5000)
    got = tar_at_far(d, s, target)
    gen, imp = d[s == 1], d[s == 0]
    best_t = -np.inf
    for t in _brute_candidates(d):
        if np.mean(imp <= t) <= target:
            best_t = max(best_t, t)
    assert got["tar"] == pytest.approx(np.mean(gen <= best_t), abs=1e-12)
    assert got["far"] == pytest.approx(np.mean(imp <= best_t), abs=1e-12)
    assert got["far"] <= target
    # the returned threshold makes the same decisions as the brute-force one
    assert np.array_equal(d <= got["threshold"], d <= best_t)
    # and it is the largest: the smallest distance above it is an impostor that would break FAR
    above = d[d > got["threshold"]].min()
    assert np.mean(imp <= above) > target


def test_tar_at_far_exact_count_boundary():
    # 0.29 * 100 == 28.999999999999996 in floats: FAR 0.29 must still allow 29 of 100 impostors
    imp = np.arange(100) / 100.0 + 1.0
    gen = np.linspace(0.0, 1.5, 50)
    d = np.concatenate([gen, imp])
    s = np.concatenate([np.ones(50), np.zeros(100)])
    got = tar_at_far(d, s, 0.29)
    assert np.sum(imp <= got["threshold"]) == 29
    assert got["far"] == pytest.approx(0.29)


def test_metrics_dict_is_complete(pairs):
    d, s = pairs
    m = verification_metrics(d, s)
    assert m["n_genuine"] == 400 and m["n_impostor"] == 600 and m["n_pairs"] == 1000
    assert set(m["tar_at_far"]) == {"0.001", "0.01"}
    t, a = best_threshold(d, s)
    assert (m["best_threshold"], m["best_accuracy"]) == (t, a)
    assert m == verification_metrics(d.copy(), s.copy())  # deterministic


def test_bool_and_float32_inputs_agree(rng):
    d, s = _pairs(rng, 50, 70)
    a = verification_metrics(d.astype(np.float32), s.astype(bool))
    b = verification_metrics(d.astype(np.float32).astype(np.float64), s)
    assert a == b


@pytest.mark.parametrize(
    ("distances", "same", "message"),
    [
        ([0.1, 0.2, 0.3], [1, 1, 1], "all 3 pairs are genuine"),
        ([0.1, 0.2, 0.3], [0, 0, 0], "all 3 pairs are impostor"),
        ([0.1, np.nan, 0.3], [1, 0, 1], "non-finite"),
        ([0.1, np.inf, 0.3], [1, 0, 1], "non-finite"),
        ([0.1, 0.2], [1, 0, 1], "differ in length"),
        ([0.1, 0.2, 0.3], [1, 2, 0], "only 0"),
        ([], [], "empty"),
        ([[0.1, 0.2]], [[1, 0]], "1-D"),
    ],
)
def test_bad_input_raises_clear_value_error(distances, same, message):
    with pytest.raises(ValueError, match=message):
        check_pairs(distances, same)
    with pytest.raises(ValueError, match=message):
        verification_metrics(distances, same)


def test_does_not_import_tensorflow():
    code = (
        "import sys, numpy as np, siamese.evaluation as e;"
        "e.evaluate_distances(np.array([0.1, 0.9, 0.2, 0.8]), np.array([1, 0, 1, 0]), folds=2);"
        "assert 'tensorflow' not in sys.modules and 'keras' not in sys.modules, 'tf imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)
