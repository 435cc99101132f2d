"""Similarity transform vs OpenCV, align_face geometry, centre crop, registry."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from siamese.errors import ConfigError
from siamese.faces import (
    ARCFACE_TEMPLATE,
    DETECTORS,
    NoDetector,
    align_face,
    center_crop,
    get_detector,
    similarity_transform,
)


def _similarity(angle: float, scale: float, tx: float, ty: float) -> np.ndarray:
    c, s = scale * np.cos(angle), scale * np.sin(angle)
    return np.array([[c, -s, tx], [s, c, ty]])


def _apply(matrix: np.ndarray, points: np.ndarray) -> np.ndarray:
    return points @ matrix[:, :2].T + matrix[:, 2]


def test_template_is_insightface_arcface_dst() -> None:
    assert ARCFACE_TEMPLATE.shape == (5, 2) and ARCFACE_TEMPLATE.dtype == np.float32
    assert ARCFACE_TEMPLATE[0, 0] < ARCFACE_TEMPLATE[1, 0]  # left eye is image-left
    np.testing.assert_allclose(ARCFACE_TEMPLATE[2], [56.0252, 71.7366], atol=1e-4)


def test_similarity_transform_recovers_exact_transform_like_opencv(rng: np.random.Generator) -> None:
    for _ in range(5):
        truth = _similarity(rng.uniform(-0.6, 0.6), rng.uniform(0.2, 3.0), *rng.uniform(-50, 50, 2))
        src = rng.uniform(0, 250, (5, 2))
        dst = _apply(truth, src)
        ours = similarity_transform(src, dst)
        opencv, _ = cv2.estimateAffinePartial2D(src, dst, method=cv2.LMEDS)
        np.testing.assert_allclose(ours, truth, atol=1e-8)
        np.testing.assert_allclose(ours, opencv, atol=1e-4)


def test_similarity_transform_is_least_squares(rng: np.random.Generator) -> None:
    """With noisy points, no nearby similarity has a smaller squared error (brute-force check)."""
    src = rng.uniform(0, 200, (5, 2))
    dst = _apply(_similarity(0.3, 0.7, 10, -5), src) + rng.normal(0, 2.0, (5, 2))
    best = similarity_transform(src, dst)
    best_err = np.sum((_apply(best, src) - dst) ** 2)
    a, b, tx, ty = best[0, 0], best[1, 0], best[0, 2], best[1, 2]
    for delta in rng.normal(0, [1e-3, 1e-3, 0.05, 0.05], (200, 4)):
        m = np.array([[a + delta[0], -(b + delta[1]), tx + delta[2]], [b + delta[1], a + delta[0], ty + delta[3]]])
        assert np.sum((_apply(m, src) - dst) ** 2) >= best_err - 1e-9


@pytest.mark.parametrize("size", [112, 160])
def test_align_face_moves_landmarks_onto_template(size: int, rng: np.random.Generator) -> None:
    """Paint a dot where a known similarity puts each template point; align; find the dot."""
    truth = _similarity(0.25, 2.5, 120.0, 40.0)  # template -> image
    points = _apply(truth, ARCFACE_TEMPLATE.astype(np.float64))
    expected = ARCFACE_TEMPLATE * size / 112
    for i, (x, y) in enumerate(points):
        image = np.zeros((480, 520, 3), np.uint8)
        cv2.circle(image, (round(x), round(y)), 6, (255, 255, 255), -1)
        aligned = align_face(image, points, size)
        assert aligned.shape == (size, size, 3) and aligned.dtype == np.uint8
        weight = aligned[:, :, 0].astype(np.float64)
        ys, xs = np.indices(weight.shape)
        centroid = [(xs * weight).sum() / weight.sum(), (ys * weight).sum() / weight.sum()]
        np.testing.assert_allclose(centroid, expected[i], atol=0.6)


def test_align_face_of_a_huge_face_is_smooth(rng: np.random.Generator) -> None:
    """A face 20x larger than the crop is pre-shrunk: a fine checkerboard averages to grey."""
    image = np.indices((2400, 2400)).sum(axis=0) % 2 * 255
    image = np.repeat(image[:, :, None], 3, axis=2).astype(np.uint8)
    points = ARCFACE_TEMPLATE * 20.0
    aligned = align_face(image, points)
    assert abs(float(aligned.mean()) - 127.5) < 10 and float(aligned.std()) < 20


def test_center_crop() -> None:
    image = np.zeros((100, 60, 3), np.uint8)
    image[20:80] = 200  # the centred 60x60 square
    crop = center_crop(image, 30)
    assert crop.shape == (30, 30, 3)
    assert np.all(crop == 200)


def test_none_detector_reports_template_in_centre_square() -> None:
    detections = NoDetector().detect(np.zeros((100, 60, 3), np.uint8))
    assert len(detections) == 1
    np.testing.assert_allclose(detections[0].box, [0, 20, 60, 60])
    np.testing.assert_allclose(detections[0].landmarks, ARCFACE_TEMPLATE * 60 / 112 + [0, 20], atol=1e-4)


def test_registry() -> None:
    assert set(DETECTORS) == {"mtcnn", "yunet", "none"}
    assert isinstance(get_detector("none"), NoDetector)
    with pytest.raises(ConfigError, match="unknown detector 'haar'"):
        get_detector("haar")


def test_get_detector_goes_through_the_plugin_table() -> None:
    from siamese import plugins
    assert DETECTORS is plugins.DETECTORS

    class Fake(NoDetector):
        name = "fake"

    plugins.DETECTORS.register("fake_test_detector", Fake)
    try:
        assert isinstance(get_detector("Fake-Test-Detector"), Fake)
        with pytest.raises(ConfigError, match=r"faces\.detector: none: .*argument"):
            get_detector("none", bogus=1)
    finally:
        plugins.DETECTORS._entries.pop("fake_test_detector")
        plugins.DETECTORS._aliases.pop("fake_test_detector")
