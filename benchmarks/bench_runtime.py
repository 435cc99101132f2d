"""Accuracy of the TensorFlow-free runtime against the Keras model, in one run on the same aligned faces.

For a trained model directory, the LFW View 1 test pairs (``pairsDevTest.txt``, development data: View 2 is never
used here) are aligned once; the Keras tower, and LiteRT with the model's float32, a float16 and an int8 TFLite
export (int8 calibrated on 200 LFW photos of people outside those pairs) embed the same faces; each is scored by
the 10-fold protocol (seeded stratified folds, threshold from the other nine folds). Reports each accuracy, the
difference to Keras in points, and the embedding drift (cosine distance to the Keras embedding). Usage::

    python benchmarks/bench_runtime.py runs/lfw --data $SIAMESE_DATA
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("model", type=Path)
    ap.add_argument("--data", type=Path, default=os.environ.get("SIAMESE_DATA"))
    ap.add_argument("--pairs", default="lfw/pairsDevTest.txt")
    args = ap.parse_args()

    from siamese import distances
    from siamese.data import read_identity_folders, read_lfw_pairs
    from siamese.evaluation import evaluate_distances, protocol_folds
    from siamese.exporting import REPRESENTATIVE_FACES, export_model
    from siamese.model_dir import ModelDir
    from siamese.runtime.keras_engine import KerasEngine
    from siamese.runtime.litert_engine import LiteRTEngine
    from siamese.verification import FaceEmbedder, pair_faces

    images = args.data / "lfw" / "lfw-deepfunneled"
    pairs = read_lfw_pairs(args.data / args.pairs, images)
    md = ModelDir(args.model)
    aligner = FaceEmbedder(md, engine="keras").aligner
    pf = pair_faces(aligner, pairs, progress=False)
    same = np.asarray(pairs.same)[pf.ok].astype(np.int32)
    folds = protocol_folds(same, None)
    dist = distances.get(md.distance)

    # int8 calibration faces: photos of people outside the scored pairs
    held = set(pairs.people())
    everyone = read_identity_folders(images)
    calib = [p for p, lab in zip(everyone.paths, everyone.labels.tolist(), strict=True)
             if everyone.names[lab] not in held][:REPRESENTATIVE_FACES]
    reps = np.asarray(aligner.align_files(calib, progress=False).faces)

    keras_emb = KerasEngine(md).embed(pf.faces)
    rows = {}
    tmp = Path(tempfile.mkdtemp(prefix="bench-runtime-"))
    for quant in ("float32", "float16", "int8"):
        copy = tmp / quant
        shutil.copytree(md.path, copy)
        cmd = ModelDir(copy)
        if quant != "float32":
            export_model(cmd, "tflite", None, quantize=quant, representative=reps)
            cmd = ModelDir(copy)
        rows[quant] = LiteRTEngine(cmd).embed(pf.faces)
    out: dict[str, object] = {"model": str(md.path), "pairs": args.pairs, "pairs_scored": int(len(same)),
                              "pairs_skipped": int((~pf.ok).sum()), "folds": "10 seeded stratified"}
    base = evaluate_distances(dist.rowwise(keras_emb[pf.ia], keras_emb[pf.ib]), same, folds=folds).kfold
    out["keras"] = {"accuracy": base["mean_accuracy"], "standard_error": base["standard_error"]}
    for quant, emb in rows.items():
        kf = evaluate_distances(dist.rowwise(emb[pf.ia], emb[pf.ib]), same, folds=folds).kfold
        drift = 1.0 - np.sum(emb * keras_emb, axis=1)
        out[f"litert_{quant}"] = {"accuracy": kf["mean_accuracy"], "standard_error": kf["standard_error"],
                                  "points_vs_keras": 100 * (kf["mean_accuracy"] - base["mean_accuracy"]),
                                  "embedding_cosine_drift_mean": float(drift.mean()),
                                  "embedding_cosine_drift_max": float(drift.max())}
    shutil.rmtree(tmp, ignore_errors=True)
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
