"""``siamese evaluate`` scores every pair: a photo without a face is scored on its centre crop, counted and listed;
only an undecodable file skips its pairs."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import cv2
import numpy as np

from siamese.distances import get as get_distance
from siamese.faces import center_crop, read_image
from siamese.verification import FaceEmbedder, load_pairs, pair_distances
from tests.cli.conftest import run_cli


def test_evaluate_scores_a_photo_without_a_face_on_its_centre_crop(smoke_model, orl_root: Path,
                                                                   tmp_path: Path) -> None:
    model = smoke_model[0]
    flat = tmp_path / "flat.png"  # near-constant: the model's 'none' detector finds no face in it
    cv2.imwrite(str(flat), np.full((112, 92, 3), 90, np.uint8))
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"\xff\xd8 truncated")
    rows = [(orl_root / f"s{s}" / "1.pgm", orl_root / f"s{s}" / "2.pgm", 1) for s in range(1, 7)]
    rows += [(orl_root / f"s{s}" / "1.pgm", orl_root / f"s{s + 1}" / "1.pgm", 0) for s in range(1, 6)]
    rows += [(flat, orl_root / "s9" / "3.pgm", 0), (orl_root / "s8" / "3.pgm", broken, 0)]
    pairs = tmp_path / "pairs.csv"
    with pairs.open("w", newline="") as f:
        csv.writer(f).writerows(rows)

    code, out, err = run_cli("evaluate", model, "--pairs", pairs, "--json")
    assert code == 0, err
    p = json.loads(out)
    assert p["pairs_scored"] == len(rows) - 1 and p["pairs_skipped"] == 1 and p["image_errors"] == 1
    assert p["fallbacks"] == 1
    assert p["fallback_files"][0]["path"] == str(flat) and "near-constant" in p["fallback_files"][0]["reason"]

    # oracle: the flat photo's pair (the 12th; the last pair is skipped) is scored on its centre crop
    emb = FaceEmbedder(model)
    a = emb.embed_faces(center_crop(read_image(flat), emb.aligner.size)[None])
    b = emb.embed_faces(emb.aligner.align_file(orl_root / "s9" / "3.pgm")[None])
    expected = float(get_distance(emb.model_dir.distance).rowwise(a, b)[0])
    pd = pair_distances(emb, load_pairs(pairs), progress=False, fallback="center")
    assert len(pd.distances) == len(rows) - 1
    assert abs(pd.distances[11] - expected) < 1e-4

    code, text, err = run_cli("evaluate", model, "--pairs", pairs)
    assert code == 0, err
    assert "no face found in 1 photo(s)" in text and str(flat) in text

