"""FaceAligner: batch alignment with per-file errors, settings keys, pass-through detector."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from siamese.errors import NoFaceError
from siamese.faces import Detection, FaceAligner, FaceDetector, YuNetDetector, center_crop, read_image

GOOD = ["Aaron_Eckhart/Aaron_Eckhart_0001.jpg", "George_W_Bush/George_W_Bush_0001.jpg"]


@pytest.fixture(scope="module")
def yunet(yunet_model: Path) -> YuNetDetector:
    return YuNetDetector(model_path=yunet_model)


def test_align_files_collects_errors_and_keeps_order(
    tmp_path: Path, lfw_root: Path, yunet: YuNetDetector, capsys: pytest.CaptureFixture[str]
) -> None:
    good = [lfw_root / "lfw-deepfunneled" / name for name in GOOD]
    empty = tmp_path / "empty.jpg"
    empty.write_bytes(b"")
    text = tmp_path / "text.jpg"
    text.write_text("hello")
    blank = tmp_path / "blank.png"
    cv2.imwrite(str(blank), np.full((120, 100, 3), 90, np.uint8))
    missing = tmp_path / "missing.jpg"
    paths = [empty, good[0], text, blank, missing, good[1]]

    aligner = FaceAligner(yunet)
    result = aligner.align_files(paths, workers=2, progress=True)

    assert result.indices == [1, 5]
    assert result.paths == [str(good[0]), str(good[1])]
    assert result.faces.shape == (2, 112, 112, 3) and result.faces.dtype == np.uint8
    for face, path in zip(result.faces, good, strict=True):
        np.testing.assert_array_equal(face, aligner.align_file(path))
    assert result.error_indices == [0, 2, 3, 4]
    assert [e.path for e in result.errors] == [str(p) for p in (empty, text, blank, missing)]
    for (path, message), reason in zip(
        result.errors, ["empty file", "not a supported image", "no face", "no such file"], strict=True
    ):
        assert message.startswith(f"{path}: ") and reason in message
    assert "align (yunet)" in capsys.readouterr().err


def test_align_files_in_workers_for_none_detector(
    tmp_path: Path, lfw_root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The pass-through detector is thread-safe, so the workers align too; order and errors hold."""
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n garbage")
    good = lfw_root / "lfw-deepfunneled" / GOOD[0]
    result = FaceAligner("none", size=64).align_files([bad, good, bad, good], workers=2, progress=False)
    assert result.indices == [1, 3] and result.error_indices == [0, 2]
    assert result.faces.shape == (2, 64, 64, 3)
    np.testing.assert_array_equal(result.faces[0], center_crop(read_image(good), 64))
    assert all("corrupt PNG" in message or "truncated PNG" in message for _, message in result.errors)
    assert capsys.readouterr().err == ""
    empty = FaceAligner("none", size=64).align_files([bad], workers=1, progress=False)
    assert len(empty) == 0 and empty.faces.shape == (0, 64, 64, 3)


def test_none_detector_center_crops(lfw_root: Path) -> None:
    path = lfw_root / "lfw-deepfunneled" / GOOD[0]
    aligned = FaceAligner("none").align_file(path)
    np.testing.assert_array_equal(aligned, center_crop(read_image(path), 112))


def test_settings_key_is_stable_and_complete(yunet: YuNetDetector, yunet_model: Path) -> None:
    key = FaceAligner(yunet).settings_key()
    assert key == FaceAligner("yunet", model_path=yunet_model).settings_key()
    assert key.startswith("faces-v1-yunet-112-")
    assert str(yunet_model.parent) not in key and "/" not in key
    others = {
        FaceAligner(yunet, size=128).settings_key(),
        FaceAligner("yunet", model_path=yunet_model, score_threshold=0.9).settings_key(),
        FaceAligner("none").settings_key(),
        FaceAligner("mtcnn").settings_key(),  # the model is built lazily: cheap
        FaceAligner("mtcnn", min_face_size=40).settings_key(),
    }
    assert key not in others and len(others) == 5


def test_bad_arguments(yunet: YuNetDetector) -> None:
    with pytest.raises(ValueError, match="size"):
        FaceAligner("none", size=4)
    with pytest.raises(ValueError, match="detector_kwargs"):
        FaceAligner(yunet, score_threshold=0.5)


# --------------------------------------------------------------------------------- non-faces refused


def test_none_detector_keeps_real_crops_and_refuses_non_faces(tmp_path: Path, orl_root: Path, lfw_root: Path,
                                                              yunet_model: Path) -> None:
    orl = sorted(orl_root.glob("s*/*.pgm"))
    lfw = sorted((lfw_root / "lfw-deepfunneled").glob("*/*.jpg"))[::130][:100]
    assert len(orl) == 400 and len(lfw) == 100
    rng = np.random.default_rng(3)
    fakes = {"dot.png": np.full((1, 1, 3), 200, np.uint8), "grey.png": np.full((112, 92, 3), 128, np.uint8),
             "noise.png": rng.integers(0, 256, (112, 92, 3), dtype=np.uint8)}
    for name, image in fakes.items():
        cv2.imwrite(str(tmp_path / name), image)
    plain = FaceAligner("none")
    assert len(plain.align_files(orl, progress=False)) == 400  # every ORL crop passes the default checks
    assert len(plain.align_files(lfw, progress=False)) == 100
    result = plain.align_files([tmp_path / n for n in fakes], progress=False)
    reasons = dict(result.errors)
    assert reasons[str(tmp_path / "dot.png")].endswith(": no face (image is 1x1 pixels, under the minimum face size of "
                                                       "20 px)")
    assert "no face (near-constant image" in reasons[str(tmp_path / "grey.png")]
    assert result.paths == [str(tmp_path / "noise.png")]  # noise needs the optional face check
    checked = FaceAligner("none", check_face=True, yunet_model=yunet_model)
    assert len(checked.align_files(orl, progress=False)) >= 396  # measured: 398 of 400
    assert len(checked.align_files(lfw, progress=False)) >= 98
    result = checked.align_files([tmp_path / n for n in fakes], progress=False)
    assert len(result) == 0
    assert "the face check (YuNet" in dict(result.errors)[str(tmp_path / "noise.png")]
    assert checked.settings_key() != plain.settings_key()


def test_faces_under_the_minimum_size_are_no_face(lfw_root: Path, yunet_model: Path) -> None:
    path = lfw_root / "lfw-deepfunneled" / GOOD[0]
    assert FaceAligner("yunet", model_path=yunet_model).align_file(path).shape == (112, 112, 3)
    with pytest.raises(NoFaceError, match=r"no face found by the yunet detector \(largest \d+ px, under the 200 px"):
        FaceAligner("yunet", model_path=yunet_model, min_face_size=200).align_file(path)

    class Tiny(FaceDetector):  # a plug-in that knows nothing of sizes gets the default floor (20 px)
        name = "tiny"

        def detect(self, image_rgb: np.ndarray) -> list[Detection]:
            return [Detection([10, 10, 12, 15], 0.99, np.tile([[15.0, 15.0]], (5, 1)))]

    with pytest.raises(NoFaceError, match=r"^x: no face found by the tiny detector \(largest 12 px, under the 20 px"):
        FaceAligner(Tiny()).align_image(np.zeros((64, 64, 3), np.uint8), source="x")
