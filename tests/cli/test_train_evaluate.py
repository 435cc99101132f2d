"""siamese train / evaluate / calibrate / verify / export on the ORL smoke model (real photos)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import yaml
from sklearn.metrics import roc_auc_score

from siamese.model_dir import ModelDir, pairwise_distance_np, weights_fingerprint

from .conftest import REPO, run_cli


def test_training_improves_held_out_identities(smoke_model: tuple[Path, dict]) -> None:
    _, result = smoke_model
    before, after = result["validation_before_training"], result["validation"]
    # validation pairs come from people never seen in training (identity-disjoint split)
    assert after["best_accuracy"] > before["best_accuracy"] + 0.03
    assert after["roc_auc"] > before["roc_auc"]


def test_model_dir_records_how_it_was_made(smoke_model: tuple[Path, dict]) -> None:
    path, _ = smoke_model
    for name in ("embedding.keras", "model.json", "config.yaml", "calibration.json", "history.json"):
        assert (path / name).is_file(), name
    card = json.loads((path / "model.json").read_text())
    assert card["input_size"] == 64 and card["embedding_dim"] == 64 and card["distance"] == "euclidean"
    assert card["training_data"]["train_identities"] == 30 and card["training_data"]["val_identities"] == 10
    shipped = yaml.safe_load((REPO / "configs" / "orl-smoke.yaml").read_text())
    as_run = yaml.safe_load((path / "config.yaml").read_text())
    assert as_run["train"]["epochs"] == shipped["train"]["epochs"] and as_run["seed"] == shipped["seed"]
    md = ModelDir(path)
    assert md.fingerprint == weights_fingerprint(md.embedding_model())
    history = json.loads((path / "history.json").read_text())
    # the shipped margin schedule (a linear warm-up) is what the history logged, epoch by epoch
    sched = shipped["loss"]["margin_schedule"]
    assert sched["name"] == "linear_warmup"
    expected = [sched["start"] + (sched["end"] - sched["start"]) * min(e / sched["warmup_epochs"], 1.0)
                for e in range(shipped["train"]["epochs"])]
    np.testing.assert_allclose(history["margin"], expected, rtol=1e-6)
    assert as_run["loss"]["name"] == card["loss"] == "batch_contrastive"   # the demo trains the contrastive twin
    assert {"val_eer", "val_accuracy", "val_auc", "lr"} <= set(history)


def test_evaluate_matches_an_independent_computation(smoke_model, orl_pairs_csv: Path, tmp_path: Path) -> None:
    path, _ = smoke_model
    code, out, err = run_cli("evaluate", path, "--pairs", orl_pairs_csv, "--json", "--report", tmp_path / "rep")
    assert code == 0, err
    report = json.loads(out)
    # independent: centre-crop ORL faces the way the model was trained, embed, sklearn AUC
    from siamese.embedding import embed_faces
    from siamese.faces import FaceAligner

    rows = [line.split(",") for line in orl_pairs_csv.read_text().splitlines()[1:]]
    aligner = FaceAligner(detector="none", size=64)
    model = ModelDir(path).embedding_model()
    ea = embed_faces(model, np.stack([aligner.align_file(r[0]) for r in rows]))
    eb = embed_faces(model, np.stack([aligner.align_file(r[1]) for r in rows]))
    d = pairwise_distance_np(ea, eb, "euclidean")
    same = np.array([int(r[2]) for r in rows])
    assert report["pairs_scored"] == len(rows) == 320
    assert report["roc_auc"] == pytest.approx(roc_auc_score(same, -d), abs=1e-6)
    for name in ("report.json", "roc.png", "det.png", "distances.png"):
        assert (tmp_path / "rep" / name).is_file()


def test_calibrate_then_verify_uses_the_stored_threshold(smoke_model, orl_pairs_csv: Path, orl_root: Path,
                                                          tmp_path: Path) -> None:
    import shutil

    path = tmp_path / "model"
    shutil.copytree(smoke_model[0], path)
    code, out, err = run_cli("calibrate", path, "--pairs", orl_pairs_csv, "--far", "0.05", "--json")
    assert code == 0, err
    cal = json.loads(out)
    assert cal["far"] <= 0.05 and json.loads((path / "calibration.json").read_text())["threshold"] == cal["threshold"]
    # a threshold above every distance says "same", one below every distance says "different": exit codes 0 / 1
    a, b = orl_root / "s1" / "1.pgm", orl_root / "s2" / "1.pgm"
    assert run_cli("verify", a, b, "--model", path, "--threshold", "10")[0] == 0
    code, out, _ = run_cli("verify", a, b, "--model", path, "--threshold", "0", "--json")
    assert code == 1 and json.loads(out)["same"] is False
    code, out, _ = run_cli("verify", a, a, "--model", path, "--json")
    assert code == 0 and json.loads(out)["threshold"] == pytest.approx(cal["threshold"])


def test_verify_bad_file_is_one_line_and_exit_2(smoke_model, tmp_path: Path, orl_root: Path) -> None:
    bad = tmp_path / "broken.jpg"
    bad.write_bytes(b"not an image at all")
    code, out, err = run_cli("verify", orl_root / "s1" / "1.pgm", bad, "--model", smoke_model[0])
    assert code == 2 and out == ""
    assert len(err.strip().splitlines()) == 1 and "broken.jpg" in err


def test_train_bad_config_names_the_key_and_writes_nothing(tmp_path: Path) -> None:
    cfg = tmp_path / "bad.yaml"
    cfg.write_text("loss: {name: contrastive, marjin: 2}\n")
    out = tmp_path / "never"
    code, _, err = run_cli("train", cfg, "--out", out)
    assert code == 2 and "loss.marjin" in err and len(err.strip().splitlines()) == 1
    assert not out.exists()


@pytest.mark.parametrize("fmt,quantize,tolerance", [("savedmodel", None, 0.02), ("tflite", "float16", 0.02),
                                                    ("tflite", "int8", 0.06)])
def test_export_keeps_accuracy(smoke_model, orl_pairs_csv: Path, tmp_path: Path, fmt: str, quantize: str | None,
                               tolerance: float):
    out = tmp_path / ("m" if fmt == "savedmodel" else "m.tflite")
    args = ["export", smoke_model[0], "--format", fmt, "--out", out, "--pairs", orl_pairs_csv, "--json"]
    if quantize:
        args += ["--quantize", quantize]
    code, stdout, err = run_cli(*args)
    assert code == 0, err
    acc = json.loads(stdout)["accuracy"]
    assert out.exists()
    assert abs(acc["exported"] - acc["keras"]) <= tolerance


def test_installed_command_prints_one_error_line(smoke_model, orl_root: Path, tmp_path: Path) -> None:
    """The real console script (new process, TensorFlow loaded): one stderr line, exit 2, nothing on stdout."""
    import subprocess
    import sys

    exe = Path(sys.executable).with_name("siamese")
    proc = subprocess.run([str(exe), "verify", str(orl_root / "s1" / "1.pgm"), str(tmp_path / "missing.jpg"),
                           "--model", str(smoke_model[0])], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.strip().splitlines() == [f"siamese: error: {tmp_path / 'missing.jpg'}: no such file"]


def test_train_refuses_to_overwrite_a_model(smoke_model, tmp_path: Path) -> None:
    card = (smoke_model[0] / "model.json").read_bytes()
    code, out, err = run_cli("train", REPO / "configs" / "orl-smoke.yaml", "--out", smoke_model[0])
    assert code == 2 and "already holds a trained model" in err and len(err.strip().splitlines()) == 1
    assert (smoke_model[0] / "model.json").read_bytes() == card


def test_train_with_missing_data_writes_nothing(tmp_path: Path) -> None:
    out = tmp_path / "m"
    code, _, err = run_cli("train", REPO / "configs" / "orl-smoke.yaml", "--data", tmp_path / "nodata", "--out", out)
    assert code == 2 and "nodata" in err and len(err.strip().splitlines()) == 1
    assert not out.exists()


def test_evaluate_lfw_pairs_format_uses_the_official_folds(smoke_model, orl_root: Path, tmp_path: Path) -> None:
    """A View 2-format file (header 'folds n', then per fold n same + n different lines) over ORL photos laid out
    the LFW way: the CLI must score with those folds, threshold from the other folds."""
    root = tmp_path / "images"
    for s in range(1, 13):
        (root / f"p{s}").mkdir(parents=True)
        for i in range(1, 5):
            (root / f"p{s}" / f"p{s}_{i:04d}.jpg").symlink_to(orl_root / f"s{s}" / f"{i}.pgm")
    lines = ["3 4"]
    for fold in range(3):
        people = range(4 * fold + 1, 4 * fold + 5)  # folds are person-disjoint, as in LFW
        lines += [f"p{s}\t1\t{2 + fold % 3}" for s in people]
        lines += [f"p{s}\t{1 + fold % 4}\tp{s % 4 + 1 + 4 * fold}\t2" for s in people]
    pairs = tmp_path / "pairs.txt"
    pairs.write_text("\n".join(lines) + "\n")
    code, out, err = run_cli("evaluate", smoke_model[0], "--pairs", pairs, "--images", root, "--json")
    assert code == 0, err
    report = json.loads(out)
    assert report["official_folds"] is True and report["pairs_scored"] == 24
    assert report["kfold"]["n_folds"] == 3 and report["kfold"]["fold_sizes"] == [8, 8, 8]


@pytest.mark.parametrize("override", ["model.tower_args.widht=16", "loss.args.foo=1", "train.pk.P=100",
                                      "loss.margin_schedule={marginn: {name: constant, value: 1.0}}"])
def test_a_config_refused_while_building_the_model_writes_no_model_directory(data_root: Path, tmp_path: Path,
                                                                               override: str) -> None:
    """Errors found while building the tower, the loss, the batches or the callbacks come before the model
    directory is made: one line, exit 2, no empty directory left to block the corrected rerun."""
    out = tmp_path / "runs" / "m"
    code, stdout, err = run_cli("train", REPO / "configs" / "orl-smoke.yaml", "--data", data_root, "--out", out,
                                "--set", override, "--quiet")
    assert code == 2 and stdout == "", err
    assert len(err.strip().splitlines()) == 1 and "internal error" not in err, err
    assert not (tmp_path / "runs").exists()
