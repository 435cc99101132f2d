"""Face alignment: a similarity transform of five landmarks onto the ArcFace template.

``ARCFACE_TEMPLATE`` is insightface's ``arcface_dst`` for 112x112 crops (left eye, right eye,
nose, left mouth corner, right mouth corner; image left/right). For another ``size`` it is
scaled by ``size / 112``.
"""

from __future__ import annotations

import numpy as np

from siamese.errors import ImageDecodeError
from siamese.faces._cv import cv2

__all__ = ["ARCFACE_TEMPLATE", "TEMPLATE_SIZE", "align_face", "center_crop", "similarity_transform",
           "template"]

TEMPLATE_SIZE = 112
ARCFACE_TEMPLATE = np.array(
    [
        [38.2946, 51.6963],
        [73.5318, 51.5014],
        [56.0252, 71.7366],
        [41.5493, 92.3655],
        [70.7299, 92.2041],
    ],
    dtype=np.float32,
)
ARCFACE_TEMPLATE.setflags(write=False)


def template(size: int = TEMPLATE_SIZE) -> np.ndarray:
    """The five template points for a ``size`` x ``size`` crop, float32 (5, 2)."""
    return ARCFACE_TEMPLATE * np.float32(size / TEMPLATE_SIZE)


def similarity_transform(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """Least-squares similarity (rotation, uniform scale, translation; no reflection) src -> dst.

    Solves ``x' = a x - b y + tx, y' = b x + a y + ty`` for (a, b, tx, ty), which is the Umeyama
    estimate. Returns the float64 (2, 3) matrix for ``cv2.warpAffine``.
    """
    src = np.asarray(src, np.float64).reshape(-1, 2)
    dst = np.asarray(dst, np.float64).reshape(-1, 2)
    if src.shape != dst.shape or len(src) < 2:
        raise ValueError(f"need matching point sets of at least 2 points, got {src.shape} and {dst.shape}")
    x, y = src[:, 0], src[:, 1]
    ones, zeros = np.ones_like(x), np.zeros_like(x)
    a_rows = np.stack([x, -y, ones, zeros], axis=1)
    b_rows = np.stack([y, x, zeros, ones], axis=1)
    system = np.concatenate([a_rows, b_rows])
    target = np.concatenate([dst[:, 0], dst[:, 1]])
    (a, b, tx, ty), *_ = np.linalg.lstsq(system, target, rcond=None)
    return np.array([[a, -b, tx], [b, a, ty]], dtype=np.float64)


def align_face(image: np.ndarray, landmarks: np.ndarray, size: int = TEMPLATE_SIZE) -> np.ndarray:
    """Warp ``image`` (uint8 (H, W, 3)) so ``landmarks`` (5, 2) land on the template; (size, size, 3).

    Pixels outside the image are black. When the face is much larger than the crop the image is
    first shrunk with area interpolation, so the warp never undersamples by more than 2x.
    """
    landmarks = np.asarray(landmarks, np.float64).reshape(5, 2)
    if not np.all(np.isfinite(landmarks)):
        raise ValueError("landmarks must be finite")
    matrix = similarity_transform(landmarks, template(size))
    scale = float(np.hypot(matrix[0, 0], matrix[1, 0]))
    if scale < 0.5:
        factor = min(1.0, 1.5 * scale)
        h, w = image.shape[:2]
        new_w, new_h = max(1, round(w * factor)), max(1, round(h * factor))
        image = cv2.resize(image, (new_w, new_h), interpolation=cv2.INTER_AREA)
        landmarks = landmarks * np.array([new_w / w, new_h / h])
        matrix = similarity_transform(landmarks, template(size))
    return cv2.warpAffine(
        image, matrix, (size, size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=0
    )


def center_crop(image: np.ndarray, size: int = TEMPLATE_SIZE, source: str = "<array>") -> np.ndarray:
    """Centred square crop of ``image`` resized to (size, size, 3); for already-aligned faces."""
    h, w = image.shape[:2]
    if h < 1 or w < 1:
        raise ImageDecodeError(source, f"empty image {image.shape}")
    side = min(h, w)
    y0, x0 = (h - side) // 2, (w - side) // 2
    crop = image[y0 : y0 + side, x0 : x0 + side]
    if side == size:
        return np.ascontiguousarray(crop)
    interpolation = cv2.INTER_AREA if side > size else cv2.INTER_LINEAR
    return cv2.resize(crop, (size, size), interpolation=interpolation)
