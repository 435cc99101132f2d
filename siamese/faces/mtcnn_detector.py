"""MTCNN (package ``mtcnn`` 1.0.0, weights shipped in its wheel), built lazily on first use.

``mtcnn`` names its keypoints ``left_eye``/``right_eye``/``mouth_left``/``mouth_right`` by
*image* side (left_eye has the smaller x), which is already the ArcFace template order.
"""

from __future__ import annotations

import threading
from typing import Any

import numpy as np

from siamese.errors import DetectorUnavailableError
from siamese.faces.detector import DEFAULT_MIN_FACE_SIZE, Detection, FaceDetector, check_rgb

__all__ = ["MTCNNDetector"]

_MODELS: dict[str, Any] = {}
_LOCK = threading.Lock()


def _build(device: str) -> Any:
    """One MTCNN per device per process (building it costs seconds)."""
    with _LOCK:
        if device not in _MODELS:
            try:
                from mtcnn import MTCNN
            except ImportError as exc:  # pragma: no cover - mtcnn is a hard dependency
                raise DetectorUnavailableError(f"mtcnn: package not importable ({exc})") from exc
            try:
                _MODELS[device] = MTCNN(device=device)
            except Exception as exc:  # weights missing/corrupt, bad device string
                raise DetectorUnavailableError(f"mtcnn: cannot build the detector ({exc})") from exc
        return _MODELS[device]


class MTCNNDetector(FaceDetector):
    """MTCNN face + 5-landmark detector.

    Args:
        min_face_size: smallest face searched for, in pixels (smaller ones count as no face, see FaceAligner).
        thresholds: P-Net, R-Net, O-Net confidence thresholds.
        scale_factor: image-pyramid step.
        device: TensorFlow device string, e.g. ``"CPU:0"`` or ``"GPU:0"``.
    """

    name = "mtcnn"

    def __init__(
        self,
        min_face_size: int = DEFAULT_MIN_FACE_SIZE,
        thresholds: tuple[float, float, float] = (0.6, 0.7, 0.8),
        scale_factor: float = 0.709,
        device: str = "CPU:0",
    ) -> None:
        self.min_face_size = int(min_face_size)
        self.thresholds = tuple(float(t) for t in thresholds)
        if len(self.thresholds) != 3:
            raise ValueError("thresholds: need three values (P-Net, R-Net, O-Net)")
        self.scale_factor = float(scale_factor)
        self.device = device
        self._model: Any = None

    @property
    def model(self) -> Any:
        """The underlying ``mtcnn.MTCNN`` (built on first access)."""
        if self._model is None:
            self._model = _build(self.device)
        return self._model

    def detect(self, image_rgb: np.ndarray) -> list[Detection]:
        image = check_rgb(image_rgb)
        if min(image.shape[:2]) < 12:  # smaller than the P-Net window: nothing to find
            return []
        rows = self.model.detect_faces(
            image,
            output_type="numpy",
            box_format="xywh",
            min_face_size=self.min_face_size,
            scale_factor=self.scale_factor,
            threshold_pnet=self.thresholds[0],
            threshold_rnet=self.thresholds[1],
            threshold_onet=self.thresholds[2],
        )
        rows = np.asarray(rows, np.float64).reshape(-1, 16)
        # row: image id, x, y, w, h, score, 5 landmark x, 5 landmark y
        found = [
            Detection(row[1:5], row[5], np.stack([row[6:11], row[11:16]], axis=1))
            for row in rows
            if np.all(np.isfinite(row))
        ]
        return sorted(found, key=lambda d: -d.score)

    def get_config(self) -> dict[str, Any]:
        return {
            "min_face_size": self.min_face_size,
            "thresholds": list(self.thresholds),
            "scale_factor": self.scale_factor,
        }
