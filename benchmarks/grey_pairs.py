"""Grey copies of a pairs file's photos and a pairs CSV over them: how much a model loses on grey photos.

    python benchmarks/grey_pairs.py $SIAMESE_DATA/lfw/pairsDevTest.txt --out /tmp/lfw-grey
    siamese evaluate MODEL --pairs /tmp/lfw-grey/pairs.csv --flip --json

Each photo becomes its luma (``cv2.COLOR_RGB2GRAY``), saved as PNG (lossless) under ``OUT/<person>/<name>.png``;
the pairs keep their order and labels (label 1 = same person). Seeded 10 folds apply to the CSV, as to any CSV.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def main() -> int:
    import cv2

    from siamese._files import atomic_write_bytes
    from siamese.data.readers import write_csv_pairs
    from siamese.faces import read_image
    from siamese.verification import load_pairs

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("pairs", type=Path, help="LFW pairs file or pairs CSV")
    ap.add_argument("--images", type=Path, default=None, help="image root of an LFW pairs file")
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args()
    pairs = load_pairs(args.pairs, args.images)
    grey: dict[str, Path] = {}
    for photo in sorted(set(map(str, pairs.paths_a)) | set(map(str, pairs.paths_b))):
        src = Path(photo)
        dst = args.out / src.parent.name / (src.stem + ".png")
        dst.parent.mkdir(parents=True, exist_ok=True)
        ok, png = cv2.imencode(".png", cv2.cvtColor(read_image(src), cv2.COLOR_RGB2GRAY))
        if not ok:
            raise SystemExit(f"{src}: could not encode its grey copy")
        atomic_write_bytes(dst, png.tobytes(), mode=0o644)
        grey[photo] = dst
    write_csv_pairs(args.out / "pairs.csv", ((grey[str(a)], grey[str(b)], s)
                                             for a, b, s in zip(pairs.paths_a, pairs.paths_b, pairs.same, strict=True)))
    print(f"{args.out / 'pairs.csv'}: {len(pairs.same)} pairs over {len(grey)} grey photos", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
