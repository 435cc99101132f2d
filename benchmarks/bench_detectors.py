"""Face-detector benchmark on LFW deep-funneled: detection rate and time per image.

    python benchmarks/bench_detectors.py --data $SIAMESE_DATA [--detector yunet|mtcnn|all]
        [--limit N] [--seed S] [--workers N] [--misses K]

Images: every ``lfw/lfw-deepfunneled/*/*.jpg`` (13,233), or a seeded random sample of ``--limit``.
Decoding (``siamese.faces.read_image``) runs on ``--workers`` threads; detection runs in the main
thread, like ``FaceAligner.align_files``. Reported per detector (JSON on stdout):

* ``detection_rate``: share of images where at least one face was found;
* ``detect_ms_mean``: detector time per image, decode excluded;
* ``decode_ms_mean``: decode time per image (in the worker threads);
* ``pipeline_ms_per_image``: wall time / images, decode included (decode overlaps detection);
* ``multi_face_rate`` and the first ``--misses`` missed files.
"""

from __future__ import annotations

import argparse
import collections
import concurrent.futures
import itertools
import json
import os
import platform
import random
import sys
import time
from pathlib import Path
from typing import Any

from tqdm import tqdm

from siamese.faces import get_detector, read_image


def lfw_images(data: Path, limit: int | None, seed: int) -> list[Path]:
    root = data / "lfw" / "lfw-deepfunneled"
    if not root.is_dir():
        raise SystemExit(f"{root}: not a folder (give --data the folder holding lfw/)")
    files = sorted(root.glob("*/*.jpg"))
    if limit is not None and limit < len(files):
        files = sorted(random.Random(seed).sample(files, limit))
    return files


def run(name: str, files: list[Path], workers: int, misses: int, kwargs: dict[str, Any]) -> dict[str, Any]:
    t0 = time.perf_counter()
    detector = get_detector(name, **kwargs)
    if name == "mtcnn":
        _ = detector.model  # type: ignore[attr-defined]
    build_s = time.perf_counter() - t0

    def decode(path: Path) -> tuple[Any, float]:
        start = time.perf_counter()
        image = read_image(path)
        return image, time.perf_counter() - start

    detect_s = decode_s = 0.0
    found = multi = errors = 0
    missed: list[str] = []
    start = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(max_workers=workers) as pool:
        # bounded look-ahead: at most 8 * workers decoded images wait
        upcoming = iter(files)
        pending = collections.deque(pool.submit(decode, p) for p in itertools.islice(upcoming, 8 * workers))
        for path in tqdm(files, desc=name, unit="img", file=sys.stderr, mininterval=10):
            pending.extend(pool.submit(decode, p) for p in itertools.islice(upcoming, 1))
            try:
                image, seconds = pending.popleft().result()
            except Exception as exc:  # report and go on
                errors += 1
                print(f"{path}: {exc}", file=sys.stderr)
                continue
            decode_s += seconds
            t = time.perf_counter()
            detections = detector.detect(image)
            detect_s += time.perf_counter() - t
            if detections:
                found += 1
                multi += len(detections) > 1
            elif len(missed) < misses:
                missed.append(str(path.relative_to(path.parents[1])))
    wall = time.perf_counter() - start
    n = len(files)
    return {
        "detector": name,
        "config": detector.get_config(),
        "images": n,
        "decode_errors": errors,
        "faces_found": found,
        "detection_rate": round(found / n, 5) if n else None,
        "missed": n - found,
        "multi_face_rate": round(multi / n, 5) if n else None,
        "detect_ms_mean": round(1000 * detect_s / n, 3) if n else None,
        "decode_ms_mean": round(1000 * decode_s / n, 3) if n else None,
        "pipeline_ms_per_image": round(1000 * wall / n, 3) if n else None,
        "wall_s": round(wall, 1),
        "build_s": round(build_s, 2),
        "missed_files": missed,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=os.environ.get("SIAMESE_DATA"), required=False)
    parser.add_argument("--detector", choices=["yunet", "mtcnn", "all"], default="all")
    parser.add_argument("--limit", type=int, default=None, help="seeded random sample of N images")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workers", type=int, default=2, help="decoding threads")
    parser.add_argument("--misses", type=int, default=20, help="how many missed files to list")
    parser.add_argument("--yunet-score", type=float, default=None, help="YuNet score threshold")
    args = parser.parse_args(argv)
    if args.data is None:
        parser.error("--data (or $SIAMESE_DATA) is required")
    files = lfw_images(Path(args.data), args.limit, args.seed)
    names = ["yunet", "mtcnn"] if args.detector == "all" else [args.detector]
    results = []
    for name in names:
        kwargs: dict[str, Any] = {}
        if name == "yunet" and args.yunet_score is not None:
            kwargs["score_threshold"] = args.yunet_score
        results.append(run(name, files, max(1, args.workers), args.misses, kwargs))
    report = {
        "machine": f"{platform.machine()} {os.cpu_count()} CPUs, {platform.python_implementation()} "
        f"{platform.python_version()}",
        "command": " ".join([Path(sys.argv[0]).name, *(argv if argv is not None else sys.argv[1:])]),
        "sample": "all" if args.limit is None else f"seeded random sample (seed {args.seed})",
        "results": results,
    }
    json.dump(report, sys.stdout, indent=2)
    print()


if __name__ == "__main__":
    main()
