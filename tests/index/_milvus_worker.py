"""Child process for the Milvus concurrency test (run with ``sys.executable``; no TensorFlow).

    python _milvus_worker.py ADDRESS PREFIX N   # wait for a line on stdin, then enrol N identities one by one
"""

from __future__ import annotations

import sys
import zlib

import numpy as np

DIM = 32


def expected(name: str) -> np.ndarray:
    """The templates a worker enrols for ``name``: 1-4 unit vectors derived from the name."""
    seed = zlib.crc32(name.encode())
    vectors = np.random.default_rng(seed).standard_normal((1 + seed % 4, DIM)).astype(np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def enroll(address: str, prefix: str, count: int) -> None:
    from siamese.index import open_gallery

    gallery = open_gallery(address, "fp-test")
    print("ready", flush=True)
    sys.stdin.readline()
    for i in range(count):  # each add takes the lite database, writes, lets it go
        name = f"{prefix}{i:04d}"
        gallery.add(name, expected(name))
    gallery.close()
    print("done", flush=True)


if __name__ == "__main__":
    enroll(sys.argv[1], sys.argv[2], int(sys.argv[3]))
