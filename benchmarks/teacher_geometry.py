"""Where a teacher's embeddings sit on the sphere, raw and centred (why ``teacher.center`` exists).

    python benchmarks/teacher_geometry.py            # dlib on every 5th LFW photo and the pairsDevTest pairs

Prints, for the unit-normalised embeddings and for the embeddings centred on the sample's mean: the mean cosine and
distance of 5,000 random photo pairs, and the mean distance of the genuine and impostor pairs of pairsDevTest.
Embeddings come from the teacher cache (computed once per photo). Euclidean distance between unit vectors.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import numpy as np


def unit(x: np.ndarray) -> np.ndarray:
    return x / np.linalg.norm(x, axis=-1, keepdims=True)


def main() -> None:
    from siamese.data import read_lfw_pairs
    from siamese.teachers import get_teacher, teacher_embeddings

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=Path(os.environ.get("SIAMESE_DATA", "../shared/data")))
    ap.add_argument("--teacher", default="dlib")
    ap.add_argument("--every", type=int, default=5)
    args = ap.parse_args()
    images = args.data / "lfw" / "lfw-deepfunneled"
    teacher = get_teacher(args.teacher)
    sample = teacher_embeddings(sorted(map(str, images.glob("*/*.jpg")))[::args.every], teacher).embeddings
    mean = sample.mean(axis=0)
    pairs = read_lfw_pairs(args.data / "lfw" / "pairsDevTest.txt", images)
    photos = sorted(set(pairs.paths_a) | set(pairs.paths_b))
    te = teacher_embeddings(photos, teacher)
    row = {photos[i]: k for k, i in enumerate(te.index)}
    keep = [n for n, (a, b) in enumerate(zip(pairs.paths_a, pairs.paths_b, strict=True)) if a in row and b in row]
    ea = te.embeddings[[row[pairs.paths_a[n]] for n in keep]]
    eb = te.embeddings[[row[pairs.paths_b[n]] for n in keep]]
    same = pairs.same[keep] == 1
    rng = np.random.default_rng(0)
    i, j = rng.integers(0, len(sample), 5000), rng.integers(0, len(sample), 5000)
    for name, shift in (("raw", 0.0), ("centred", mean)):
        s = unit(sample - shift)
        d = np.linalg.norm(unit(ea - shift) - unit(eb - shift), axis=1)
        print(f"{name:8s} random pairs: cosine {np.mean(np.sum(s[i] * s[j], axis=1)):.3f}, distance "
              f"{np.mean(np.linalg.norm(s[i] - s[j], axis=1)):.3f} | pairsDevTest: genuine {d[same].mean():.3f}, "
              f"impostor {d[~same].mean():.3f} ({len(keep)} pairs with both descriptors; sample {len(sample)})")


if __name__ == "__main__":
    main()
