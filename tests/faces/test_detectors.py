"""MTCNN and YuNet on real LFW photos: one face, landmark order, alignment accuracy, face choice."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from siamese.errors import MultipleFacesError, NoFaceError
from siamese.faces import (
    ARCFACE_TEMPLATE,
    FaceAligner,
    FaceDetector,
    MTCNNDetector,
    YuNetDetector,
    read_image,
)

FACES = [
    "Aaron_Eckhart/Aaron_Eckhart_0001.jpg",
    "George_W_Bush/George_W_Bush_0001.jpg",
    "Serena_Williams/Serena_Williams_0001.jpg",
]


@pytest.fixture(scope="module")
def mtcnn() -> MTCNNDetector:
    detector = MTCNNDetector()
    _ = detector.model  # build once for the module (seconds)
    return detector


@pytest.fixture(scope="module")
def yunet(yunet_model: Path) -> YuNetDetector:
    return YuNetDetector(model_path=yunet_model)


@pytest.fixture(params=["mtcnn", "yunet"])
def detector(request: pytest.FixtureRequest) -> FaceDetector:
    return request.getfixturevalue(request.param)


@pytest.fixture(scope="module")
def photos(lfw_root: Path) -> list[np.ndarray]:
    return [read_image(lfw_root / "lfw-deepfunneled" / name) for name in FACES]


def _check_order(landmarks: np.ndarray) -> None:
    (lex, ley), (rex, rey), (nx, ny), (mlx, mly), (mrx, mry) = landmarks
    assert lex < nx < rex, "eyes must straddle the nose, left eye image-left"
    assert mlx < mrx, "left mouth corner must be image-left"
    assert max(ley, rey) < ny < min(mly, mry), "eyes above nose above mouth"


def test_one_face_with_ordered_landmarks(detector: FaceDetector, photos: list[np.ndarray]) -> None:
    for image in photos:
        found = detector.detect(image)
        assert len(found) == 1
        face = found[0]
        assert face.landmarks.shape == (5, 2) and face.landmarks.dtype == np.float32
        assert face.box.shape == (4,) and face.box.dtype == np.float32
        assert 0.5 < face.score <= 1.0
        _check_order(face.landmarks)
        x, y, w, h = face.box
        assert np.all((face.landmarks >= [x, y]) & (face.landmarks <= [x + w, y + h]))
        assert 60 < w < 160 and 60 < h < 160  # deep-funneled faces are ~100 px, centred


def test_mirrored_photo_swaps_left_and_right(detector: FaceDetector, photos: list[np.ndarray]) -> None:
    image = photos[0]
    width = image.shape[1]
    plain = detector.detect(image)[0].landmarks
    mirrored = detector.detect(np.ascontiguousarray(image[:, ::-1]))[0].landmarks
    back = np.stack([width - 1 - mirrored[:, 0], mirrored[:, 1]], axis=1)[[1, 0, 2, 4, 3]]
    # a swapped mapping would be off by the eye distance (~40 px); detectors are not exactly
    # mirror-symmetric, so allow a few pixels
    np.testing.assert_allclose(back, plain, atol=8.0)


# Re-detecting landmarks on a 112x112 crop is itself noisy. Measured on 40 random LFW images
# (seed 0): per-eye error median / p90 = 1.7 / 2.9 px for MTCNN, 3.7 / 6.4 px for YuNet, whose
# landmark noise is ~3 px per coordinate at that scale. So: every photo within 3 px for MTCNN;
# for YuNet the mean over the photos within 3 px and every photo within 6 px.
PER_PHOTO_EYE_TOLERANCE = {"mtcnn": 3.0, "yunet": 6.0}


def test_aligned_eyes_land_on_template(detector: FaceDetector, photos: list[np.ndarray]) -> None:
    aligner = FaceAligner(detector)
    eyes = []
    for image in photos:
        aligned = aligner.align_image(image)
        assert aligned.shape == (112, 112, 3) and aligned.dtype == np.uint8
        again = detector.detect(aligned)
        assert len(again) >= 1
        eyes.append(again[0].landmarks[:2])
        tolerance = PER_PHOTO_EYE_TOLERANCE[detector.name]
        np.testing.assert_allclose(eyes[-1], ARCFACE_TEMPLATE[:2], atol=tolerance)
    np.testing.assert_allclose(np.mean(eyes, axis=0), ARCFACE_TEMPLATE[:2], atol=3.0)


def test_bigger_size_scales_template(yunet: YuNetDetector, photos: list[np.ndarray]) -> None:
    """A 224 crop is the 112 crop at twice the resolution (template scaled, not shifted)."""
    small = FaceAligner(yunet, size=112).align_image(photos[1])
    large = FaceAligner(yunet, size=224).align_image(photos[1])
    assert large.shape == (224, 224, 3)
    shrunk = cv2.resize(large, (112, 112), interpolation=cv2.INTER_AREA)
    assert np.abs(shrunk.astype(int) - small).mean() < 4.0
    shifted = np.roll(shrunk, 2, axis=1)  # a 2-pixel misplacement is clearly worse
    assert np.abs(shifted.astype(int) - small).mean() > np.abs(shrunk.astype(int) - small).mean() + 2


def test_blank_and_noise_have_no_face(detector: FaceDetector, rng: np.random.Generator) -> None:
    aligner = FaceAligner(detector)
    with pytest.raises(NoFaceError, match="^blank: no face"):
        aligner.align_image(np.full((200, 240, 3), 128, np.uint8), source="blank")
    with pytest.raises(NoFaceError, match="^noise: no face"):
        aligner.align_image(rng.integers(0, 256, (200, 240, 3), dtype=np.uint8), source="noise")


def test_two_faces_pick_largest_or_refuse_when_strict(
    detector: FaceDetector, photos: list[np.ndarray]
) -> None:
    big, small = photos[0], cv2.resize(photos[1], (160, 160), interpolation=cv2.INTER_AREA)
    small = cv2.copyMakeBorder(small, 45, 45, 0, 0, cv2.BORDER_CONSTANT, value=(0, 0, 0))
    for pair in (np.hstack([big, small]), np.hstack([small, big])):
        assert len(detector.detect(pair)) == 2
        chosen = FaceAligner(detector).align_image(pair)
        alone = FaceAligner(detector).align_image(big)
        other = FaceAligner(detector).align_image(small)
        error_big = np.abs(chosen.astype(int) - alone).mean()
        error_small = np.abs(chosen.astype(int) - other).mean()
        assert error_big < 12 and error_big < error_small / 2
        with pytest.raises(MultipleFacesError, match="2 faces"):
            FaceAligner(detector, strict=True).align_image(pair, source="pair.jpg")


def test_large_photo_is_detected_on_a_shrunk_copy(yunet: YuNetDetector, photos: list[np.ndarray]) -> None:
    big = cv2.resize(photos[0], (1000, 1000), interpolation=cv2.INTER_CUBIC)
    aligner = FaceAligner(yunet, max_detect_side=250)
    found = aligner.detect(big)
    direct = yunet.detect(photos[0])
    assert len(found) == 1
    np.testing.assert_allclose(found[0].landmarks, direct[0].landmarks * 4.0, atol=4.0)
