"""siamese._files: the one crash-safe writer (atomic replace, permission bits, no stray temp files) and hashes."""

from __future__ import annotations

import hashlib
import os
import stat
from pathlib import Path

import numpy as np
import pytest

from siamese._files import TMP_SUFFIX, atomic_path, atomic_write_bytes, atomic_write_text, atomic_writer, file_sha256


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _strays(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(TMP_SUFFIX))


def test_atomic_write_bytes_content_mode_and_parent(tmp_path: Path) -> None:
    target = tmp_path / "new" / "deeper" / "blob.bin"
    data = bytes(range(256)) * 17
    assert atomic_write_bytes(target, data) == target
    assert target.read_bytes() == data
    assert _mode(target) == 0o600  # default: private (biometric)
    assert _strays(target.parent) == []
    atomic_write_bytes(target, b"second", mode=0o640)
    assert target.read_bytes() == b"second" and _mode(target) == 0o640


def test_atomic_write_text_is_utf8_and_world_readable_by_default(tmp_path: Path) -> None:
    target = tmp_path / "card.json"
    text = '{"name": "Zoë — 张伟"}\n'
    atomic_write_text(target, text)
    assert target.read_bytes() == text.encode("utf-8")
    assert _mode(target) == 0o644
    atomic_write_text(target, "x", mode=0o600)
    assert _mode(target) == 0o600 and target.read_text() == "x"


def test_mode_is_not_widened_by_the_umask_dance(tmp_path: Path) -> None:
    """The mode is set on the temporary file before any byte is written, whatever the umask."""
    old = os.umask(0o000)
    try:
        atomic_write_bytes(tmp_path / "f", b"abc")
    finally:
        os.umask(old)
    assert _mode(tmp_path / "f") == 0o600


def test_writer_that_raises_midway_keeps_the_old_file_and_leaves_no_temp(tmp_path: Path) -> None:
    target = tmp_path / "gallery.bin"
    atomic_write_bytes(target, b"old content")
    with pytest.raises(RuntimeError, match="disk on fire"), atomic_writer(target) as handle:
        handle.write(b"half of the new con")
        raise RuntimeError("disk on fire")
    assert target.read_bytes() == b"old content"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["gallery.bin"]


def test_writer_that_raises_before_the_first_write_creates_nothing(tmp_path: Path) -> None:
    target = tmp_path / "never.bin"
    with pytest.raises(KeyError), atomic_writer(target):
        raise KeyError("x")
    assert list(tmp_path.iterdir()) == []


def test_atomic_path_for_a_file(tmp_path: Path) -> None:
    target = tmp_path / "sub" / "model.tflite"
    with atomic_path(target, mode=0o644) as tmp:
        assert tmp.parent.parent == target.parent and tmp.name.endswith(".tflite")  # same folder, same suffix
        assert not target.exists()
        tmp.write_bytes(b"flatbuffer")
    assert target.read_bytes() == b"flatbuffer" and _mode(target) == 0o644
    assert [p.name for p in target.parent.iterdir()] == ["model.tflite"]  # temp folder removed
    # replacing an existing file is all-or-nothing too
    with pytest.raises(ValueError), atomic_path(target) as tmp:
        tmp.write_bytes(b"partial")
        raise ValueError("converter crashed")
    assert target.read_bytes() == b"flatbuffer"
    assert [p.name for p in target.parent.iterdir()] == ["model.tflite"]


def test_atomic_path_for_a_folder_like_a_savedmodel(tmp_path: Path) -> None:
    target = tmp_path / "export"
    with atomic_path(target) as tmp:
        (tmp / "variables").mkdir(parents=True)
        (tmp / "saved_model.pb").write_bytes(b"graph")
        (tmp / "variables" / "variables.data-00000-of-00001").write_bytes(b"w" * 1000)
    assert target.is_dir()
    assert (target / "saved_model.pb").read_bytes() == b"graph"
    assert (target / "variables" / "variables.data-00000-of-00001").read_bytes() == b"w" * 1000
    assert [p.name for p in tmp_path.iterdir()] == ["export"]
    # a writer that fails halfway leaves no folder at all
    other = tmp_path / "failed"
    with pytest.raises(OSError), atomic_path(other) as tmp:
        tmp.mkdir()
        (tmp / "saved_model.pb").write_bytes(b"half")
        raise OSError("no space left")
    assert not other.exists()
    assert [p.name for p in tmp_path.iterdir()] == ["export"]


def test_atomic_path_never_replaces_an_existing_folder(tmp_path: Path) -> None:
    target = tmp_path / "export"
    target.mkdir()
    (target / "keep.txt").write_text("mine")
    with pytest.raises(OSError), atomic_path(target) as tmp:
        tmp.mkdir()
        (tmp / "saved_model.pb").write_bytes(b"graph")
    assert [p.name for p in target.iterdir()] == ["keep.txt"]
    assert [p.name for p in tmp_path.iterdir()] == ["export"]


def test_atomic_path_replaces_a_folder_only_when_asked_and_only_on_success(tmp_path: Path) -> None:
    target = tmp_path / "default_model"
    target.mkdir()
    (target / "model.json").write_text("old")
    with pytest.raises(RuntimeError), atomic_path(target, replace_folder=True) as tmp:
        tmp.mkdir()
        (tmp / "model.json").write_text("half")
        raise RuntimeError("the check of the new model failed")
    assert [p.name for p in target.iterdir()] == ["model.json"] and (target / "model.json").read_text() == "old"
    with atomic_path(target, replace_folder=True) as tmp:
        tmp.mkdir()
        (tmp / "model.json").write_text("new")
        (tmp / "model.tflite").write_bytes(b"fb")
    assert sorted(p.name for p in target.iterdir()) == ["model.json", "model.tflite"]
    assert (target / "model.json").read_text() == "new"
    assert [p.name for p in tmp_path.iterdir()] == ["default_model"]  # the old folder and the temp one are gone


def test_file_sha256_matches_hashlib_on_a_multi_mib_file(tmp_path: Path) -> None:
    path = tmp_path / "big.bin"
    # 3.5 MiB: several 1 MiB blocks plus a partial one
    data = np.random.default_rng(7).integers(0, 256, size=(7 << 19), dtype=np.uint8).tobytes()
    path.write_bytes(data)
    assert file_sha256(path) == hashlib.sha256(data).hexdigest()
    empty = tmp_path / "empty"
    empty.write_bytes(b"")
    assert file_sha256(empty) == hashlib.sha256(b"").hexdigest()
    from siamese.errors import InputFileError

    with pytest.raises(InputFileError, match="missing: no such file"):
        file_sha256(tmp_path / "missing")
