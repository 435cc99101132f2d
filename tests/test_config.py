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
