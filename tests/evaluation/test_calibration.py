"""Threshold calibration for a target FAR; JSON save/load (0600, atomic)."""

from __future__ import annotations

import json
import os
import stat
import warnings

import numpy as np
import pytest

from siamese.errors import InputFileError
from siamese.evaluation import Calibration, calibrate_threshold


def _pairs(rng, n_gen, n_imp):
    d = np.concatenate([rng.normal(0.8, 0.2, n_gen), rng.normal(1.3, 0.2, n_imp)])
    s = np.concatenate([np.ones(n_gen, int), np.zeros(n_imp, int)])
    return d, s


@pytest.mark.parametrize("far", [1e-3, 1e-2])
def test_resolved_calibration_is_the_largest_threshold_within_far(rng, far):
    d, s = _pairs(rng, 1000, 5000)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # resolvable: no warning
        cal = calibrate_threshold(d, s, far=far)
    imp, gen = d[s == 0], d[s == 1]
    achieved = np.mean(imp <= cal.threshold)
    assert cal.resolved and achieved <= far and cal.far == pytest.approx(achieved)
    assert np.sum(imp <= cal.threshold) == int(round(far * imp.size))  # no ties: uses the full budget
    assert cal.tar == pytest.approx(np.mean(gen <= cal.threshold))
    # largest: the next distance above the threshold is an impostor that would exceed the target
    above = d[d > cal.threshold].min()
    assert np.mean(imp <= above) > far
    assert (cal.n_genuine, cal.n_impostor, cal.target_far) == (1000, 5000, far)


def test_unresolvable_far_warns_and_stays_below_smallest_impostor(rng):
    d, s = _pairs(rng, 500, 500)  # FAR 1e-3 needs >= 1000 impostor pairs
    with pytest.warns(UserWarning, match="cannot be resolved"):
        cal = calibrate_threshold(d, s, far=1e-3)
    imp, gen = d[s == 0], d[s == 1]
    assert not cal.resolved and cal.far == 0.0
    assert cal.threshold < imp.min()
    # still the largest such threshold: every genuine pair below the smallest impostor is accepted
    assert np.sum(gen <= cal.threshold) == np.sum(gen < imp.min())
    assert cal.tar == pytest.approx(np.mean(gen < imp.min()))


def test_calibration_rejects_bad_input():
    with pytest.raises(ValueError, match="all 2 pairs are genuine"):
        calibrate_threshold([0.1, 0.2], [1, 1])
    with pytest.raises(ValueError, match="non-finite"):
        calibrate_threshold([0.1, np.nan], [1, 0])
    with pytest.raises(ValueError, match="target FAR"):
        calibrate_threshold([0.1, 0.2], [1, 0], far=1.5)


def test_save_load_round_trip_private_and_atomic(rng, tmp_path):
    d, s = _pairs(rng, 200, 2000)
    cal = calibrate_threshold(d, s, far=1e-3, meta={"model": "abc123", "distance": "cosine"})
    path = cal.save(tmp_path / "sub" / "calibration.json")
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert os.listdir(path.parent) == ["calibration.json"]  # no temp file left behind
    loaded = Calibration.load(path)
    assert loaded == cal
    assert loaded.accepts(cal.threshold) and not loaded.accepts(np.nextafter(cal.threshold, np.inf))
    # overwrite keeps 0600 and replaces the content
    other = calibrate_threshold(d, s, far=1e-2)
    other.save(path)
    assert Calibration.load(path) == other and stat.S_IMODE(os.stat(path).st_mode) == 0o600


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (None, "no such calibration file"),
        ("{not json", "not valid JSON"),
        (json.dumps({"format": "other"}), "not a calibration file"),
        (json.dumps({"format": "siamese.calibration", "version": 1, "threshold": 0.5}), "missing key"),
        (json.dumps({"format": "siamese.calibration", "version": 1, "threshold": "x", "target_far": 0.1,
                     "far": 0.1, "tar": 0.5, "n_genuine": 1, "n_impostor": 1, "resolved": True}),
         "'threshold' must be float"),
    ],
)
def test_load_errors_name_file_and_reason(tmp_path, content, reason):
    path = tmp_path / "calibration.json"
    if content is not None:
        path.write_text(content)
    with pytest.raises(InputFileError, match=reason) as info:
        Calibration.load(path)
    assert info.value.path == str(path) and str(path) in str(info.value)
