"""The aligned-face cache: served from disk on the second call, keyed by content and settings,
per-file errors collected, files 0600, corrupt entries recomputed."""

from __future__ import annotations

import os
import shutil
import stat
from pathlib import Path

import cv2
import numpy as np
import pytest

from siamese.data import (
    FaceCache,
    file_sha256,
    load_faces,
    load_pair_faces,
    read_csv_pairs,
    read_identity_folders,
)
from siamese.errors import ImageDecodeError, ImageTooLargeError, NoFaceError
from siamese.faces import FaceAligner, read_image


class CountingAligner:
    """Centre-crop aligner without ``align_files``; counts calls; a flat image has 'no face'."""

    def __init__(self, size: int = 16) -> None:
        self.size = size
        self.calls: list[str] = []

    def settings_key(self) -> str:
        return f"counting-{self.size}"

    def align_file(self, path: str) -> np.ndarray:
        self.calls.append(path)
        image = read_image(path)
        if image.min() == image.max():
            raise NoFaceError(path, "no face (flat image)")
        return cv2.resize(image, (self.size, self.size), interpolation=cv2.INTER_AREA)


class Refusing:
    """Same settings as ``inner`` but fails the test if the aligner is run."""

    def __init__(self, inner) -> None:
        self.inner = inner
        self.size = inner.size

    def settings_key(self) -> str:
        return self.inner.settings_key()

    def align_file(self, path: str) -> np.ndarray:
        raise AssertionError(f"aligner ran on {path}")

    def align_files(self, paths, workers=None, progress=True):
        raise AssertionError(f"aligner ran on {len(paths)} files")


@pytest.fixture(scope="module")
def orl_paths(orl_root: Path) -> list[str]:
    ds = read_identity_folders(orl_root)
    return ds.paths[::40]  # 10 files, one per 4 identities


def _cache_files(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file()]


def test_real_aligner_cached_and_served_from_disk(tmp_path: Path, orl_paths: list[str]) -> None:
    aligner = FaceAligner(detector="none", size=32)
    first = load_faces(orl_paths, aligner, cache_dir=tmp_path, progress=False)
    assert first.faces.shape == (10, 32, 32, 3) and first.faces.dtype == np.uint8
    assert first.index.tolist() == list(range(10)) and first.errors == []
    assert first.aligned == 10 and first.from_cache == 0
    for face, path in zip(first.faces, orl_paths, strict=True):  # oracle: the aligner itself
        assert np.array_equal(face, aligner.align_file(path))
    second = load_faces(orl_paths, Refusing(aligner), cache_dir=tmp_path, progress=False)
    assert np.array_equal(second.faces, first.faces) and second.from_cache == 10 and second.aligned == 0
    # layout, permissions, no pickle, no temporary files left
    folder = tmp_path / "faces"
    (settings_dir,) = list(folder.iterdir())
    assert (settings_dir / "settings.txt").read_text().strip() == aligner.settings_key()
    files = _cache_files(tmp_path)
    assert len([f for f in files if f.suffix == ".png"]) == 10
    assert not [f for f in files if f.name.startswith(".tmp")]
    assert all(stat.S_IMODE(f.stat().st_mode) == 0o600 for f in files)
    assert all(stat.S_IMODE(d.stat().st_mode) == 0o700 for d in settings_dir.rglob("*") if d.is_dir())


def test_keyed_by_content_and_settings(tmp_path: Path, orl_paths: list[str]) -> None:
    cache = tmp_path / "cache"
    aligner = CountingAligner(16)
    load_faces(orl_paths[:3], aligner, cache_dir=cache, progress=False)
    assert len(aligner.calls) == 3
    # a copy under another name hits; the same name with other content misses
    copy = tmp_path / "renamed.pgm"
    shutil.copyfile(orl_paths[0], copy)
    res = load_faces([str(copy)], aligner, cache_dir=cache, progress=False)
    assert len(aligner.calls) == 3 and res.from_cache == 1
    shutil.copyfile(orl_paths[5], copy)
    res = load_faces([str(copy)], aligner, cache_dir=cache, progress=False)
    assert aligner.calls[-1] == str(copy) and len(aligner.calls) == 4
    assert np.array_equal(res.faces[0], CountingAligner(16).align_file(orl_paths[5]))
    # other settings: a separate cache folder, the aligner runs again
    big = CountingAligner(24)
    res = load_faces(orl_paths[:3], big, cache_dir=cache, progress=False)
    assert len(big.calls) == 3 and res.faces.shape == (3, 24, 24, 3)
    assert len(list((cache / "faces").iterdir())) == 2


