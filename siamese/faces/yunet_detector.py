"""YuNet (OpenCV ``cv2.FaceDetectorYN``) with the 2023mar ONNX model, checksum-verified.

The model path comes from the ``model_path`` argument, else ``$SIAMESE_YUNET``, else
``<cache_dir>/models/face_detection_yunet_2023mar.onnx``, downloaded once from the OpenCV model
zoo when missing (temp file, sha256 verified, atomic rename). YuNet lists the subject's right eye
first, i.e. the *image-left* eye, so its five points are already in ArcFace template order.
"""

from __future__ import annotations

import hashlib
import os
import threading
import urllib.request
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
from filelock import FileLock

from siamese._files import atomic_writer, file_sha256
from siamese.errors import DetectorUnavailableError
from siamese.faces._cv import cv2
from siamese.faces.detector import DEFAULT_MIN_FACE_SIZE, Detection, FaceDetector, check_rgb
from siamese.paths import cache_dir

__all__ = ["YUNET_FILENAME", "YUNET_SHA256", "YUNET_URL", "YuNetDetector", "resolve_yunet_model"]

YUNET_FILENAME = "face_detection_yunet_2023mar.onnx"
YUNET_SHA256 = "8f2383e4dd3cfbb4553ea8718107fc0423210dc964f9f4280604804ed2552fa4"
YUNET_URL = (
    "https://github.com/opencv/opencv_zoo/raw/main/models/face_detection_yunet/" + YUNET_FILENAME
)


def _fetch(url: str, out: BinaryIO) -> None:
    """Copy the resource at ``url`` (https or file) into ``out``. Tests replace this function."""
    with urllib.request.urlopen(url, timeout=60) as response:  # noqa: S310 - fixed or user URL
        for block in iter(lambda: response.read(1 << 16), b""):
            out.write(block)


def _verify(path: Path) -> None:
    if not path.is_file():
        raise DetectorUnavailableError(f"yunet: model file {path} not found")
    actual = file_sha256(path)
    if actual != YUNET_SHA256:
        raise DetectorUnavailableError(
            f"yunet: model file {path} has sha256 {actual}, expected {YUNET_SHA256}"
        )


def download_yunet(dest: Path, url: str = YUNET_URL) -> Path:
    """Download the model to ``dest`` once, through the crash-safe writer: the bytes are hashed as they arrive and
    a download whose sha256 is not the model's is never renamed into place."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(dest) + ".lock"):
        if dest.is_file() and file_sha256(dest) == YUNET_SHA256:
            return dest
        try:
            with atomic_writer(dest, mode=0o644) as handle:
                digest = hashlib.sha256()

                class _Hashing:
                    def write(self, block: bytes) -> None:
                        digest.update(block)
                        handle.write(block)

                _fetch(url, _Hashing())
                if digest.hexdigest() != YUNET_SHA256:
                    raise DetectorUnavailableError(
                        f"yunet: download from {url} has sha256 {digest.hexdigest()}, expected {YUNET_SHA256}")
        except DetectorUnavailableError:
            raise
        except Exception as exc:
            raise DetectorUnavailableError(f"yunet: cannot download the model from {url} ({exc})") from exc
    return dest


def resolve_yunet_model(
    model_path: str | os.PathLike[str] | None = None, download: bool = True, url: str = YUNET_URL
) -> Path:
    """Path of a verified YuNet model: argument, ``$SIAMESE_YUNET``, cache (downloading if allowed)."""
    explicit = model_path or os.environ.get("SIAMESE_YUNET")
    if explicit:
        path = Path(explicit).expanduser()
        _verify(path)
        return path
    path = cache_dir() / "models" / YUNET_FILENAME
    if path.is_file():
        _verify(path)
        return path
    if not download:
        raise DetectorUnavailableError(
            f"yunet: model not found at {path}; set SIAMESE_YUNET or allow the download"
        )
    return download_yunet(path, url)


class YuNetDetector(FaceDetector):
    """YuNet face + 5-landmark detector (fast, CPU). Not thread-safe: one per thread.

    Args:
        model_path: ONNX file; default see module doc.
        score_threshold: minimum face score.
        nms_threshold: IoU threshold of the non-maximum suppression.
        top_k: candidates kept before NMS.
        download: allow downloading the model into the cache when no file is found.
        min_face_size: smaller faces (shorter box side, pixels) count as no face (see FaceAligner).
    """

    name = "yunet"

    def __init__(
        self,
        model_path: str | os.PathLike[str] | None = None,
        score_threshold: float = 0.6,
        nms_threshold: float = 0.3,
        top_k: int = 5000,
        download: bool = True,
        min_face_size: int = DEFAULT_MIN_FACE_SIZE,
    ) -> None:
        self.min_face_size = int(min_face_size)
        self.model_path = resolve_yunet_model(model_path, download=download)
        self.score_threshold = float(score_threshold)
        self.nms_threshold = float(nms_threshold)
        self.top_k = int(top_k)
        self._lock = threading.Lock()
        try:
            self._net = cv2.FaceDetectorYN.create(
                str(self.model_path), "", (320, 320), self.score_threshold, self.nms_threshold, self.top_k
            )
        except cv2.error as exc:
            raise DetectorUnavailableError(f"yunet: OpenCV cannot load {self.model_path} ({exc})") from exc

    def detect(self, image_rgb: np.ndarray) -> list[Detection]:
        image = check_rgb(image_rgb)
        h, w = image.shape[:2]
        bgr = cv2.cvtColor(image, cv2.COLOR_RGB2BGR)
        with self._lock:
            self._net.setInputSize((w, h))
            _, faces = self._net.detect(bgr)
        if faces is None:
            return []
        # row: x, y, w, h, 5 landmarks (x, y) from image-left eye to image-right mouth corner, score
        found = [Detection(row[0:4], row[14], row[4:14].reshape(5, 2)) for row in np.asarray(faces)]
        return sorted(found, key=lambda d: -d.score)

    def get_config(self) -> dict[str, Any]:
        return {
            "model_sha256": YUNET_SHA256,
            "score_threshold": self.score_threshold,
            "nms_threshold": self.nms_threshold,
            "top_k": self.top_k,
            "min_face_size": self.min_face_size,
        }
