"""End to end on ORL: enroll 40 people from 5 photos each, identify their other 5, through the CLI."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from siamese.model_dir import CALIBRATION_FILE, ModelDir, write_model_dir

from .conftest import run_cli


def _enroll_dir(orl_root: Path, tmp: Path) -> Path:
    """ROOT/<person>/<photos 1..5> as symlinks to the shared ORL files (nothing copied)."""
    root = tmp / "enroll"
    for s in range(1, 41):
        d = root / f"s{s}"
        d.mkdir(parents=True)
        for i in range(1, 6):
            (d / f"{i}.pgm").symlink_to(orl_root / f"s{s}" / f"{i}.pgm")
    return root


def _top1(model: Path, gallery: Path, orl_root: Path) -> float:
    from siamese.recognition import Recognizer

    hits = total = 0
    with Recognizer(model, gallery, threshold=10.0) as rec:
        probes = [(f"s{s}", orl_root / f"s{s}" / f"{i}.pgm") for s in range(1, 41) for i in range(6, 11)]
        emb = rec.embedder.embed_files([str(p) for _, p in probes], progress=False)
        for k, res in zip(emb.index, rec.identify_embeddings(emb.embeddings, top_k=1), strict=True):
            total += 1
            hits += res.candidates[0].name == probes[k][0]
    return hits / total


@pytest.fixture(scope="module")
def untrained_model(smoke_model, tmp_path_factory) -> Path:
    """Same architecture and card as the smoke model, freshly initialised weights."""
    import keras

    from siamese.models import get_tower

    keras.utils.set_random_seed(0)
    trained = ModelDir(smoke_model[0])
    tower = get_tower("small_cnn", input_shape=(64, 64, 3), embedding_dim=64, width=16, blocks=3)
    path = tmp_path_factory.mktemp("untrained") / "model"
    write_model_dir(path, tower, {k: v for k, v in trained.card.items() if k != "fingerprint"})
    (path / CALIBRATION_FILE).write_text((trained.path / CALIBRATION_FILE).read_text())
    return path


@pytest.fixture(scope="module")
def enrolled(smoke_model, untrained_model: Path, orl_root: Path, tmp_path_factory) -> dict:
    """Enroll ORL photos 1-5 of all 40 people ONCE through the CLI, with the trained and the untrained model.
    Tests that change a gallery work on a copy."""
    tmp = tmp_path_factory.mktemp("enrolled")
    root = _enroll_dir(orl_root, tmp)
    gallery = tmp / "gallery"
    code, out, err = run_cli("enroll", "--from-dir", root, "--model", smoke_model[0], "--gallery", gallery, "--json")
    assert code == 0, err
    untrained_gallery = tmp / "gallery0"
    code0, _, err0 = run_cli("enroll", "--from-dir", root, "--model", untrained_model, "--gallery", untrained_gallery)
    assert code0 == 0, err0
    return {"model": smoke_model[0], "gallery": gallery, "summary": json.loads(out),
            "untrained_gallery": untrained_gallery, "probe": orl_root / "s7" / "9.pgm"}


def test_enroll_from_dir_summary(enrolled: dict) -> None:
    summary = enrolled["summary"]
    assert len(summary["enrolled"]) == 40 and summary["templates"] == 200 and summary["skipped"] == []


def test_enrolling_a_folder_again_adds_only_its_new_photos(enrolled: dict, orl_root: Path, tmp_path: Path) -> None:
    import shutil

    gallery = tmp_path / "gallery"
    shutil.copytree(enrolled["gallery"], gallery)
    root = _enroll_dir(orl_root, tmp_path)
    (root / "s1" / "6.pgm").symlink_to(orl_root / "s1" / "6.pgm")
    code, out, err = run_cli("enroll", "--from-dir", root, "--model", enrolled["model"], "--gallery", gallery,
                             "--json")
    summary = json.loads(out)
    assert code == 0, err
    assert summary["enrolled"] == {"s1": 1} and summary["skipped"] == []
    assert summary["already_enrolled"] == {f"s{s}": 5 for s in range(1, 41)}
    code, out, _ = run_cli("gallery", "info", "--gallery", gallery, "--json")
    assert json.loads(out)["templates"] == 201


def test_gallery_files_are_private(enrolled: dict) -> None:
    gallery = enrolled["gallery"]
    for f in gallery.iterdir():
        if f.is_file():
            assert stat.S_IMODE(f.stat().st_mode) == 0o600, f
    assert stat.S_IMODE(gallery.stat().st_mode) == 0o700


def test_trained_beats_untrained_top1(enrolled: dict, untrained_model: Path, orl_root: Path) -> None:
    trained_acc = _top1(enrolled["model"], enrolled["gallery"], orl_root)
    untrained_acc = _top1(untrained_model, enrolled["untrained_gallery"], orl_root)
    print(f"ORL top-1 identification (5 enrolled / 5 probes x 40 people): trained {trained_acc:.3f}, "
          f"untrained {untrained_acc:.3f}")
    assert trained_acc > untrained_acc + 0.05


def test_identify_json_and_exit_codes(enrolled: dict) -> None:
    """0 found with a generous threshold, 1 unknown with threshold 0."""
    model, gallery, probe = enrolled["model"], enrolled["gallery"], enrolled["probe"]
    code, out, _ = run_cli("identify", probe, "--model", model, "--gallery", gallery, "--threshold", "10",
                           "--top-k", "3", "--json")
    res = json.loads(out)
    assert code == 0 and res["found"] and len(res["candidates"]) == 3
    assert [c["distance"] for c in res["candidates"]] == sorted(c["distance"] for c in res["candidates"])
    code, out, _ = run_cli("identify", probe, "--model", model, "--gallery", gallery, "--threshold", "0", "--json")
    assert code == 1 and json.loads(out)["found"] is False and json.loads(out)["name"] is None


def test_verify_claim_exit_codes(enrolled: dict) -> None:
    """Own identity at a generous threshold -> 0; impossible threshold -> 1; unknown identity or a negative
    threshold -> 2."""
    model, gallery, probe = enrolled["model"], enrolled["gallery"], enrolled["probe"]
    assert run_cli("verify", probe, "--claim", "s7", "--model", model, "--gallery", gallery,
                   "--threshold", "10")[0] == 0
    assert run_cli("verify", probe, "--claim", "s7", "--model", model, "--gallery", gallery,
                   "--threshold", "0")[0] == 1
    code, out, err = run_cli("verify", probe, "--claim", "s7", "--model", model, "--gallery", gallery,
                             "--threshold", "-1")
    assert (code, out) == (2, "") and "--threshold: threshold is a distance and must be >= 0" in err
    code, _, err = run_cli("verify", probe, "--claim", "nobody", "--model", model, "--gallery", gallery)
    assert code == 2 and "nobody" in err


def test_gallery_list_info_remove(enrolled: dict, tmp_path: Path) -> None:
    import shutil

    gallery = tmp_path / "gallery"
    shutil.copytree(enrolled["gallery"], gallery)
    code, out, _ = run_cli("gallery", "list", "--gallery", gallery, "--json")
    assert code == 0 and len(json.loads(out)["identities"]) == 40
    code, out, _ = run_cli("gallery", "remove", "s7", "--gallery", gallery, "--json")
    assert code == 0 and json.loads(out)["templates"] == 5
    code, out, _ = run_cli("gallery", "info", "--gallery", gallery, "--json")
    info = json.loads(out)
    assert info["identities"] == 39 and info["templates"] == 195
    assert info["fingerprint"] == ModelDir(enrolled["model"]).fingerprint
    assert run_cli("gallery", "remove", "s7", "--gallery", gallery)[0] == 2


def test_gallery_refuses_another_model(smoke_model, untrained_model: Path, orl_root: Path, tmp_path: Path):
    gallery = tmp_path / "g"
    photo = orl_root / "s1" / "1.pgm"
    assert run_cli("enroll", "alice", photo, "--model", smoke_model[0], "--gallery", gallery)[0] == 0
    before = {f.name: f.read_bytes() for f in gallery.iterdir() if f.is_file()}
    code, out, err = run_cli("enroll", "bob", photo, "--model", untrained_model, "--gallery", gallery)
    assert code == 2 and "bound to model" in err and len(err.strip().splitlines()) == 1
    after = {f.name: f.read_bytes() for f in gallery.iterdir() if f.is_file()}
    assert before == after


def test_enroll_bad_photos_are_skipped_with_reasons_and_nothing_written(smoke_model, tmp_path: Path):
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"\xff\xd8\xff\xe0 truncated")
    empty = tmp_path / "empty.png"
    empty.write_bytes(b"")
    gallery = tmp_path / "g"
    code, out, err = run_cli("enroll", "carol", bad, empty, "--model", smoke_model[0], "--gallery", gallery,
                             "--json")
    assert code == 2
    skipped = json.loads(out)["skipped"]
    assert {s["file"] for s in skipped if "file" in s} == {str(bad), str(empty)}
    assert all(s["reason"] for s in skipped)
    assert not gallery.exists()
    missing = tmp_path / "missing"
    code, _, err = run_cli("identify", bad, "--model", smoke_model[0], "--gallery", missing)
    assert code == 2 and str(missing) in err and not missing.exists()
