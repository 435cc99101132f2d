"""From photo to aligned face: decoding, face detection, alignment onto the ArcFace template.

Public API::

    read_image(path, max_pixels=40_000_000) -> uint8 RGB (H, W, 3)
    get_detector(name, **kwargs) -> FaceDetector        # "mtcnn" (default), "yunet", "none"
    align_face(image, landmarks, size=112) -> uint8 (size, size, 3)
    FaceAligner(detector="mtcnn", size=112, strict=False, ...).align_image/align_file/align_files
"""

from __future__ import annotations

import os
from typing import Any

from siamese import plugins as _plugins
from siamese.faces._cv import cv2  # noqa: F401  (first: sets OpenCV's log level to errors only)
from siamese.faces.align import ARCFACE_TEMPLATE, TEMPLATE_SIZE, align_face, center_crop, similarity_transform
from siamese.faces.aligner import ALIGNER_VERSION, AlignResult, FaceAligner, FileError, choose_face
from siamese.faces.detector import LANDMARK_NAMES, Detection, FaceDetector
from siamese.faces.image_io import DEFAULT_MAX_PIXELS, decode_image, parse_header, read_image
from siamese.faces.mtcnn_detector import MTCNNDetector
from siamese.faces.none_detector import NoDetector
from siamese.faces.yunet_detector import YuNetDetector, resolve_yunet_model

__all__ = [
    "ALIGNER_VERSION",
    "ARCFACE_TEMPLATE",
    "DEFAULT_MAX_PIXELS",
    "DETECTORS",
    "LANDMARK_NAMES",
    "TEMPLATE_SIZE",
    "AlignResult",
    "Detection",
    "FaceAligner",
    "FaceDetector",
    "FileError",
    "MTCNNDetector",
    "NoDetector",
    "YuNetDetector",
    "align_face",
    "center_crop",
    "choose_face",
    "decode_image",
    "get_detector",
    "make_aligner",
    "parse_header",
    "read_image",
    "resolve_yunet_model",
    "similarity_transform",
]

#: The one table of face detectors (``siamese.plugins.DETECTORS``); iterate it for the names.
DETECTORS = _plugins.DETECTORS


def get_detector(name: str, **kwargs: Any) -> FaceDetector:
    """Create the detector registered as ``name`` in :data:`siamese.plugins.DETECTORS` (``"mtcnn"``,
    ``"yunet"``, ``"none"``, or a plug-in); ConfigError naming the choices if unknown."""
    return DETECTORS.build(name, **kwargs)


def make_aligner(detector: str, size: int, *, strict: bool = False, yunet_model: str | os.PathLike[str] | None = None,
                 min_face_size: int | None = None, check_face: bool = False) -> FaceAligner:
    """The one way training and the runtime build an aligner from settings (a config's ``faces`` section or a
    model card's ``alignment``): each option goes to the detectors whose constructor takes it."""
    import inspect

    cls = DETECTORS.get(detector)
    params = inspect.signature(cls).parameters
    wanted = {"model_path": yunet_model, "yunet_model": yunet_model, "min_face_size": min_face_size,
              "check_face": check_face or None}
    kwargs = {k: v for k, v in wanted.items() if v is not None and k in params}
    if check_face and "check_face" not in params:
        from siamese.errors import ConfigError

        raise ConfigError(f"faces.check_face: only applies to the 'none' detector (pre-aligned crops), "
                          f"not {detector!r}")
    return FaceAligner(detector=DETECTORS.canonical(detector), size=size, strict=strict, **kwargs)
