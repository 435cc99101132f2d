"""The default model shipped inside the package: small enough, documented by its card, used when no model is given,
and right on LFW photos it never saw in training -- in the full environment and again where TensorFlow is not
installed (LiteRT).

The accuracy check uses the first 50 same and 50 different pairs of LFW View 1 test (pairsDevTest.txt, whose people
the default model was not trained on) at the model's own calibrated threshold (no tuning on these pairs); the bar,
0.80, sits well under the 10-fold figure its card records, so it fails only when the shipped model or the runtime
path breaks.
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from siamese.paths import default_model_dir, packaged_model_dir

REPO = Path(__file__).resolve().parents[2]


def _env(tmp: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("SIAMESE_MODEL", "SIAMESE_ENGINE")}
    env.update(PYTHONPATH=str(REPO), XDG_DATA_HOME=str(tmp / "data-home"))  # no model in the user data dir
    return env


def _cli(tmp: Path, *args: object) -> subprocess.CompletedProcess[str]:
    code = "import sys; from siamese.cli.app import main; sys.argv[0] = 'siamese'; main()"
    return subprocess.run([sys.executable, "-c", code, *map(str, args)], capture_output=True, text=True,
                          env=_env(tmp), timeout=600)


def test_the_default_model_is_shipped_small_and_documented() -> None:
    from siamese.model_dir import ModelDir

    root = packaged_model_dir()
    size = sum(p.stat().st_size for p in root.iterdir())
    assert size <= 5 * 1024 * 1024, f"{size} bytes"
    md = ModelDir(root)
    about = md.card["about"]
    assert md.card["runtime"]["sha256"] and (root / "embedding.tflite").is_file()
    assert md.card["teacher"]["name"] == "dlib" and "licences" in about and about["figures"]
    assert (root / "calibration.json").is_file() and md.card["input_size"] == 64


def test_no_model_given_means_the_default_model(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SIAMESE_MODEL", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "empty"))
    assert default_model_dir() == packaged_model_dir()
    monkeypatch.setenv("SIAMESE_MODEL", str(tmp_path / "mine"))
    assert default_model_dir() == tmp_path / "mine"


def test_default_model_verifies_unseen_lfw_pairs(lfw_root: Path, tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    from siamese import api
    from siamese.data import read_lfw_pairs

    pairs = read_lfw_pairs(lfw_root / "pairsDevTest.txt", lfw_root / "lfw-deepfunneled")
    same = np.flatnonzero(pairs.same == 1)[:50]
    diff = np.flatnonzero(pairs.same == 0)[:50]
    subset = tmp_path / "pairs.csv"
    with subset.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["path_a", "path_b", "same"])
        for k in np.concatenate([same, diff]):
            w.writerow([pairs.paths_a[k], pairs.paths_b[k], int(pairs.same[k])])
    threshold = json.loads((packaged_model_dir() / "calibration.json").read_text())["threshold"]

    first = _cli(tmp_path, "verify", pairs.paths_a[same[0]], pairs.paths_b[same[0]], "--json")  # no --model
    assert first.returncode in (0, 1), first.stderr
    res = json.loads(first.stdout)
    assert res["threshold"] == pytest.approx(threshold)
    assert (first.returncode == 0) == res["same"] == (res["distance"] <= threshold)

    monkeypatch.delenv("SIAMESE_MODEL", raising=False)
    monkeypatch.delenv("SIAMESE_ENGINE", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data-home"))
    report = api.evaluate(None, subset)  # the default model, on LiteRT
    assert report.pairs_scored == 100 and report.result.roc_auc > 0.85
    from siamese.verification import FaceEmbedder, load_pairs, pair_distances

    pd = pair_distances(FaceEmbedder(packaged_model_dir()), load_pairs(subset), fallback="center")
    accuracy = float(np.mean((pd.distances <= threshold) == (pd.same == 1)))
    assert accuracy >= 0.80, accuracy
