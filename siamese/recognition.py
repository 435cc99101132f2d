"""Photos in, decisions out, against a gallery: enroll, verify a claim, identify, remove.

:class:`Recognizer` composes a :class:`siamese.verification.FaceEmbedder` (photos -> embeddings with a model
directory) with a :class:`siamese.index.Gallery` (embeddings -> enrolled identities, local or Milvus, picked by
the address) and the model's calibrated threshold. The ``siamese enroll | verify --claim | identify | gallery``
commands are thin wrappers.

Decisions use the model's distance: the gallery's inner product ``s`` of unit vectors becomes
``sqrt(2 - 2 s)`` (euclidean), ``2 - 2 s`` (squared) or ``1 - s`` (cosine); accepted when distance <= threshold.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from siamese import distances
from siamese._args import photo_list
from siamese.errors import ConfigError, GalleryError, SiameseError
from siamese.faces.image_io import photo_sha256
from siamese.index import Gallery, Source, gallery_exists, normalize_address, open_gallery, open_or_create_gallery
from siamese.index.base import source_digests
from siamese.index.gallery import check_name
from siamese.model_dir import ModelDir, check_threshold
from siamese.verification import FaceEmbedder, VerificationResult


@dataclass
class EnrollSummary:
    enrolled: dict[str, int] = field(default_factory=dict)       # name -> templates added
    skipped: list[dict[str, str]] = field(default_factory=list)  # {"file", "reason"} (or {"identity", "reason"})
    already_enrolled: dict[str, int] = field(default_factory=dict)  # name -> photos already there (not added again)

    def to_dict(self) -> dict[str, Any]:
        return {"enrolled": self.enrolled, "templates": sum(self.enrolled.values()), "skipped": self.skipped,
                "already_enrolled": self.already_enrolled}


@dataclass
class Candidate:
    name: str
    distance: float
    similarity: float
    accepted: bool


@dataclass
class IdentifyResult:
    found: bool
    name: str | None
    threshold: float
    candidates: list[Candidate]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class Recognizer:
    """A model and a gallery bound together. ``threshold`` defaults to the model's calibration: a broken
    calibration is an error at once; a missing one only when a decision needs it (enrolling does not).
    ``read_only``: open an existing gallery without ever writing to it (decisions only)."""

    def __init__(self, model: ModelDir | str | os.PathLike[str], gallery: str | os.PathLike[str],
                 threshold: float | None = None, create: bool = False, index: str = "flat",
                 read_only: bool = False, **embedder_kwargs: Any) -> None:
        self.model_dir = model if isinstance(model, ModelDir) else ModelDir(model)
        self.embedder = FaceEmbedder(self.model_dir, **embedder_kwargs)
        self._threshold: float | None = None
        if threshold is not None:
            self._threshold = check_threshold(threshold, "--threshold")
        elif self.model_dir.calibration() is not None:
            self._threshold = self.model_dir.threshold()
        self.gallery_dir = normalize_address(gallery)  # a Path (local gallery) or a Milvus address
        self._create = create and not gallery_exists(self.gallery_dir)
        self._index = index
        self._gallery: Gallery | None = None
        if not self._create:
            self._gallery = open_gallery(self.gallery_dir, self.model_dir.fingerprint, read_only=read_only)

    @property
    def threshold(self) -> float:
        """The decision threshold (a distance); ModelError when the model has no calibration and none was given."""
        if self._threshold is None:
            self._threshold = self.model_dir.threshold()
        return self._threshold

    @property
    def gallery(self) -> Gallery:
        """The gallery; a new one is created only when the first identity is enrolled (nothing written before).

        Race-safe: if another process creates the gallery meanwhile, this one opens it (both enrolments land)."""
        if self._gallery is None:
            if not self._create:
                raise GalleryError(f"{self.gallery_dir}: no gallery here")
            self._gallery = open_or_create_gallery(self.gallery_dir, self.model_dir.fingerprint,
                                                   self.model_dir.embedding_dim, index=self._index)
        return self._gallery

    def close(self) -> None:
        if self._gallery is not None:
            self._gallery.close()

    def __enter__(self) -> Recognizer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- enrolment ----------------------------------------------------------------------------------
    def enroll(self, name: str, images: list[str | os.PathLike[str]], progress: bool = False) -> EnrollSummary:
        """Enroll one identity from several photos (or one path); bad photos are skipped with their reason."""
        return self.enroll_many({name: photo_list(images, "images")}, progress=progress)

    def enroll_many(self, people: dict[str, list[str | os.PathLike[str]]], progress: bool = False) -> EnrollSummary:
        """Enroll several identities in ONE gallery transaction (all land or none). Names are checked before any
        photo is read or anything is written. A photo whose bytes are already enrolled for that name is not added
        again but counted in ``already_enrolled`` (enrolling a folder again adds only its new photos); one given
        twice in the call is added once, the repeat listed in ``skipped``."""
        if not isinstance(people, Mapping):
            raise ConfigError(f"people: expected a mapping of identity name -> photos, got {type(people).__name__}")
        merged: dict[str, list[str | os.PathLike[str]]] = {}
        for name, paths in people.items():  # one name in two Unicode forms (NFC / NFD) is one identity
            merged.setdefault(check_name(name), []).extend(photo_list(paths, f"photos of {name!r}"))
        people = merged
        summary = EnrollSummary()
        repeated: list[dict[str, str]] = []
        people, digests = self._new_photos(people, summary.already_enrolled, repeated)
        files = [str(p) for paths in people.values() for p in paths]
        owner = [name for name, paths in people.items() for _ in paths]
        embedded = self.embedder.embed_files(files, progress=progress)
        summary.skipped = [{"file": f, "reason": r} for f, r in embedded.errors] + repeated
        rows: dict[str, list[int]] = {}
        for k, i in enumerate(embedded.index.tolist()):
            rows.setdefault(owner[i], []).append(k)
        entries = []
        for name in people:
            if name not in rows:
                if people[name] or not summary.already_enrolled.get(name):
                    summary.skipped.append({"identity": name, "reason": "no usable photo"})
                continue
            ks = rows[name]
            paths = [files[embedded.index[k]] for k in ks]
            sources = [Source(digests[p], p) if p in digests else Source.from_file(p) for p in paths]
            entries.append((name, embedded.embeddings[ks], sources))
        if entries:  # checked again at write time: another process may have enrolled the same photo meanwhile
            added = self.gallery.add_many(entries, fingerprint=self.model_dir.fingerprint, new_sources_only=True)
            for (name, vectors, _), ids in zip(entries, added, strict=True):
                if ids:
                    summary.enrolled[name] = len(ids)
                if len(vectors) > len(ids):
                    summary.already_enrolled[name] = summary.already_enrolled.get(name, 0) + len(vectors) - len(ids)
        return summary

    def _new_photos(self, people: dict[str, list[str | os.PathLike[str]]], already: dict[str, int],
                    skipped: list[dict[str, str]]) -> tuple[dict[str, list[str | os.PathLike[str]]], dict[str, str]]:
        """``people`` without the photos whose bytes are already among the name's templates (counted per name in
        ``already``) or were given earlier for the same name (listed in ``skipped``), and the sha256 of each photo
        kept (its template's source). A file that cannot be read is kept: embedding reports it. The gallery checks
        again when it writes (``new_sources_only``), so two processes enrolling the same photo at once add it once."""
        gallery = self._gallery
        out: dict[str, list[str | os.PathLike[str]]] = {}
        digests: dict[str, str] = {}
        for name, paths in people.items():
            enrolled = source_digests(gallery.sources(name)) if gallery is not None and name in gallery else set()
            first: dict[str, str] = {}
            out[name] = []
            for path in paths:
                try:
                    sha = photo_sha256(path)
                except SiameseError:
                    out[name].append(path)
                    continue
                if sha in enrolled:
                    already[name] = already.get(name, 0) + 1
                elif sha in first:
                    skipped.append({"file": str(path), "reason": f"the same photo as {first[sha]}, given again"})
                else:
                    first[sha] = str(path)
                    digests[str(path)] = sha
                    out[name].append(path)
        return out, digests

    # -- decisions ----------------------------------------------------------------------------------
    def _distance(self, similarity: Any) -> Any:
        return distances.get(self.model_dir.distance).from_similarity(similarity)

    def verify(self, image: str | os.PathLike[str], claim: str) -> VerificationResult:
        """Is the person in ``image`` the enrolled ``claim``? Compared with the closest of its templates."""
        check_name(claim)
        templates = self.gallery.templates(claim)
        emb = self.embedder.embed_file(image)
        distance = float(np.min(self._distance(templates @ emb)))
        return VerificationResult(distance <= self.threshold, distance, self.threshold, self.model_dir.distance,
                                  image_a=str(image), claim=claim)

    def identify(self, image: str | os.PathLike[str], top_k: int = 5) -> IdentifyResult:
        """1:N: the ``top_k`` closest identities; found when the closest is within the threshold."""
        emb = self.embedder.embed_file(image)
        return self.identify_embeddings(emb[None], top_k)[0]

    def identify_embeddings(self, embeddings: np.ndarray, top_k: int = 5) -> list[IdentifyResult]:
        out = []
        for hits in self.gallery.search(embeddings, k=top_k, fingerprint=self.model_dir.fingerprint):
            cands = []
            for m in hits:
                d = float(self._distance(m.similarity))
                cands.append(Candidate(m.name, d, float(m.similarity), d <= self.threshold))
            found = bool(cands) and cands[0].accepted
            out.append(IdentifyResult(found, cands[0].name if found else None, self.threshold, cands))
        return out

    def remove(self, name: str) -> int:
        return self.gallery.remove(name)


def identity_folders(root: str | os.PathLike[str]) -> tuple[dict[str, list[str]], list[dict[str, str]]]:
    """``root/<identity>/<photos>`` -> ``({identity: [photo paths]}, problems)`` for enrollment, in the order of
    :func:`siamese.data.read_identity_folders`. Unlike that training reader it drops nothing silently: every
    non-hidden entry with an image suffix is a photo (a broken link or a folder then fails as a photo, with its
    reason), and a folder that cannot be listed is a problem ``{"identity", "reason"}``. Raises InputFileError if
    ``root`` is not a listable folder or holds no identity folder."""
    from siamese.data.readers import list_identity_folders
    from siamese.errors import InputFileError, os_reason

    people: dict[str, list[str]] = {}
    problems: list[dict[str, str]] = []
    for person, entries in list_identity_folders(root):
        if isinstance(entries, OSError):
            problems.append({"identity": person.name, "reason": f"{person}: cannot list ({os_reason(entries)})"})
        elif entries:
            people[person.name] = [str(f) for f in entries]
        else:
            problems.append({"identity": person.name, "reason": f"{person}: no photo (*.jpg, *.png, ...)"})
    if not people and not problems:
        raise InputFileError(root, "no identity folder")
    return people, problems
