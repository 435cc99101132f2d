"""Config validation names the bad key; overrides; the shipped configs are valid."""

from __future__ import annotations

from pathlib import Path

import pytest

from siamese.config import DEFAULTS, load_config, validate
from siamese.errors import ConfigError

CONFIGS = Path(__file__).resolve().parents[1] / "configs"


@pytest.mark.parametrize("path", sorted(CONFIGS.glob("*.yaml")), ids=lambda p: p.name)
def test_shipped_configs_are_valid(path: Path) -> None:
    cfg = load_config(path)
    assert set(cfg) == set(DEFAULTS)


@pytest.mark.parametrize("raw,key", [
    ({"loss": {"marjin": 1.0}}, "loss.marjin"),
    ({"loss": {"name": "arcface"}}, "loss.name"),
    ({"train": {"epochs": "ten"}}, "train.epochs"),
    ({"train": {"epochs": 2.5}}, "train.epochs"),
    ({"train": {"batch_size": 1}}, "train.batch_size"),
    ({"faces": {"detector": "dlib"}}, "faces.detector"),
    ({"train": {"augment": {"flip": "yes"}}}, "train.augment.flip"),
    ({"model": []}, "model"),
    ({"bogus": 1}, "bogus"),
])
def test_bad_values_name_the_key(raw: dict, key: str) -> None:
    with pytest.raises(ConfigError) as e:
        validate(raw)
    assert str(e.value).startswith(key)


def test_overrides_apply_yaml_values(tmp_path: Path) -> None:
    p = tmp_path / "c.yaml"
    p.write_text("train: {epochs: 3}\n")
    cfg = load_config(p, ["train.epochs=7", "loss.name=triplet_semihard", "train.pk={P: 4, K: 2}"])
    assert cfg["train"]["epochs"] == 7 and cfg["loss"]["name"] == "triplet_semihard"
    assert cfg["train"]["pk"] == {"P": 4, "K": 2, "singletons": 0}
    assert cfg["train"]["batch_size"] == DEFAULTS["train"]["batch_size"]


def test_unreadable_and_invalid_yaml_name_the_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="missing.yaml"):
        load_config(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("train: [unclosed\n")
    with pytest.raises(ConfigError, match="bad.yaml: not valid YAML"):
        load_config(bad)


@pytest.mark.parametrize("raw,key", [
    ({"loss": {"margin_schedule": -5}}, "loss.margin_schedule"),
    ({"loss": {"margin_schedule": {"name": "linear_warmup", "start": -1.0, "end": 1.0, "warmup_epochs": 3}}},
     "loss.margin_schedule.start"),
    ({"loss": {"margin_schedule": {"margin": {"name": "linear_warmup", "start": 0.5, "end": -2.0,
                                              "warmup_epochs": 3}}}}, "loss.margin_schedule.margin.end"),
    ({"train": {"monitor": "val_loss"}}, "train.monitor"),  # never logged: the best checkpoint would never be taken
    ({"train": {"early_stopping": {"patince": 5}}}, "train.early_stopping.patince"),
    ({"train": {"early_stopping": {"patience": "abc"}}}, "train.early_stopping.patience"),
    ({"train": {"early_stopping": {"monitor": "val_eerr"}}}, "train.early_stopping.monitor"),
    ({"train": {"early_stopping": {"mode": "bogus"}}}, "train.early_stopping.mode"),
    ({"train": {"early_stopping": True}}, "train.early_stopping"),
    ({"train": {"augment": {"grayscale": 5}}}, "train.augment.grayscale"),
    ({"train": {"augment": {"affine": -0.1}}}, "train.augment.affine"),
    ({"train": {"profile_batches": "abc"}}, "train.profile_batches"),
    ({"train": {"profile_batches": [15, 10]}}, "train.profile_batches"),
    ({"data": {"val_pairs": 0}}, "data.val_pairs"),
    ({"data": {"max_identities": "abc"}}, "data.max_identities"),
    ({"data": {"max_identities": -3}}, "data.max_identities"),
    ({"data": {"root": 5}}, "data.root"),
    ({"data": {"exclude_pairs": [5]}}, "data.exclude_pairs"),
])
def test_free_form_and_scheduled_values_are_checked_before_training(raw: dict, key: str) -> None:
    with pytest.raises(ConfigError) as e:
        validate(raw)
    assert str(e.value).startswith(f"{key}:")


def test_good_free_form_values_pass() -> None:
    cfg = validate({"train": {"early_stopping": {"monitor": "val_auc", "mode": "max", "patience": 0},
                              "profile_batches": [10, 15], "monitor": "val_tar"},
                    "loss": {"margin_schedule": {"name": "linear_warmup", "start": 0.0, "end": 1.0,
                                                 "warmup_epochs": 3}},
                    "data": {"max_identities": 2, "exclude_pairs": ["lfw/pairsDevTest.txt"]}})
    assert cfg["train"]["early_stopping"]["patience"] == 0 and cfg["data"]["max_identities"] == 2


def test_a_key_given_twice_is_refused_naming_the_file(tmp_path: Path) -> None:
    p = tmp_path / "dup.yaml"
    p.write_text("seed: 0\ntrain:\n  epochs: 0\ntrain:\n  epochs: 3\n")
    with pytest.raises(ConfigError, match=r"dup.yaml: not valid YAML \(key 'train' given twice in one mapping at "
                                          r"line 4"):
        load_config(p)
    nested = tmp_path / "nested.yaml"
    nested.write_text("train: {epochs: 2, epochs: 3}\n")
    with pytest.raises(ConfigError, match="key 'epochs' given twice"):
        load_config(nested)


@pytest.mark.parametrize("text", ["- a\n- b\n", "just words\n"])
def test_a_file_that_is_not_a_mapping_is_named_even_with_overrides(tmp_path: Path, text: str) -> None:
    p = tmp_path / "c.yaml"
    p.write_text(text)
    for overrides in ([], ["train.epochs=3"]):
        with pytest.raises(ConfigError, match=r"c.yaml: the file must hold a mapping at top level"):
            load_config(p, overrides)
