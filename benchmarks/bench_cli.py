"""End-to-end costs of the commands users run: cold ``siamese verify`` vs a bare TensorFlow import, and enrolment
throughput (decode + detect + align + embed + store) in faces per second.

Both are measured in the same run, on the same machine, so the ratios compare like with like. The model
directories are made here from untrained towers with the production card layout (weights do not change the
cost): ``small_cnn`` at 64 px with centre-crop alignment (ORL-style) and ``small_cnn`` at 112 px with YuNet
alignment (photo-style). Usage::

    python benchmarks/bench_cli.py --data $SIAMESE_DATA --yunet $SIAMESE_YUNET [--repeats 3] [--lfw-images 300]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BIN = Path(sys.executable).with_name("siamese")


def timed(cmd: list[str], env: dict[str, str], ok: tuple[int, ...] = (0,)) -> float:
    t = time.perf_counter()
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - t
    if proc.returncode not in ok:
        raise SystemExit(f"{' '.join(cmd)} failed ({proc.returncode}): {proc.stderr[-500:]}")
    return elapsed


def make_model(path: Path, size: int, detector: str) -> None:
    import json as _json

    from siamese.model_dir import CALIBRATION_FILE, write_model_dir
    from siamese.models import get_tower

    tower = get_tower("small_cnn", input_shape=(size, size, 3), embedding_dim=128, width=32)
    write_model_dir(path, tower, {"format": "siamese-model/1", "input_size": size, "embedding_dim": 128,
                                  "distance": "euclidean", "tower": "small_cnn",
                                  "alignment": {"detector": detector, "size": size, "template": "arcface-5pt"}})
    (path / CALIBRATION_FILE).write_text(_json.dumps({"threshold": 0.8}))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", type=Path, default=os.environ.get("SIAMESE_DATA"))
    ap.add_argument("--yunet", default=os.environ.get("SIAMESE_YUNET"))
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--lfw-images", type=int, default=300)
    args = ap.parse_args()
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", SIAMESE_YUNET=args.yunet or "")
    tmp = Path(tempfile.mkdtemp(prefix="bench-cli-"))
    env["SIAMESE_CACHE"] = str(tmp / "cache")
    orl_model, lfw_model = tmp / "orl_model", tmp / "lfw_model"
    make_model(orl_model, 64, "none")
    make_model(lfw_model, 112, "yunet")
    orl = args.data / "orl"
    a, b = str(orl / "s1" / "1.pgm"), str(orl / "s2" / "1.pgm")

    imports = [timed([sys.executable, "-c", "import tensorflow"], env) for _ in range(args.repeats)]
    verifies = [timed([str(BIN), "verify", a, b, "--model", str(orl_model), "--json"], env, ok=(0, 1))
                for _ in range(args.repeats)]
    lfw = sorted((args.data / "lfw" / "lfw-deepfunneled").glob("*/*.jpg"))[: args.lfw_images]
    lfw_verify = [timed([str(BIN), "verify", str(lfw[0]), str(lfw[1]), "--model", str(lfw_model), "--json"], env,
                        ok=(0, 1)) for _ in range(args.repeats)]
    help_time = [timed([str(BIN), "--help"], env) for _ in range(args.repeats)]

    # enrolment: ORL (400 photos, 40 people, centre crop) and LFW photos (YuNet), through the real command
    enroll_orl = timed([str(BIN), "enroll", "--from-dir", str(orl), "--model", str(orl_model), "--gallery",
                        str(tmp / "g1"), "--json"], env)
    lfw_root = tmp / "lfw_subset"
    for p in lfw:
        (lfw_root / p.parent.name).mkdir(parents=True, exist_ok=True)
        (lfw_root / p.parent.name / p.name).symlink_to(p)
    enroll_lfw = timed([str(BIN), "enroll", "--from-dir", str(lfw_root), "--model", str(lfw_model), "--gallery",
                        str(tmp / "g2"), "--json"], env)
    med = statistics.median
    result = {
        "import_tensorflow_s": med(imports),
        "siamese_help_s": med(help_time),
        "verify_cold_orl_s": med(verifies),
        "verify_cold_lfw_yunet_s": med(lfw_verify),
        "verify_over_import_ratio": med(verifies) / med(imports),
        "enroll_orl_faces_per_s": 400 / enroll_orl,
        "enroll_orl_total_s": enroll_orl,
        "enroll_lfw_yunet_faces_per_s": len(lfw) / enroll_lfw,
        "enroll_lfw_total_s": enroll_lfw,
        "lfw_images": len(lfw),
        "repeats": args.repeats,
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
