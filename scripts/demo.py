"""The README's main job: the default model on real LFW photos, then on the ORL faces: train (or reuse) a model,
enroll, verify, identify, evaluate.

Every step runs the real ``siamese`` command (the same one users type) and prints what it answered.
Usage: ``python scripts/demo.py [--retrain] [--out runs/demo]``.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SIAMESE = str(Path(sys.executable).with_name("siamese"))


def sh(*args: object, ok: tuple[int, ...] = (0,)) -> tuple[int, dict]:
    cmd = [SIAMESE, *map(str, args), "--json"]
    print("$ siamese " + " ".join(map(str, args)), flush=True)
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode not in ok:
        sys.exit(f"demo: command failed ({proc.returncode}): {proc.stderr.strip()}")
    return proc.returncode, json.loads(proc.stdout) if proc.stdout.strip() else {}


def default_model_on_lfw(pairs_file: Path, n: int = 4) -> None:
    """Step 0: 'siamese verify' with no model given uses the model shipped in the package. The pairs are the first
    ``n`` same-person and first ``n`` different-person pairs of LFW View 1 test (people the model never saw in
    training), not picked by outcome."""
    from siamese.data import read_lfw_pairs

    pairs = read_lfw_pairs(pairs_file, pairs_file.parent / "lfw-deepfunneled")
    same = [k for k in range(len(pairs.same)) if pairs.same[k] == 1][:n]
    diff = [k for k in range(len(pairs.same)) if pairs.same[k] == 0][:n]
    print("\n== 0. the default model (shipped in the package) on LFW photos it never saw in training ==")
    right = 0
    for k in same + diff:
        a, b = Path(pairs.paths_a[k]), Path(pairs.paths_b[k])
        code, res = sh("verify", a, b, ok=(0, 1))
        truth = "same person" if pairs.same[k] == 1 else "different people"
        verdict = "accepted" if res["same"] else "refused"
        correct = (res["same"] is True) == (pairs.same[k] == 1)
        right += correct
        print(f"   {a.parent.name}/{a.name} vs {b.parent.name}/{b.name} ({truth}): {verdict}, distance "
              f"{res['distance']:.3f} vs threshold {res['threshold']:.3f} -> {'right' if correct else 'WRONG'}")
    print(f"   {right} of {len(same) + len(diff)} decisions right. Accepted = distance <= threshold. The threshold is "
          "strict: calibrated for 1% false accepts on held-out validation people, it refuses more same-person "
          "pairs than it accepts different people. Measured figures (10-fold accuracy, and the false and true "
          "accept rates at this threshold): the model card (siamese/assets/default_model/model.json, "
          "about.figures) and benchmarks/RESULTS.md.")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", type=Path, default=REPO / "runs" / "demo")
    ap.add_argument("--retrain", action="store_true", help="train even if a demo model exists")
    args = ap.parse_args()
    data = Path(os.environ.get("SIAMESE_DATA", REPO.parent / "shared" / "data"))
    orl = data / "orl"
    if not orl.is_dir():
        sys.exit(f"demo: {orl}: ORL faces not found (set SIAMESE_DATA)")
    out: Path = args.out
    model = out / "model"
    start = time.time()

    lfw_pairs = data / "lfw" / "pairsDevTest.txt"
    if lfw_pairs.is_file():
        default_model_on_lfw(lfw_pairs)
    else:
        print(f"\n(skipping the default model on LFW: {lfw_pairs} not found)")

    print("\n== 1. train a small twin-tower CNN on 30 ORL people (10 held out) ==")
    if args.retrain or not (model / "model.json").is_file():
        _, res = sh("train", REPO / "configs" / "orl-smoke.yaml", "--out", model)
        for k in ("best_accuracy", "roc_auc", "eer"):
            print(f"   held-out people, {k:13s}: {res['validation_before_training'][k]:.3f} before training"
                  f" -> {res['validation'][k]:.3f} after ({res['seconds']:.0f} s)")
    else:
        print(f"   reusing {model} (pass --retrain to train again)")

    print("\n== 2. enroll all 40 people from photos 1-5 ==")
    enroll_root, gallery = out / "enroll", out / "gallery"
    shutil.rmtree(enroll_root, ignore_errors=True)
    shutil.rmtree(gallery, ignore_errors=True)
    for s in range(1, 41):
        (enroll_root / f"s{s}").mkdir(parents=True)
        for i in range(1, 6):
            (enroll_root / f"s{s}" / f"{i}.pgm").symlink_to(orl / f"s{s}" / f"{i}.pgm")
    _, res = sh("enroll", "--from-dir", enroll_root, "--model", model, "--gallery", gallery)
    print(f"   enrolled {len(res['enrolled'])} people, {res['templates']} templates, skipped {len(res['skipped'])}")

    print("\n== 3. verify ==")
    for a, b in (("s3/6.pgm", "s3/7.pgm"), ("s3/6.pgm", "s4/6.pgm")):
        code, res = sh("verify", orl / a, orl / b, "--model", model, ok=(0, 1))
        print(f"   {a} vs {b}: {'same' if res['same'] else 'different'} (distance {res['distance']:.3f}, "
              f"threshold {res['threshold']:.3f}, exit {code})")
    print("   (the threshold was calibrated by 'siamese train' for FAR <= 1% on the 10 held-out people: strict)")
    code, res = sh("verify", orl / "s5/8.pgm", "--claim", "s5", "--model", model, "--gallery", gallery, ok=(0, 1))
    print(f"   s5/8.pgm claims to be s5: {'accepted' if res['same'] else 'rejected'} (exit {code})")

    print("\n== 4. identify photos 6-10 of every person (1:N over the gallery) ==")
    from siamese._quiet import import_tensorflow_quietly

    import_tensorflow_quietly()
    from siamese.recognition import Recognizer

    with Recognizer(model, gallery) as rec:
        probes = [(f"s{s}", str(orl / f"s{s}" / f"{i}.pgm")) for s in range(1, 41) for i in range(6, 11)]
        emb = rec.embedder.embed_files([p for _, p in probes], progress=False)
        results = rec.identify_embeddings(emb.embeddings, top_k=1)
    top1 = sum(r.candidates[0].name == probes[k][0] for k, r in zip(emb.index, results, strict=True)) / len(results)
    found = sum(r.found for r in results) / len(results)
    print(f"   top-1 accuracy {top1:.3f} over {len(results)} probes; within the threshold: {found:.3f}")
    code, res = sh("identify", orl / "s9/10.pgm", "--model", model, "--gallery", gallery, "--top-k", "3", ok=(0, 1))
    print(f"   s9/10.pgm -> {res['name'] or 'unknown'} (exit {code}); candidates: "
          + ", ".join(f"{c['name']} {c['distance']:.3f}" for c in res["candidates"]))

    print("\n== 5. evaluate on pairs of photos 6-10 (30 of the 40 people were seen in training) ==")
    pairs = out / "orl_pairs.csv"
    with pairs.open("w", newline="") as f:
        w = csv.writer(f)
        for s in range(1, 41):
            for i in range(6, 10):
                w.writerow([orl / f"s{s}/{i}.pgm", orl / f"s{s}/{i + 1}.pgm", 1])
                w.writerow([orl / f"s{s}/{i}.pgm", orl / f"s{s % 40 + 1}/{i}.pgm", 0])
    _, res = sh("evaluate", model, "--pairs", pairs, "--report", out / "report")
    print(f"   {res['pairs_scored']} pairs: best accuracy {res['best_accuracy']:.3f}, ROC AUC {res['roc_auc']:.3f}, "
          f"EER {res['eer']:.3f}; plots in {out / 'report'}")

    print("\n== 6. forget a person ==")
    _, res = sh("gallery", "remove", "s1", "--gallery", gallery)
    _, info = sh("gallery", "info", "--gallery", gallery)
    print(f"   removed s1 ({res['templates']} templates); gallery now {info['identities']} people")
    print(f"\ndemo finished in {time.time() - start:.0f} s")


if __name__ == "__main__":
    main()
