"""A verification pairs CSV (path_a, path_b, same) drawn from a folder of identity folders, for cross-dataset checks.

    python benchmarks/folder_pairs.py $SIAMESE_DATA/orl --pairs 3600 --out benchmarks/out/orl_pairs.csv
    siamese evaluate MODEL --pairs benchmarks/out/orl_pairs.csv --flip --json

Half the pairs are genuine (two different photos of one person), half impostor, drawn with the seeded sampler that
``siamese train`` uses for its validation pairs (``siamese.training.data.sample_pairs``). label 1 = same person.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def main() -> int:
    from siamese.data.readers import read_identity_folders, write_csv_pairs
    from siamese.training.data import sample_pairs

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("root", type=Path, help="one folder per person")
    ap.add_argument("--pairs", type=int, default=3600)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args()
    ds = read_identity_folders(args.root, min_images=1)
    a, b, same = sample_pairs(ds.labels, args.pairs, seed=args.seed)
    rows = [(ds.paths[i], ds.paths[j], int(s)) for i, j, s in zip(a, b, same, strict=True)]
    write_csv_pairs(args.out, rows)
    print(f"{args.out}: {len(rows)} pairs ({int(same.sum())} genuine) of {len(ds.names)} people", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
