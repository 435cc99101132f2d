"""The teacher, its student and the no-teacher recipe on the same LFW pairs, with time per face on this CPU.

    SIAMESE_THREADS=1 python benchmarks/bench_teacher.py --pairs $SIAMESE_DATA/lfw/pairsDevTest.txt \\
        --model student=runs/lfw-student --model no-teacher=runs/lfw --out benchmarks/out/teacher_view1.json

* dlib: the 128-D descriptor through face_recognition's own path (HOG detection, 5-point chip, no alignment of
  ours), euclidean distance between descriptors. A photo in which HOG finds no face has no descriptor
  (face_recognition returns none); its pairs are scored as refused (distance above every other) and counted.
  Its decisions at face_recognition's fixed tolerance 0.6 are reported too (``at_fixed_threshold``).
* each model directory: ``siamese.api.evaluate`` (YuNet alignment, centre-crop fallback, flip-averaged embedding,
  LiteRT engine).
* each ``--protocol NAME=RUN``: a run folder of ``siamese benchmark lfw`` (View 2 by its protocol, one training per
  fold): the accuracies its ``fold-K/fold.json`` records hold, each fold scored by the model trained without its
  people, beside dlib's on the same folds; its time per face is that of the first fold model still on disk.
Accuracy: the pairs file's official folds when it has them (View 2 ``pairs.txt``), else 10 seeded stratified folds
(View 1 ``pairsDevTest.txt``); the threshold of each fold is chosen on the other folds. Mean +- standard error.

    SIAMESE_THREADS=1 python benchmarks/bench_teacher.py --pairs $SIAMESE_DATA/lfw/pairs.txt \
        --protocol student=benchmarks/view2-student --protocol no-teacher=runs/view2-cpu

Time per face: the same ``--timing-photos`` photos, one at a time, after one warm-up photo: dlib's detection +
landmarks + descriptor, against our detection + alignment + LiteRT embedding (without and with flip). Run with
``SIAMESE_THREADS=1`` (and one dlib thread) for one core each.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np


def dlib_scores(pairs: object, progress: bool) -> dict:
    from siamese.evaluation import evaluate_distances, protocol_folds
    from siamese.teachers import get_teacher, teacher_embeddings

    teacher = get_teacher("dlib")
    photos = sorted(set(map(str, pairs.paths_a)) | set(map(str, pairs.paths_b)))
    te = teacher_embeddings(photos, teacher, progress=progress)
    row = {photos[i]: k for k, i in enumerate(te.index)}
    d = np.empty(len(pairs.same))
    missing = 0
    for n, (a, b) in enumerate(zip(map(str, pairs.paths_a), map(str, pairs.paths_b), strict=True)):
        if a in row and b in row:
            d[n] = float(np.linalg.norm(te.embeddings[row[a]] - te.embeddings[row[b]]))
        else:
            d[n] = np.inf
            missing += 1
    finite_max = float(np.max(d[np.isfinite(d)]))
    d[~np.isfinite(d)] = finite_max + 1.0  # refused
    official = None if (pairs.folds < 0).all() else pairs.folds
    result = evaluate_distances(d, pairs.same, folds=protocol_folds(pairs.same, official)).to_dict()
    return {"kfold": result["kfold"], "pairs": int(len(d)), "pairs_without_descriptor": missing,
            "photos_without_face": len(te.errors), "at_fixed_threshold": _decisions(d, pairs.same, DLIB_TOLERANCE)}


def protocol_scores(run: Path, pairs: object, dlib_kfold: dict) -> dict:
    """The row of a ``siamese benchmark lfw`` run folder from its finished folds' records: fold accuracies, mean +-
    standard error (ddof=1), ROC AUC pooled over each fold's pairs under its own model, and dlib's mean over the
    same folds. All records must share one settings hash (one config, pairs file and ``--flip``)."""
    from sklearn.metrics import roc_auc_score

    from siamese.benchmark import FOLD_FILE, FOLD_FORMAT

    records = [json.loads(f.read_text(encoding="utf-8")) for f in sorted(run.glob(f"fold-*/{FOLD_FILE}"))]
    if not records:
        raise SystemExit(f"{run}: no finished fold (no fold-K/{FOLD_FILE})")
    if {r.get("format") for r in records} != {FOLD_FORMAT} or len({r["settings"] for r in records}) != 1:
        raise SystemExit(f"{run}: its folds were not run with one config, pairs file and --flip")
    same, official = np.asarray(pairs.same), np.asarray(pairs.folds)
    if (official < 0).all():
        raise SystemExit("--protocol: --pairs must be the file the run was scored on, with its official folds "
                         "(View 2 pairs.txt)")
    records.sort(key=lambda r: r["fold"])
    acc = np.asarray([r["accuracy"] for r in records])
    ds, ss = [], []
    for r in records:
        index = np.asarray(r["pair_index"])
        if index.max() >= len(same):
            raise SystemExit(f"{run}: fold {r['fold']} scored pairs beyond the {len(same)} given by --pairs")
        test = official[index] == r["fold"]
        ds.append(np.asarray(r["distances"])[test])
        ss.append(same[index][test])
    ids = [int(r["fold"]) for r in records]
    dlib_acc = dict(zip(dlib_kfold["fold_ids"], dlib_kfold["fold_accuracies"], strict=True))
    std = float(np.std(acc, ddof=1)) if acc.size >= 2 else None
    return {"fold_ids": ids, "fold_accuracies": acc.tolist(), "mean_accuracy": float(acc.mean()), "std": std,
            "standard_error": std / float(np.sqrt(acc.size)) if std is not None else None,
            "complete": ids == sorted(dlib_acc) and sum(len(d) for d in ds) == len(same),
            "roc_auc": float(roc_auc_score(np.concatenate(ss), -np.concatenate(ds))),
            "dlib_same_folds": float(np.mean([dlib_acc[k] for k in ids])), "run": str(run),
            "seconds_per_fold": [r["seconds"] for r in records]}


def fold_model(run: Path) -> Path | None:
    """The first fold model of a protocol run still on disk (models are not kept in the repository)."""
    return next((m for m in sorted(run.glob("fold-*/model")) if (m / "embedding.tflite").exists()), None)


DLIB_TOLERANCE = 0.6  # face_recognition.compare_faces' default: the same person when the distance is <= 0.6


def _decisions(d: np.ndarray, same: np.ndarray, threshold: float) -> dict:
    """Accuracy, FAR and TAR of accepting ``d <= threshold`` (label 1 = same person)."""
    accept = d <= threshold
    same = np.asarray(same) == 1
    return {"threshold": threshold, "accuracy": float(np.mean(accept == same)), "far": float(np.mean(accept[~same])),
            "tar": float(np.mean(accept[same]))}


def at_own_threshold(model: str, pairs: object) -> dict:
    """Accuracy, FAR and TAR of the decisions ``siamese verify`` makes (no flip, the model's calibration.json)."""
    from siamese.model_dir import ModelDir
    from siamese.verification import FaceEmbedder, pair_distances

    md = ModelDir(model)
    pd = pair_distances(FaceEmbedder(md, engine="litert"), pairs, fallback="center")
    return _decisions(pd.distances, pd.same, md.threshold())


def time_per_face(photos: list[str], models: dict[str, str]) -> dict:
    import cv2

    from siamese.errors import InputFileError
    from siamese.faces import read_image
    from siamese.teachers import get_teacher
    from siamese.verification import FaceEmbedder

    cv2.setNumThreads(1)
    images = [read_image(p) for p in photos]
    out: dict[str, float] = {}
    teacher = get_teacher("dlib")
    teacher.embed_image(images[0])
    t0 = time.perf_counter()
    for img, p in zip(images[1:], photos[1:], strict=True):
        with contextlib.suppress(InputFileError):  # a faceless photo costs its detection all the same
            teacher.embed_image(img, p)
    out["dlib"] = (time.perf_counter() - t0) / (len(images) - 1)
    for name, path in models.items():
        for flip in (False, True):
            emb = FaceEmbedder(path, flip=flip, engine="litert")
            emb.embed_file(photos[0])
            t0 = time.perf_counter()
            for p in photos[1:]:
                with contextlib.suppress(InputFileError):
                    emb.embed_file(p)
            out[f"{name}{' (flip)' if flip else ''}"] = (time.perf_counter() - t0) / (len(photos) - 1)
    return out


def main() -> int:
    from siamese import api
    from siamese.verification import load_pairs

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pairs", type=Path, required=True)
    ap.add_argument("--images", type=Path, default=None)
    ap.add_argument("--model", action="append", default=[], help="NAME=MODEL_DIR (repeatable)")
    ap.add_argument("--protocol", action="append", default=[],
                    help="NAME=RUN: a `siamese benchmark lfw` run folder scored on --pairs (repeatable)")
    ap.add_argument("--timing-photos", type=int, default=101,
                    help="photos timed per row, the first one a warm-up (0: no timing)")
    ap.add_argument("--out", type=Path, default=None)
    ap.add_argument("--progress", action="store_true")
    args = ap.parse_args()
    if args.timing_photos < 0 or args.timing_photos == 1:
        ap.error("--timing-photos must be 0 (no timing) or at least 2 (a warm-up photo and a timed one)")
    models = dict(m.split("=", 1) for m in args.model)
    pairs = load_pairs(args.pairs, args.images)
    rows: dict[str, dict] = {"dlib": dlib_scores(pairs, args.progress)}
    for name, path in models.items():
        rep = api.evaluate(path, args.pairs, images=args.images, flip=True, engine="litert", progress=args.progress)
        d = rep.to_dict()
        rows[name] = {"kfold": d["kfold"], "pairs": d["n_pairs"], "fallbacks": len(rep.fallbacks),
                      "roc_auc": d["roc_auc"], "model_dir": str(path),
                      "at_calibrated_threshold": at_own_threshold(path, pairs)}
    timed = dict(models)
    for name, run in (m.split("=", 1) for m in args.protocol):
        rows[name] = protocol_scores(Path(run), pairs, rows["dlib"]["kfold"])
        model = fold_model(Path(run))
        if model is not None:
            rows[name]["timed_model"] = timed[name] = str(model)
    photos = sorted(set(map(str, pairs.paths_a)))[: args.timing_photos]
    timing = time_per_face(photos, timed) if args.timing_photos else {}
    out = {"pairs_file": str(args.pairs), "rows": rows, "seconds_per_face": timing,
           "speedup_vs_dlib": {k: timing["dlib"] / v for k, v in timing.items() if k != "dlib"},
           "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores",
           "threads": os.environ.get("SIAMESE_THREADS", "all"), "date": time.strftime("%Y-%m-%d")}
    for name, r in rows.items():
        if "kfold" in r:
            k = r["kfold"]
            print(f"{name:12s} {k['mean_accuracy']:.4f} +- {k['standard_error']:.4f} ({k['n_folds']} folds, "
                  f"{r['pairs']} pairs)", file=sys.stderr)
        else:
            se = f" +- {r['standard_error']:.4f}" if r["standard_error"] is not None else ""
            print(f"{name:12s} {r['mean_accuracy']:.4f}{se} (protocol, folds {r['fold_ids']}; dlib on them "
                  f"{r['dlib_same_folds']:.4f})", file=sys.stderr)
    for name, s in timing.items():
        print(f"{name:22s} {1000 * s:7.1f} ms/face", file=sys.stderr)
    if args.out:
        from siamese._files import atomic_write_text

        atomic_write_text(args.out, json.dumps(out, indent=2) + "\n")
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
