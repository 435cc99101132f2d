"""Teacher embeddings computed once per photo and kept on disk, keyed by the photo's content hash and the teacher's
exact settings (:class:`siamese.data.cache.ContentCache`, ``kind="teachers"``, ``.npy`` vectors, never pickle).

Resumable: each embedding is stored as soon as it is computed, so an interrupted run keeps what it finished and the
next run computes only the rest. Per-file errors (unreadable, not an image, no face, a teacher that fails or gives a
vector of the wrong shape or with NaN) are collected, never raised; the content-determined ones (no face,
undecodable) are cached too.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np

from siamese.data.cache import ContentCache, VectorCodec, cached_map
from siamese.errors import InputFileError
from siamese.teachers.base import Teacher


@dataclass
class TeacherEmbeddings:
    """``embeddings[k]`` is the teacher's embedding of ``paths[index[k]]``; ``errors``: ``(path, reason)``."""

    embeddings: np.ndarray
    index: np.ndarray
    errors: list[tuple[str, str]] = field(default_factory=list)
    from_cache: int = 0
    computed: int = 0


def teacher_embeddings(paths: Sequence[str | os.PathLike[str]], teacher: Teacher,
                       cache_dir: str | os.PathLike[str] | None = None, progress: bool = True) -> TeacherEmbeddings:
    """The teacher's embedding of every photo in ``paths`` (see module docstring)."""
    from siamese.faces import read_image

    def compute(misses: list[str]) -> Iterator[np.ndarray | InputFileError]:
        from tqdm.auto import tqdm

        for path in tqdm(misses, desc=f"teacher ({teacher.name})", unit="photo", disable=not progress):
            try:
                vector = np.asarray(teacher.embed_image(read_image(path), source=path), dtype=np.float32)
            except InputFileError as e:
                yield e
                continue
            except Exception as e:  # noqa: BLE001 - a teacher's failure on one photo must not stop the others
                yield InputFileError(path, f"teacher {teacher.name} failed: {type(e).__name__}: {e}")  # not cached
                continue
            if vector.shape != (teacher.dim,) or not np.all(np.isfinite(vector)):
                bad = int(np.sum(~np.isfinite(vector)))
                yield InputFileError(path, f"teacher {teacher.name} gave a {vector.shape} vector with {bad} "
                                           f"non-finite values, not ({teacher.dim},)")
                continue
            yield vector

    cache = ContentCache("teachers", teacher.settings_key(), VectorCodec(), cache_dir)
    paths = [os.fspath(p) for p in paths]
    results, from_cache, computed = cached_map(paths, cache, compute)
    index = [i for i, r in enumerate(results) if isinstance(r, np.ndarray)]
    errors = [(paths[i], r.reason if isinstance(r, InputFileError) else str(r))
              for i, r in enumerate(results) if not isinstance(r, np.ndarray)]
    emb = np.stack([results[i] for i in index]) if index else np.zeros((0, teacher.dim), np.float32)
    return TeacherEmbeddings(emb, np.asarray(index, dtype=np.int64), errors, from_cache, computed)
