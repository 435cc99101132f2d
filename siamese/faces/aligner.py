"""Photo -> aligned face: :class:`FaceAligner` (decode, detect, choose one face, align).

Choosing among several faces: the largest, most central one wins, ranked by
``area * (1 - d)`` where ``d`` is the distance from the box centre to the image centre divided by
half the image diagonal (ties broken by detector score). ``strict=True`` refuses instead.
"""

from __future__ import annotations

import collections
import concurrent.futures
import hashlib
import json
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import numpy as np
from tqdm import tqdm

from siamese.errors import InputFileError, MultipleFacesError, NoFaceError, SiameseError
from siamese.faces._cv import cv2
from siamese.faces.align import ARCFACE_TEMPLATE, align_face, center_crop
from siamese.faces.detector import DEFAULT_MIN_FACE_SIZE, Detection, FaceDetector, check_rgb
from siamese.faces.image_io import DEFAULT_MAX_PIXELS, read_image

__all__ = ["ALIGNER_VERSION", "AlignResult", "FaceAligner", "FileError", "choose_face"]

# Bump when the output of FaceAligner changes for the same settings (invalidates caches).
ALIGNER_VERSION = 1


class FileError(NamedTuple):
    """One file that could not be aligned: its path and the full message ``"<path>: <reason>"``."""

    path: str
    message: str


@dataclass
class AlignResult:
    """Output of :meth:`FaceAligner.align_files`.

    ``faces`` uint8 (n_ok, size, size, 3) in input order; ``indices[i]`` is the position in the
    input list of ``faces[i]`` and ``paths[i]`` its path. ``errors`` lists the failed files in
    input order, ``error_indices`` their positions.
    """

    faces: np.ndarray
    indices: list[int] = field(default_factory=list)
    paths: list[str] = field(default_factory=list)
    errors: list[FileError] = field(default_factory=list)
    error_indices: list[int] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.indices)


def choose_face(detections: Sequence[Detection], image_shape: tuple[int, ...]) -> Detection:
    """The largest, most central detection: max of ``area * (1 - d)`` (see module doc)."""
    if not detections:
        raise ValueError("no detections to choose from")
    h, w = image_shape[:2]
    cx, cy, half_diag = w / 2.0, h / 2.0, max(np.hypot(w, h) / 2.0, 1e-6)

    def rank(det: Detection) -> tuple[float, float]:
        x, y = det.center
        d = min(float(np.hypot(x - cx, y - cy)) / half_diag, 1.0)
        return det.area * (1.0 - d), det.score

    return max(detections, key=rank)


