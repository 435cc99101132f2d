"""The recipe study's rows (benchmarks/lfw_study.py) are valid configs, and configs/lfw.yaml is the row it names."""

from __future__ import annotations

import importlib.util
import re
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
    named = re.search(r"row (\w+) of the recipe study", study.BASE.read_text())
    assert named, f"{study.BASE} does not name its study row"
    row = named.group(1)
    ran = load_config(study.BASE, [*study.BASE_RESET, *study.ROWS[row]])
    assert ran["loss"] == shipped["loss"]
    assert ran["model"] == shipped["model"]
    assert ran["train"]["pk"] == shipped["train"]["pk"]
