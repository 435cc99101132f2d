"""siamese.recognition.Recognizer on ORL photos against a brute-force numpy nearest neighbour.

Oracle: the Keras model on centre-cropped faces, L2-normalised; the distance of a probe to an identity is the
smallest euclidean distance to any of its templates.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from siamese.errors import GalleryError
from siamese.model_dir import ModelDir
from siamese.recognition import Recognizer

PEOPLE = [f"s{s}" for s in (1, 2, 3, 4, 5, 6)]
ENROLLED = (1, 2, 3)
PROBES = (7, 9)


def _oracle(model_dir: Path, paths: list[Path]) -> np.ndarray:
    from siamese.faces import FaceAligner

    md = ModelDir(model_dir)
    faces = np.stack([FaceAligner(detector="none", size=md.input_size).align_file(p) for p in paths])
    emb = np.asarray(md.embedding_model()(faces.astype(np.float32), training=False), dtype=np.float64)
    return emb / np.linalg.norm(emb, axis=1, keepdims=True)


@pytest.fixture(scope="module")
def enrolled(smoke_model, orl_root: Path, tmp_path_factory: pytest.TempPathFactory):
    """A gallery of 6 ORL people (photos 1-3 each), and the oracle's templates."""
    gallery = tmp_path_factory.mktemp("rec") / "gallery"
    people = {p: [orl_root / p / f"{i}.pgm" for i in ENROLLED] for p in PEOPLE}
    with Recognizer(smoke_model[0], gallery, threshold=10.0, create=True) as rec:
        summary = rec.enroll_many(people)
    templates = {p: _oracle(smoke_model[0], paths) for p, paths in people.items()}
    return gallery, summary, templates


def _nearest(templates: dict[str, np.ndarray], probe: np.ndarray) -> list[tuple[str, float]]:
    per_person = {p: float(np.min(np.sqrt(((t - probe) ** 2).sum(axis=1)))) for p, t in templates.items()}
    return sorted(per_person.items(), key=lambda kv: kv[1])


def test_enroll_summary(enrolled) -> None:
    _, summary, _ = enrolled
    assert summary.enrolled == {p: len(ENROLLED) for p in PEOPLE} and summary.skipped == []
    assert summary.to_dict()["templates"] == len(PEOPLE) * len(ENROLLED)


def test_identify_matches_brute_force_nearest_neighbour(smoke_model, enrolled, orl_root: Path) -> None:
    gallery, _, templates = enrolled
    probes = [orl_root / p / f"{i}.pgm" for p in PEOPLE for i in PROBES]
    oracle = _oracle(smoke_model[0], probes)
    with Recognizer(smoke_model[0], gallery, threshold=10.0) as rec:
        for probe, emb in zip(probes, oracle, strict=True):
            expected = _nearest(templates, emb)
            result = rec.identify(probe, top_k=3)
            assert [c.name for c in result.candidates] == [n for n, _ in expected[:3]], probe
            np.testing.assert_allclose([c.distance for c in result.candidates], [d for _, d in expected[:3]],
                                       atol=1e-4)
            for c in result.candidates:  # similarity and distance agree: d = sqrt(2 - 2 s)
                assert c.distance == pytest.approx(np.sqrt(max(2 - 2 * c.similarity, 0.0)), abs=1e-4)
            assert result.found and result.name == expected[0][0]
    # the threshold decides: between the best and the second best distance only the best is accepted
    probe = probes[0]
    d = _nearest(templates, oracle[0])
    mid = (d[0][1] + d[1][1]) / 2
    with Recognizer(smoke_model[0], gallery, threshold=mid) as rec:
        res = rec.identify(probe, top_k=2)
    assert res.found and [c.accepted for c in res.candidates] == [True, False] and res.threshold == mid
    with Recognizer(smoke_model[0], gallery, threshold=d[0][1] - 1e-3) as rec:
        res = rec.identify(probe, top_k=2)
    assert not res.found and res.name is None and not any(c.accepted for c in res.candidates)
    assert set(res.to_dict()) == {"found", "name", "threshold", "candidates"}


def test_verify_claim_is_the_closest_template(smoke_model, enrolled, orl_root: Path) -> None:
    gallery, _, templates = enrolled
    probe = orl_root / "s2" / "8.pgm"
    emb = _oracle(smoke_model[0], [probe])[0]
    with Recognizer(smoke_model[0], gallery, threshold=10.0) as rec:
        for claim in ("s2", "s5"):
            expected = float(np.min(np.sqrt(((templates[claim] - emb) ** 2).sum(axis=1))))
            result = rec.verify(probe, claim)
            assert result.distance == pytest.approx(expected, abs=1e-4) and result.claim == claim
            assert result.same is True  # threshold 10 accepts everything
        with pytest.raises(GalleryError, match="nobody"):
            rec.verify(probe, "nobody")
    with Recognizer(smoke_model[0], gallery, threshold=0.0) as rec:
        assert rec.verify(probe, "s2").same is False


