"""Histogram verification metrics against exact oracles (numpy brute force, scikit-learn).

Tolerances come from the bin resolution h = max_distance / num_bins: with g_i, m_i the genuine /
impostor counts in bin i (G, M their totals, N = G + M), the metrics are exact on the bin edges,
so
* best accuracy: 0 <= exact - hist <= max_i (g_i + m_i) / N          (one bin's pairs flip)
* EER:           |exact - hist| <= max_i max(g_i / G, m_i / M)        (the crossing bin's box)
* TAR@FAR:       0 <= exact - hist <= max_i g_i / G                   (edges are exact thresholds)
* AUC:           |exact - hist| <= 0.5 * sum_i g_i m_i / (G M)        (same-bin pairs count 1/2)
plus 1e-5 for float32 arithmetic. Each check runs with the default 2048 bins and with a coarse
64-bin histogram where the bounds are loose enough to matter.
"""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score, roc_curve

from siamese import metrics as M
from siamese.errors import ConfigError

EPS = 1e-5


@pytest.fixture(scope="module")
def pairs() -> tuple[np.ndarray, np.ndarray]:
    """3000 genuine ~ N(0.8, 0.2) and 3000 impostor ~ N(1.3, 0.2) distances, clipped, shuffled."""
    rng = np.random.default_rng(7)
    genuine = np.clip(rng.normal(0.8, 0.2, 3000), 0.0, 2.0)
    impostor = np.clip(rng.normal(1.3, 0.2, 3000), 0.0, 2.0)
    distance = np.concatenate([genuine, impostor]).astype(np.float32)
    label = np.concatenate([np.ones(3000), np.zeros(3000)]).astype(np.float32)
    order = rng.permutation(distance.size)
    return label[order], distance[order]


def _feed(metric, label, distance, batches: int = 5, weight=None):
    for part in np.array_split(np.arange(label.size), batches):
        w = None if weight is None else weight[part]
        metric.update_state(label[part], distance[part].reshape(-1, 1), sample_weight=w)
    return float(metric.result())


def _bin_counts(label, distance, num_bins, max_distance=2.0):
    bins = np.clip(np.floor(distance * (num_bins / max_distance)), 0, num_bins - 1).astype(int)
    return (np.bincount(bins[label == 1], minlength=num_bins).astype(float),
            np.bincount(bins[label == 0], minlength=num_bins).astype(float))


def _exact_eer(label, distance):
    fpr, tpr, _ = roc_curve(label, -distance, drop_intermediate=False)
    fnr = 1.0 - tpr
    k = int(np.argmax(fpr - fnr >= 0))
    d0, d1 = fpr[k - 1] - fnr[k - 1], fpr[k] - fnr[k]
    alpha = -d0 / (d1 - d0)
    return fpr[k - 1] + alpha * (fpr[k] - fpr[k - 1])


@pytest.mark.parametrize("num_bins", [64, 2048])
def test_best_accuracy_matches_brute_force(pairs, num_bins):
    label, distance = pairs
    # brute force: every observed distance (and "reject all") as a threshold, distance <= t is "same"
    thresholds = np.concatenate([[-1.0], np.sort(distance)])
    predicted = distance[None, :] <= thresholds[:, None]
    exact = float(np.max(np.mean(predicted == (label[None, :] == 1), axis=1)))
    g, m = _bin_counts(label, distance, num_bins)
    tolerance = float(np.max(g + m)) / label.size
    metric = M.VerificationAccuracy(num_bins=num_bins)
    got = _feed(metric, label, distance)
    assert -EPS <= exact - got <= tolerance + EPS
    # the reported threshold achieves the reported accuracy on the raw data (up to one bin)
    t = float(metric.best_threshold())
    at_t = np.mean((distance < t) == (label == 1))
    assert abs(at_t - got) <= tolerance + EPS


def test_fixed_threshold_accuracy_is_exact(pairs):
    label, distance = pairs
    for threshold in (0.9, 1.05, float(distance[17])):  # the last one sits exactly on a sample
        expected = np.mean((distance <= np.float32(threshold)) == (label == 1))
        got = _feed(M.VerificationAccuracy(threshold=threshold), label, distance)
        assert got == pytest.approx(expected, abs=1e-6)


@pytest.mark.parametrize("num_bins", [64, 2048])
def test_auc_matches_sklearn(pairs, num_bins):
    label, distance = pairs
    exact = roc_auc_score(label, -distance)
    g, m = _bin_counts(label, distance, num_bins)
    tolerance = 0.5 * float(np.sum(g * m)) / (g.sum() * m.sum())
    got = _feed(M.VerificationAUC(num_bins=num_bins), label, distance)
    assert abs(got - exact) <= tolerance + EPS


@pytest.mark.parametrize("num_bins", [64, 2048])
def test_eer_matches_sklearn_roc(pairs, num_bins):
    label, distance = pairs
    exact = _exact_eer(label, distance)
    assert 0.05 < exact < 0.2  # the oracle itself is sane for these two normals (~0.106)
    g, m = _bin_counts(label, distance, num_bins)
    tolerance = float(max(np.max(g / g.sum()), np.max(m / m.sum())))
    got = _feed(M.EqualErrorRate(num_bins=num_bins), label, distance)
    assert abs(got - exact) <= tolerance + EPS


