"""The Python API on arguments of the wrong type: one SiameseError naming the argument (never a TypeError from
deep inside), nothing written; and the forms it accepts beside a list of paths (one path, NumPy numbers, a name
in two Unicode forms). The model is the one shipped in the package (LiteRT), on real LFW photos."""

from __future__ import annotations

import unicodedata
from pathlib import Path

import numpy as np
import pytest

from siamese import api
from siamese.errors import ConfigError, GalleryError, SiameseError

PERSON = "George_W_Bush"


@pytest.fixture
def photos(lfw_root: Path, yunet_model: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> list[Path]:
    monkeypatch.setenv("SIAMESE_YUNET", str(yunet_model))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv("SIAMESE_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("SIAMESE_MODEL", raising=False)
    monkeypatch.delenv("SIAMESE_GALLERY", raising=False)
    return [lfw_root / "lfw-deepfunneled" / PERSON / f"{PERSON}_{i:04d}.jpg" for i in (1, 2, 3)]


PIXELS = np.full((112, 112, 3), 7, np.uint8)

#: (what is called, the call on (a photo, a gallery address), how its error starts)
CALLS = [
    ("represent(pixels)", lambda a, g: api.represent(PIXELS), "image: expected a path"),
    ("represent(None)", lambda a, g: api.represent(None), "image: expected a path"),
    ("verify(a, 5)", lambda a, g: api.verify(a, 5), "image_b: expected a path"),
    ("identify(pixels)", lambda a, g: api.identify(PIXELS, gallery=g), "image: expected a path"),
    ("identify top_k str", lambda a, g: api.identify(a, gallery=g, top_k="3"), "top_k: expected an integer"),
    ("identify top_k float", lambda a, g: api.identify(a, gallery=g, top_k=1.5), "top_k: expected an integer"),
    ("enroll images None", lambda a, g: api.enroll("x", None, gallery=g), "images: expected a path or a list"),
    ("enroll a None photo", lambda a, g: api.enroll("x", [a, None], gallery=g), "images[1]: expected a path"),
    ("enroll_many a list", lambda a, g: api.enroll_many(["x"], gallery=g), "people: expected a mapping"),
    ("enroll_many pixels", lambda a, g: api.enroll_many({"x": PIXELS}, gallery=g), "photos of 'x'[0]: expected"),
    ("enroll_folder None", lambda a, g: api.enroll_folder(None, gallery=g), "root: expected a path"),
    ("gallery 5", lambda a, g: api.gallery_names(gallery=5), "gallery: expected a path"),
    ("gallery bytes", lambda a, g: api.gallery_names(gallery=b"/tmp/g"), "gallery: expected a path"),
    ("model 5", lambda a, g: api.represent(a, model=5), "model: expected a path"),
    ("migrate to None", lambda a, g: api.migrate(g, None), "dst: expected a path"),
    ("calibrate pairs None", lambda a, g: api.calibrate(None, None), "pairs: expected a path"),
    ("calibrate far str", lambda a, g: api.calibrate(None, a, far="0.001"), "--far: expected a number"),
    ("evaluate far str", lambda a, g: api.evaluate(None, a, calibrate_far="0.1"), "--far: expected a number"),
    ("train out 5", lambda a, g: api.train(None, 5), "out: expected a path"),
    ("benchmark max_people str", lambda a, g: api.benchmark_lfw(None, g, max_people="5"), "--max-people: expected"),
    ("export out 5", lambda a, g: api.export(None, 5), "out: expected a path"),
]


@pytest.mark.parametrize(("name", "call", "expect"), CALLS, ids=[c[0] for c in CALLS])
def test_a_wrong_type_is_one_error_naming_the_argument(name: str, call, expect: str, photos: list[Path],
                                                       tmp_path: Path) -> None:
    before = sorted(p.name for p in tmp_path.iterdir())
    with pytest.raises(ConfigError) as info:
        call(photos[0], tmp_path / "g")
    assert str(info.value).startswith(expect), (name, str(info.value))
    assert sorted(p.name for p in tmp_path.iterdir()) == before, name


def test_one_path_is_enrolled_as_one_photo_not_split_into_characters(photos: list[Path], tmp_path: Path) -> None:
    summary = api.enroll("bush", str(photos[0]), gallery=tmp_path / "g")
    assert summary.enrolled == {"bush": 1} and summary.skipped == []


def test_a_name_in_two_unicode_forms_is_one_identity(photos: list[Path], tmp_path: Path) -> None:
    nfd, nfc = unicodedata.normalize("NFD", "José"), "José"
    assert nfd != nfc
    summary = api.enroll_many({nfd: [photos[0]], nfc: [photos[1]]}, gallery=tmp_path / "g1")
    assert summary.enrolled == {nfc: 2}
    root = tmp_path / "people"
    for name, photo in ((nfd, photos[0]), (nfc, photos[1])):
        (root / name).mkdir(parents=True)
        (root / name / photo.name).write_bytes(photo.read_bytes())
    summary = api.enroll_folder(root, gallery=tmp_path / "g2")
    assert summary.enrolled == {nfc: 2} and summary.skipped == []  # neither folder's photo is lost
    assert api.gallery_names(tmp_path / "g2") == [nfc]


def test_numpy_numbers_are_numbers(photos: list[Path]) -> None:
    for threshold in (np.float32(0.9), np.int64(1), np.float64(0.9)):
        result = api.verify(photos[0], photos[1], threshold=threshold)
        assert result.threshold == pytest.approx(float(threshold))
    with pytest.raises(SiameseError, match="finite"):
        api.verify(photos[0], photos[1], threshold=np.float32("nan"))


def test_identify_takes_a_numpy_integer_top_k(photos: list[Path], tmp_path: Path) -> None:
    api.enroll("bush", photos[:2], gallery=tmp_path / "g")
    assert [m.name for m in api.identify(photos[2], gallery=tmp_path / "g", top_k=np.int64(1)).candidates] == ["bush"]
    with pytest.raises(GalleryError):
        api.remove("nobody", gallery=tmp_path / "g")
