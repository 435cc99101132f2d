"""Photos -> decisions with a trained model directory: embedding files, 1:1 verification, pairs evaluation.

This is the library behind ``siamese verify``, ``siamese evaluate`` and ``siamese calibrate``; the gallery
(1:N) lives in :mod:`siamese.index` and uses :class:`FaceEmbedder` for its photos.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from siamese import distances
from siamese.data.cache import PairFaces, unpack_faces
from siamese.errors import ConfigError, ModelError
from siamese.model_dir import ModelDir, check_threshold

__all__ = ["EmbeddedFiles", "FaceEmbedder", "PairDistances", "PairFaces", "VerificationResult", "Verifier",
           "load_pairs", "pair_distances", "pair_faces", "unpack_faces"]


@dataclass
class EmbeddedFiles:
    """Embeddings of the files that worked (``index`` = their positions in the input) and per-file errors."""

    embeddings: np.ndarray
    index: np.ndarray
    errors: list[tuple[str, str]]


class FaceEmbedder:
    """Aligns photos the way the model was trained (its card's alignment) and embeds them with an engine
    (:func:`siamese.runtime.select_engine`: LiteRT when the model directory has a TFLite model, else Keras)."""

    def __init__(self, model: ModelDir | str | os.PathLike[str], detector: str | None = None,
                 flip: bool = False, strict: bool = False, yunet_model: str | None = None,
                 engine: str | None = None, check_face: bool = False) -> None:
        import importlib.util

        from siamese.faces import make_aligner
        from siamese.plugins import DETECTORS
        from siamese.runtime import select_engine

        self.model_dir = model if isinstance(model, ModelDir) else ModelDir(model)
        align = self.model_dir.alignment
        name = DETECTORS.canonical(detector or align.get("detector", "mtcnn"))
        if name == "mtcnn" and importlib.util.find_spec("tensorflow") is None:
            raise ConfigError(f"{self.model_dir.path}: this model aligns faces with MTCNN, which needs TensorFlow: "
                              "pip install 'siamese[train]' (or use a model trained with the yunet detector)")
        min_size = align.get("min_face_size")
        self.aligner = make_aligner(name, int(align.get("size", self.model_dir.input_size)), strict=strict,
                                    yunet_model=yunet_model, check_face=check_face,
                                    min_face_size=int(min_size) if isinstance(min_size, int) else None)
        self.flip = flip
        self.engine = select_engine(self.model_dir, engine)

    @property
    def model(self) -> Any:
        """The Keras tower (imports Keras; the runtime path never needs it)."""
        return self.model_dir.embedding_model()

    def embed_faces(self, faces: np.ndarray) -> np.ndarray:
        """Aligned faces ``(N, S, S, 3)`` -> ``(N, dim)`` unit embeddings; ModelError if the model gives NaN/inf
        (a broken model must never turn into a decision)."""
        emb = self.engine.embed(faces, flip=self.flip)
        if not np.all(np.isfinite(emb)):
            raise ModelError(f"{self.model_dir.path}: the model produced non-finite embeddings (broken weights?)")
        return emb

    def embed_file(self, path: str | os.PathLike[str]) -> np.ndarray:
        """One photo -> ``(dim,)`` embedding. Raises the typed error of the first thing that goes wrong."""
        face = self.aligner.align_file(path)
        return self.embed_faces(face[None])[0]

    def embed_files(self, paths: list[str], progress: bool = True) -> EmbeddedFiles:
        """Many photos; a bad file is reported in ``errors`` and never stops the rest."""
        result = self.aligner.align_files(paths, progress=progress)
        faces, index, errors = unpack_faces(result)
        dim = self.model_dir.embedding_dim
        emb = self.embed_faces(faces) if len(faces) else np.zeros((0, dim), np.float32)
        return EmbeddedFiles(emb, index, errors)


@dataclass
class VerificationResult:
    """A 1:1 decision: ``same`` when ``distance <= threshold``. Either two photos (``image_a``, ``image_b``) or a
    photo and an enrolled identity (``image_a``, ``claim``)."""

    same: bool
    distance: float
    threshold: float
    distance_kind: str
    image_a: str | None = None
    image_b: str | None = None
    claim: str | None = None

    def __post_init__(self) -> None:
        if not math.isfinite(self.distance):
            raise ModelError(f"distance is {self.distance!r}: non-finite distances are errors, never decisions")

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"same": bool(self.same), "distance": float(self.distance),
                               "threshold": float(self.threshold), "distance_kind": self.distance_kind,
                               "image_a": self.image_a}
        if self.claim is not None:
            out["claim"] = self.claim
        else:
            out["image_b"] = self.image_b
        return out


class Verifier:
    """1:1 verification of two photos: accepted as the same person when distance <= threshold."""

    def __init__(self, model: ModelDir | str | os.PathLike[str], threshold: float | None = None,
                 **embedder_kwargs: Any) -> None:
        self.embedder = FaceEmbedder(model, **embedder_kwargs)
        md = self.embedder.model_dir
        self.threshold = check_threshold(threshold, "--threshold") if threshold is not None else md.threshold()
        self.distance_kind = md.distance

    def distance(self, emb_a: np.ndarray, emb_b: np.ndarray) -> float:
        return float(distances.get(self.distance_kind).rowwise(emb_a[None], emb_b[None])[0])

    def verify(self, path_a: str | os.PathLike[str], path_b: str | os.PathLike[str]) -> VerificationResult:
        a = self.embedder.embed_file(path_a)
        b = self.embedder.embed_file(path_b)
        d = self.distance(a, b)
        return VerificationResult(d <= self.threshold, d, self.threshold, self.distance_kind,
                                  image_a=str(path_a), image_b=str(path_b))


@dataclass
class PairDistances:
    """Distances of the scorable pairs of a pairs set; ``skipped`` pairs had an image that failed; ``fallbacks``
    lists ``(path, reason)`` of the photos scored on their centre crop (no face found; see ``fallback``)."""

    distances: np.ndarray
    same: np.ndarray
    folds: np.ndarray | None
    skipped: int
    errors: list[tuple[str, str]]
    fallbacks: list[tuple[str, str]] = field(default_factory=list)


def pair_faces(aligner: Any, pairs: Any, progress: bool = True, fallback: str | None = None) -> PairFaces:
    """Align each distinct image of ``pairs`` once (see :func:`siamese.data.pair_faces`)."""
    from siamese.data import pair_faces as _pair_faces

    return _pair_faces(pairs, aligner, progress=progress, fallback=fallback)


def pair_distances(embedder: FaceEmbedder, pairs: Any, progress: bool = True,
                   fallback: str | None = None) -> PairDistances:
    """Embed every distinct image of ``pairs`` once, then score each pair whose two images worked. With
    ``fallback="center"`` (what evaluate and calibrate use: a protocol scores every pair) a photo without a face is
    scored on its centre crop and listed in ``fallbacks``; only unreadable or undecodable files skip their pairs."""
    pf = pair_faces(embedder.aligner, pairs, progress=progress, fallback=fallback)
    dim = embedder.model_dir.embedding_dim
    emb = embedder.embed_faces(pf.faces) if len(pf.faces) else np.zeros((0, dim), np.float32)
    d = distances.get(embedder.model_dir.distance).rowwise(emb[pf.ia], emb[pf.ib])
    same = np.asarray(pairs.same)[pf.ok].astype(np.int32)
    folds = np.asarray(pairs.folds)
    folds = folds[pf.ok] if pairs.folds is not None and np.all(folds >= 0) else None
    return PairDistances(d.astype(np.float64), same, folds, int((~pf.ok).sum()), pf.errors, pf.fallbacks)


def load_pairs(pairs_file: str | os.PathLike[str], images: str | os.PathLike[str] | None = None) -> Any:
    """LFW pairs files (pairs.txt, View 1 files) or CSV ``path_a,path_b,same[,fold]`` by extension."""
    from siamese import data as sdata

    pairs_file = Path(pairs_file)
    if pairs_file.suffix.lower() == ".csv":
        return sdata.read_csv_pairs(pairs_file, base_dir=images)
    if images is None:
        images = pairs_file.parent / "lfw-deepfunneled"
    return sdata.read_lfw_pairs(pairs_file, images)
