"""The Python API: one function per thing a user does, each usable in one line. The ``siamese`` command only
wraps these (its ``--json`` output is the ``to_dict()`` of the result each function returns)::

    import siamese
    siamese.verify("a.jpg", "b.jpg", model="runs/lfw")          # VerificationResult(same=..., distance=...)
    siamese.enroll("alice", ["a1.jpg", "a2.jpg"], gallery="~/faces", model="runs/lfw")
    siamese.identify("probe.jpg", gallery="~/faces", model="runs/lfw").name
    siamese.represent("a.jpg", model="runs/lfw")                # (dim,) unit embedding
    siamese.train("configs/orl-smoke.yaml", out="runs/orl")
    siamese.evaluate("runs/lfw", pairs="pairsDevTest.txt")        # EvaluationReport
    siamese.calibrate("runs/lfw", pairs="pairsDevTrain.txt", far=1e-3)
    siamese.api.benchmark_lfw("configs/lfw.yaml", out="runs/lfw-view2")   # LFW View 2 by its protocol
    siamese.export("runs/lfw", out="lfw.tflite", fmt="tflite")

``model`` defaults to ``$SIAMESE_MODEL`` (or the user data dir), ``gallery`` to ``$SIAMESE_GALLERY``. Every
user-caused failure is a :class:`siamese.errors.SiameseError` whose message names the file or key and the reason.
"""

from __future__ import annotations

import copy
import json
import os
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from siamese._args import check_int, check_path, check_paths, check_real, photo_list
from siamese.errors import SiameseError

if TYPE_CHECKING:  # pragma: no cover
    from siamese.benchmark import LFWBenchmarkResult
    from siamese.evaluation import Calibration
    from siamese.model_dir import ModelDir
    from siamese.recognition import EnrollSummary, IdentifyResult
    from siamese.training import TrainResult
    from siamese.verification import VerificationResult

PathLike = str | os.PathLike[str]

__all__ = ["EvaluationReport", "ExportResult", "GalleryRemoval", "benchmark_lfw", "calibrate", "enroll",
           "enroll_folder", "evaluate", "export", "gallery_info", "gallery_names", "identify", "migrate", "open_model",
           "remove", "represent", "train", "verify"]


def open_model(model: Any = None) -> ModelDir:
    """A :class:`~siamese.model_dir.ModelDir` from a path, an open one, or the default location."""
    from siamese.model_dir import ModelDir
    from siamese.paths import default_model_dir

    if isinstance(model, ModelDir):
        return model
    if model is not None:
        return ModelDir(check_path(model, "model"))
    md = ModelDir(default_model_dir())
    _warn_if_an_older_default(md)
    return md


def _warn_if_an_older_default(md: ModelDir) -> None:
    """The user's calibrated copy of the shipped model stays the default after an upgrade that ships another model
    (its galleries are bound to it, so it is not swapped silently): say so."""
    from siamese.model_dir import CARD_FILE
    from siamese.paths import packaged_model_dir, user_model_dir

    if md.path != user_model_dir() or "about" not in md.card:  # not a copy of a shipped model
        return
    try:
        shipped = json.loads((packaged_model_dir() / CARD_FILE).read_text()).get("fingerprint")
    except (OSError, ValueError):
        return
    if shipped and shipped != md.fingerprint:
        warnings.warn(f"{md.path}: your calibrated copy of an earlier default model is in use; this version of "
                      f"siamese ships another. To move to it, remove {md.path} and run 'siamese calibrate' again "
                      "(galleries enrolled with the old model must be enrolled again)", stacklevel=3)


def _gallery_path(gallery: PathLike | None) -> Path | str:
    """A gallery address: a local directory, a milvus-lite file or a Milvus URI (default: $SIAMESE_GALLERY)."""
    from siamese.index.address import default_gallery_address, normalize_address

    if gallery is None:
        return default_gallery_address()
    if not os.fspath(check_path(gallery, "gallery")).strip():
        raise SiameseError("--gallery: empty; give a gallery (a folder, PATH.db or a Milvus URI), or leave it out "
                           "for the default one")
    return normalize_address(gallery)


