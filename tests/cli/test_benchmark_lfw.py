"""``siamese benchmark lfw``: a two-fold miniature of LFW View 2 on real LFW photos (20 pairs per fold, 12 training
people, a tiny small_cnn, 1 epoch of 2 steps, detector none at 32 px).

Three runs share one output folder: A is interrupted while fold 1 trains, B finishes (trains fold 1 only), C trains
nothing. Trainings are counted by wrapping ``siamese.training.train``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from siamese.data import read_lfw_pairs
from siamese.evaluation import accuracy_at, kfold_accuracy
from tests.cli.conftest import run_cli

CONFIG = """\
seed: 0
data: {train: lfw/lfw-deepfunneled, min_images: 2, val_fraction: 0.25, val_pairs: 20}
faces: {detector: none, size: 32}
model: {tower: small_cnn, embedding_dim: 16, tower_args: {width: 8, blocks: 2}}
loss: {name: contrastive, margin: 1.0}
train: {epochs: 1, steps_per_epoch: 2, batch_size: 8, tensorboard: false}
"""
MINI = ("--folds", "0,1", "--max-pairs-per-fold", "20", "--max-people", "12")


class SimulatedInterruptError(Exception):
    pass


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory, data_root: Path) -> dict[str, Any]:
    import siamese.training

    tmp = tmp_path_factory.mktemp("bench")
    config = tmp / "mini.yaml"
    config.write_text(CONFIG)
    out = tmp / "out"
    trained: list[str] = []
    real_train = siamese.training.train
    state = {"interrupt": "fold-1"}

    def counting_train(cfg: dict, out_dir: Any, **kw: Any) -> Any:
        if state["interrupt"] and state["interrupt"] in str(out_dir):
            raise SimulatedInterruptError(str(out_dir))
        trained.append(Path(out_dir).parent.name)
        return real_train(cfg, out_dir, **kw)

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SIAMESE_CACHE", str(tmp / "cache"))
        mp.setattr(siamese.training, "train", counting_train)
        from siamese import api

        with pytest.raises(SimulatedInterruptError):  # run A: fold 0 finishes, fold 1 is interrupted
            api.benchmark_lfw(config, out, data=data_root, folds=[0, 1], max_pairs_per_fold=20, max_people=12)
        after_a = list(trained)
        fold0_written = (out / "fold-0" / "fold.json").exists()
        state["interrupt"] = ""
        code, stdout, stderr = run_cli("benchmark", "lfw", config, "--data", data_root, "--out", out, *MINI, "--json")
        assert code == 0, stderr
        after_b = list(trained)
        mtimes = {p: p.stat().st_mtime_ns for p in out.glob("fold-*/**/*") if p.is_file()}
        code_c, text_c, err_c = run_cli("benchmark", "lfw", config, "--data", data_root, "--out", out, *MINI)
        after_c = list(trained)
        mtimes_c = {p: p.stat().st_mtime_ns for p in out.glob("fold-*/**/*") if p.is_file()}
    return {"out": out, "config": config, "report": json.loads(stdout), "after_a": after_a, "after_b": after_b,
            "after_c": after_c, "fold0_written": fold0_written, "mtimes": mtimes, "mtimes_c": mtimes_c,
            "c": (code_c, text_c, err_c), "data_root": data_root}


def _view2(data_root: Path) -> Any:
    return read_lfw_pairs(data_root / "lfw" / "pairs.txt", data_root / "lfw" / "lfw-deepfunneled")


def test_folds_never_train_on_the_people_they_score(run: dict[str, Any]) -> None:
    pairs = _view2(run["data_root"])
    for k in (0, 1):
        record = json.loads((run["out"] / f"fold-{k}" / "fold.json").read_text())
        people = pairs.fold(k).people()  # all 600 pairs of the fold, not only the 20 scored
        assert len(people) > 300 and record["excluded_people"] == len(people)
        assert len(record["train_people"]) == 12
        assert not people.intersection(record["train_people"])
        card = json.loads((run["out"] / f"fold-{k}" / "model" / "model.json").read_text())
        assert card["training_data"]["excluded_people"] >= len(people)
        assert card["training_data"]["train_identities"] + card["training_data"]["val_identities"] == 12
    # the two folds' models were trained on different people sets drawn outside their own fold
    a, b = (set(json.loads((run["out"] / f"fold-{k}" / "fold.json").read_text())["train_people"]) for k in (0, 1))
    assert a != b


def test_threshold_of_a_fold_comes_from_the_other_folds_only(run: dict[str, Any]) -> None:
    pairs = _view2(run["data_root"])
    for k in (0, 1):
        record = json.loads((run["out"] / f"fold-{k}" / "fold.json").read_text())
        index = np.asarray(record["pair_index"])
        d = np.asarray(record["distances"])
        same, folds = pairs.same[index], pairs.folds[index]
        assert len(index) == 200 and np.bincount(folds).tolist() == [20] * 10  # 10 folds x 20 pairs
        ref = kfold_accuracy(d, same, folds)
        at = ref["fold_ids"].index(k)
        assert record["threshold"] == pytest.approx(ref["fold_thresholds"][at])
        assert record["accuracy"] == pytest.approx(ref["fold_accuracies"][at])
        # brute force: the threshold reaches the best accuracy on the other nine folds' 180 pairs ...
        other = folds != k
        candidates = np.concatenate([[-1.0], np.sort(d[other]) + 1e-12])
        best = max(float(np.mean((d[other] <= t) == (same[other] == 1))) for t in candidates)
        assert accuracy_at(d[other], same[other], record["threshold"]) == pytest.approx(best)
        # ... and fold k's own pairs do not move it: scramble them and choose again
        scrambled = d.copy()
        scrambled[~other] = np.random.default_rng(k).permutation(scrambled[~other])[::-1] * 3.0
        assert kfold_accuracy(scrambled, same, folds)["fold_thresholds"][at] == pytest.approx(record["threshold"])
        assert record["accuracy"] == pytest.approx(float(np.mean((d[~other] <= record["threshold"])
                                                                 == (same[~other] == 1))))


def test_report_has_fold_accuracies_mean_and_standard_error(run: dict[str, Any]) -> None:
    rep = run["report"]
    on_disk = json.loads((run["out"] / "report.json").read_text())
    assert (run["out"] / "roc.png").stat().st_size > 1000
    assert on_disk["kfold"] == rep["kfold"]
    acc = np.asarray(rep["kfold"]["fold_accuracies"])
    assert rep["kfold"]["fold_ids"] == [0, 1] and len(rep["folds"]) == 2
    assert [f["accuracy"] for f in rep["folds"]] == acc.tolist()
    assert rep["mean_accuracy"] == pytest.approx(acc.mean())
    assert rep["standard_error"] == pytest.approx(np.std(acc, ddof=1) / np.sqrt(2))
    assert rep["pooled"]["n_pairs"] == 40 and "0.001" in rep["pooled"]["tar_at_far"]
    assert 0.0 <= rep["pooled"]["roc_auc"] <= 1.0 and 0.0 <= rep["pooled"]["eer"] <= 1.0
    assert rep["pairs_scored"] == 200 and rep["pairs_skipped"] == 0
    assert rep["category"]["label"] == "Unrestricted, No Outside Data"
    assert rep["complete"] is False and rep["notes"]


def test_an_interrupted_run_keeps_its_finished_folds_and_a_rerun_trains_nothing(run: dict[str, Any]) -> None:
    assert run["after_a"] == ["fold-0"] and run["fold0_written"]
    assert run["after_b"] == ["fold-0", "fold-1"]  # run B trained fold 1 only
    assert run["report"]["trained"] == 1 and run["report"]["resumed"] == [0]
    assert run["after_c"] == run["after_b"]  # run C trained nothing ...
    code, text, err = run["c"]
    assert code == 0, err
    assert run["mtimes_c"] == run["mtimes"]  # ... and rewrote no model or fold file
    assert err.count("finished earlier") == 2
    assert "LFW View 2 accuracy (2 fold(s)" in text and "category: Unrestricted, No Outside Data" in text


def test_other_settings_in_the_same_folder_are_refused(run: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SIAMESE_CACHE", str(run["out"].parent / "cache"))
    code, _, err = run_cli("benchmark", "lfw", run["config"], "--data", run["data_root"], "--out", run["out"],
                           "--folds", "0", "--max-pairs-per-fold", "10", "--max-people", "12")
    assert code == 2 and "finished with other settings" in err and len(err.strip().splitlines()) == 1


def test_a_teacher_only_ever_sees_the_training_side_of_each_fold(
        tmp_path: Path, data_root: Path, recording_teacher: type, monkeypatch: pytest.MonkeyPatch) -> None:
    """With a teacher in the config, the photos it embeds while fold k trains belong to none of fold k's people,
    and the report's category says the run learnt from labelled outside data."""
    import siamese.teachers
    import siamese.training

    config = tmp_path / "teacher.yaml"
    config.write_text(CONFIG.replace("loss: {name: contrastive, margin: 1.0}",
                                     "loss: {name: batch_contrastive, margin: 1.0}\n"
                                     "teacher: {name: recording, weight: 1.0}")
                      .replace("embedding_dim: 16", "embedding_dim: 16").replace("batch_size: 8", "pk: {P: 4, K: 2}"))
    shown: dict[str, list[str]] = {}
    current = {"fold": ""}
    real_train, real_embed = siamese.training.train, siamese.teachers.teacher_embeddings

    def tracking_train(cfg: dict, out_dir: Any, **kw: Any) -> Any:
        current["fold"] = Path(out_dir).parent.name
        return real_train(cfg, out_dir, **kw)

    def tracking_embed(paths: Any, teacher: Any, **kw: Any) -> Any:
        shown.setdefault(current["fold"], []).extend(str(p) for p in paths)
        return real_embed(paths, teacher, **kw)

    monkeypatch.setattr(siamese.training, "train", tracking_train)
    monkeypatch.setattr(siamese.teachers, "teacher_embeddings", tracking_embed)
    from siamese import api

    report = api.benchmark_lfw(config, tmp_path / "out", data=data_root, folds=[0, 1], max_pairs_per_fold=20,
                               max_people=12, progress=False)
    pairs = _view2(data_root)
    assert sorted(shown) == ["fold-0", "fold-1"]
    for k in (0, 1):
        fold_people = pairs.fold(k).people()
        seen_people = {Path(p).parent.name for p in shown[f"fold-{k}"]}
        assert seen_people and not seen_people & fold_people
        assert set(recording_teacher.seen) <= set(shown["fold-0"]) | set(shown["fold-1"])
    assert report.to_dict()["category"]["label"] == "Unrestricted, Labeled Outside Data"


def test_a_wrong_images_folder_is_refused_before_any_training(data_root: Path, tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """Every photo missing (a wrong --images): one line naming the folder, before a fold trains for nothing and
    before the output folder is made."""
    import siamese.training

    def no_training(*args: Any, **kw: Any) -> None:
        raise AssertionError("trained although no pair could be read")

    monkeypatch.setattr(siamese.training, "train", no_training)
    monkeypatch.setenv("SIAMESE_CACHE", str(tmp_path / "cache"))
    config = tmp_path / "mini.yaml"
    config.write_text(CONFIG)
    images = tmp_path / "no-photos-here"
    images.mkdir()
    code, out, err = run_cli("benchmark", "lfw", config, "--data", data_root, "--out", tmp_path / "out",
                             "--images", images, *MINI)
    assert code == 2 and out == "", err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"siamese: error: {images}: fold 0: none of its own pairs "
                                                   "could be read (first: "), err
    assert not (tmp_path / "out").exists()
