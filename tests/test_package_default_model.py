"""scripts/package_default_model.py --keep-figures: the packaged model repackaged with one more figure keeps its
figures, its source and its files, byte for byte; a figure name already in the card is refused and nothing is
written."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

from siamese.model_dir import CARD_FILE, ModelDir
from siamese.paths import packaged_model_dir

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "package_default_model.py"
_spec = importlib.util.spec_from_file_location("package_default_model", SCRIPT)
package = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(package)


def _main(monkeypatch: pytest.MonkeyPatch, *args: str | Path) -> int:
    monkeypatch.setattr("sys.argv", ["package_default_model.py", *map(str, args)])
    return package.main()


@pytest.mark.slow
def test_keep_figures_adds_a_figure_to_the_packaged_model(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    src = packaged_model_dir()
    old = json.loads((src / CARD_FILE).read_text())["about"]
    extra = tmp_path / "new_figure.json"
    extra.write_text(json.dumps({"mean_accuracy": 0.5}))
    out = tmp_path / "model"

    assert _main(monkeypatch, src, "--keep-figures", "--extra", extra, "--out", out) == 0
    about = json.loads((out / CARD_FILE).read_text())["about"]
    assert about["figures"] == old["figures"] | {"new_figure.json": {"mean_accuracy": 0.5}}
    assert about["source_dir"] == old["source_dir"]
    for f in src.iterdir():
        if f.is_file() and f.name != CARD_FILE:
            assert (out / f.name).read_bytes() == f.read_bytes(), f.name
    ModelDir(out).tflite_path()  # the copy still matches its card

    # without --keep-figures the card's figures are only the files given (the first packaging)
    out2 = tmp_path / "model2"
    assert _main(monkeypatch, src, "--extra", extra, "--out", out2) == 0
    assert json.loads((out2 / CARD_FILE).read_text())["about"]["figures"] == {"new_figure.json": {"mean_accuracy": 0.5}}

    # a figure of the same name as one kept is refused before anything is written
    same = tmp_path / next(iter(old["figures"]))
    same.write_text("{}")
    out3 = tmp_path / "model3"
    assert _main(monkeypatch, src, "--keep-figures", "--extra", same, "--out", out3) == 2
    assert not out3.exists() and not any(p.name.startswith(".model3") for p in tmp_path.iterdir())
