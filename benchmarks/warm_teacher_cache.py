"""Fill the dlib teacher's on-disk cache for every photo of a folder tree, in several processes, before a run that
needs it (the View 2 protocol of configs/lfw-student.yaml embeds one photo at a time inside `siamese train`).

    python benchmarks/warm_teacher_cache.py                      # $SIAMESE_DATA/lfw/lfw-deepfunneled, 2 processes
    python benchmarks/warm_teacher_cache.py --images DIR --processes 2

Each process embeds every N-th photo of the sorted list (its own slice), through the same
`siamese.teachers.teacher_embeddings` and cache (`$SIAMESE_CACHE`) as training, so a later run finds every photo
cached. Photos the teacher finds no face in are cached as such. Prints one line per process.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path


def _part(images: Path, part: int, parts: int) -> int:
    from siamese.teachers import get_teacher, teacher_embeddings

    paths = sorted(str(p) for p in images.glob("*/*.jpg"))[part::parts]
    r = teacher_embeddings(paths, get_teacher("dlib"), progress=False)
    print(f"part {part}/{parts}: {len(paths)} photos, {r.computed} computed, {r.from_cache} cached, "
          f"{len(r.errors)} without an embedding", flush=True)
    return 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--images", type=Path, default=None,
                    help="photo tree (default: $SIAMESE_DATA/lfw/lfw-deepfunneled)")
    ap.add_argument("--processes", type=int, default=2)
    ap.add_argument("--part", type=int, default=None, help=argparse.SUPPRESS)  # one worker's slice
    args = ap.parse_args()
    images = args.images or Path(os.environ.get("SIAMESE_DATA", "")) / "lfw" / "lfw-deepfunneled"
    if not images.is_dir():
        raise SystemExit(f"{images}: no such folder (give --images or set SIAMESE_DATA)")
    if args.part is not None:
        return _part(images, args.part, args.processes)
    workers = [subprocess.Popen([sys.executable, __file__, "--images", str(images), "--processes",
                                 str(args.processes), "--part", str(k)]) for k in range(args.processes)]
    return max(w.wait() for w in workers)


if __name__ == "__main__":
    sys.exit(main())
