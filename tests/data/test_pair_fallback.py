"""pair_faces(fallback="center"): a photo without a face is scored on its centre crop; unreadable files still fail."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from siamese.data import PairsSet, pair_faces
from siamese.errors import ConfigError
from siamese.faces import FaceAligner, center_crop, read_image


@pytest.fixture
def pairs(tmp_path: Path, orl_root: Path) -> tuple[PairsSet, Path, Path]:
    flat = tmp_path / "flat.png"  # the none detector refuses near-constant images: "no face"
    cv2.imwrite(str(flat), np.full((120, 100, 3), 128, np.uint8))
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"not an image at all")
    a, b, c = (str(orl_root / "s1" / f"{i}.pgm") for i in (1, 2, 3))
    ps = PairsSet([a, a, str(flat), b, str(flat)], [b, c, a, str(broken), c], [1, 1, 0, 0, 0], [-1] * 5)
    return ps, flat, broken


@pytest.mark.parametrize("cache", [False, True])
def test_no_face_falls_back_to_the_centre_crop(pairs, tmp_path: Path, cache: bool) -> None:
    ps, flat, broken = pairs
    aligner = FaceAligner("none", size=32)
    pf = pair_faces(ps, aligner, cache=cache, cache_dir=tmp_path / "cache", progress=False, fallback="center")
    assert pf.ok.tolist() == [True, True, True, False, True]  # only the undecodable file fails its pair
    assert [p for p, _ in pf.fallbacks] == [str(flat)]
    assert "near-constant" in pf.fallbacks[0][1]
    assert [p for p, _ in pf.errors] == [str(broken)]
    # the fallback face is the aligner's centre-crop path (what the none detector does with a face it accepts)
    expected = center_crop(read_image(flat), 32)
    np.testing.assert_array_equal(pf.faces[pf.ia[2]], expected)
    np.testing.assert_array_equal(pf.faces[pf.ib[2]], aligner.align_file(ps.paths_b[2]))
    np.testing.assert_array_equal(pf.faces[pf.ia[3]], expected)  # the 5th pair (4th usable) shares the crop


def test_without_fallback_the_pairs_are_dropped(pairs) -> None:
    ps, flat, broken = pairs
    pf = pair_faces(ps, FaceAligner("none", size=32), progress=False)
    assert pf.ok.tolist() == [True, True, False, False, False]
    assert pf.fallbacks == []
    assert sorted(p for p, _ in pf.errors) == sorted([str(flat), str(broken)])


def test_unknown_fallback_is_refused(pairs) -> None:
    with pytest.raises(ConfigError, match="fallback"):
        pair_faces(pairs[0], FaceAligner("none", size=32), progress=False, fallback="blur")