def test_remove_then_identify_never_returns_the_removed(smoke_model, enrolled, orl_root: Path, tmp_path: Path) -> None:
    import shutil

    gallery = tmp_path / "g"
    shutil.copytree(enrolled[0], gallery)
    templates = dict(enrolled[2])
    with Recognizer(smoke_model[0], gallery, threshold=10.0) as rec:
        assert rec.remove("s4") == len(ENROLLED)
        assert "s4" not in rec.gallery.names()
        with pytest.raises(GalleryError):
            rec.remove("s4")
        del templates["s4"]
        probe = orl_root / "s4" / "7.pgm"
        result = rec.identify(probe, top_k=len(PEOPLE))
    assert "s4" not in [c.name for c in result.candidates] and len(result.candidates) == len(PEOPLE) - 1
    expected = _nearest(templates, _oracle(smoke_model[0], [probe])[0])
    assert [c.name for c in result.candidates] == [n for n, _ in expected]


def test_bad_photo_is_skipped_with_its_reason(smoke_model, orl_root: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n truncated")
    gallery = tmp_path / "g"
    with Recognizer(smoke_model[0], gallery, threshold=1.0, create=True) as rec:
        summary = rec.enroll_many({"ann": [orl_root / "s1" / "1.pgm", bad], "bob": [bad]})
    assert summary.enrolled == {"ann": 1}
    files = [s for s in summary.skipped if "file" in s]
    assert [s["file"] for s in files] == [str(bad), str(bad)]
    assert all("truncated" in s["reason"] for s in files)
    assert {"identity": "bob", "reason": "no usable photo"} in summary.skipped


@pytest.mark.parametrize("name", ["", "   ", " padded", "padded ", "tab\there", "bell\x07", "zero\u200bwidth",
                                  "x" * 10_000])
def test_invalid_names_are_refused_before_anything_is_created(smoke_model, orl_root: Path, tmp_path: Path,
                                                             name: str) -> None:
    gallery = tmp_path / "new" / "gallery"
    with Recognizer(smoke_model[0], gallery, threshold=1.0, create=True) as rec:
        with pytest.raises(GalleryError) as err:
            rec.enroll(name, [orl_root / "s1" / "1.pgm"])
        with pytest.raises(GalleryError):
            rec.enroll_many({"fine": [orl_root / "s1" / "1.pgm"], name: [orl_root / "s2" / "1.pgm"]})
    assert not gallery.exists() and not gallery.parent.exists()
    message = str(err.value)
    assert "\n" not in message and len(message) < 300  # the 10,000-character name is not echoed whole


def test_enrolling_the_same_photos_again_adds_only_new_ones(smoke_model, orl_root: Path, tmp_path: Path) -> None:
    gallery = tmp_path / "g"
    first = {p: [orl_root / p / f"{i}.pgm" for i in (1, 2)] for p in ("s1", "s2")}
    with Recognizer(smoke_model[0], gallery, threshold=1.0, create=True) as rec:
        assert rec.enroll_many(first).enrolled == {"s1": 2, "s2": 2}
    copy = tmp_path / "copy.pgm"  # same bytes under another path: the same photo
    copy.write_bytes((orl_root / "s1" / "1.pgm").read_bytes())
    again = {"s1": [orl_root / "s1" / "1.pgm", copy, orl_root / "s1" / "3.pgm", orl_root / "s1" / "3.pgm"],
             "s2": first["s2"], "s3": [orl_root / "s2" / "1.pgm"]}  # s2's photo under another name is new for s3
    with Recognizer(smoke_model[0], gallery, threshold=1.0) as rec:
        summary = rec.enroll_many(again)
        assert summary.enrolled == {"s1": 1, "s3": 1}
        assert summary.already_enrolled == {"s1": 2, "s2": 2}
        assert [s["file"] for s in summary.skipped] == [str(orl_root / "s1" / "3.pgm")]  # the repeat in this call
        assert "the same photo as" in summary.skipped[0]["reason"]
        assert {n: len(rec.gallery.templates(n)) for n in rec.gallery.names()} == {"s1": 3, "s2": 2, "s3": 1}


def test_a_photo_enrolled_by_another_process_meanwhile_is_added_once(smoke_model, orl_root: Path, tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    gallery = tmp_path / "g"
    photos = [orl_root / "s1" / f"{i}.pgm" for i in (1, 2, 3)]
    with Recognizer(smoke_model[0], gallery, threshold=1.0, create=True) as rec:
        rec.enroll("s1", photos[:1])
    with Recognizer(smoke_model[0], gallery, threshold=1.0) as rec, \
            Recognizer(smoke_model[0], gallery, threshold=1.0) as other:
        looked = rec._new_photos

        def race(*args, **kwargs):  # the other process enrols photo 2 after this one has checked the gallery
            out = looked(*args, **kwargs)
            other.enroll("s1", photos[1:2])
            return out

        monkeypatch.setattr(rec, "_new_photos", race)
        summary = rec.enroll("s1", photos)
        assert summary.enrolled == {"s1": 1} and summary.already_enrolled == {"s1": 2}
        shas = [s.sha256 for s in rec.gallery.sources("s1")]
        assert len(shas) == 3 and len(set(shas)) == 3
