"""Bad input found by probing the commands with the shipped default model on real LFW photos: each case exits 2 with
ONE line on stderr naming the file and the reason (never "internal error"), and writes nothing it was not asked to.
No training: the model is the one shipped in the package (LiteRT, a second per command)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

import siamese
from siamese.errors import InputFileError, SiameseError
from tests.conftest import run_cli

PERSON_A, PERSON_B = "George_W_Bush", "Colin_Powell"


@pytest.fixture
def photos(lfw_root: Path, yunet_model: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> dict[str, list]:
    """Three LFW photos each of two people; the default model, the user data dir kept inside tmp_path."""
    monkeypatch.setenv("SIAMESE_YUNET", str(yunet_model))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv("SIAMESE_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("SIAMESE_MODEL", raising=False)
    monkeypatch.delenv("SIAMESE_GALLERY", raising=False)
    root = lfw_root / "lfw-deepfunneled"
    return {p: [root / p / f"{p}_{i:04d}.jpg" for i in (1, 2, 3)] for p in (PERSON_A, PERSON_B)}


def _one_error_line(err: str, *expect: str) -> None:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("siamese: error: ") and "internal error" not in lines[0], err
    for text in expect:
        assert text in lines[0], err


def _json_error(out: str, err: str) -> bool:
    """Under --json the error is also one JSON object on stdout, the same message as the stderr line."""
    payload = json.loads(out)
    assert payload == {"error": err.strip().removeprefix("siamese: error: "), "exit_code": 2}, (out, err)
    return True


def test_enroll_with_the_name_forgotten_is_refused(photos: dict, tmp_path: Path) -> None:
    a1, a2, _ = photos[PERSON_A]
    code, out, err = run_cli("enroll", a1, a2, "--gallery", tmp_path / "g")  # 'enroll a.jpg b.jpg'
    assert code == 2 and out == ""
    _one_error_line(err, str(a1), "not an identity name")
    assert not (tmp_path / "g").exists()


def test_enroll_from_dir_skips_a_folder_whose_name_cannot_be_an_identity(photos: dict, tmp_path: Path) -> None:
    root = tmp_path / "people"
    for person, files in photos.items():
        (root / person).mkdir(parents=True)
        for f in files:
            shutil.copy(f, root / person)
    (root / " Tony").mkdir()  # a leading space: not a valid identity name
    shutil.copy(photos[PERSON_A][0], root / " Tony")
    code, out, err = run_cli("enroll", "--from-dir", root, "--gallery", tmp_path / "g", "--json")
    assert code == 0, err
    result = json.loads(out)
    assert result["enrolled"] == {PERSON_A: 3, PERSON_B: 3}
    assert [s["identity"] for s in result["skipped"]] == [" Tony"]
    assert "skipped ' Tony': " in err  # quoted: the leading space is the reason
    assert siamese.api.gallery_names(tmp_path / "g") == [PERSON_B, PERSON_A]


def test_enroll_from_dir_lists_every_entry_it_cannot_use(photos: dict, tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """Nothing is dropped silently: a broken link and a folder named like a photo fail as photos, a folder whose
    only photo is a broken link gets "no usable photo", a folder without photos and a folder that cannot be listed
    are skipped with their reason; the other people are enrolled."""
    root = tmp_path / "people"
    for person, files in photos.items():
        (root / person).mkdir(parents=True)
        for f in files:
            shutil.copy(f, root / person)
    (root / PERSON_A / "gone.jpg").symlink_to(tmp_path / "nowhere.jpg")
    (root / PERSON_A / "album.jpg").mkdir()
    (root / "Carol").mkdir()
    (root / "Carol" / "only.jpg").symlink_to(tmp_path / "nowhere.jpg")
    (root / "Dave").mkdir()
    (root / "Dave" / "notes.txt").write_text("no photo here")
    (root / "Erin").mkdir()
    shutil.copy(photos[PERSON_B][0], root / "Erin")
    real_iterdir = Path.iterdir

    def iterdir(self: Path):  # Erin's folder cannot be listed (as root, chmod 000 would not stop us)
        if self.name == "Erin":
            raise PermissionError(13, "Permission denied")
        return real_iterdir(self)

    monkeypatch.setattr(Path, "iterdir", iterdir)
    code, out, err = run_cli("enroll", "--from-dir", root, "--gallery", tmp_path / "g", "--json")
    assert code == 0, err
    result = json.loads(out)
    assert result["enrolled"] == {PERSON_A: 3, PERSON_B: 3}
    files = {s["file"]: s["reason"] for s in result["skipped"] if "file" in s}
    assert set(files) == {str(root / PERSON_A / "gone.jpg"), str(root / PERSON_A / "album.jpg"),
                          str(root / "Carol" / "only.jpg")}
    people = {s["identity"]: s["reason"] for s in result["skipped"] if "identity" in s}
    assert set(people) == {"Carol", "Dave", "Erin"}
    assert people["Carol"] == "no usable photo"
    assert people["Dave"].startswith(f"{root / 'Dave'}: no photo")
    assert people["Erin"] == f"{root / 'Erin'}: cannot list (Permission denied)"


def test_enroll_from_dir_without_any_usable_folder_is_one_error(photos: dict, tmp_path: Path) -> None:
    root = tmp_path / "people"
    (root / "Dave").mkdir(parents=True)
    (root / "Dave" / "notes.txt").write_text("no photo here")
    code, out, err = run_cli("enroll", "--from-dir", root, "--gallery", tmp_path / "g", "--json")
    assert code == 2 and _json_error(out, err)
    _one_error_line(err, str(root), "no identity folder could be enrolled", "no photo")
    assert not (tmp_path / "g").exists()


def test_an_empty_gallery_address_is_refused(photos: dict, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    for args in (["enroll", "bob", photos[PERSON_A][0]], ["identify", photos[PERSON_A][0]], ["gallery", "list"]):
        code, out, err = run_cli(*args, "--gallery", "", "--json")
        assert code == 2 and _json_error(out, err), args
        _one_error_line(err, "--gallery: empty")
    assert list(tmp_path.iterdir()) == []


def test_no_photo_is_checked_for_readability_before_the_command_runs(photos: dict, tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """The command line must not refuse the whole command (a usage error) because ``os.access`` says one photo is
    unreadable: the commands read every photo themselves, so that one bad photo among many is skipped with its
    reason. ``os.access`` is patched because as root every file is readable."""
    import os

    a1, a2, _ = photos[PERSON_A]
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda path, mode, **kw: False if Path(path) == Path(a2) and mode == os.R_OK
                        else real_access(path, mode, **kw))
    code, out, err = run_cli("enroll", "alice", a1, a2, "--gallery", tmp_path / "g", "--json")
    assert code == 0 and "not readable" not in err, err
    assert json.loads(out)["enrolled"] == {"alice": 2}
    code, out, err = run_cli("verify", a2, a1, "--json")
    assert code == 0 and json.loads(out)["same"], err


def test_enroll_into_a_gallery_below_a_file_is_one_line(photos: dict, tmp_path: Path) -> None:
    blocker = tmp_path / "afile"
    blocker.write_text("x")
    code, out, err = run_cli("enroll", "alice", photos[PERSON_A][0], "--gallery", blocker / "g", "--json")
    assert code == 2 and _json_error(out, err)
    _one_error_line(err, str(blocker / "g"), "cannot create gallery", f"already exists and is not a folder: {blocker}")
    assert blocker.read_text() == "x"


def test_the_catalogue_file_of_a_local_gallery_is_not_taken_for_a_milvus_lite_database(photos: dict,
                                                                                       tmp_path: Path) -> None:
    gallery = tmp_path / "g"
    assert run_cli("enroll", "alice", photos[PERSON_A][0], "--gallery", gallery)[0] == 0
    before = {p.name: p.read_bytes() for p in gallery.iterdir()}
    for args in (["enroll", "bob", photos[PERSON_B][0]], ["gallery", "list"], ["identify", photos[PERSON_A][1]]):
        code, out, err = run_cli(*args, "--gallery", gallery / "gallery.db", "--json")
        assert code == 2 and _json_error(out, err), args
        _one_error_line(err, f"{gallery / 'gallery.db'}: the catalogue inside the local gallery {gallery}",
                        f"give the folder {gallery}")
    assert {p.name: p.read_bytes() for p in gallery.iterdir()} == before


def test_os_reason_says_when_a_folder_was_asked_for_below_a_file(tmp_path: Path) -> None:
    from siamese.errors import os_reason

    blocker = tmp_path / "afile"
    blocker.write_text("x")
    with pytest.raises(FileExistsError) as err:
        blocker.mkdir(parents=True, exist_ok=True)  # what making the parent of blocker / "x.tflite" does
    assert os_reason(err.value) == "already exists and is not a folder"
    with pytest.raises(FileNotFoundError) as err2:
        (tmp_path / "missing").read_text()
    assert os_reason(err2.value) == "No such file or directory"


def _pairs_csv(photos: dict, path: Path) -> Path:
    a, b = photos[PERSON_A], photos[PERSON_B]
    rows = [(a[0], a[1], 1), (b[0], b[1], 1), (a[2], b[2], 0), (a[0], b[0], 0)]
    path.write_text("path_a,path_b,same\n" + "".join(f"{x},{y},{s}\n" for x, y, s in rows))
    return path


def test_evaluate_with_a_bad_far_writes_no_report(photos: dict, tmp_path: Path) -> None:
    from siamese.paths import packaged_model_dir

    pairs = _pairs_csv(photos, tmp_path / "pairs.csv")
    report = tmp_path / "report"
    code, out, err = run_cli("evaluate", packaged_model_dir(), "--pairs", pairs, "--report", report,
                             "--calibrate", "--far", "2", "--json")
    assert code == 2 and _json_error(out, err)
    _one_error_line(err, "--far")
    assert not report.exists()
    afile = tmp_path / "taken"
    afile.write_text("x")
    code, _, err = run_cli("evaluate", packaged_model_dir(), "--pairs", pairs, "--report", afile, "--json")
    assert code == 2
    _one_error_line(err, str(afile), "not a directory")
    assert afile.read_text() == "x"


def test_export_never_replaces_the_shipped_models_runtime(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import siamese.exporting
    import siamese.paths

    shipped = tmp_path / "package" / "default_model"
    shutil.copytree(siamese.paths.packaged_model_dir(), shipped)
    before = {p.name: p.read_bytes() for p in shipped.iterdir()}
    monkeypatch.setattr(siamese.paths, "packaged_model_dir", lambda: shipped)
    monkeypatch.setattr(siamese.exporting, "tflite_bytes", lambda *a, **k: b"not the shipped model")
    with pytest.raises(SiameseError, match="never changed"):
        siamese.api.export(shipped)  # no --out: would replace the model directory's own embedding.tflite
    assert {p.name: p.read_bytes() for p in shipped.iterdir()} == before


def test_export_names_a_missing_representative_folder(tmp_path: Path) -> None:
    from siamese.paths import packaged_model_dir

    missing = tmp_path / "no-such-folder"
    with pytest.raises(InputFileError, match=f"{missing}: --representative: not a directory"):
        siamese.api.export(packaged_model_dir(), tmp_path / "m.tflite", quantize="int8", representative=missing)
    assert not (tmp_path / "m.tflite").exists()


def _read_only_mount_works(tmp_path: Path) -> bool:
    import subprocess

    probe = tmp_path / "probe"
    probe.mkdir()
    script = f"mount --bind {probe} {probe} && mount -o remount,bind,ro {probe} && ! touch {probe}/x 2>/dev/null"
    try:
        return subprocess.run(["unshare", "-m", "sh", "-c", script], capture_output=True, timeout=30).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def test_identify_and_verify_a_claim_on_a_read_only_gallery(photos: dict, tmp_path: Path) -> None:
    """A gallery on a read-only file system (a private mount namespace, so the test needs mount rights): decisions
    never write, so they work; enrolling into it is one line."""
    import os
    import subprocess
    import sys

    if not _read_only_mount_works(tmp_path):
        pytest.skip("no read-only bind mount here (needs unshare -m and mount rights)")
    a1, a2, a3 = photos[PERSON_A]
    gallery = tmp_path / "g"
    assert run_cli("enroll", PERSON_A, a1, a2, "--gallery", gallery)[0] == 0
    cli = f"{sys.executable} -m siamese.cli.app"
    script = (f"mount --bind {gallery} {gallery} && mount -o remount,bind,ro {gallery} && "
              f"{cli} identify {a3} --gallery {gallery} --json && "
              f"{cli} verify {a3} --claim {PERSON_A} --gallery {gallery} --json; echo verify=$?; "
              f"{cli} enroll {PERSON_B} {photos[PERSON_B][0]} --gallery {gallery}; echo enroll=$?")
    proc = subprocess.run(["unshare", "-m", "sh", "-c", script], capture_output=True, text=True, timeout=300,
                          env=os.environ)
    assert '"name": "George_W_Bush"' in proc.stdout and "verify=0" in proc.stdout, proc.stderr
    assert "enroll=2" in proc.stdout and "Read-only file system" in proc.stderr
    assert siamese.api.gallery_names(gallery) == [PERSON_A]


def test_verify_says_which_of_image_b_and_claim_is_wrong(photos: dict) -> None:
    a1, a2, _ = photos[PERSON_A]
    code, out, err = run_cli("verify", a1)
    assert code == 2 and out == ""
    _one_error_line(err, "give a second photo IMAGE_B, or --claim NAME")
    code, out, err = run_cli("verify", a1, a2, "--claim", PERSON_A)
    assert code == 2 and out == ""
    _one_error_line(err, "not both")


def test_a_bad_photo_given_twice_enrolls_nothing_and_exits_2(photos: dict, tmp_path: Path) -> None:
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"not an image at all")
    code, out, err = run_cli("enroll", "alice", bad, bad, "--gallery", tmp_path / "g", "--json")
    result = json.loads(out)
    assert code == 2 and result["enrolled"] == {} and result["already_enrolled"] == {}
    assert [s.get("file") for s in result["skipped"]] == [str(bad), str(bad), None]  # decode, repeat, identity
    assert not (tmp_path / "g").exists()


def test_python_warnings_are_one_line_on_the_command_line(photos: dict, tmp_path: Path) -> None:
    """Calibrating at a FAR the pairs cannot resolve warns (siamese.evaluation.calibration): one stderr line."""
    import os
    import subprocess
    import sys

    pairs = _pairs_csv(photos, tmp_path / "pairs.csv")  # 2 impostor pairs: FAR 1e-3 is not resolvable
    proc = subprocess.run([sys.executable, "-m", "siamese.cli.app", "calibrate", "--pairs", str(pairs), "--far",
                           "1e-3", "--json"], capture_output=True, text=True, timeout=300, env=os.environ)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("siamese: warning: ") and "FAR" in lines[0], proc.stderr
