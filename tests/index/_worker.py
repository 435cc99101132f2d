"""Child process for the crash and concurrency tests (run with ``sys.executable``; no TensorFlow).

    python _worker.py crash DIR START SEED   # enrol / remove in a loop until killed
    python _worker.py enroll DIR PREFIX N    # wait for a line on stdin, then enrol N identities
    python _worker.py race DIR PREFIX N      # wait for a line on stdin, then open_or_create DIR and enrol N
    python _worker.py remove DIR             # remove every identity, one by one, until killed
    python _worker.py create PARENT          # create galleries PARENT/g0, g1, ... until killed
"""

from __future__ import annotations

import sys
import zlib

import numpy as np

DIM = 32


def expected(name: str) -> np.ndarray:
    """The templates a worker enrols for ``name``: 1-4 unit vectors derived from the name."""
    seed = zlib.crc32(name.encode())
    rng = np.random.default_rng(seed)
    vectors = rng.standard_normal((1 + seed % 4, DIM)).astype(np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def crash(directory: str, start: int, seed: int) -> None:
    print("ready", flush=True)  # before opening: kills may also land in open-time repair
    from siamese.index import FaceGallery

    rng = np.random.default_rng(seed)
    gallery = FaceGallery.open(directory, "fp-test")
    mine: list[str] = []
    i = start
    while True:
        roll = rng.random()
        if roll < 0.2 and mine:
            gallery.remove(mine.pop(int(rng.integers(len(mine)))))
        elif roll < 0.35:
            names = [f"p{i:07d}", f"p{i + 1:07d}"]
            gallery.add_many([(n, expected(n)) for n in names])
            mine += names
            i += 2
        else:
            name = f"p{i:07d}"
            gallery.add(name, expected(name))
            mine.append(name)
            i += 1


def enroll(directory: str, prefix: str, count: int) -> None:
    from siamese.index import FaceGallery

    gallery = FaceGallery.open(directory, "fp-test")
    print("ready", flush=True)
    sys.stdin.readline()
    for i in range(count):
        name = f"{prefix}{i:04d}"
        gallery.add(name, expected(name))
    gallery.close()
    print("done", flush=True)


def race(directory: str, prefix: str, count: int) -> None:
    from siamese.index import FaceGallery

    print("ready", flush=True)
    sys.stdin.readline()
    with FaceGallery.open_or_create(directory, "fp-test", DIM) as gallery:
        for i in range(count):
            name = f"{prefix}{i:04d}"
            gallery.add(name, expected(name))
    print("done", flush=True)


def remove(directory: str) -> None:
    from siamese.index import FaceGallery

    gallery = FaceGallery.open(directory, "fp-test")
    print("ready", flush=True)
    for name in gallery.names():
        gallery.remove(name)
    print("done", flush=True)


def create(parent: str) -> None:
    from pathlib import Path

    from siamese.index import FaceGallery

    print("ready", flush=True)
    for i in range(100_000):
        FaceGallery.create(Path(parent) / f"g{i}", "fp-test", DIM).close()


if __name__ == "__main__":
    mode, directory = sys.argv[1], sys.argv[2]
    if mode == "crash":
        crash(directory, int(sys.argv[3]), int(sys.argv[4]))
    elif mode == "race":
        race(directory, sys.argv[3], int(sys.argv[4]))
    elif mode == "remove":
        remove(directory)
    elif mode == "create":
        create(directory)
    else:
        enroll(directory, sys.argv[3], int(sys.argv[4]))
