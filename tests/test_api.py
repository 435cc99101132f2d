"""The Python API: each ``siamese.<function>`` in one line, and the CLI's --json output is the result's to_dict()."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

import siamese
from siamese.errors import ModelError
from siamese.model_dir import CALIBRATION_FILE, CARD_FILE, ModelDir

REPO = Path(__file__).resolve().parents[1]


def _cli(*args: object) -> tuple[int, str, str]:
    from siamese.cli.app import app

    result = CliRunner().invoke(app, [str(a) for a in args])
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture(scope="module")
def gallery(smoke_model, orl_root: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("api") / "gallery"
    for person in ("s1", "s2", "s3"):
        summary = siamese.enroll(person, [orl_root / person / f"{i}.pgm" for i in (1, 2)], gallery=path,
                                 model=smoke_model[0])
        assert summary.enrolled == {person: 2} and summary.skipped == []
    return path


def test_represent(smoke_model, orl_root: Path) -> None:
    emb = siamese.represent(orl_root / "s1" / "1.pgm", model=smoke_model[0])
    assert emb.shape == (64,) and emb.dtype == np.float32
    assert np.linalg.norm(emb) == pytest.approx(1.0, abs=1e-5)


def test_verify_two_photos(smoke_model, orl_root: Path) -> None:
    a, b = orl_root / "s1" / "1.pgm", orl_root / "s5" / "1.pgm"
    result = siamese.verify(a, b, model=smoke_model[0])
    ea, eb = (siamese.represent(p, model=smoke_model[0]) for p in (a, b))
    assert result.distance == pytest.approx(float(np.linalg.norm(ea - eb)), abs=1e-5)
    assert result.threshold == ModelDir(smoke_model[0]).threshold()
    assert result.same == (result.distance <= result.threshold)
    with pytest.raises(siamese.errors.SiameseError, match="not both"):
        siamese.verify(a, b, claim="s1", model=smoke_model[0])


def test_enroll_identify_verify_claim_remove(smoke_model, gallery: Path, orl_root: Path, tmp_path: Path) -> None:
    probe = orl_root / "s2" / "8.pgm"
    result = siamese.identify(probe, gallery=gallery, model=smoke_model[0], threshold=10.0, top_k=3)
    assert result.found and len(result.candidates) == 3 and result.name == result.candidates[0].name
    claim = siamese.verify(probe, claim="s2", model=smoke_model[0], gallery=gallery, threshold=10.0)
    assert claim.same and claim.claim == "s2"
    assert siamese.gallery_names(gallery) == ["s1", "s2", "s3"]
    assert siamese.gallery_info(gallery)["templates"] == 6
    copy = tmp_path / "g"
    shutil.copytree(gallery, copy)
    assert siamese.remove("s2", gallery=copy).to_dict() == {"removed": "s2", "templates": 2}
    assert siamese.gallery_names(copy) == ["s1", "s3"]
    with pytest.raises(siamese.errors.SiameseError, match="top_k"):
        siamese.identify(probe, gallery=gallery, model=smoke_model[0], top_k=0)


def test_evaluate_and_calibrate(smoke_model, orl_pairs_csv: Path, tmp_path: Path) -> None:
    report = siamese.evaluate(smoke_model[0], pairs=orl_pairs_csv)
    payload = report.to_dict()
    assert payload["pairs_scored"] == 320 and payload["pairs_skipped"] == 0 and 0.5 < payload["roc_auc"] <= 1.0
    model = tmp_path / "model"
    shutil.copytree(smoke_model[0], model)
    cal = siamese.calibrate(model, pairs=orl_pairs_csv, far=0.05)
    assert cal.far <= 0.05 and ModelDir(model).threshold() == pytest.approx(cal.threshold)
    stored = json.loads((model / CALIBRATION_FILE).read_text())
    assert stored["threshold"] == cal.threshold


def test_export_tflite(smoke_model, tmp_path: Path) -> None:
    result = siamese.export(smoke_model[0], out=tmp_path / "m.tflite", fmt="tflite")
    assert result.to_dict() == {"export": str(tmp_path / "m.tflite"), "format": "tflite", "quantize": None}
    assert (tmp_path / "m.tflite").stat().st_size > 10_000


def test_siamese_export_stays_the_api_function_after_the_export_code_is_imported() -> None:
    import importlib

    importlib.import_module("siamese.exporting")  # what siamese.api.export (and the CLI) do on first use
    assert siamese.export is siamese.api.export


def test_train_refuses_to_overwrite(smoke_model) -> None:
    card = (smoke_model[0] / CARD_FILE).read_bytes()
    with pytest.raises(ModelError, match="already holds a trained model"):
        siamese.train(REPO / "configs" / "orl-smoke.yaml", out=smoke_model[0])
    assert (smoke_model[0] / CARD_FILE).read_bytes() == card


def test_cli_json_is_the_api_result(smoke_model, gallery: Path, orl_root: Path) -> None:
    a, b = orl_root / "s3" / "9.pgm", orl_root / "s3" / "10.pgm"
    code, out, err = _cli("verify", a, b, "--model", smoke_model[0], "--json")
    api_result = siamese.verify(a, b, model=smoke_model[0])
    assert code == (0 if api_result.same else 1), err
    assert json.loads(out) == api_result.to_dict()

    code, out, err = _cli("identify", a, "--model", smoke_model[0], "--gallery", gallery, "--threshold", "10",
                          "--top-k", "2", "--json")
    assert code == 0, err
    payload = json.loads(out)
    assert payload.pop("image") == str(a)
    assert payload == siamese.identify(a, gallery=gallery, model=smoke_model[0], threshold=10.0, top_k=2).to_dict()

    code, out, err = _cli("verify", a, "--claim", "s3", "--model", smoke_model[0], "--gallery", gallery,
                          "--threshold", "10", "--json")
    assert code == 0, err
    expected = siamese.verify(a, claim="s3", model=smoke_model[0], gallery=gallery, threshold=10.0)
    assert json.loads(out) == expected.to_dict()


def test_calibrating_the_shipped_model_writes_a_user_copy_and_never_the_package(
        smoke_model, orl_pairs_csv: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import siamese.paths

    shipped = tmp_path / "package" / "default_model"
    shutil.copytree(smoke_model[0], shipped)
    before = {p.name: p.read_bytes() for p in shipped.iterdir()}
    monkeypatch.setattr(siamese.paths, "packaged_model_dir", lambda: shipped)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    monkeypatch.delenv("SIAMESE_MODEL", raising=False)
    user = siamese.paths.user_model_dir()
    assert siamese.paths.default_model_dir() == shipped

    with pytest.raises(siamese.errors.SiameseError, match="missing.csv"):  # bad input: nothing is copied
        siamese.calibrate(None, pairs=tmp_path / "missing.csv", far=0.05)
    assert not user.exists()

    cal = siamese.calibrate(None, pairs=orl_pairs_csv, far=0.05)
    assert {p.name: p.read_bytes() for p in shipped.iterdir()} == before  # the package is untouched
    assert cal.meta["model_dir"] == str(user)
    assert siamese.paths.default_model_dir() == user  # the calibrated copy is the default from now on
    assert ModelDir(user).threshold() == pytest.approx(cal.threshold)
    assert ModelDir(user).fingerprint == ModelDir(shipped).fingerprint
    assert not list(user.parent.glob(".model.*"))  # no temporary copy left behind
    with pytest.raises(siamese.errors.ConfigError, match="already holds a model"):
        siamese.calibrate(shipped, pairs=orl_pairs_csv, far=0.05)
    again = siamese.calibrate(None, pairs=orl_pairs_csv, far=0.01)  # the user's copy is calibrated in place
    assert again.meta["model_dir"] == str(user) and ModelDir(user).threshold() == pytest.approx(again.threshold)


def test_a_calibrated_copy_of_an_earlier_default_model_is_said_when_in_use(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import json
    import warnings

    import siamese.paths

    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    monkeypatch.delenv("SIAMESE_MODEL", raising=False)
    user = siamese.paths.user_model_dir()
    shutil.copytree(siamese.paths.packaged_model_dir(), user)  # as 'siamese calibrate' leaves it
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert siamese.api.open_model().path == user  # the copy of this very model: nothing to say
    newer = tmp_path / "package" / "default_model"  # an upgrade that ships another model
    shutil.copytree(siamese.paths.packaged_model_dir(), newer)
    card = json.loads((newer / "model.json").read_text())
    card["fingerprint"] = "0" * 64
    (newer / "model.json").write_text(json.dumps(card))
    monkeypatch.setattr(siamese.paths, "packaged_model_dir", lambda: newer)
    with pytest.warns(UserWarning, match="calibrated copy of an earlier default model is in use"):
        assert siamese.api.open_model().path == user  # still the user's (its galleries are bound to it)
