"""Teachers and their embedding cache: content-hash keys, resume, per-file errors, private files; dlib on LFW."""

from __future__ import annotations

import importlib.util
import shutil
import stat
from pathlib import Path

import cv2
import numpy as np
import pytest

from siamese.errors import ConfigError, NoFaceError
from siamese.teachers import Teacher, get_teacher, teacher_embeddings


class CountingTeacher(Teacher):
    """Mean colour of the photo (a deterministic 3-D 'embedding'); refuses flat photos as faceless."""

    name = "counting"
    dim = 3

    def __init__(self, key: str = "v1", fail_after: int | None = None) -> None:
        self.calls = 0
        self.key = key
        self.fail_after = fail_after

    def embed_image(self, image_rgb: np.ndarray, source: str = "<image>") -> np.ndarray:
        if self.fail_after is not None and self.calls >= self.fail_after:
            raise KeyboardInterrupt  # an interrupted run
        self.calls += 1
        if image_rgb.std() < 1:
            raise NoFaceError(source, "no face (flat image)")
        return image_rgb.reshape(-1, 3).mean(axis=0).astype(np.float32)

    def settings_key(self) -> str:
        return f"counting:{self.key}"


def _photos(tmp: Path, n: int, rng: np.random.Generator) -> list[Path]:
    out = []
    for k in range(n):
        path = tmp / f"p{k}.png"
        cv2.imwrite(str(path), rng.integers(0, 256, (24, 24, 3), dtype=np.uint8))
        out.append(path)
    return out


def test_embeddings_are_cached_by_content_and_settings(tmp_path: Path, rng: np.random.Generator) -> None:
    photos = _photos(tmp_path, 4, rng)
    teacher = CountingTeacher()
    first = teacher_embeddings(photos, teacher, cache_dir=tmp_path / "c", progress=False)
    assert first.computed == 4 and first.from_cache == 0 and teacher.calls == 4
    oracle = np.stack([cv2.cvtColor(cv2.imread(str(p)), cv2.COLOR_BGR2RGB).reshape(-1, 3).mean(0) for p in photos])
    np.testing.assert_allclose(first.embeddings, oracle, rtol=1e-5)
    # a renamed copy hits (content hash), an edited file misses, other settings never share entries
    copy = tmp_path / "renamed.png"
    shutil.copy(photos[0], copy)
    edited = tmp_path / "edited.png"
    cv2.imwrite(str(edited), rng.integers(0, 256, (24, 24, 3), dtype=np.uint8))
    again = teacher_embeddings([*photos, copy, edited], teacher, cache_dir=tmp_path / "c", progress=False)
    # distinct contents: 4 found in the cache (the copy shares photos[0]'s hash), 1 computed (the edited one)
    assert again.from_cache == 4 and again.computed == 1 and teacher.calls == 5
    np.testing.assert_array_equal(again.embeddings[:4], first.embeddings)
    np.testing.assert_array_equal(again.embeddings[4], first.embeddings[0])
    other = CountingTeacher(key="v2")
    assert teacher_embeddings(photos, other, cache_dir=tmp_path / "c", progress=False).computed == 4
    for f in (tmp_path / "c").rglob("*"):
        if f.is_file():
            assert stat.S_IMODE(f.stat().st_mode) == 0o600, f
        else:
            assert stat.S_IMODE(f.stat().st_mode) == 0o700, f


def test_an_interrupted_run_resumes_where_it_stopped(tmp_path: Path, rng: np.random.Generator) -> None:
    photos = _photos(tmp_path, 6, rng)
    with pytest.raises(KeyboardInterrupt):
        teacher_embeddings(photos, CountingTeacher(fail_after=4), cache_dir=tmp_path / "c", progress=False)
    resumed = CountingTeacher()
    result = teacher_embeddings(photos, resumed, cache_dir=tmp_path / "c", progress=False)
    assert result.from_cache == 4 and result.computed == 2 and resumed.calls == 2
    assert len(result.embeddings) == 6


