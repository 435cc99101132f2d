"""The protocol row of benchmarks/bench_teacher.py: read from a `siamese benchmark lfw` run's fold records, each fold
scored only on its own pairs under its own model, against scikit-learn and numpy on a synthetic run."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from siamese.benchmark import FOLD_FILE, FoldResult

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_teacher.py"
_spec = importlib.util.spec_from_file_location("bench_teacher", SCRIPT)
bench = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bench)


def _run(tmp_path: Path, rng: np.random.Generator, folds: list[int], pairs: SimpleNamespace,
         settings: str = "s") -> Path:
    """A run folder whose fold k model scores its own pairs well and every other pair at random."""
    for k in folds:
        d = rng.uniform(0.0, 2.0, len(pairs.same))
        own = pairs.folds == k
        d[own] = np.where(pairs.same[own] == 1, 0.5, 1.5) + rng.normal(0.0, 0.4, own.sum())
        rec = FoldResult(fold=k, accuracy=0.8 + 0.01 * k, threshold=1.0, test_pairs=int(own.sum()),
                         threshold_pairs=int((~own).sum()), excluded_people=3, train_people=["a"], training_data={},
                         model_dir="m", seconds=1.0, pair_index=list(range(len(d))), distances=d.tolist())
        (tmp_path / f"fold-{k}").mkdir(parents=True, exist_ok=True)
        (tmp_path / f"fold-{k}" / FOLD_FILE).write_text(json.dumps(rec.to_record(settings)))
    return tmp_path


def _pairs(rng: np.random.Generator, n_folds: int = 3, per_fold: int = 40) -> SimpleNamespace:
    same = np.tile(np.repeat([1, 0], per_fold // 2), n_folds)
    return SimpleNamespace(same=same, folds=np.repeat(np.arange(n_folds), per_fold))


def test_the_row_pools_each_fold_on_its_own_pairs(tmp_path: Path, rng) -> None:
    pairs = _pairs(rng)
    run = _run(tmp_path, rng, [2, 0], pairs)
    dlib = {"fold_ids": [0, 1, 2], "fold_accuracies": [0.9, 0.95, 0.99]}
    row = bench.protocol_scores(run, pairs, dlib)

    acc = np.array([0.80, 0.82])
    assert row["fold_ids"] == [0, 2] and row["fold_accuracies"] == pytest.approx(acc.tolist())
    assert row["standard_error"] == pytest.approx(np.std(acc, ddof=1) / np.sqrt(2))
    assert row["dlib_same_folds"] == pytest.approx(0.945)
    assert row["complete"] is False
    records = {k: json.loads((run / f"fold-{k}" / FOLD_FILE).read_text()) for k in (0, 2)}
    d = np.concatenate([np.asarray(records[k]["distances"])[pairs.folds == k] for k in (0, 2)])
    s = np.concatenate([pairs.same[pairs.folds == k] for k in (0, 2)])
    assert row["roc_auc"] == pytest.approx(roc_auc_score(s, -d))
    assert row["roc_auc"] > 0.85  # the other folds' random distances would pull it toward 0.5

    _run(tmp_path, rng, [1], pairs)
    assert bench.protocol_scores(run, pairs, dlib)["complete"] is True


def test_folds_of_other_settings_or_pairs_without_folds_are_refused(tmp_path: Path, rng) -> None:
    pairs = _pairs(rng)
    dlib = {"fold_ids": [0, 1, 2], "fold_accuracies": [0.9, 0.95, 0.99]}
    _run(tmp_path, rng, [0], pairs)
    _run(tmp_path, rng, [1], pairs, settings="other config")
    with pytest.raises(SystemExit, match="one config"):
        bench.protocol_scores(tmp_path, pairs, dlib)
    one = _run(tmp_path / "one", rng, [0], pairs)
    with pytest.raises(SystemExit, match="official folds"):
        bench.protocol_scores(one, SimpleNamespace(same=pairs.same, folds=np.full(120, -1)), dlib)
    with pytest.raises(SystemExit, match="no finished fold"):
        bench.protocol_scores(tmp_path / "empty", pairs, dlib)


@pytest.mark.parametrize("photos", ["1", "-3"])
def test_a_timing_without_a_timed_photo_is_refused_before_any_work(photos: str, monkeypatch, capsys) -> None:
    """--timing-photos 0 skips the timing; 1 would time nothing after its warm-up photo (it crashed on 0 before)."""
    monkeypatch.setattr("sys.argv", ["bench_teacher.py", "--pairs", "does-not-exist.txt", "--timing-photos", photos])
    with pytest.raises(SystemExit) as e:
        bench.main()
    assert e.value.code == 2
    assert "--timing-photos" in capsys.readouterr().err
