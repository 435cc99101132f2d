"""The LFW k-fold protocol against a brute-force loop; the leak check."""

from __future__ import annotations

import numpy as np
import pytest

from siamese.evaluation import contiguous_folds, evaluate_distances, kfold_accuracy, random_folds

N_FOLDS, PER_CLASS = 10, 30


def _shifted_folds(rng: np.random.Generator):
    """LFW-like layout: 10 consecutive folds of (30 same, then 30 different); each fold's
    distances are shifted by a different amount so that the best threshold differs per fold."""
    d, s = [], []
    for k in range(N_FOLDS):
        shift = 0.12 * k
        d += [rng.normal(0.8 + shift, 0.2, PER_CLASS), rng.normal(1.3 + shift, 0.2, PER_CLASS)]
        s += [np.ones(PER_CLASS, int), np.zeros(PER_CLASS, int)]
    return np.concatenate(d), np.concatenate(s)


def _brute_best_threshold(d, s):
    """Loop over midpoints of consecutive distinct distances (+ one each end); first maximum."""
    u = np.unique(d)
    candidates = [u[0] - (u[1] - u[0]) / 2]
    candidates += [(u[i] + u[i + 1]) / 2 for i in range(u.size - 1)]
    candidates += [u[-1] + (u[-1] - u[-2]) / 2]
    best_t, best_a = None, -1.0
    for t in candidates:
        a = np.mean((d <= t) == (s == 1))
        if a > best_a:
            best_t, best_a = t, a
    return best_t


def _brute_kfold(d, s, folds, leak=False):
    accuracies, thresholds = [], []
    for k in np.unique(folds):
        test = folds == k
        train = test if leak else ~test
        t = _brute_best_threshold(d[train], s[train])
        thresholds.append(t)
        accuracies.append(np.mean((d[test] <= t) == (s[test] == 1)))
    return np.array(accuracies), np.array(thresholds)


def test_kfold_matches_brute_force_loop_and_differs_from_leaky(rng):
    d, s = _shifted_folds(rng)
    folds = contiguous_folds(d.size, N_FOLDS)
    got = kfold_accuracy(d, s, folds)
    accuracies, thresholds = _brute_kfold(d, s, folds)
    assert got["n_folds"] == N_FOLDS and got["fold_sizes"] == [2 * PER_CLASS] * N_FOLDS
    np.testing.assert_allclose(got["fold_thresholds"], thresholds, rtol=1e-12)
    np.testing.assert_array_equal(got["fold_accuracies"], accuracies)
    assert got["mean_accuracy"] == pytest.approx(accuracies.mean(), abs=1e-12)
    # LFW README: S_E = sigma_hat / sqrt(10), sigma_hat with divisor 9
    sigma_hat = np.sqrt(np.sum((accuracies - accuracies.mean()) ** 2) / (N_FOLDS - 1))
    assert got["std"] == pytest.approx(sigma_hat, abs=1e-12)
    assert got["standard_error"] == pytest.approx(sigma_hat / np.sqrt(N_FOLDS), abs=1e-12)
    assert got["std_population"] == pytest.approx(np.std(accuracies), abs=1e-12)

    # a leak (threshold chosen on the test fold itself) would change - and inflate - the answer
    leaky, _ = _brute_kfold(d, s, folds, leak=True)
    assert np.all(leaky >= accuracies)
    assert leaky.mean() > got["mean_accuracy"] + 0.01
    # thresholds differ between folds: each one was chosen on different data
    assert np.ptp(got["fold_thresholds"]) > 0.05


def test_kfold_with_random_folds_is_seeded_and_stratified(rng):
    d, s = _shifted_folds(rng)
    a = kfold_accuracy(d, s, 5, seed=3)
    b = kfold_accuracy(d, s, 5, seed=3)
    c = kfold_accuracy(d, s, 5, seed=4)
    assert a == b
    assert a["fold_accuracies"] != c["fold_accuracies"]
    folds = random_folds(s, 5, seed=3)
    assert np.array_equal(folds, random_folds(s, 5, seed=3))
    for k in range(5):
        assert np.sum(s[folds == k]) == PER_CLASS * N_FOLDS // 5  # stratified: same ratio per fold
    assert a == kfold_accuracy(d, s, folds)


def test_kfold_errors(rng):
    d, s = _shifted_folds(rng)
    with pytest.raises(ValueError, match="at least 2 folds"):
        kfold_accuracy(d, s, np.zeros(d.size, int))
    with pytest.raises(ValueError, match="one fold id per pair"):
        kfold_accuracy(d, s, np.zeros(3, int))
    # fold 1 holds every impostor pair: its "other folds" lack impostors
    folds = np.where(s == 1, 0, 1)
    folds[:5] = 2
    with pytest.raises(ValueError, match="fold 1"):
        kfold_accuracy(d, s, folds)
    with pytest.raises(ValueError, match="equal folds"):
        contiguous_folds(601, 10)


def test_evaluate_distances_combines_metrics_and_folds(rng):
    d, s = _shifted_folds(rng)
    plain = evaluate_distances(d, s)
    assert plain.kfold is None and plain.accuracy == plain.best_accuracy
    result = evaluate_distances(d, s, folds=contiguous_folds(d.size, N_FOLDS))
    assert result.kfold == kfold_accuracy(d, s, contiguous_folds(d.size, N_FOLDS))
    assert result.accuracy == result.kfold["mean_accuracy"]
    assert result.n_pairs == d.size and result.n_genuine == N_FOLDS * PER_CLASS