def _unwritable(address: Path | str) -> bool:
    """A local gallery this process cannot write (a read-only mount, another user's files). verify --claim and
    identify, which never write, open it read-only; a writable one is opened read-write, so that an interrupted
    write is recovered first."""
    return isinstance(address, Path) and address.is_dir() and not os.access(address, os.W_OK)


# --- photos -> embeddings / decisions ------------------------------------------------------------------------
def represent(image: PathLike, model: Any = None, flip: bool = False, engine: str | None = None) -> np.ndarray:
    """One photo -> its ``(dim,)`` float32 unit embedding (aligned the way the model was trained)."""
    from siamese.verification import FaceEmbedder

    check_path(image, "image")
    return FaceEmbedder(open_model(model), flip=flip, engine=engine).embed_file(image)


def verify(image_a: PathLike, image_b: PathLike | None = None, *, claim: str | None = None, model: Any = None,
           gallery: PathLike | None = None, threshold: float | None = None, engine: str | None = None,
           check_face: bool = False) -> VerificationResult:
    """Same person? Two photos (``verify(a, b)``), or a photo against an enrolled identity
    (``verify(a, claim="alice")``). Accepted when distance <= threshold (default: the model's calibration)."""
    if (image_b is None) == (claim is None):
        raise SiameseError("give a second image or claim=NAME (one of them, not both)")
    check_paths(image_a=image_a, image_b=image_b)
    if claim is not None:
        from siamese.recognition import Recognizer

        address = _gallery_path(gallery)
        with Recognizer(open_model(model), address, threshold=threshold, engine=engine, check_face=check_face,
                        read_only=_unwritable(address)) as rec:
            return rec.verify(image_a, claim)
    from siamese.verification import Verifier

    return Verifier(open_model(model), threshold=threshold, engine=engine, check_face=check_face).verify(image_a,
                                                                                                        image_b)


def identify(image: PathLike, *, gallery: PathLike | None = None, model: Any = None, top_k: int = 5,
             threshold: float | None = None, engine: str | None = None, check_face: bool = False) -> IdentifyResult:
    """Who is this? The ``top_k`` closest enrolled identities; ``found`` when the closest is within the threshold."""
    from siamese.recognition import Recognizer

    check_path(image, "image")
    top_k = check_int(top_k, "top_k", minimum=1)
    address = _gallery_path(gallery)
    with Recognizer(open_model(model), address, threshold=threshold, engine=engine, check_face=check_face,
                    read_only=_unwritable(address)) as rec:
        return rec.identify(image, top_k=top_k)


def enroll(name: str, images: Sequence[PathLike], *, gallery: PathLike | None = None, model: Any = None,
           index: str = "flat", progress: bool = False, engine: str | None = None,
           check_face: bool = False) -> EnrollSummary:
    """Enroll photos of one person, a list of paths or one path (the gallery is created on first use, bound to the
    model)."""
    return enroll_many({name: photo_list(images, "images")}, gallery=gallery, model=model, index=index,
                       progress=progress, engine=engine, check_face=check_face)


def enroll_folder(root: PathLike, *, gallery: PathLike | None = None, model: Any = None, index: str = "flat",
                  progress: bool = False, engine: str | None = None, check_face: bool = False) -> EnrollSummary:
    """Enroll ``root/<name>/<photos>``: one identity per folder, all in one gallery transaction. A folder whose name
    cannot be an identity name (a leading space, a control character) is skipped with its reason, like a bad photo."""
    from siamese.errors import InputFileError
    from siamese.index.gallery import check_name
    from siamese.recognition import identity_folders

    found, problems = identity_folders(check_path(root, "root"))
    people = {}
    for name, photos in found.items():
        try:  # a name in two Unicode forms (NFC / NFD) stays two keys here: enroll_many makes them one identity
            check_name(name)
            people[name] = photos
        except SiameseError as e:
            problems.append({"identity": name, "reason": f"{Path(root) / name}: {e}"})
    if not people:
        raise InputFileError(root, f"no identity folder could be enrolled ({problems[0]['reason']})")
    summary = enroll_many(people, gallery=gallery, model=model, index=index, progress=progress, engine=engine,
                          check_face=check_face)
    summary.skipped.extend(problems)
    return summary


