"""migrate between local galleries: the copy holds the source's templates byte for byte; a copy that fails leaves no
gallery at the destination (a name the new gallery refuses fails before anything is created; a failure halfway
removes what was made) and the source as it was."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import numpy as np
import pytest

from siamese.errors import GalleryError
from siamese.index import FaceGallery, migrate, open_gallery
from siamese.index.gallery import DB_NAME

DIM = 16


def _source(tmp_path: Path, rng: np.random.Generator) -> tuple[Path, dict[str, np.ndarray]]:
    people = {}
    for i in range(12):
        x = rng.standard_normal((1 + i % 3, DIM)).astype(np.float32)
        people[f"person {i}"] = x / np.linalg.norm(x, axis=1, keepdims=True)
    src = tmp_path / "src"
    with FaceGallery.create(src, "fp", DIM) as g:
        g.add_many(list(people.items()))
    return src, people


def _files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file()}


def test_a_copy_holds_every_template(tmp_path: Path, rng: np.random.Generator) -> None:
    src, people = _source(tmp_path, rng)
    summary = migrate(src, tmp_path / "dst", batch_size=5)
    assert (summary["identities"], summary["templates"]) == (12, sum(len(v) for v in people.values()))
    with open_gallery(tmp_path / "dst", "fp") as g:
        assert g.names() == sorted(people)
        for name, emb in people.items():
            np.testing.assert_array_equal(g.templates(name), emb)


def test_a_name_the_new_gallery_refuses_fails_before_the_destination_exists(tmp_path: Path,
                                                                           rng: np.random.Generator) -> None:
    src, _ = _source(tmp_path, rng)
    with sqlite3.connect(src / DB_NAME) as db:  # a catalogue edited by hand: a control character in a name
        db.execute("UPDATE identities SET name = ? WHERE name = ?", ("Car\x01ol", "person 3"))
    db.close()
    before = _files(src)
    with pytest.raises(GalleryError, match=r"cannot be copied: identity name .* holds control characters"):
        migrate(src, tmp_path / "dst")
    assert not (tmp_path / "dst").exists()
    assert _files(src) == before


def test_a_copy_that_fails_halfway_removes_the_destination(tmp_path: Path, rng: np.random.Generator,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    src, _ = _source(tmp_path, rng)
    before = _files(src)
    calls = []
    real_add_many = FaceGallery.add_many

    def add_many(self, entries, **kw):
        calls.append(1)
        if len(calls) == 2:
            raise OSError(28, "No space left on device")
        return real_add_many(self, entries, **kw)

    monkeypatch.setattr(FaceGallery, "add_many", add_many)
    with pytest.raises(OSError, match="No space left"):
        migrate(src, tmp_path / "dst", batch_size=5)
    assert len(calls) == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["src"]  # no destination, no staging folder
    assert _files(src) == before
    monkeypatch.undo()
    assert migrate(src, tmp_path / "dst")["identities"] == 12  # the retry is not refused as "already exists"
