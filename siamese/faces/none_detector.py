"""The pass-through detector for crops that are already aligned: no detection at all."""

from __future__ import annotations

import numpy as np

from siamese.faces.align import ARCFACE_TEMPLATE, TEMPLATE_SIZE
from siamese.faces.detector import Detection, FaceDetector, check_rgb

__all__ = ["NoDetector"]


class NoDetector(FaceDetector):
    """Reports the centred square of the image as the face, with the template landmarks in it.

    :class:`~siamese.faces.FaceAligner` centre-crops and resizes instead of warping for this
    detector, so an aligned crop goes through unchanged (only resized).
    """

    name = "none"
    locates_faces = False
    thread_safe = True

    def detect(self, image_rgb: np.ndarray) -> list[Detection]:
        h, w = check_rgb(image_rgb).shape[:2]
        side = float(min(h, w))
        x0, y0 = (w - side) / 2.0, (h - side) / 2.0
        landmarks = ARCFACE_TEMPLATE * (side / TEMPLATE_SIZE) + np.float32([x0, y0])
        return [Detection(np.float32([x0, y0, side, side]), 1.0, landmarks)]