def enroll_many(people: dict[str, list[PathLike]], *, gallery: PathLike | None = None, model: Any = None,
                index: str = "flat", progress: bool = False, engine: str | None = None,
                check_face: bool = False) -> EnrollSummary:
    """Enroll several identities at once; bad photos are skipped with their reason (see ``summary.skipped``).
    ``check_face``: with a pre-aligned-crop model (detector none), refuse crops in which YuNet finds no face."""
    from siamese.plugins import INDEXES
    from siamese.recognition import Recognizer

    INDEXES.canonical(index)  # validated before anything is created
    with Recognizer(open_model(model), _gallery_path(gallery), create=True, index=index, engine=engine,
                    check_face=check_face) as rec:
        return rec.enroll_many(people, progress=progress)


# --- the gallery ---------------------------------------------------------------------------------------------
@dataclass
class GalleryRemoval:
    removed: str
    templates: int

    def to_dict(self) -> dict[str, Any]:
        return {"removed": self.removed, "templates": self.templates}


def gallery_names(gallery: PathLike | None = None) -> list[str]:
    """Enrolled identities, sorted."""
    from siamese.index import open_gallery

    with open_gallery(_gallery_path(gallery), read_only=True) as g:
        return g.names()


def gallery_info(gallery: PathLike | None = None) -> dict[str, Any]:
    """Counts, index kind, model fingerprint and file sizes of a gallery."""
    from siamese.index import open_gallery

    with open_gallery(_gallery_path(gallery), read_only=True) as g:
        return g.info()


def remove(name: str, gallery: PathLike | None = None) -> GalleryRemoval:
    """Forget a person: their templates leave the index and the catalogue, and no bytes of them remain."""
    from siamese.index import open_gallery
    from siamese.index.gallery import check_name

    check_name(name)
    with open_gallery(_gallery_path(gallery), read_only=False) as g:
        return GalleryRemoval(name, g.remove(name))


def migrate(src: PathLike, dst: PathLike, *, index: str | None = None) -> dict[str, Any]:
    """Copy a gallery to a new address (local <-> Milvus): identities, templates, provenance, model binding."""
    from siamese.index import migrate as copy_gallery

    check_path(src, "src")
    check_path(dst, "dst")
    return copy_gallery(src, dst, index=index)


# --- training and measuring ----------------------------------------------------------------------------------
def train(config: PathLike | dict[str, Any] | None, out: PathLike, *, data: PathLike | None = None,
          overrides: Sequence[str] = (), force: bool = False, progress: bool = False,
          debug: bool = False) -> TrainResult:
    """Train from a YAML config (a path or an already loaded dict), write a model directory at ``out``.

    Refuses to replace a trained model in ``out`` unless ``force``; nothing is written when the config or the
    data is bad.
    """
    from siamese import paths
    from siamese.config import load_config, validate
    from siamese.model_dir import check_writable
    from siamese.training import train as run

    check_path(out, "out")
    check_paths(data=data, config=None if isinstance(config, dict) else config)
    cfg = validate(dict(config)) if isinstance(config, dict) else load_config(config, overrides)
    # the model directory's config.yaml records the data root it was trained on, also when $SIAMESE_DATA gave it
    cfg["data"]["root"] = str(paths.data_root(data if data is not None else cfg["data"]["root"]).absolute())
    check_writable(out, force)
    return run(cfg, out, progress=progress, debug=debug, force=force)


