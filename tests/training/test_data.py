"""siamese.training.data: who trains and who validates (the people split), on a folder tree of empty photos."""

from __future__ import annotations

from pathlib import Path

import pytest

from siamese.config import load_config
from siamese.errors import ConfigError
from siamese.training.data import split_people


def _people(root: Path, counts: dict[str, int]) -> None:
    for name, n in counts.items():
        (root / name).mkdir(parents=True)
        for i in range(n):
            (root / name / f"{name}_{i:04d}.jpg").write_bytes(b"")


def test_singletons_join_the_training_side_only(tmp_path: Path) -> None:
    """With train.pk.singletons the one-photo people are added to training; the validation people and the other
    training people are exactly those of the split without them (so validation figures stay comparable)."""
    counts = {f"many{i:02d}": 2 + i % 3 for i in range(20)} | {f"one{i:02d}": 1 for i in range(9)}
    _people(tmp_path / "faces", counts)
    base = [f"data.root={tmp_path}", "data.train=faces", "data.min_images=2", "data.val_fraction=0.25", "seed=3",
            "loss.name=batch_contrastive"]
    train0, val0, _ = split_people(load_config(None, base))
    train1, val1, _ = split_people(load_config(None, [*base, "train.pk.singletons=4"]))
    assert val1.names == val0.names and len(val0.names) == 5 and not any(n.startswith("one") for n in val0.names)
    assert set(train1.names) == set(train0.names) | {n for n in counts if n.startswith("one")}
    assert len(train1) == len(train0) + 9
    assert [train1.names[c] for c in train1.labels] == [Path(p).parent.name for p in train1.paths]


def test_singletons_need_a_batch_loss_and_a_count(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="train.pk.singletons: applies to losses on P x K batches"):
        load_config(None, ["loss.name=contrastive", "train.pk.singletons=8"])
    with pytest.raises(ConfigError, match="train.pk.singletons: must not be negative"):
        load_config(None, ["loss.name=batch_contrastive", "train.pk.singletons=-1"])


def test_singletons_are_capped_by_max_identities_and_refused_with_triplet_hard(tmp_path: Path) -> None:
    counts = {f"many{i:02d}": 3 for i in range(20)} | {f"one{i:02d}": 1 for i in range(30)}
    _people(tmp_path / "faces", counts)
    base = [f"data.root={tmp_path}", "data.train=faces", "data.val_fraction=0.25", "loss.name=batch_contrastive",
            "train.pk.singletons=2", "data.max_identities=8"]
    train, val, _ = split_people(load_config(None, base))
    assert sum(n.startswith("one") for n in train.names) == 8 and len(train.names) + len(val.names) == 16
    assert not any(n.startswith("one") for n in val.names)
    with pytest.raises(ConfigError, match="train.pk.singletons: not with triplet_hard"):
        load_config(None, ["loss.name=triplet_hard", "train.pk.singletons=2"])