@pytest.mark.parametrize("num_bins", [64, 2048])
@pytest.mark.parametrize("far", [1e-3, 1e-2, 0.1])
def test_tar_at_far_matches_sklearn_roc(pairs, num_bins, far):
    label, distance = pairs
    fpr, tpr, _ = roc_curve(label, -distance, drop_intermediate=False)
    exact = float(np.max(tpr[fpr <= far]))
    g, _ = _bin_counts(label, distance, num_bins)
    tolerance = float(np.max(g / g.sum()))
    got = _feed(M.TrueAcceptRate(far=far, num_bins=num_bins), label, distance)
    assert -EPS <= exact - got <= tolerance + EPS


def test_batches_accumulate_like_one_batch_and_reset(pairs):
    label, distance = pairs
    for cls in (M.VerificationAccuracy, M.EqualErrorRate, M.TrueAcceptRate, M.VerificationAUC):
        whole = cls()
        whole.update_state(label, distance)
        batched = cls()
        _feed(batched, label, distance, batches=7)
        for a, b in zip(whole.histograms(), batched.histograms(), strict=True):
            np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
        assert float(batched.result()) == float(whole.result())
        batched.reset_state()
        assert float(np.sum(batched.histograms()[0]) + np.sum(batched.histograms()[1])) == 0.0
        assert float(batched.result()) == 0.0
        # after a reset only the new pairs count
        _feed(batched, label[:1000], distance[:1000], batches=2)
        fresh = cls()
        fresh.update_state(label[:1000], distance[:1000])
        assert float(batched.result()) == float(fresh.result())


def test_integer_sample_weights_equal_repeated_pairs(pairs):
    label, distance = pairs
    label, distance = label[:1500], distance[:1500]
    weight = np.random.default_rng(3).integers(0, 4, label.size).astype(np.float32)
    repeated = np.repeat(np.arange(label.size), weight.astype(int))
    for cls in (M.EqualErrorRate, M.VerificationAUC, M.VerificationAccuracy,
                lambda: M.VerificationAccuracy(threshold=1.0), lambda: M.TrueAcceptRate(far=0.01)):
        weighted = _feed(cls(), label, distance, weight=weight.reshape(-1, 1))
        plain = _feed(cls(), label[repeated], distance[repeated])
        assert weighted == pytest.approx(plain, abs=1e-6)


def test_out_of_range_clipped_and_non_finite_ignored():
    metric = M.VerificationAUC(num_bins=4, max_distance=2.0)
    label = np.array([1, 1, 0, 0, 0, 1], np.float32)
    distance = np.array([-0.5, 0.1, 7.0, 1.9, np.nan, np.inf], np.float32)
    metric.update_state(label, distance)
    genuine, impostor = (np.asarray(h) for h in metric.histograms())
    np.testing.assert_array_equal(genuine, [2, 0, 0, 0])
    np.testing.assert_array_equal(impostor, [0, 0, 0, 2])
    assert float(metric.result()) == 1.0
    assert float(M.EqualErrorRate(num_bins=4).result()) == 0.0  # nothing seen yet


def test_perfectly_separated_classes():
    label = np.array([1, 1, 1, 0, 0, 0], np.float32)
    distance = np.array([0.1, 0.2, 0.3, 1.5, 1.6, 1.7], np.float32)
    results = {}
    for key in ("accuracy", "eer", "tar", "auc"):
        metric = M.get(key)
        metric.update_state(label, distance)
        results[key] = float(metric.result())
    assert results == {"accuracy": 1.0, "eer": 0.0, "tar": 1.0, "auc": 1.0}


def test_registry_and_config_round_trip():
    assert isinstance(M.get("eer"), M.EqualErrorRate)
    tar = M.get({"name": "tar_at_far", "far": 1e-4, "num_bins": 512})
    assert isinstance(tar, M.TrueAcceptRate) and tar.far == 1e-4 and tar.num_bins == 512
    assert M.get(tar) is tar
    for cls, kwargs in [(M.VerificationAccuracy, {"threshold": 0.7}), (M.EqualErrorRate, {}),
                        (M.TrueAcceptRate, {"far": 0.01}), (M.VerificationAUC, {"max_distance": 4.0})]:
        metric = cls(num_bins=128, **kwargs)
        clone = cls.from_config(metric.get_config())
        assert clone.get_config() == metric.get_config()
    with pytest.raises(ConfigError, match="unknown metric"):
        M.get("f1")
    with pytest.raises(ConfigError, match="num_bins"):
        M.get({"name": "eer", "num_bins": 1})
    with pytest.raises(ConfigError, match="far"):
        M.get({"name": "tar", "far": 2.0})


def test_eer_interpolates_between_edges():
    # 4 bins of 0.5: genuine in bins 0, 0, 2; impostors in bins 1, 3. At edges 1 and 2
    # FRR stays 1/3 while FAR goes 0 -> 1/2, so the curves cross at FAR = FRR = 1/3.
    metric = M.EqualErrorRate(num_bins=4)
    metric.update_state(np.array([1, 1, 1, 0, 0]), np.array([0.1, 0.2, 1.1, 0.6, 1.6]))
    assert float(metric.result()) == pytest.approx(1 / 3, abs=1e-6)
