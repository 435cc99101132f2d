"""Report files: JSON round-trip, valid PNG images."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest

from siamese.evaluation import EvaluationResult, contiguous_folds, evaluate_distances, write_report


def test_write_report_files(rng, tmp_path):
    d = np.concatenate([rng.normal(0.8, 0.2, 300), rng.normal(1.3, 0.2, 300)])
    s = np.concatenate([np.ones(300, int), np.zeros(300, int)])
    order = rng.permutation(600)
    d, s = d[order], s[order]
    result = evaluate_distances(d, s, folds=contiguous_folds(600, 10))
    files = write_report(result, d, s, tmp_path / "report")
    assert set(files) == {"report", "roc", "det", "distances"}
    for key in ("roc", "det", "distances"):
        image = cv2.imread(str(files[key]))
        assert image is not None and image.shape[0] > 100 and image.shape[1] > 100, key
        assert image.std() > 5  # something was drawn
    data = json.loads(files["report"].read_text())
    assert data == result.to_dict()
    assert EvaluationResult.from_dict(data) == result
    assert data["acceptance"] == "distance <= threshold"
    assert sorted(p.name for p in (tmp_path / "report").iterdir()) == sorted(
        ["report.json", "roc.png", "det.png", "distances.png"]
    )


def test_write_report_rejects_mismatched_distances(rng, tmp_path):
    d = np.array([0.1, 0.2, 0.9, 1.0])
    s = np.array([1, 1, 0, 0])
    result = evaluate_distances(d, s)
    with pytest.raises(ValueError, match="do not match"):
        write_report(result, d[:3], s[:3], tmp_path)


def test_result_to_dict_is_json_safe_and_from_dict_checks_keys(rng):
    d = np.concatenate([rng.normal(0.8, 0.2, 40), rng.normal(1.3, 0.2, 40)])
    s = np.concatenate([np.ones(40, int), np.zeros(40, int)])
    result = evaluate_distances(d, s, folds=4, seed=1)
    text = json.dumps(result.to_dict(), allow_nan=False)
    assert EvaluationResult.from_dict(json.loads(text)) == result
    with pytest.raises(ValueError, match="roc_auc"):
        EvaluationResult.from_dict({k: v for k, v in result.to_dict().items() if k != "roc_auc"})
