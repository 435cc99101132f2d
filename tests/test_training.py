"""The contrastive twin path of siamese.training: pairs pipeline, project metrics in training, margin schedule."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from siamese.config import load_config
from siamese.model_dir import ModelDir
from siamese.training import sample_pairs, train

REPO = Path(__file__).resolve().parents[1]


def test_sample_pairs_is_seeded_and_labelled() -> None:
    labels = np.repeat(np.arange(6), 3)
    a, b, same = sample_pairs(labels, 200, 0.5, seed=3)
    a2, b2, same2 = sample_pairs(labels, 200, 0.5, seed=3)
    assert np.array_equal(a, a2) and np.array_equal(b, b2) and np.array_equal(same, same2)
    assert same.sum() == 100 and np.all(a != b)
    np.testing.assert_array_equal(same, (labels[a] == labels[b]).astype(int))


def test_contrastive_twin_trains_with_project_metrics(data_root: Path, tmp_path: Path) -> None:
    cfg = load_config(REPO / "configs" / "orl-smoke.yaml", [
        "loss.name=contrastive", "loss.margin=1.0",
        "loss.margin_schedule={name: linear_warmup, start: 0.5, end: 1.0, warmup_epochs: 1}",
        "train.epochs=2", "train.steps_per_epoch=4", "train.batch_size=16", "data.val_pairs=100",
        f"data.root={data_root}",
    ])
    result = train(cfg, tmp_path / "m", progress=False)
    h = result.history
    # the twin model is compiled with siamese.metrics: they appear per epoch in training
    for key in ("loss", "accuracy", "eer", "tar", "auc", "val_accuracy", "val_eer", "margin", "lr"):
        assert key in h and len(h[key]) == 2, key
    np.testing.assert_allclose(h["margin"], [0.5, 1.0], rtol=1e-6)
    assert all(0.0 <= v <= 1.0 for v in h["eer"] + h["accuracy"])
    md = ModelDir(tmp_path / "m")
    assert md.card["loss"] == "contrastive" and md.distance == "euclidean"
    cal = json.loads((tmp_path / "m" / "calibration.json").read_text())
    assert cal["target_far"] == 1e-2 and cal["meta"]["distance"] == "euclidean"  # 50 impostor pairs: FAR 1e-2


def test_tensorboard_logs_margin_lr_and_gradient_norms(data_root: Path, tmp_path: Path) -> None:
    cfg = load_config(REPO / "configs" / "orl-smoke.yaml", [
        "train.epochs=1", "train.steps_per_epoch=2", "data.val_pairs=60", "train.tensorboard=true",
        "train.grad_norms=true", f"data.root={data_root}",
    ])
    train(cfg, tmp_path / "m", progress=False)
    logs = tmp_path / "m" / "logs"
    assert list((logs / "train").glob("events.out.tfevents.*")), "no TensorBoard training events"
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    grads = EventAccumulator(str(logs / "grad_norms")).Reload()
    tags = grads.Tags()["tensors"]
    assert any(t.startswith("grad_norm/") for t in tags), tags
    epoch = EventAccumulator(str(logs / "train")).Reload()
    scalars = set(epoch.Tags()["tensors"]) | set(epoch.Tags()["scalars"])
    assert {"epoch_margin", "epoch_lr"} <= scalars, scalars


def test_debug_mode_runs_eagerly_with_numeric_checks(data_root: Path, tmp_path: Path) -> None:
    import tensorflow as tf

    cfg = load_config(REPO / "configs" / "orl-smoke.yaml", [
        "train.epochs=1", "train.steps_per_epoch=2", "data.val_pairs=60", f"data.root={data_root}",
    ])
    result = train(cfg, tmp_path / "m", progress=False, debug=True)
    assert np.isfinite(result.history["loss"][0])
    assert not tf.config.functions_run_eagerly()  # restored for whatever runs next in the process


def test_identification_head_trains_jointly_and_is_never_saved(data_root: Path, tmp_path: Path) -> None:
    """DeepID2-style: batch contrastive + a CosFace head over the training people, its margin warmed up by the
    scheduler next to the contrastive margin; the saved tower has no head and reloads."""
    cfg = load_config(REPO / "configs" / "orl-smoke.yaml", [
        "loss.name=batch_contrastive", "loss.margin=1.0", "loss.pos_margin=0.1",
        "model.head={kind: cosface, weight: 0.5, margin: 0.2, scale: 16}",
        "loss.margin_schedule={head_margin: {name: linear_warmup, start: 0.0, end: 0.2, warmup_epochs: 1},"
        " margin: 1.0}",
        "train.epochs=2", "train.steps_per_epoch=3", "data.val_pairs=60", f"data.root={data_root}",
        "train.grad_norms=true",  # the embedding loss's gradients of a multi-output model
    ])
    result = train(cfg, tmp_path / "m", progress=False)
    h = result.history
    assert list((tmp_path / "m" / "logs" / "grad_norms").glob("events.out.tfevents.*"))
    np.testing.assert_allclose(h["head_margin"], [0.0, 0.2], atol=1e-6)
    np.testing.assert_allclose(h["margin"], [1.0, 1.0], atol=1e-6)
    assert "identity_loss" in h and "embedding_loss" in h and all(np.isfinite(h["loss"]))
    md = ModelDir(tmp_path / "m")
    tower = md.embedding_model()
    assert not any("cosine" in layer.name or "identity" in layer.name for layer in tower.layers)
    assert tower.output_shape[-1] == cfg["model"]["embedding_dim"]


def test_cross_batch_memory_trains_and_is_never_saved(data_root: Path, tmp_path: Path) -> None:
    """The memory's variables are in the training model (``LossState``), so its best checkpoint holds them; the
    saved tower does not."""
    cfg = load_config(REPO / "configs" / "orl-smoke.yaml", [
        "loss.name=batch_contrastive", "loss.args={memory_size: 64, memory_start: 0}", "train.epochs=2",
        "train.steps_per_epoch=3", "data.val_pairs=60", f"data.root={data_root}",
    ])
    result = train(cfg, tmp_path / "m", progress=False)
    assert np.all(np.isfinite(result.history["loss"])) and len(result.history["loss"]) == 2
    tower = ModelDir(tmp_path / "m").embedding_model()
    assert not any(layer.name == "loss_state" for layer in tower.layers)
    assert not any("memory" in w.path for w in tower.weights)
    assert not (tmp_path / "m" / "best.weights.h5").exists()


def test_head_needs_a_batch_loss(data_root: Path, tmp_path: Path) -> None:
    import pytest

    from siamese.errors import ConfigError

    cfg = load_config(REPO / "configs" / "orl-smoke.yaml", [
        "loss.name=contrastive", "model.head={kind: softmax}", "train.epochs=1", "train.steps_per_epoch=1",
        "data.val_pairs=60", f"data.root={data_root}"])
    with pytest.raises(ConfigError, match="model.head: needs a loss on identity-labelled batches"):
        train(cfg, tmp_path / "m", progress=False)
    assert not (tmp_path / "m" / "model.json").exists()


def test_the_calibrated_threshold_is_for_distances_without_flip(data_root: Path, tmp_path: Path) -> None:
    """verify / enroll / identify embed without flip-averaging, so the threshold stored by training is chosen on
    those distances even when the validation figures use flip (train.flip_eval)."""
    import warnings

    from siamese.evaluation import calibrate_threshold
    from siamese.training import prepare_data
    from siamese.training.card import validation_distances

    cfg = load_config(REPO / "configs" / "orl-smoke.yaml", [
        "train.flip_eval=true", "train.epochs=1", "train.steps_per_epoch=3", "data.val_pairs=200",
        f"data.root={data_root}"])
    train(cfg, tmp_path / "m", progress=False)
    md = ModelDir(tmp_path / "m")
    stored = json.loads((tmp_path / "m" / "calibration.json").read_text())
    data = prepare_data(cfg, progress=False)
    tower = md.embedding_model()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        plain = calibrate_threshold(validation_distances(tower, data, "euclidean", False), data.val_same,
                                    far=stored["target_far"])
        flipped = calibrate_threshold(validation_distances(tower, data, "euclidean", True), data.val_same,
                                      far=stored["target_far"])
    assert stored["threshold"] == pytest.approx(plain.threshold, rel=1e-5)
    assert plain.threshold != pytest.approx(flipped.threshold, rel=1e-5)
