"""``siamese train`` with a teacher in the config: the teacher sees only the training photos, its terms train
beside the labelled contrastive loss, photos without a teacher embedding are left out of them, the card says which
teacher taught the tower, and the saved tower has no distillation outputs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from siamese.config import load_config
from siamese.errors import ConfigError
from siamese.model_dir import ModelDir
from siamese.training import prepare_data, train
from siamese.training.distill import teacher_targets

REPO = Path(__file__).resolve().parents[2]


def _cfg(data_root: Path, *extra: str) -> dict:
    return load_config(REPO / "configs" / "orl-smoke.yaml", [
        "loss.name=batch_contrastive", "loss.margin=1.0", "loss.margin_schedule=null", "model.embedding_dim=16",
        "teacher={name: recording, weight: 1.0, relational_weight: 1.0}", "train.epochs=2",
        "train.steps_per_epoch=4", "data.val_pairs=60", f"data.root={data_root}", *extra])


def test_teacher_targets_follow_the_training_photos(data_root: Path, recording_teacher: type) -> None:
    cfg = _cfg(data_root, "teacher.center=false")
    data = prepare_data(cfg, progress=False)
    recording_teacher.faceless.add(Path(data.train_paths[3]).name)
    targets = teacher_targets(cfg, data, progress=False)
    assert targets is not None
    val_people = {p for p in data.people} - {Path(p).parent.name for p in data.train_paths}
    assert val_people  # the validation people exist, and the teacher never saw them
    assert sorted(recording_teacher.seen) == sorted(set(data.train_paths))
    assert not {Path(p).parent.name for p in recording_teacher.seen} & val_people
    teacher = recording_teacher()
    from siamese.faces import read_image

    for i in (0, 7, len(data.train_paths) - 1):  # row i is the teacher's embedding of photo i
        np.testing.assert_allclose(targets.embeddings[i], teacher.embed_image(read_image(data.train_paths[i]),
                                                                              data.train_paths[i]), atol=1e-6)
    assert not targets.embeddings[3].any() and targets.summary["without_embedding"] >= 1


def test_train_distils_beside_the_contrastive_loss(data_root: Path, recording_teacher: type,
                                                   tmp_path: Path) -> None:
    cfg = _cfg(data_root)
    result = train(cfg, tmp_path / "m", progress=False)
    h = result.history
    for key in ("embedding_loss", "teacher_loss", "teacher_relation_loss"):
        assert key in h and all(np.isfinite(h[key])), key
    assert h["teacher_loss"][-1] < h["teacher_loss"][0]
    md = ModelDir(tmp_path / "m")
    assert md.card["teacher"]["name"] == "recording" and md.card["teacher"]["weight"] == 1.0
    tower = md.embedding_model()
    assert not any(layer.name.startswith("teacher") for layer in tower.layers)
    assert tower.output_shape[-1] == 16


def test_teacher_config_errors(data_root: Path, recording_teacher: type, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="teacher.name"):
        load_config(None, ["teacher.name=no_such_teacher"])
    with pytest.raises(ConfigError, match="teacher: needs a loss on identity-labelled batches"):
        load_config(None, ["teacher.name=recording", "loss.name=contrastive"])
    with pytest.raises(ConfigError, match="one must be positive"):
        load_config(None, ["teacher={name: recording, weight: 0, relational_weight: 0}", "loss.name=batch_contrastive"])
    cfg = _cfg(data_root, "model.embedding_dim=24")
    with pytest.raises(ConfigError, match="teacher.weight: the cosine term needs model.embedding_dim"):
        train(cfg, tmp_path / "m", progress=False)
    assert not (tmp_path / "m").exists()
    relational_only = _cfg(data_root, "model.embedding_dim=24", "teacher.weight=0")  # no cosine term: any size
    assert teacher_targets(relational_only, prepare_data(relational_only, progress=False), progress=False) is not None


def test_teacher_embeddings_are_centred_on_the_training_photos(data_root: Path, recording_teacher: type) -> None:
    """``teacher.center`` subtracts the mean of the photos the teacher embedded (rows without an embedding stay
    zero); off, the rows are the teacher's own embeddings."""
    raw_cfg = _cfg(data_root, "teacher.center=false")
    data = prepare_data(raw_cfg, progress=False)
    recording_teacher.faceless.add(Path(data.train_paths[0]).name)
    raw = teacher_targets(raw_cfg, data, progress=False)
    centred = teacher_targets(_cfg(data_root), data, progress=False)
    assert raw is not None and centred is not None and centred.summary["center"] is True
    found = raw.embeddings.any(axis=1)  # ORL names repeat (1.pgm ...): every photo of that name is faceless
    assert 0 < (~found).sum() < len(found) and not centred.embeddings[~found].any()
    present = raw.embeddings[found]
    np.testing.assert_allclose(centred.embeddings[found], present - present.mean(axis=0), atol=1e-6)
    assert np.abs(centred.embeddings[found].mean(axis=0)).max() < 1e-5 < np.abs(present.mean(axis=0)).max()