class FaceAligner:
    """Decode a photo, find its face, warp it onto the ArcFace template: uint8 (size, size, 3) RGB.

    Args:
        detector: a registry name (``"mtcnn"``, ``"yunet"``, ``"none"``) or a FaceDetector.
        size: side of the aligned crop in pixels (template scaled by ``size / 112``).
        strict: several faces -> MultipleFacesError instead of choosing one.
        max_pixels: decompression-bomb limit for :func:`read_image`.
        max_detect_side: larger images are shrunk to this longest side for detection only
            (landmarks are mapped back and the warp uses the full-resolution image).

    Every detector's ``refuse`` runs first, and detections smaller than its ``min_face_size`` (shorter box
    side, full-resolution pixels) are dropped: both end as NoFaceError ``"<path>: no face ... (reason)"``.
        **detector_kwargs: passed to the detector class when ``detector`` is a name.
    """

    def __init__(
        self,
        detector: str | FaceDetector = "mtcnn",
        size: int = 112,
        strict: bool = False,
        max_pixels: int = DEFAULT_MAX_PIXELS,
        max_detect_side: int = 1280,
        **detector_kwargs: Any,
    ) -> None:
        from siamese.faces import get_detector

        if isinstance(detector, FaceDetector):
            if detector_kwargs:
                raise ValueError("detector_kwargs only apply when the detector is given by name")
            self.detector = detector
        else:
            self.detector = get_detector(detector, **detector_kwargs)
        if int(size) < 8:
            raise ValueError(f"size: must be at least 8, got {size}")
        self.size = int(size)
        self.strict = bool(strict)
        self.max_pixels = int(max_pixels)
        self.max_detect_side = int(max_detect_side)

    # ----------------------------------------------------------------------------- settings
    def get_config(self) -> dict[str, Any]:
        return {
            "version": ALIGNER_VERSION,
            "detector": self.detector.name,
            "detector_config": self.detector.get_config(),
            "size": self.size,
            "template": hashlib.sha256(np.ascontiguousarray(ARCFACE_TEMPLATE).tobytes()).hexdigest()[:16],
            "strict": self.strict,
            "max_detect_side": self.max_detect_side,
        }

    def settings_key(self) -> str:
        """Stable string of everything that changes the output; safe as a cache-folder name part."""
        config = self.get_config()
        blob = json.dumps(config, sort_keys=True, separators=(",", ":"))
        digest = hashlib.sha256(blob.encode()).hexdigest()[:16]
        return f"faces-v{ALIGNER_VERSION}-{config['detector']}-{self.size}-{digest}"

    # ------------------------------------------------------------------------------- single
    def detect(self, image: np.ndarray) -> list[Detection]:
        """Detections in full-resolution coordinates, detecting on a shrunk copy of big images."""
        h, w = image.shape[:2]
        longest = max(h, w)
        if self.detector.locates_faces and longest > self.max_detect_side:
            factor = self.max_detect_side / longest
            small = cv2.resize(
                image, (max(1, round(w * factor)), max(1, round(h * factor))), interpolation=cv2.INTER_AREA
            )
            return [d.scaled(w / small.shape[1]) for d in self.detector.detect(small)]
        return self.detector.detect(image)

    def align_image(self, image: np.ndarray, source: str = "<array>") -> np.ndarray:
        """Align the face in a uint8 RGB (H, W, 3) image; errors name ``source``."""
        image = check_rgb(image, source)
        reason = self.detector.refuse(image)
        if reason is not None:
            raise NoFaceError(source, f"no face ({reason})")
        if not self.detector.locates_faces:
            return center_crop(image, self.size, source)
        found = self.detect(image)
        minimum = float(getattr(self.detector, "min_face_size", DEFAULT_MIN_FACE_SIZE))
        detections = [d for d in found if d.side >= minimum]  # the same floor for every detector
        if not detections:
            small = f" (largest {max(d.side for d in found):.0f} px, under the {minimum:g} px minimum)" if found else ""
            raise NoFaceError(source, f"no face found by the {self.detector.name} detector{small}")
        if len(detections) > 1 and self.strict:
            raise MultipleFacesError(source, f"{len(detections)} faces found (strict mode wants exactly one)")
        face = choose_face(detections, image.shape)
        return align_face(image, face.landmarks, self.size)

    def align_file(self, path: str | os.PathLike[str]) -> np.ndarray:
        """Read and align one photo file."""
        return self.align_image(read_image(path, self.max_pixels), source=os.fspath(path))

    # -------------------------------------------------------------------------------- batch
    def align_files(
        self, paths: Sequence[str | os.PathLike[str]], workers: int | None = None, progress: bool = True
    ) -> AlignResult:
        """Align many files; a bad file is recorded in ``errors`` and never stops the rest.

        Decoding runs on ``workers`` threads (default: CPU count, at most 8; OpenCV releases the
        GIL); detection runs in the calling thread, in input order, unless the detector is
        thread-safe (``"none"``), then in the workers as well. At most ``4 * workers`` decoded
        images wait in memory.
        """
        paths = [os.fspath(p) for p in paths]
        workers = max(1, int(workers) if workers else min(8, os.cpu_count() or 1))
        faces: list[np.ndarray] = []
        result = AlignResult(faces=np.empty((0, self.size, self.size, 3), np.uint8))

        # thread-safe detectors align in the workers too; others detect in this thread, in order
        in_workers = self.detector.thread_safe

        def decode(path: str) -> np.ndarray:
            image = read_image(path, self.max_pixels)
            return self.align_image(image, source=path) if in_workers else image

        def record_error(index: int, path: str, exc: BaseException) -> None:
            unexpected = f"{path}: unexpected {type(exc).__name__}: {exc}"
            message = str(exc) if isinstance(exc, InputFileError) else unexpected
            result.errors.append(FileError(path, message))
            result.error_indices.append(index)

        bar = tqdm(total=len(paths), desc=f"align ({self.detector.name})", unit="img",
                   disable=not progress, file=sys.stderr)
        with concurrent.futures.ThreadPoolExecutor(max_workers=workers) as pool:
            pending: collections.deque[tuple[int, str, concurrent.futures.Future[np.ndarray]]]
            pending = collections.deque()
            upcoming = iter(enumerate(paths))

            def refill() -> None:
                while len(pending) < 4 * workers:
                    try:
                        index, path = next(upcoming)
                    except StopIteration:
                        return
                    pending.append((index, path, pool.submit(decode, path)))

            refill()
            try:
                while pending:
                    index, path, future = pending.popleft()
                    refill()
                    try:
                        face = future.result()
                        if not in_workers:
                            face = self.align_image(face, source=path)
                    except SiameseError as exc:
                        if not isinstance(exc, InputFileError):
                            raise  # configuration problems (e.g. detector unavailable) stop the run
                        record_error(index, path, exc)
                    except Exception as exc:  # one odd file must not stop a folder
                        record_error(index, path, exc)
                    else:
                        faces.append(face)
                        result.indices.append(index)
                        result.paths.append(path)
                    bar.update(1)
            finally:
                for _, _, future in pending:
                    future.cancel()
                bar.close()
        if faces:
            result.faces = np.stack(faces)
        return result

    def __repr__(self) -> str:
        return f"FaceAligner(detector={self.detector!r}, size={self.size}, strict={self.strict})"
