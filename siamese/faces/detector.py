"""The face-detector plug-in point: :class:`FaceDetector` and its output, :class:`Detection`.

Coordinates are pixels of the RGB image given to ``detect`` (x to the right, y down, origin at
the top-left corner of the top-left pixel's centre as OpenCV uses). Landmarks are five points in
the ArcFace template order: left eye, right eye, nose tip, left mouth corner, right mouth corner,
where left/right are *image* left/right (the subject's right eye is the image-left one).
"""

from __future__ import annotations

import abc
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from siamese.errors import ImageDecodeError

__all__ = ["DEFAULT_MIN_FACE_SIZE", "LANDMARK_NAMES", "Detection", "FaceDetector", "check_rgb"]

#: Smallest usable face, in pixels (shorter side of the box); smaller detections count as "no face".
DEFAULT_MIN_FACE_SIZE = 20

LANDMARK_NAMES = ("left_eye", "right_eye", "nose", "mouth_left", "mouth_right")


@dataclass
class Detection:
    """One face: ``box`` (x, y, w, h) float32, ``score`` in [0, 1], ``landmarks`` float32 (5, 2)."""

    box: np.ndarray
    score: float
    landmarks: np.ndarray = field(repr=False)

    def __post_init__(self) -> None:
        self.box = np.asarray(self.box, np.float32).reshape(4)
        self.landmarks = np.asarray(self.landmarks, np.float32).reshape(5, 2)
        self.score = float(self.score)

    @property
    def area(self) -> float:
        return float(max(self.box[2], 0.0) * max(self.box[3], 0.0))

    @property
    def side(self) -> float:
        """Shorter side of the box, in pixels (the face size compared with ``min_face_size``)."""
        return float(max(min(self.box[2], self.box[3]), 0.0))

    @property
    def center(self) -> tuple[float, float]:
        x, y, w, h = (float(v) for v in self.box)
        return x + w / 2.0, y + h / 2.0

    def scaled(self, factor: float) -> Detection:
        """The same detection in an image resized by ``factor``."""
        return Detection(self.box * factor, self.score, self.landmarks * factor)


def check_rgb(image: np.ndarray, source: str = "<array>") -> np.ndarray:
    """Check ``image`` is uint8 ``(H, W, 3)`` with H, W >= 1; raise ImageDecodeError otherwise."""
    if not isinstance(image, np.ndarray) or image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
        shape = getattr(image, "shape", None)
        dtype = getattr(image, "dtype", type(image).__name__)
        raise ImageDecodeError(source, f"expected a uint8 RGB array (H, W, 3), got {dtype} {shape}")
    if image.shape[0] < 1 or image.shape[1] < 1:
        raise ImageDecodeError(source, f"empty image {image.shape}")
    return image


class FaceDetector(abc.ABC):
    """Finds faces in uint8 RGB images. Subclasses set ``name`` and implement :meth:`detect`.

    ``locates_faces`` is False for the pass-through detector used on already-aligned crops; the
    aligner then centre-crops instead of warping. ``thread_safe`` says whether ``detect`` may be
    called from several threads at once. ``min_face_size`` (pixels, shorter box side): the aligner
    treats smaller detections as no face, for every detector (built-ins take it as an argument).
    """

    name: ClassVar[str] = ""
    locates_faces: ClassVar[bool] = True
    thread_safe: ClassVar[bool] = False
    min_face_size: int = DEFAULT_MIN_FACE_SIZE

    def refuse(self, image_rgb: np.ndarray) -> str | None:
        """Why ``image_rgb`` cannot hold a usable face before any detection (None: go on). Default: None."""
        return None

    @abc.abstractmethod
    def detect(self, image_rgb: np.ndarray) -> list[Detection]:
        """All faces in ``image_rgb`` (uint8, (H, W, 3), RGB), best score first; [] when none."""

    def get_config(self) -> dict[str, Any]:
        """Everything that changes this detector's output (JSON-serialisable); part of cache keys."""
        return {}

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"