@dataclass
class EvaluationReport:
    """Figures of a model on a pairs file (``result``: accuracy, AUC, EER, TAR@FAR, k-fold) and how they were
    obtained. ``fallbacks``: ``(path, reason)`` of the photos in which no face was found, scored on their centre
    crop; ``image_errors``: files that could not be read or decoded (their pairs are ``pairs_skipped``)."""

    result: Any
    pairs_file: str
    pairs_scored: int
    pairs_skipped: int
    image_errors: list[tuple[str, str]]
    flip: bool
    official_folds: bool
    report_files: dict[str, str] = field(default_factory=dict)
    calibration: dict[str, Any] | None = None
    fallbacks: list[tuple[str, str]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        payload = self.result.to_dict()
        payload.update(pairs_file=self.pairs_file, pairs_scored=self.pairs_scored, pairs_skipped=self.pairs_skipped,
                       image_errors=len(self.image_errors), flip=self.flip, official_folds=self.official_folds,
                       fallbacks=len(self.fallbacks),
                       fallback_files=[{"path": p, "reason": r} for p, r in self.fallbacks])
        if self.report_files:
            payload["report_files"] = dict(self.report_files)
        if self.calibration is not None:
            payload["calibration"] = self.calibration
        return payload


def evaluate(model: Any, pairs: PathLike, *, images: PathLike | None = None, flip: bool = False,
             report: PathLike | None = None, calibrate_far: float | None = None, progress: bool = False,
             engine: str | None = None) -> EvaluationReport:
    """Score a model on a pairs file: LFW ``pairs.txt`` by its 10 official folds, other files by 10 seeded
    stratified folds, so the headline accuracy always uses a threshold chosen on other pairs. Every pair is
    scored: a photo in which no face is found is scored on its centre crop (listed in ``fallbacks``); only pairs
    with an unreadable or undecodable file are skipped. With ``calibrate_far``, also store the threshold for that
    FAR in the model directory."""
    from siamese.evaluation import evaluate_distances, protocol_folds
    from siamese.verification import FaceEmbedder, load_pairs, pair_distances

    check_path(pairs, "pairs")
    check_paths(images=images, report=report)
    md = open_model(model)
    if report is not None and Path(report).exists() and not Path(report).is_dir():
        from siamese.errors import InputFileError

        raise InputFileError(report, "--report: exists and is not a directory")
    if calibrate_far is not None:  # checked before any pair is scored or any report file written
        _check_far(calibrate_far)
        _calibration_dir(md)
    pd = pair_distances(FaceEmbedder(md, flip=flip, engine=engine), load_pairs(pairs, images), progress=progress,
                        fallback="center")
    if len(pd.same) == 0:
        first = f"{pd.errors[0][0]}: {pd.errors[0][1]}" if pd.errors else "none"
        raise SiameseError(f"{pairs}: no pair could be scored (every image failed; first error: {first})")
    _both_classes(pd.same, pairs)
    result = evaluate_distances(pd.distances, pd.same, folds=protocol_folds(pd.same, pd.folds))
    out = EvaluationReport(result, str(pairs), int(len(pd.same)), pd.skipped, pd.errors, flip, pd.folds is not None,
                           fallbacks=pd.fallbacks)
    if report is not None:
        from siamese.evaluation import write_report

        files = write_report(result, pd.distances, pd.same, report)
        out.report_files = {k: str(v) for k, v in files.items()}
    if calibrate_far is not None:
        out.calibration = _store_calibration(md, pd, calibrate_far, pairs).to_dict()
    return out


def _both_classes(same: np.ndarray, pairs: PathLike) -> None:
    genuine = int((np.asarray(same) == 1).sum())
    if genuine == 0 or genuine == len(same):
        raise SiameseError(f"{pairs}: needs both genuine (same person) and impostor pairs to score, got "
                           f"{genuine} genuine and {len(same) - genuine} impostor")


def _check_far(far: float) -> None:
    if not 0.0 < check_real(far, "--far") < 1.0:
        raise SiameseError(f"--far: must be between 0 and 1, got {far!r}")


def _store_calibration(md: ModelDir, pd: Any, far: float, pairs: PathLike) -> Calibration:
    from siamese.evaluation import calibrate_threshold

    _both_classes(pd.same, pairs)  # the FAR and the target were checked before scoring
    cal = calibrate_threshold(pd.distances, pd.same, far=far,
                              meta={"source": str(pairs), "model": md.fingerprint, "distance": md.distance})
    target = _calibration_dir(md)
    cal.meta["model_dir"] = str(target)
    if target == md.path:
        md.save_calibration(cal)
        return cal
    if target.exists():
        target.rmdir()  # empty (checked): the copy is renamed into its place
    import shutil

    from siamese._files import atomic_path
    from siamese.model_dir import ModelDir

    with atomic_path(target) as staging:  # the calibrated copy appears whole, or not at all
        shutil.copytree(md.path, staging)
        ModelDir(staging, verify_weights=False).save_calibration(cal)
    return cal


def _calibration_dir(md: ModelDir) -> Path:
    """Where a calibration of ``md`` is stored: its own directory, or for the model shipped inside the package
    (never written to) :func:`siamese.paths.user_model_dir`, where a calibrated copy then becomes the default
    model. Refuses a user model directory that already holds files."""
    from siamese.errors import ConfigError
    from siamese.paths import packaged_model_dir, user_model_dir

    if md.path.resolve() != packaged_model_dir().resolve():
        return md.path
    target = user_model_dir()
    if target.exists() and any(target.iterdir()):
        raise ConfigError(f"{target}: already holds a model (or other files); calibrate that one instead "
                          f"('siamese calibrate {target} ...'), or remove it to start again from the shipped model")
    return target


def calibrate(model: Any, pairs: PathLike, *, images: PathLike | None = None, far: float = 1e-3, flip: bool = False,
              progress: bool = False, engine: str | None = None) -> Calibration:
    """Choose the decision threshold for a target FAR on a pairs file (not your test set) and store it in the model
    directory (``meta["model_dir"]`` says which). The model shipped inside the package is never changed: calibrating
    it stores a copy in the user data dir (:func:`siamese.paths.user_model_dir`), the default model from then on."""
    from siamese.verification import FaceEmbedder, load_pairs, pair_distances

    check_path(pairs, "pairs")
    check_paths(images=images)
    md = open_model(model)
    _check_far(far)  # before any pair is scored
    _calibration_dir(md)
    pd = pair_distances(FaceEmbedder(md, flip=flip, engine=engine), load_pairs(pairs, images), progress=progress,
                        fallback="center")
    return _store_calibration(md, pd, far, pairs)


def benchmark_lfw(config: PathLike | dict[str, Any] | None, out: PathLike, *, data: PathLike | None = None,
                  folds: Sequence[int] | str | None = None, overrides: Sequence[str] = (),
                  pairs: PathLike | None = None, images: PathLike | None = None,
                  max_pairs_per_fold: int | None = None, max_people: int | None = None, flip: bool = False,
                  engine: str | None = None, progress: bool = False,
                  log: Callable[[str], None] | None = None) -> LFWBenchmarkResult:
    """LFW View 2 by its protocol: per official fold, train (config ``config``) without the fold's people, choose
    the threshold on the other folds' pairs, score the fold; mean accuracy +- standard error, pooled AUC/EER/TAR,
    report.json and roc.png in ``out`` (see :mod:`siamese.benchmark`). Finished folds in ``out`` are kept and
    skipped on a rerun. ``folds``: e.g. ``[0, 1]`` or ``"0,1"`` (default all); ``max_pairs_per_fold`` /
    ``max_people`` (= ``data.max_identities``) make a miniature run, which is never the reported figure."""
    from siamese.benchmark import parse_folds, run_lfw_benchmark
    from siamese.config import load_config, set_override, validate

    check_path(out, "out")
    check_paths(data=data, pairs=pairs, images=images, config=None if isinstance(config, dict) else config)
    if isinstance(config, dict):
        raw = copy.deepcopy(config)
        for assignment in overrides:
            set_override(raw, assignment)
        cfg = validate(raw)
    else:
        cfg = load_config(config, overrides)
    if data is not None:
        cfg["data"]["root"] = str(data)
    if max_people is not None:
        if check_int(max_people, "--max-people") < 2:
            raise SiameseError(f"--max-people: must be at least 2, got {max_people}")
        cfg["data"]["max_identities"] = int(max_people)
    return run_lfw_benchmark(cfg, out, pairs_file=pairs, images=images, folds=parse_folds(folds),
                             max_pairs_per_fold=max_pairs_per_fold, flip=flip, engine=engine, progress=progress,
                             log=log)


@dataclass
class ExportResult:
    export: str
    format: str
    quantize: str | None
    accuracy: dict[str, float] | None = None
    pairs_scored: int = 0
    pairs_skipped: int = 0
    image_errors: list[tuple[str, str]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"export": self.export, "format": self.format, "quantize": self.quantize}
        if self.accuracy is not None:
            out["accuracy"] = self.accuracy
            out.update(pairs_scored=self.pairs_scored, pairs_skipped=self.pairs_skipped,
                       image_errors=[{"path": f, "reason": r} for f, r in self.image_errors])
        return out


def export(model: Any, out: PathLike | None = None, *, fmt: str = "tflite", quantize: str | None = None,
           representative: PathLike | None = None, pairs: PathLike | None = None, images: PathLike | None = None,
           progress: bool = False) -> ExportResult:
    """Export the tower for serving (TFLite float32/float16/int8 file, or SavedModel folder). Without ``out`` a
    TFLite export replaces the model directory's own runtime model (``embedding.tflite``). int8 calibrates on
    ``representative`` photos (or the pairs' photos); with ``pairs``, the export's accuracy is compared with the
    Keras model's on the same aligned faces."""
    from siamese.errors import InputFileError
    from siamese.exporting import compare_accuracy, export_model, representative_faces
    from siamese.paths import packaged_model_dir
    from siamese.verification import FaceEmbedder, load_pairs, pair_faces

    check_paths(out=out, representative=representative, pairs=pairs, images=images)
    md = open_model(model)
    shipped = packaged_model_dir().resolve()
    if out is None and md.path.resolve() == shipped:
        raise SiameseError(f"{md.path}: the model shipped in the package is never changed; give --out FILE (or "
                           "export a copy of it)")
    if out is not None and Path(out).resolve().is_relative_to(shipped):
        raise SiameseError(f"{out}: inside the model shipped in the package, which is never changed; choose another "
                           "--out")
    if representative is not None and not Path(representative).is_dir():
        raise InputFileError(representative, "--representative: not a directory")
    embedder = FaceEmbedder(md, engine="keras")
    pairs_set = load_pairs(pairs, images) if pairs is not None else None
    faces = None
    if pairs_set is not None:  # aligned before anything is written: a pairs set that cannot be scored writes nothing
        faces = pair_faces(embedder.aligner, pairs_set, progress=progress)
        if not faces.ok.any():
            first = f" (first: {faces.errors[0][0]}: {faces.errors[0][1]})" if faces.errors else ""
            raise InputFileError(pairs, f"no pair could be scored: a photo of every pair failed{first}")
    reps = None
    if quantize == "int8":
        reps = representative_faces(embedder.aligner, representative, pairs_set, progress=progress)
        if not len(reps):
            source = representative if representative is not None else pairs
            if source is not None:
                raise InputFileError(source, "--quantize int8: no face found in any of its photos to calibrate on")
    path = export_model(md, fmt, out, quantize=quantize, representative=reps)
    result = ExportResult(str(path), fmt, quantize)
    if pairs_set is not None:
        result.accuracy = compare_accuracy(md, embedder.aligner, path, pairs_set, progress=progress, faces=faces)
        result.pairs_scored, result.pairs_skipped = int(faces.ok.sum()), int((~faces.ok).sum())
        result.image_errors = list(faces.errors)
    return result