def test_per_file_errors_collected_and_cached(tmp_path: Path, orl_paths: list[str]) -> None:
    cache = tmp_path / "cache"
    text = tmp_path / "notes.jpg"
    text.write_text("not an image at all")
    flat = tmp_path / "flat.png"
    cv2.imwrite(str(flat), np.full((20, 20, 3), 128, np.uint8))
    missing = tmp_path / "missing.jpg"
    paths = [orl_paths[0], str(text), orl_paths[1], str(missing), str(flat), orl_paths[0]]
    aligner = CountingAligner()
    res = load_faces(paths, aligner, cache_dir=cache, progress=False)
    assert res.index.tolist() == [0, 2, 5] and len(res.faces) == 3
    assert np.array_equal(res.faces[0], res.faces[2])  # duplicate file aligned once
    assert aligner.calls.count(orl_paths[0]) == 1
    errors = dict(res.errors)
    assert list(errors) == [str(text), str(missing), str(flat)]
    assert errors[str(missing)].startswith(f"{missing}: cannot read file")
    assert errors[str(flat)] == f"{flat}: no face (flat image)"
    assert errors[str(text)].startswith(f"{text}: ")
    # second call: faces and content-determined failures come from disk; the missing file is retried
    again = load_faces(paths, Refusing(aligner), cache_dir=cache, progress=False)
    assert again.index.tolist() == [0, 2, 5] and dict(again.errors) == errors
    cached = FaceCache(aligner, cache).get(file_sha256(text), str(text))
    assert isinstance(cached, ImageDecodeError)


def test_real_aligner_failure_cached(tmp_path: Path, orl_paths: list[str]) -> None:
    text = tmp_path / "bad.png"
    text.write_bytes(b"\x89PNG\r\n\x1a\n truncated")
    aligner = FaceAligner(detector="none", size=32)
    paths = [str(text), orl_paths[0]]
    res = load_faces(paths, aligner, cache_dir=tmp_path / "c", progress=False)
    assert res.index.tolist() == [1] and res.errors[0][0] == str(text)
    assert len(list((tmp_path / "c").rglob("*.err.json"))) == 1  # typed via align_file, then cached
    again = load_faces(paths, Refusing(aligner), cache_dir=tmp_path / "c", progress=False)
    assert again.errors == res.errors and np.array_equal(again.faces, res.faces)


def test_too_large_is_not_cached_so_a_higher_limit_reads_the_photo(tmp_path: Path, orl_paths: list[str]) -> None:
    # max_pixels is no part of the cache key: a refusal under a low limit must not outlive it
    small = FaceAligner(detector="none", size=32, max_pixels=100)
    refused = load_faces(orl_paths[:1], small, cache_dir=tmp_path, progress=False)
    assert refused.index.tolist() == [] and "over the limit of 100" in refused.errors[0][1]
    with pytest.raises(ImageTooLargeError):
        small.align_file(orl_paths[0])
    assert not list(tmp_path.rglob("*.err.json"))
    big = FaceAligner(detector="none", size=32)
    assert small.settings_key() == big.settings_key()
    read = load_faces(orl_paths[:1], big, cache_dir=tmp_path, progress=False)
    assert read.index.tolist() == [0] and read.faces.shape == (1, 32, 32, 3)


def test_corrupt_entry_is_recomputed(tmp_path: Path, orl_paths: list[str]) -> None:
    aligner = CountingAligner()
    first = load_faces(orl_paths[:2], aligner, cache_dir=tmp_path, progress=False)
    (entry, _) = sorted(p for p in tmp_path.rglob("*.png"))
    entry.write_bytes(entry.read_bytes()[:20])  # as if a crash had cut it (os.replace prevents this)
    second = load_faces(orl_paths[:2], aligner, cache_dir=tmp_path, progress=False)
    assert len(aligner.calls) == 3 and np.array_equal(second.faces, first.faces)
    third = load_faces(orl_paths[:2], Refusing(aligner), cache_dir=tmp_path, progress=False)
    assert np.array_equal(third.faces, first.faces)


