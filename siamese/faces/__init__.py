"""From photo to aligned face: decoding, face detection, alignment onto the ArcFace template.

Public API::

    read_image(path, max_pixels=40_000_000) -> uint8 RGB (H, W, 3)
    get_detector(name, **kwargs) -> FaceDetector        # "mtcnn" (default), "yunet", "none"
    align_face(image, landmarks, size=112) -> uint8 (size, size, 3)
    FaceAligner(detector="mtcnn", size=112, strict=False, ...).align_image/align_file/align_files
"""

from __future__ import annotations

from typing import Any

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
    "parse_header",
    "read_image",
    "resolve_yunet_model",
    "similarity_transform",
]

DETECTORS: dict[str, type[FaceDetector]] = {
    MTCNNDetector.name: MTCNNDetector,
    YuNetDetector.name: YuNetDetector,
    NoDetector.name: NoDetector,
}


def get_detector(name: str, **kwargs: Any) -> FaceDetector:
    """Create the detector registered as ``name`` (``"mtcnn"``, ``"yunet"``, ``"none"``)."""
    try:
        cls = DETECTORS[name.lower()]
    except (KeyError, AttributeError):
        from siamese.errors import ConfigError

        raise ConfigError(f"detector: unknown detector {name!r}; choose one of {sorted(DETECTORS)}") from None
    return cls(**kwargs)
