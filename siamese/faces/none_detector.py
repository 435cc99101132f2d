"""The pass-through detector for crops that are already aligned: no detection, but checks that it is a face."""

from __future__ import annotations

import os
import threading
from typing import Any

import numpy as np

from siamese.faces._cv import cv2
from siamese.faces.align import ARCFACE_TEMPLATE, TEMPLATE_SIZE
from siamese.faces.detector import DEFAULT_MIN_FACE_SIZE, Detection, FaceDetector, check_rgb

__all__ = ["NoDetector"]


class NoDetector(FaceDetector):
    """Reports the centred square of the image as the face, with the template landmarks in it.

    :class:`~siamese.faces.FaceAligner` centre-crops and resizes instead of warping for this
    detector, so an aligned crop goes through unchanged (only resized). It refuses (see :meth:`refuse`)
    images whose shorter side is under ``min_face_size`` pixels, near-constant images (pixel standard
    deviation under ``min_std``, 0-255 scale) and, with ``check_face=True``, crops in which YuNet finds
    no face when the crop is padded onto a larger canvas (``yunet_model``: see
    :func:`siamese.faces.resolve_yunet_model`; ``face_score``: YuNet's score threshold).
    """

    name = "none"
    locates_faces = False
    thread_safe = True

    def __init__(
        self,
        min_face_size: int = DEFAULT_MIN_FACE_SIZE,
        min_std: float = 4.0,
        check_face: bool = False,
        yunet_model: str | os.PathLike[str] | None = None,
        face_score: float = 0.5,
    ) -> None:
        self.min_face_size = int(min_face_size)
        self.min_std = float(min_std)
        self.check_face = bool(check_face)
        self.face_score = float(face_score)
        self._yunet_model = yunet_model
        self._checker: Any = None
        self._lock = threading.Lock()
        if self.check_face:
            self._face_checker()  # fail now (DetectorUnavailableError) if YuNet cannot be had

    def _face_checker(self) -> Any:
        with self._lock:
            if self._checker is None:
                from siamese.faces.yunet_detector import YuNetDetector

                self._checker = YuNetDetector(self._yunet_model, score_threshold=self.face_score,
                                              min_face_size=self.min_face_size)
            return self._checker

    def refuse(self, image_rgb: np.ndarray) -> str | None:
        h, w = check_rgb(image_rgb).shape[:2]
        if min(h, w) < self.min_face_size:
            return f"image is {w}x{h} pixels, under the minimum face size of {self.min_face_size} px"
        std = float(image_rgb.std())
        if std < self.min_std:
            return f"near-constant image (pixel standard deviation {std:.2f} < {self.min_std:g})"
        if self.check_face and not self._has_face(image_rgb):
            return "the face check (YuNet on the crop padded onto a canvas) finds no face"
        return None

    def _has_face(self, image: np.ndarray) -> bool:
        """YuNet finds a face covering at least 30 % of the crop's shorter side, once the crop is padded by half its
        longer side on every edge (YuNet expects some context around a face)."""
        h, w = image.shape[:2]
        border = max(h, w) // 2
        canvas = cv2.copyMakeBorder(image, border, border, border, border, cv2.BORDER_REPLICATE)
        return any(d.side >= 0.3 * min(h, w) for d in self._face_checker().detect(canvas))

    def detect(self, image_rgb: np.ndarray) -> list[Detection]:
        h, w = check_rgb(image_rgb).shape[:2]
        side = float(min(h, w))
        x0, y0 = (w - side) / 2.0, (h - side) / 2.0
        landmarks = ARCFACE_TEMPLATE * (side / TEMPLATE_SIZE) + np.float32([x0, y0])
        return [Detection(np.float32([x0, y0, side, side]), 1.0, landmarks)]

    def get_config(self) -> dict[str, Any]:
        config: dict[str, Any] = {"min_face_size": self.min_face_size, "min_std": self.min_std}
        if self.check_face:
            config.update(check_face=True, face_score=self.face_score)
        return config