def test_bad_files_are_collected_and_content_errors_cached(tmp_path: Path, rng: np.random.Generator) -> None:
    good = _photos(tmp_path, 2, rng)
    flat = tmp_path / "flat.png"
    cv2.imwrite(str(flat), np.full((24, 24, 3), 128, np.uint8))
    text = tmp_path / "text.jpg"
    text.write_text("not an image")
    missing = tmp_path / "missing.jpg"
    teacher = CountingTeacher()
    paths = [good[0], flat, text, missing, good[1]]
    result = teacher_embeddings(paths, teacher, cache_dir=tmp_path / "c", progress=False)
    assert result.index.tolist() == [0, 4]
    reasons = dict(result.errors)
    assert set(reasons) == {str(flat), str(text), str(missing)}
    assert "no face" in reasons[str(flat)] and "no such file" in reasons[str(missing)]
    calls = teacher.calls
    again = teacher_embeddings(paths, teacher, cache_dir=tmp_path / "c", progress=False)
    assert teacher.calls == calls  # the faceless photo's error came from the cache
    assert dict(again.errors)[str(flat)] == reasons[str(flat)]


def test_unknown_teacher_names_the_key() -> None:
    with pytest.raises(ConfigError, match=r"teacher\.name: unknown teacher 'vgg'"):
        get_teacher("vgg")


@pytest.mark.skipif(importlib.util.find_spec("dlib") is None, reason="needs siamese[teacher]")
def test_dlib_teacher_on_lfw(lfw_root: Path, tmp_path: Path) -> None:
    people = ["Aaron_Peirsol", "Abdullah_Gul"]
    photos = [p for name in people for p in sorted((lfw_root / "lfw-deepfunneled" / name).glob("*.jpg"))[:3]]
    teacher = get_teacher("dlib")
    assert teacher.settings_key() == get_teacher("dlib").settings_key()
    import dlib

    assert f"dlib:{dlib.__version__}:" in teacher.settings_key()  # a dlib upgrade is a new cache
    result = teacher_embeddings(photos, teacher, cache_dir=tmp_path / "c", progress=False)
    assert result.embeddings.shape == (len(photos), 128) and not result.errors
    d = np.linalg.norm(result.embeddings[:, None] - result.embeddings[None], axis=2)
    labels = np.array([p.parent.name for p in photos])
    same = labels[:, None] == labels[None]
    off = ~np.eye(len(photos), dtype=bool)
    assert d[same & off].max() < 0.6 < d[~same].min()  # dlib's own decision threshold is 0.6
    flat = tmp_path / "flat.png"
    cv2.imwrite(str(flat), np.full((120, 120, 3), 90, np.uint8))
    assert "no face" in dict(teacher_embeddings([flat], teacher, cache_dir=tmp_path / "c", progress=False).errors)[
        str(flat)]


class FlakyTeacher(CountingTeacher):
    """Fails on its second photo and answers NaN on its third: a user's teacher with a bug."""

    def embed_image(self, image_rgb: np.ndarray, source: str = "<image>") -> np.ndarray:
        vector = super().embed_image(image_rgb, source)
        if self.calls == 2:
            raise RuntimeError("the session crashed")
        return np.full(3, np.nan, np.float32) if self.calls == 3 else vector


def test_a_teacher_failing_on_some_photos_is_collected_per_file_and_never_cached(tmp_path: Path,
                                                                                 rng: np.random.Generator) -> None:
    photos = _photos(tmp_path, 4, rng)
    result = teacher_embeddings(photos, FlakyTeacher(), cache_dir=tmp_path / "c", progress=False)
    assert result.index.tolist() == [0, 3]
    reasons = dict(result.errors)
    assert "RuntimeError: the session crashed" in reasons[str(photos[1])]
    assert "3 non-finite values" in reasons[str(photos[2])]
    healthy = CountingTeacher()
    again = teacher_embeddings(photos, healthy, cache_dir=tmp_path / "c", progress=False)
    assert again.index.tolist() == [0, 1, 2, 3] and again.computed == 2 and healthy.calls == 2
