"""The LFW View 2 protocol as one run: ``siamese benchmark lfw`` / :func:`siamese.api.benchmark_lfw`.

For each official fold ``k`` of ``pairs.txt`` (10 blocks of 600 pairs in file order, read by
:func:`siamese.data.read_lfw_pairs`):

1. train a model (:func:`siamese.training.train`) on the LFW people who appear in none of fold ``k``'s 600 pairs
   (``prepare_data(exclude_people=...)``; every person of the fold is left out, whatever ``--max-pairs-per-fold``);
2. embed every benchmark pair's photos with that model;
3. choose the accuracy-maximising threshold on the pairs of the *other* folds and score fold ``k`` with it.

The figure reported is the mean of the fold accuracies +- the standard error ``std(ddof=1) / sqrt(folds)``
(:mod:`siamese.evaluation.protocol`); AUC, EER and TAR@FAR are pooled over the folds, each fold's pairs scored by
that fold's own model. Faces are aligned once for all folds (the on-disk cache, which training uses as well);
a photo in which no face is found is scored on its centre crop (``pair_faces(fallback="center")``).

Layout of ``out``: ``fold-K/model/`` (the fold's model directory) and ``fold-K/fold.json`` (written last,
crash-safely: the fold's accuracy, threshold, training people and the distances of every benchmark pair under
its model), then ``report.json`` and ``roc.png``. A rerun with the same settings skips every fold that has its
``fold.json``; a fold interrupted before that file is trained again.
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from siamese._files import atomic_write_text, file_sha256
from siamese.errors import ConfigError, InputFileError, SiameseError

__all__ = ["FOLD_FILE", "CategoryLabel", "FoldResult", "LFWBenchmarkResult", "lfw_category", "run_lfw_benchmark"]

FOLD_FILE = "fold.json"
FOLD_FORMAT = "siamese-lfw-fold/1"
LFW_PAIRS = Path("lfw") / "pairs.txt"
LFW_IMAGES = Path("lfw") / "lfw-deepfunneled"

#: The LFW result categories (Huang & Learned-Miller, "Labeled Faces in the Wild: Updates and New Reporting
#: Procedures", UMass Amherst TR UM-CS-2014-003, and the LFW results page).
UNRESTRICTED_NO_OUTSIDE = "Unrestricted, No Outside Data"
UNRESTRICTED_LABEL_FREE = "Unrestricted, Label-Free Outside Data"
UNRESTRICTED_LABELED = "Unrestricted, Labeled Outside Data"

ASSUMPTIONS = (
    "Unrestricted: training uses the identity labels (folder names) of the training people to form pairs and "
    "batches, not only the same/different labels of the training folds' pairs.",
    "Training people are all LFW people (with at least data.min_images photos, and with train.pk.singletons also "
    "those with one) who appear in none of the scored "
    "fold's 600 pairs. The official people-to-fold assignment (people.txt) is not in the data folder, so people "
    "of that fold who appear in none of its pairs may be trained on; no scored pair involves them.",
    "The threshold of fold k is chosen on the other folds' pairs scored by fold k's model (their people were "
    "training people), as the protocol prescribes.",
    "A photo in which no face is found is scored on its centre crop (the 'none' detector's path), never dropped; "
    "such photos are listed under fallback_files.",
)


@dataclass(frozen=True)
class CategoryLabel:
    """The LFW category a run belongs to, and why."""

    label: str
    reasons: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"label": self.label, "reasons": list(self.reasons)}


def lfw_category(faces_cfg: dict[str, Any], train_dir: Path, images_dir: Path,
                 teacher: str | None = None) -> CategoryLabel:
    """The LFW category of a benchmark run from its alignment settings, its training images and its teacher.

    * a pretrained teacher (``teacher.name``; e.g. dlib, trained on millions of identity-labelled faces from
      outside LFW): identity-labelled outside data;
    * training images other than the benchmark's images folder: identity-labelled outside data;
    * a face detector (mtcnn, yunet; or the ``none`` detector's YuNet face check) trained elsewhere with face boxes
      and landmarks but no identity labels: label-free outside data;
    * ``none`` on the deep-funneled images: no outside data (deep funneling is LFW's own unsupervised alignment,
      Huang, Mattar, Lee, Learned-Miller, NIPS 2012; assumed not to count as outside data).
    """
    reasons = ["the training people's identity labels form the training pairs (Unrestricted)"]
    detector = str(faces_cfg["detector"])
    if teacher is not None:
        reasons.append(f"the student learns from the {teacher} teacher, a model trained on identity-labelled faces "
                       "from outside LFW (Labeled Outside Data)")
        return CategoryLabel(UNRESTRICTED_LABELED, tuple(reasons))
    if Path(train_dir).resolve() != Path(images_dir).resolve():
        reasons.append(f"training images ({train_dir}) are not the benchmark's images folder ({images_dir}): "
                       "treated as identity-labelled outside data")
        return CategoryLabel(UNRESTRICTED_LABELED, tuple(reasons))
    if detector != "none" or faces_cfg.get("check_face"):
        which = detector if detector != "none" else "yunet (face check)"
        reasons.append(f"faces are located and aligned with the {which} detector, trained on outside data with face "
                       "boxes and landmarks but no identity labels (Label-Free Outside Data)")
        return CategoryLabel(UNRESTRICTED_LABEL_FREE, tuple(reasons))
    reasons.append("faces are centre crops of the deep-funneled images (LFW's own unsupervised alignment); no "
                   "detector, landmarks or pre-trained weights from outside LFW")
    return CategoryLabel(UNRESTRICTED_NO_OUTSIDE, tuple(reasons))


@dataclass
class FoldResult:
    """One fold: accuracy of fold ``fold``'s pairs at the threshold chosen on the other folds' pairs, both scored by
    the model trained without the fold's people. ``distances``: every benchmark pair (``pair_index``) under it."""

    fold: int
    accuracy: float
    threshold: float
    test_pairs: int
    threshold_pairs: int
    excluded_people: int
    train_people: list[str]
    training_data: dict[str, Any]
    model_dir: str
    seconds: float
    pair_index: list[int]
    distances: list[float]
    resumed: bool = False

    def summary(self) -> dict[str, Any]:
        """The fold without its per-pair distances and people list (what report.json holds)."""
        return {"fold": self.fold, "accuracy": self.accuracy, "threshold": self.threshold,
                "test_pairs": self.test_pairs, "threshold_pairs": self.threshold_pairs,
                "excluded_people": self.excluded_people, "train_people": len(self.train_people),
                "train_images": self.training_data.get("train_images"), "model_dir": self.model_dir,
                "seconds": self.seconds, "resumed": self.resumed}

    def to_record(self, settings: str) -> dict[str, Any]:
        out = {k: v for k, v in vars(self).items() if k != "resumed"}
        return {"format": FOLD_FORMAT, "settings": settings, **out}

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> FoldResult:
        keys = set(cls.__dataclass_fields__) - {"resumed"}
        return cls(**{k: record[k] for k in keys}, resumed=True)


@dataclass
class LFWBenchmarkResult:
    """LFW View 2 by its protocol (see module doc). ``mean_accuracy +- standard_error`` is the reported figure;
    ``complete`` says whether it covers all 10 folds and every pair (not a miniature run)."""

    folds: list[FoldResult]
    pooled: dict[str, Any]
    category: CategoryLabel
    pairs_file: str
    pairs_scored: int
    pairs_skipped: int
    image_errors: list[tuple[str, str]]
    fallbacks: list[tuple[str, str]]
    max_pairs_per_fold: int | None
    flip: bool
    out: str
    complete: bool
    report_files: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    @property
    def fold_accuracies(self) -> list[float]:
        return [f.accuracy for f in self.folds]

    def kfold(self) -> dict[str, Any]:
        """Mean, sample standard deviation (ddof=1), standard error (std / sqrt(k)); the last two None for k < 2."""
        acc = np.asarray(self.fold_accuracies, dtype=np.float64)
        std = float(np.std(acc, ddof=1)) if acc.size >= 2 else None
        return {"n_folds": int(acc.size), "fold_ids": [f.fold for f in self.folds],
                "fold_accuracies": acc.tolist(), "fold_thresholds": [f.threshold for f in self.folds],
                "mean_accuracy": float(acc.mean()), "std": std,
                "standard_error": std / float(np.sqrt(acc.size)) if std is not None else None,
                "std_population": float(np.std(acc, ddof=0))}

    def to_dict(self) -> dict[str, Any]:
        kf = self.kfold()
        return {
            "benchmark": "LFW View 2",
            "protocol": "per official fold: train without the fold's people, threshold from the other folds' pairs, "
                        "score the fold; mean +- standard error (ddof=1 / sqrt(folds))",
            "category": self.category.to_dict(),
            "assumptions": list(ASSUMPTIONS),
            "mean_accuracy": kf["mean_accuracy"], "standard_error": kf["standard_error"], "std": kf["std"],
            "kfold": kf,
            "folds": [f.summary() for f in self.folds],
            "pooled": self.pooled,
            "pairs_file": self.pairs_file, "pairs_scored": self.pairs_scored, "pairs_skipped": self.pairs_skipped,
            "image_errors": [{"path": p, "reason": r} for p, r in self.image_errors],
            "fallbacks": len(self.fallbacks),
            "fallback_files": [{"path": p, "reason": r} for p, r in self.fallbacks],
            "max_pairs_per_fold": self.max_pairs_per_fold, "flip": self.flip, "out": self.out,
            "complete": self.complete, "trained": sum(not f.resumed for f in self.folds),
            "resumed": [f.fold for f in self.folds if f.resumed],
            "report_files": dict(self.report_files), "notes": list(self.notes),
        }


def miniature_index(pairs: Any, max_pairs_per_fold: int | None) -> np.ndarray:
    """Positions of the benchmark pairs: all, or per fold the first ``ceil(n/2)`` genuine and ``floor(n/2)``
    impostor pairs in file order."""
    if max_pairs_per_fold is None:
        return np.arange(len(pairs))
    if max_pairs_per_fold < 2:
        raise ConfigError(f"--max-pairs-per-fold: must be at least 2 (a genuine and an impostor pair), got "
                          f"{max_pairs_per_fold}")
    keep: list[np.ndarray] = []
    n_gen = (max_pairs_per_fold + 1) // 2
    for k in np.unique(pairs.folds):
        in_fold = pairs.folds == k
        keep.append(np.flatnonzero(in_fold & (pairs.same == 1))[:n_gen])
        keep.append(np.flatnonzero(in_fold & (pairs.same == 0))[:max_pairs_per_fold - n_gen])
    return np.sort(np.concatenate(keep))


def _settings(cfg: dict[str, Any], pairs_file: Path, index: np.ndarray, flip: bool) -> str:
    """Fingerprint of everything that makes a finished fold reusable (the data root itself may move)."""
    cfg = copy.deepcopy(cfg)
    cfg["data"].pop("root", None)
    blob = json.dumps({"config": cfg, "pairs_sha256": file_sha256(pairs_file), "pairs": index.tolist(),
                       "flip": bool(flip), "fallback": "center"}, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def _finished(fold_dir: Path, settings: str) -> FoldResult | None:
    """The fold's result when it finished under the same settings; None when it did not finish."""
    path = fold_dir / FOLD_FILE
    if not path.exists():
        return None
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
        if record.get("format") != FOLD_FORMAT:
            raise ValueError(f"format {record.get('format')!r}")
        result = FoldResult.from_record(record)
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise SiameseError(f"{path}: unreadable fold result ({e}); remove {fold_dir} to run the fold again") from None
    if record.get("settings") != settings:
        raise ConfigError(f"{fold_dir}: finished with other settings (config, pairs file, --max-pairs-per-fold or "
                          "--flip); use another --out, or remove the folder to run the fold again")
    return result


def _score_fold(model_dir: Path, pf: Any, same: np.ndarray, fold_of: np.ndarray, k: int, flip: bool,
                engine: str | None) -> tuple[np.ndarray, float, float]:
    """Distances of every scored pair under the fold's model, the threshold chosen on the other folds' pairs, and
    fold ``k``'s accuracy at it."""
    from siamese import distances
    from siamese.evaluation import accuracy_at, best_threshold
    from siamese.verification import FaceEmbedder

    embedder = FaceEmbedder(model_dir, flip=flip, engine=engine)
    emb = embedder.embed_faces(pf.faces)
    d = distances.get(embedder.model_dir.distance).rowwise(emb[pf.ia], emb[pf.ib]).astype(np.float64)
    test = fold_of == k
    threshold, _ = best_threshold(d[~test], same[~test])
    return d, float(threshold), float(accuracy_at(d[test], same[test], threshold))


def _roc_png(folds: list[FoldResult], same: np.ndarray, fold_of: np.ndarray, pooled: Any, path: Path) -> Path:
    """ROC (TAR vs FAR, log FAR) of each fold's pairs under its own model, and of all folds pooled."""
    from siamese.evaluation import operating_points
    from siamese.evaluation.report import new_figure, roc_axes, save_png

    fig, ax = new_figure(6.0, 4.5)
    for f in folds:
        test = fold_of == f.fold
        pts = operating_points(np.asarray(f.distances)[test], same[test])
        keep = pts.far > 0
        ax.step(pts.far[keep], pts.tar[keep], where="post", linewidth=0.8, alpha=0.6,
                label=f"fold {f.fold} (acc {f.accuracy:.3f})")
    keep = pooled.far > 0
    ax.step(pooled.far[keep], pooled.tar[keep], where="post", color="black", linewidth=1.8, label="pooled")
    roc_axes(ax, pooled.n_impostor, f"LFW View 2 ROC: {len(folds)} fold(s), each by its own model", legend_size=7,
             columns=2)
    return save_png(fig, path)


def run_lfw_benchmark(cfg: dict[str, Any], out: str | os.PathLike[str], *,
                      pairs_file: str | os.PathLike[str] | None = None,
                      images: str | os.PathLike[str] | None = None, folds: Iterable[int] | None = None,
                      max_pairs_per_fold: int | None = None, flip: bool = False, engine: str | None = None,
                      progress: bool = False, log: Callable[[str], None] | None = None) -> LFWBenchmarkResult:
    """Run the LFW View 2 protocol for ``folds`` (default: all) with the validated config ``cfg`` (see module doc).

    ``pairs_file`` defaults to ``<data root>/lfw/pairs.txt``, ``images`` to ``<data root>/lfw/lfw-deepfunneled``.
    ``log`` receives one line per fold start and end. Finished folds in ``out`` are reused (same settings only).
    """
    from siamese import paths
    from siamese.data import pair_faces, read_lfw_pairs
    from siamese.evaluation import evaluate_distances, operating_points
    from siamese.training import make_aligner, prepare_data, train

    say = log or (lambda _line: None)
    cfg = copy.deepcopy(cfg)
    cfg["faces"]["cache"] = True  # faces are aligned once for every fold (training reads the same cache)
    root = paths.data_root(cfg["data"]["root"])
    pairs_path = Path(pairs_file) if pairs_file is not None else root / LFW_PAIRS
    images_dir = Path(images) if images is not None else root / LFW_IMAGES
    all_pairs = read_lfw_pairs(pairs_path, images_dir)
    fold_ids = sorted(set(all_pairs.folds.tolist()) - {-1})
    if len(fold_ids) < 2:
        raise ConfigError(f"{pairs_path}: not a View 2 pairs file (it has no folds; View 1 files are for development)")
    wanted = sorted(set(fold_ids if folds is None else folds))
    unknown = [k for k in wanted if k not in fold_ids]
    if unknown or not wanted:
        raise ConfigError(f"--folds: {unknown or 'none given'} not among the folds of {pairs_path} "
                          f"(0..{fold_ids[-1]})")
    index = miniature_index(all_pairs, max_pairs_per_fold)
    bench = all_pairs.select(index)
    settings = _settings(cfg, pairs_path, index, flip)
    category = lfw_category(cfg["faces"], root / cfg["data"]["train"], images_dir, cfg["teacher"]["name"])

    pf = pair_faces(bench, make_aligner(cfg["faces"]), cache=True, progress=progress, fallback="center")
    same = bench.same[pf.ok].astype(np.int64)
    fold_of = bench.folds[pf.ok]
    pair_index = index[pf.ok].tolist()
    for k in wanted:  # a fold without scorable pairs (every photo unreadable: a wrong --images) would train for nothing
        if not (fold_of == k).any() or not (fold_of != k).any():
            first = f" (first: {pf.errors[0][0]}: {pf.errors[0][1]})" if pf.errors else ""
            whose = "its own" if not (fold_of == k).any() else "the other folds'"
            raise InputFileError(images_dir, f"fold {k}: none of {whose} pairs could be read{first}")
    out = Path(out)  # made by the first fold's training, once its config is known to be usable
    if out.exists() and not out.is_dir():
        raise InputFileError(out, "exists and is not a folder")
    results: list[FoldResult] = []
    for n, k in enumerate(wanted, 1):
        fold_dir = out / f"fold-{k}"
        tag = f"fold {k} ({n}/{len(wanted)})"
        done = _finished(fold_dir, settings)
        if done is not None:
            if done.pair_index != pair_index:  # a photo became (un)readable since: rescore, never retrain
                d, done.threshold, done.accuracy = _score_fold(Path(done.model_dir), pf, same, fold_of, k, flip,
                                                               engine)
                done.pair_index, done.distances = pair_index, d.tolist()
                done.test_pairs, done.threshold_pairs = int((fold_of == k).sum()), int((fold_of != k).sum())
                atomic_write_text(fold_dir / FOLD_FILE, json.dumps(done.to_record(settings), allow_nan=False) + "\n")
            say(f"{tag}: finished earlier ({fold_dir}): accuracy {done.accuracy:.4f}")
            results.append(done)
            continue
        start = time.time()
        people = all_pairs.fold(k).people()
        say(f"{tag}: training without its {len(people)} people")
        data = prepare_data(cfg, progress=progress, exclude_people=people)
        leaked = people.intersection(data.people)
        if leaked:  # prepare_data's contract; checked because a leak would void the figure
            raise SiameseError(f"fold {k}: people of the scored fold in training: {sorted(leaked)[:5]}")
        train(cfg, fold_dir / "model", progress=progress, data=data, force=True)
        d, threshold, accuracy = _score_fold(fold_dir / "model", pf, same, fold_of, k, flip, engine)
        result = FoldResult(fold=k, accuracy=accuracy, threshold=threshold, test_pairs=int((fold_of == k).sum()),
                            threshold_pairs=int((fold_of != k).sum()), excluded_people=len(people),
                            train_people=list(data.people), training_data=dict(data.summary),
                            model_dir=str(fold_dir / "model"), seconds=round(time.time() - start, 1),
                            pair_index=pair_index, distances=d.tolist())
        atomic_write_text(fold_dir / FOLD_FILE, json.dumps(result.to_record(settings), allow_nan=False) + "\n")
        say(f"{tag}: accuracy {accuracy:.4f} at threshold {threshold:.4f} (chosen on the other folds' "
            f"{result.threshold_pairs} pairs) in {result.seconds:.0f} s")
        results.append(result)

    pooled_d = np.concatenate([np.asarray(f.distances)[fold_of == f.fold] for f in results])
    pooled_s = np.concatenate([same[fold_of == f.fold] for f in results])
    pooled = evaluate_distances(pooled_d, pooled_s).to_dict()
    pooled.pop("kfold", None)
    pooled["note"] = "each fold's pairs scored by that fold's model; best_threshold is tuned on these pairs"
    result = LFWBenchmarkResult(
        folds=results, pooled=pooled, category=category, pairs_file=str(pairs_path), pairs_scored=int(pf.ok.sum()),
        pairs_skipped=int((~pf.ok).sum()), image_errors=pf.errors, fallbacks=pf.fallbacks,
        max_pairs_per_fold=max_pairs_per_fold, flip=flip, out=str(out),
        complete=len(results) == len(fold_ids) and max_pairs_per_fold is None and not cfg["data"]["max_identities"])
    if not result.complete:
        result.notes.append("not the reported figure: a subset of folds, pairs or training people (miniature run)")
    out.mkdir(parents=True, exist_ok=True)
    _write_report(result, same, fold_of, operating_points(pooled_d, pooled_s), out)
    return result


def _write_report(result: LFWBenchmarkResult, same: np.ndarray, fold_of: np.ndarray, pooled: Any,
                  out: Path) -> None:
    """report.json (the result's to_dict) and, with matplotlib (the ``report`` extra), roc.png."""
    import importlib.util

    files = {"report": str(out / "report.json")}
    if importlib.util.find_spec("matplotlib") is not None:
        files["roc"] = str(_roc_png(result.folds, same, fold_of, pooled, out / "roc.png"))
    else:
        result.notes.append("roc.png not drawn: matplotlib is missing (pip install 'siamese[report]')")
    result.report_files = files
    atomic_write_text(out / "report.json", json.dumps(result.to_dict(), indent=2, allow_nan=False) + "\n")


def parse_folds(text: str | Sequence[int] | None) -> list[int] | None:
    """``"0,1,5"`` (or a sequence of ints) -> ``[0, 1, 5]``; None stays None (all folds)."""
    if text is None or not isinstance(text, str):
        return None if text is None else [int(k) for k in text]
    try:
        return [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise ConfigError(f"--folds: expected fold numbers like 0,1,2, got {text!r}") from None
