"""The README's main job: the default model on real LFW photos, then on the ORL faces: train (or reuse) a model,
enroll, verify, identify, evaluate.

Every step runs the real ``siamese`` command (the same one users type) and prints what it answered.
Usage: ``python scripts/demo.py [--retrain] [--out runs/demo]``.
"""

from __future__ import annotations

import argparse
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


DEMO_FAR = 0.05


def held_out_people(config: Path, orl: Path) -> list[str]:
    """The ORL people that 'siamese train' keeps for validation under ``config`` (the same split function)."""
    from siamese.config import load_config
    from siamese.training.data import split_people

    cfg = load_config(config, [f"data.root={orl.parent}"])
    _, val, _ = split_people(cfg)
    return sorted(val.names, key=lambda name: int(name.lstrip("s")))


def write_pairs(path: Path, root: Path, pairs: list[tuple[str, str, int]]) -> None:
    """A pairs CSV (path_a, path_b, same) of photos under ``root``."""
    from siamese.data import write_csv_pairs

    write_csv_pairs(path, ((root / a, root / b, same) for a, b, same in pairs))


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

    config = REPO / "configs" / "orl-smoke.yaml"
    held = held_out_people(config, orl)
    print("\n== 1. train the contrastive twin tower on 30 ORL people (10 held out: never seen in training) ==")
    if args.retrain or not (model / "model.json").is_file():
        _, res = sh("train", config, "--out", model)
        print("   on pairs of the 10 held-out people (best accuracy over thresholds, ROC AUC, equal error rate):")
        for k in ("best_accuracy", "roc_auc", "eer"):
            print(f"   {k:13s}: {res['validation_before_training'][k]:.3f} before training"
                  f" -> {res['validation'][k]:.3f} after ({res['seconds']:.0f} s)")
    else:
        print(f"   reusing {model} (pass --retrain to train again)")
    calib = out / "orl_calibration_pairs.csv"
    write_pairs(calib, orl, [(f"{p}/{i}.pgm", f"{p}/{j}.pgm", 1) for p in held for i in range(1, 6)
                             for j in range(i + 1, 6)]
                + [(f"{p}/{i}.pgm", f"{q}/{i}.pgm", 0) for a, p in enumerate(held) for q in held[a + 1:]
                   for i in range(1, 6)])
    _, res = sh("calibrate", model, "--pairs", calib, "--far", DEMO_FAR)
    print(f"   threshold {res['threshold']:.3f}: chosen on photos 1-5 of the held-out people for a false-accept rate "
          f"of {DEMO_FAR:.0%} ({res['far']:.3f} reached; true-accept rate {res['tar']:.3f}). With {res['n_impostor']} "
          "impostor pairs, the 1% that 'siamese train' aims for would rest on two or three pairs, so the demo states "
          "its own operating point.")

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

    print("\n== 3. verify photos 6-10 of held-out people (photos not used for the threshold) ==")
    right = total = 0
    for a_, b_ in zip(held[:4], held[1:5], strict=True):
        for x, y, same in ((f"{a_}/6.pgm", f"{a_}/7.pgm", True), (f"{a_}/6.pgm", f"{b_}/6.pgm", False)):
            code, res = sh("verify", orl / x, orl / y, "--model", model, ok=(0, 1))
            correct = res["same"] is same
            right, total = right + correct, total + 1
            print(f"   {x} vs {y} ({'same person' if same else 'different people'}): "
                  f"{'accepted' if res['same'] else 'refused'}, distance {res['distance']:.3f} vs threshold "
                  f"{res['threshold']:.3f} (exit {code}) -> {'right' if correct else 'WRONG'}")
    for claim, same in ((held[0], True), (held[1], False)):
        code, res = sh("verify", orl / held[0] / "8.pgm", "--claim", claim, "--model", model, "--gallery", gallery,
                       ok=(0, 1))
        correct = res["same"] is same
        right, total = right + correct, total + 1
        print(f"   {held[0]}/8.pgm claims to be {claim} (enrolled from photos 1-5): "
              f"{'accepted' if res['same'] else 'rejected'} (exit {code}) -> {'right' if correct else 'WRONG'}")
    print(f"   {right} of {total} decisions right (the first four held-out people, fixed photos: not picked by "
          "outcome). Accepted = distance <= threshold; exit 0 accepted, 1 refused.")

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
    print(f"   top-1 accuracy {top1:.3f} over {len(results)} probes; within the threshold: {found:.3f} (30 of the 40 "
          "people were seen in training)")
    code, res = sh("identify", orl / "s9/10.pgm", "--model", model, "--gallery", gallery, "--top-k", "3", ok=(0, 1))
    print(f"   s9/10.pgm -> {res['name'] or 'unknown'} (exit {code}); candidates: "
          + ", ".join(f"{c['name']} {c['distance']:.3f}" for c in res["candidates"]))

    print("\n== 5. evaluate on pairs of photos 6-10 (30 of the 40 people were seen in training) ==")
    pairs = out / "orl_pairs.csv"
    write_pairs(pairs, orl, [(f"s{k}/{i}.pgm", f"s{k}/{i + 1}.pgm", 1) for k in range(1, 41) for i in range(6, 10)]
                + [(f"s{k}/{i}.pgm", f"s{k % 40 + 1}/{i}.pgm", 0) for k in range(1, 41) for i in range(6, 10)])
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
