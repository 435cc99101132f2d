"""The recipe study's rows (benchmarks/lfw_study.py) are valid configs, and configs/lfw.yaml is the row it names."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from siamese.config import load_config

STUDY = Path(__file__).resolve().parents[1] / "benchmarks" / "lfw_study.py"
_spec = importlib.util.spec_from_file_location("lfw_study", STUDY)
study = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(study)


@pytest.mark.parametrize("row", list(study.ROWS))
def test_every_row_is_a_valid_config(row: str) -> None:
    cfg = load_config(study.BASE, [*study.BASE_RESET, *study.ROWS[row], "seed=1"])
    assert cfg["seed"] == 1
    assert cfg["train"]["pk"]["P"] * cfg["train"]["pk"]["K"] + cfg["train"]["pk"]["singletons"] == 128


def test_shipped_recipe_is_the_row_it_names() -> None:
    shipped = load_config(study.BASE)
    row = "contrastive2_avgnz_sched_single"
    assert f"row {row} of the recipe study" in study.BASE.read_text()
    ran = load_config(study.BASE, [*study.BASE_RESET, *study.ROWS[row]])
    assert ran["loss"] == shipped["loss"]
    assert ran["model"] == shipped["model"]
    assert ran["train"]["pk"] == shipped["train"]["pk"]
