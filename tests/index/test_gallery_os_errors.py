"""The file system says no (a parent that is a file, a lock that cannot be taken, a full catalogue): a gallery
raises ONE GalleryError naming the gallery, never a bare OSError / sqlite3 error, and nothing changes."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import numpy as np
import pytest

from siamese.errors import GalleryError
from siamese.index import FaceGallery
from siamese.index.gallery import DB_NAME, LOCK_NAME

DIM = 8


def _unit(rng: np.random.Generator, n: int) -> np.ndarray:
    x = rng.standard_normal((n, DIM)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def _files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


def test_create_below_a_file_is_a_gallery_error(tmp_path: Path) -> None:
    blocker = tmp_path / "afile"
    blocker.write_text("not a folder")
    target = blocker / "g"
    with pytest.raises(GalleryError, match=f"{target}: cannot create gallery"):
        FaceGallery.create(target, "fp", DIM)
    assert blocker.read_text() == "not a folder"


def test_a_gallery_that_is_a_file_is_named_so(tmp_path: Path) -> None:
    """Opening (enroll into, identify against) a file given as the gallery says what it is, and leaves it alone."""
    afile = tmp_path / "faces"
    afile.write_text("my notes")
    with pytest.raises(GalleryError, match=f"{afile}: exists and is not a directory"):
        FaceGallery.open(afile)
    with pytest.raises(GalleryError, match=f"{afile}: already exists and is not an empty directory"):
        FaceGallery.open_or_create(afile, "fp", DIM)
    assert afile.read_text() == "my notes"


def test_a_lock_that_cannot_be_taken_is_a_gallery_error(tmp_path: Path, rng: np.random.Generator) -> None:
    gallery = FaceGallery.create(tmp_path / "g", "fp", DIM)
    gallery.add("alice", _unit(rng, 2))
    gallery.close()
    (tmp_path / "g" / LOCK_NAME).unlink()
    (tmp_path / "g" / LOCK_NAME).mkdir()  # the lock file cannot be opened (like a read-only file system)
    before = _files(tmp_path / "g")
    with pytest.raises(GalleryError, match=f"{tmp_path / 'g'}: cannot write to the gallery"):
        FaceGallery.open(tmp_path / "g", "fp")
    with FaceGallery.open(tmp_path / "g", "fp", read_only=True) as ro:  # reading needs no lock
        assert ro.names() == ["alice"]
    assert _files(tmp_path / "g") == before


def test_a_full_catalogue_is_a_gallery_error_and_changes_nothing(tmp_path: Path, rng: np.random.Generator) -> None:
    gallery = FaceGallery.create(tmp_path / "g", "fp", DIM)
    gallery.add("alice", _unit(rng, 2))
    db = gallery._store._db
    pages = db.execute("PRAGMA page_count").fetchone()[0]
    db.execute(f"PRAGMA max_page_count = {pages}")  # SQLITE_FULL, as on a full disk
    with pytest.raises(GalleryError, match=f"{tmp_path / 'g' / DB_NAME}: catalogue write failed"):
        gallery.add("bob", _unit(rng, 400))
    assert gallery.names() == ["alice"] and "bob" not in gallery and gallery.verify() == []
    gallery.close()
    with FaceGallery.open(tmp_path / "g", "fp", read_only=True) as ro:
        assert ro.names() == ["alice"] and ro.info()["templates"] == 2 and ro.verify() == []
    assert sqlite3.connect(tmp_path / "g" / DB_NAME).execute("PRAGMA integrity_check").fetchone() == ("ok",)


def _enospc(*args: object, **kwargs: object) -> None:
    import errno

    raise OSError(errno.ENOSPC, "No space left on device", "index.faiss")


def test_an_index_file_that_cannot_be_rewritten_after_a_commit_is_a_warning(
        tmp_path: Path, rng: np.random.Generator, monkeypatch: pytest.MonkeyPatch) -> None:
    """The catalogue is the record: an add that committed is reported done, and the next open rebuilds the index."""
    gallery = FaceGallery.create(tmp_path / "g", "fp", DIM)
    gallery.add("alice", _unit(rng, 2))
    bob = _unit(rng, 3)
    monkeypatch.setattr(gallery._backend, "save", _enospc)
    with pytest.warns(UserWarning, match="saved in the catalogue, but the index file could not be rewritten"):
        gallery.add("bob", bob)
    with pytest.warns(UserWarning):  # close retries the rewrite
        gallery.close()
    with FaceGallery.open(tmp_path / "g", "fp") as g:
        assert g.names() == ["alice", "bob"] and g.verify() == []
        assert g.search(bob[:1], k=1)[0][0].name == "bob"


def test_a_removal_whose_index_file_cannot_be_rewritten_removes_nothing(
        tmp_path: Path, rng: np.random.Generator, monkeypatch: pytest.MonkeyPatch) -> None:
    """The index file must lose the vectors before the catalogue commits (deletion really deletes)."""
    gallery = FaceGallery.create(tmp_path / "g", "fp", DIM)
    gallery.add("alice", _unit(rng, 2))
    monkeypatch.setattr(gallery._backend, "save", _enospc)
    with pytest.raises(GalleryError, match="'alice' not removed: the index file could not be rewritten"):
        gallery.remove("alice")
    monkeypatch.undo()
    gallery.close()
    with FaceGallery.open(tmp_path / "g", "fp") as g:
        assert g.names() == ["alice"] and g.verify() == []


def test_a_failed_compaction_after_a_removal_is_a_warning(
        tmp_path: Path, rng: np.random.Generator, monkeypatch: pytest.MonkeyPatch) -> None:
    gallery = FaceGallery.create(tmp_path / "g", "fp", DIM)
    gallery.add("alice", _unit(rng, 2))
    gallery.add("bob", _unit(rng, 2))

    def no_vacuum() -> None:
        raise GalleryError("gallery.db: cannot compact the catalogue after a removal")

    monkeypatch.setattr(gallery._store, "scrub", no_vacuum)
    with pytest.warns(UserWarning, match="cannot compact"):
        assert gallery.remove("alice") == 2
    gallery.close()
    with FaceGallery.open(tmp_path / "g", "fp") as g:
        assert g.names() == ["bob"]


def test_an_os_error_of_the_callers_own_code_in_a_batch_is_not_blamed_on_the_gallery(tmp_path: Path) -> None:
    gallery = FaceGallery.create(tmp_path / "g", "fp", DIM)
    with pytest.raises(FileNotFoundError), gallery.batch():
        open(tmp_path / "missing")  # noqa: SIM115
    gallery.close()
