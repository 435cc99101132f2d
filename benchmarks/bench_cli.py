"""End-to-end costs of the commands users run, for each engine (``litert``: the TensorFlow-free runtime, and
``keras``: the path every command took before it): cold ``siamese verify`` on two LFW photos with YuNet vs a bare
``python -c "import tensorflow"``, and ``siamese enroll --from-dir`` of LFW photos with YuNet (decode + detect +
align + embed + store) in photos per second after start-up: ``(N - n) / (t(N photos) - t(n photos))``.

Everything is measured in the same run, on the same machine, so the ratios compare like with like. The model
directories are made here from untrained towers with the production card layout (weights do not change the
cost): ``small_cnn`` at 64 px with centre-crop alignment (ORL-style) and the tower of the shipped LFW recipe
(``configs/lfw.yaml``: 64 px, width 16, 4 blocks) with YuNet alignment (photo-style). Usage::

    python benchmarks/bench_cli.py --data $SIAMESE_DATA --yunet $SIAMESE_YUNET [--repeats 3] [--lfw-images 1000]
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


def make_model(path: Path, size: int, detector: str, **tower_args: int) -> None:
    import json as _json

    from siamese.model_dir import CALIBRATION_FILE, write_model_dir
    from siamese.models import get_tower

    tower = get_tower("small_cnn", input_shape=(size, size, 3), embedding_dim=128, **tower_args)
    write_model_dir(path, tower, {"format": "siamese-model/1", "input_size": size, "embedding_dim": 128,
                                  "distance": "euclidean", "tower": "small_cnn",
                                  "alignment": {"detector": detector, "size": size, "template": "arcface-5pt"}})
    (path / CALIBRATION_FILE).write_text(_json.dumps({"threshold": 0.8}))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", type=Path, default=os.environ.get("SIAMESE_DATA"))
    ap.add_argument("--yunet", default=os.environ.get("SIAMESE_YUNET"))
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--lfw-images", type=int, default=1000)
    ap.add_argument("--lfw-size", type=int, default=64, help="input size of the photo-style model (lfw.yaml: 64)")
    ap.add_argument("--lfw-width", type=int, default=16, help="small_cnn width of that model (lfw.yaml: 16)")
    ap.add_argument("--runtime-bin", type=Path, default=Path(".venv-runtime/bin/siamese"),
                    help="the command of an environment without TensorFlow (timed too when it exists)")
    ap.add_argument("--baseline-src", type=Path, default=None,
                    help="a checkout of an earlier siamese (e.g. 'git worktree add --detach ../old cf262a1'): its "
                         "command is timed in the same run as 'baseline' (today's command before the runtime)")
    args = ap.parse_args()
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", SIAMESE_YUNET=args.yunet or "")
    tmp = Path(tempfile.mkdtemp(prefix="bench-cli-"))
    env["SIAMESE_CACHE"] = str(tmp / "cache")
    orl_model, lfw_model = tmp / "orl_model", tmp / "lfw_model"
    make_model(orl_model, 64, "none", width=32)
    # the tower of the shipped LFW recipe (configs/lfw.yaml): small_cnn at 64 px, width 16, 4 blocks, YuNet
    make_model(lfw_model, args.lfw_size, "yunet", width=args.lfw_width, blocks=4)
    orl = args.data / "orl"
    a, b = str(orl / "s1" / "1.pgm"), str(orl / "s2" / "1.pgm")
    env["SIAMESE_CACHE"] = str(tmp / "cache")

    imports = [timed([sys.executable, "-c", "import tensorflow"], env) for _ in range(args.repeats)]
    help_time = [timed([str(BIN), "--help"], env) for _ in range(args.repeats)]
    lfw = sorted((args.data / "lfw" / "lfw-deepfunneled").glob("*/*.jpg"))[: args.lfw_images]
    small = max(1, len(lfw) // 10)
    roots = {}
    for name, photos in (("all", lfw), ("small", lfw[:small])):
        root = tmp / f"lfw_{name}"
        for p in photos:
            (root / p.parent.name).mkdir(parents=True, exist_ok=True)
            (root / p.parent.name / p.name).symlink_to(p)
        roots[name] = root
    for p in lfw:  # the page cache holds every photo before anything is timed (no engine pays the cold reads)
        p.read_bytes()
    med = statistics.median
    result: dict[str, object] = {"import_tensorflow_s": med(imports), "siamese_help_s": med(help_time),
                                 "lfw_images": len(lfw), "repeats": args.repeats}
    if args.runtime_bin.exists():
        rt = [timed([str(args.runtime_bin), "verify", str(lfw[0]), str(lfw[1]), "--model", str(lfw_model),
                     "--json"], env, ok=(0, 1)) for _ in range(args.repeats)]
        result["runtime_env_verify_cold_lfw_yunet_s"] = med(rt)
        result["runtime_env_verify_over_import_tensorflow"] = med(rt) / med(imports)
    runs: list[tuple[str, list[str], dict[str, str]]] = [
        (engine, [str(BIN)], dict(env, SIAMESE_ENGINE=engine)) for engine in ("keras", "litert")]
    if args.baseline_src is not None:
        code = "import sys; from siamese.cli.app import main; sys.argv[0] = 'siamese'; main()"
        runs.insert(0, ("baseline", [sys.executable, "-P", "-c", code],  # -P: not the current folder first
                        dict(env, PYTHONPATH=str(args.baseline_src.resolve()))))
    for engine, cmd, eng in runs:
        verify = [timed([*cmd, "verify", str(lfw[0]), str(lfw[1]), "--model", str(lfw_model), "--json"], eng,
                        ok=(0, 1)) for _ in range(args.repeats)]
        verify_orl = [timed([*cmd, "verify", a, b, "--model", str(orl_model), "--json"], eng, ok=(0, 1))
                      for _ in range(args.repeats)]
        t_all = timed([*cmd, "enroll", "--from-dir", str(roots["all"]), "--model", str(lfw_model), "--gallery",
                       str(tmp / f"g_{engine}_all"), "--json"], eng)
        t_small = timed([*cmd, "enroll", "--from-dir", str(roots["small"]), "--model", str(lfw_model),
                         "--gallery", str(tmp / f"g_{engine}_small"), "--json"], eng)
        result[engine] = {
            "verify_cold_lfw_yunet_s": med(verify),
            "verify_cold_orl_s": med(verify_orl),
            "verify_over_import_tensorflow": med(verify) / med(imports),
            "enroll_total_s": t_all,
            "enroll_photos_per_s_overall": len(lfw) / t_all,
            "enroll_photos_per_s_after_startup": (len(lfw) - small) / max(t_all - t_small, 1e-9),
        }
    lite = result["litert"]
    for other in ("keras", "baseline"):
        if other in result:
            result[f"enroll_after_startup_litert_over_{other}"] = (
                lite["enroll_photos_per_s_after_startup"] / result[other]["enroll_photos_per_s_after_startup"])  # type: ignore
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