def test_default_cache_dir_from_env(tmp_path: Path, orl_paths: list[str], monkeypatch) -> None:
    monkeypatch.setenv("SIAMESE_CACHE", str(tmp_path / "env"))
    load_faces(orl_paths[:1], CountingAligner(), progress=False)
    assert len(list((tmp_path / "env" / "faces").rglob("*.png"))) == 1


def test_load_pair_faces(tmp_path: Path, orl_root: Path) -> None:
    csv = tmp_path / "pairs.csv"
    csv.write_text("s1/1.pgm,s1/2.pgm,1\ns1/1.pgm,s2/1.pgm,0\ns3/1.pgm,s3/99.pgm,1\ns2/1.pgm,s1/2.pgm,0\n")
    pairs = read_csv_pairs(csv, base_dir=orl_root)
    aligner = CountingAligner()
    res = load_pair_faces(pairs, aligner, cache_dir=tmp_path / "c", progress=False)
    assert res.index.tolist() == [0, 1, 3] and res.same.tolist() == [1, 0, 0]
    assert len(aligner.calls) == 4  # each distinct readable file once (s3/99 is missing)
    assert [p for p, _ in res.errors] == [str(orl_root / "s3" / "99.pgm")]
    assert np.array_equal(res.faces_a[0], res.faces_a[1])  # s1/1 twice
    assert np.array_equal(res.faces_b[0], res.faces_b[2])  # s1/2 twice
    assert np.array_equal(res.faces_b[1], CountingAligner().align_file(str(orl_root / "s2" / "1.pgm")))
    assert os.path.isdir(tmp_path / "c" / "faces")


class Swapping(CountingAligner):
    """Replaces the file with another photo while aligning it (a sync tool, an editor saving): returns the
    replacement's face, as a real aligner reading the file after the hash would."""

    def __init__(self, replacement: str) -> None:
        super().__init__(16)
        self.replacement = replacement

    def align_file(self, path: str) -> np.ndarray:
        shutil.copyfile(self.replacement, path)
        return super().align_file(path)


def test_a_file_replaced_while_computing_is_not_cached_under_its_old_content(tmp_path: Path,
                                                                               orl_paths: list[str]) -> None:
    a, b = tmp_path / "a.pgm", orl_paths[1]
    shutil.copyfile(orl_paths[0], a)
    result = load_faces([str(a)], Swapping(b), cache_dir=tmp_path / "cache", progress=False)
    assert result.aligned == 1  # it got the replacement's face, and must not file it under a's content
    untouched = tmp_path / "copy_of_a.pgm"
    shutil.copyfile(orl_paths[0], untouched)
    counting = CountingAligner(16)
    again = load_faces([str(untouched)], counting, cache_dir=tmp_path / "cache", progress=False)
    assert again.from_cache == 0 and counting.calls == [str(untouched)]
    assert np.array_equal(again.faces[0], CountingAligner(16).align_file(orl_paths[0]))


class FailingRead(CountingAligner):
    """A read that fails for a reason of the moment (too many open files), after the content was hashed."""

    def align_file(self, path: str) -> np.ndarray:
        self.calls.append(path)
        from siamese.errors import ImageReadError

        raise ImageReadError(path, "cannot read (Too many open files)")


def test_a_read_error_is_never_cached(tmp_path: Path, orl_paths: list[str]) -> None:
    from siamese.errors import ImageReadError

    first = load_faces(orl_paths[:1], FailingRead(16), cache_dir=tmp_path, progress=False)
    assert first.errors and "Too many open files" in first.errors[0][1]
    counting = CountingAligner(16)
    second = load_faces(orl_paths[:1], counting, cache_dir=tmp_path, progress=False)
    assert second.errors == [] and second.from_cache == 0 and counting.calls == orl_paths[:1]
    with pytest.raises(ImageReadError):  # read_image's own read failures are of that kind
        read_image(tmp_path)
