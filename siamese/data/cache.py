"""Aligned-face loading with an on-disk cache.

Layout: ``<cache_root>/faces/<settings_hash>/<hh>/<content_hash>.png`` where ``content_hash`` is
the sha256 of the image file's bytes and ``settings_hash`` the sha256 of
``aligner.settings_key()`` (the exact key is kept in ``settings.txt`` beside it). So a renamed or
copied file hits, an edited file misses, and other aligner settings never share entries.

* Faces are stored as lossless RGB PNG (no pickle); files are 0600, folders 0700.
* Writes are crash-safe: a temporary file in the same folder, then ``os.replace``. A cache file
  that does not decode to a ``(S, S, 3)`` uint8 face is treated as a miss and rewritten.
* Failures are cached too, but only those that depend on the file's content and the settings
  alone (:class:`ImageDecodeError`, :class:`NoFaceError`, :class:`MultipleFacesError`):
  ``<content_hash>.err.json`` holds the error type and reason, so a second run does not run the
  detector again on a photo without a face. Unreadable files (missing, permission, an I/O error:
  :class:`ImageReadError`), photos over the reader's pixel limit (:class:`ImageTooLargeError`: the
  limit is no part of the key) and any other error are never cached.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import cv2
import numpy as np

from siamese import errors as E
from siamese import paths as siamese_paths
from siamese._files import atomic_write_bytes, file_sha256
from siamese.data.readers import PairsSet

#: Errors that are a function of (file content, aligner settings) and so may be cached. Not ImageTooLargeError: it
#: depends on the reader's ``max_pixels``, which is no part of the key, and is usually found again by a header read.
CACHEABLE_ERRORS: dict[str, type[E.InputFileError]] = {
    cls.__name__: cls for cls in (E.ImageDecodeError, E.NoFaceError, E.MultipleFacesError)
}


@runtime_checkable
class Aligner(Protocol):
    """What :func:`load_faces` needs from ``siamese.faces.FaceAligner``."""

    def align_file(self, path: str) -> np.ndarray: ...

    def settings_key(self) -> str: ...


@dataclass
class LoadedFaces:
    """Faces of the files that worked, in input order.

    ``faces``: uint8 RGB ``(N, S, S, 3)``; ``index``: int64 ``(N,)`` positions of those files in
    the input list (use ``labels[index]``); ``errors``: ``(path, message)`` per failed file.
    ``errors`` messages read ``"<path>: <reason>"``. ``from_cache`` counts distinct files
    (by content) served from disk, faces or cached failures; ``aligned`` those the aligner ran on.
    """

    faces: np.ndarray
    index: np.ndarray
    errors: list[tuple[str, str]] = field(default_factory=list)
    from_cache: int = 0
    aligned: int = 0

    def __len__(self) -> int:
        return len(self.index)


def settings_hash(aligner: Aligner) -> str:
    """First 16 hex digits of sha256 of ``aligner.settings_key()``."""
    return _key_hash(aligner.settings_key())


def _key_hash(settings_key: str) -> str:
    return hashlib.sha256(settings_key.encode("utf-8")).hexdigest()[:16]


def _atomic_write(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` crash-safely as a 0600 file, in a 0700 folder."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    atomic_write_bytes(path, data, mode=0o600)


class FaceCodec:
    """Aligned faces (uint8 RGB ``(S, S, 3)``) as lossless PNG."""

    suffix = ".png"

    def encode(self, face: np.ndarray) -> bytes:
        face = np.asarray(face)
        if face.dtype != np.uint8 or face.ndim != 3 or face.shape[2] != 3:
            raise ValueError(f"face must be uint8 (S, S, 3), got {face.dtype} {face.shape}")
        ok, buf = cv2.imencode(".png", cv2.cvtColor(face, cv2.COLOR_RGB2BGR))
        if not ok:
            raise RuntimeError("PNG encoding failed")
        return buf.tobytes()

    def decode(self, data: bytes) -> np.ndarray | None:
        buf = np.frombuffer(data, dtype=np.uint8)
        bgr = cv2.imdecode(buf, cv2.IMREAD_UNCHANGED) if buf.size else None
        if bgr is not None and bgr.dtype == np.uint8 and bgr.ndim == 3 and bgr.shape[2] == 3:
            return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
        return None


class VectorCodec:
    """Finite float32 vectors as ``.npy`` (numpy's format, loaded with ``allow_pickle=False``: no pickle)."""

    suffix = ".npy"

    def encode(self, vector: np.ndarray) -> bytes:
        v = np.asarray(vector, dtype=np.float32)
        if v.ndim != 1 or not np.all(np.isfinite(v)):
            raise ValueError(f"vector must be a finite 1-D array, got shape {v.shape}")
        buffer = io.BytesIO()
        np.save(buffer, v, allow_pickle=False)
        return buffer.getvalue()

    def decode(self, data: bytes) -> np.ndarray | None:
        try:
            v = np.load(io.BytesIO(data), allow_pickle=False)
        except (ValueError, OSError, EOFError):
            return None
        return v if v.dtype == np.float32 and v.ndim == 1 and np.all(np.isfinite(v)) else None


class ContentCache:
    """Values computed from files by one producer setting, keyed by the sha256 of each file's content.

    Layout: ``<cache_root>/<kind>/<settings_hash>/<hh>/<content_hash><codec.suffix>`` and ``.err.json`` for the
    failures in :data:`CACHEABLE_ERRORS`; ``settings.txt`` holds the producer's exact settings key. Files 0600,
    folders 0700, crash-safe writes. ``kind``: ``"faces"`` (aligned faces), ``"teachers"`` (teacher embeddings).
    """

    def __init__(self, kind: str, settings_key: str, codec: Any,
                 cache_dir: str | os.PathLike[str] | None = None) -> None:
        root = Path(cache_dir) if cache_dir is not None else siamese_paths.cache_dir()
        self.codec = codec
        self.directory = root / kind / _key_hash(settings_key)
        root.mkdir(parents=True, exist_ok=True, mode=0o700)
        for level in (root / kind, self.directory):  # every level this cache creates is private (0700)
            level.mkdir(exist_ok=True, mode=0o700)
        key_file = self.directory / "settings.txt"
        if not key_file.exists():
            _atomic_write(key_file, (settings_key + "\n").encode("utf-8"))

    def _base(self, digest: str) -> Path:
        return self.directory / digest[:2] / digest

    def get(self, digest: str, path: str = "") -> Any:
        """The cached value, the cached error (naming ``path``), or None on a miss (or a corrupt entry)."""
        base = self._base(digest)
        value_file = base.with_suffix(self.codec.suffix)
        if value_file.exists():
            try:
                return self.codec.decode(value_file.read_bytes())  # None when corrupt: recompute and overwrite
            except OSError:
                return None
        err = base.with_suffix(".err.json")
        if err.exists():
            try:
                record = json.loads(err.read_text(encoding="utf-8"))
                return CACHEABLE_ERRORS[record["type"]](path, str(record["reason"]))
            except (OSError, ValueError, KeyError, TypeError):
                return None
        return None

    def put(self, digest: str, value: Any) -> None:
        _atomic_write(self._base(digest).with_suffix(self.codec.suffix), self.codec.encode(value))

    def put_error(self, digest: str, error: E.InputFileError) -> bool:
        """Cache ``error`` if its type is in :data:`CACHEABLE_ERRORS`; returns whether it was."""
        name = type(error).__name__
        if CACHEABLE_ERRORS.get(name) is not type(error):
            return False
        record = json.dumps({"type": name, "reason": error.reason})
        _atomic_write(self._base(digest).with_suffix(".err.json"), record.encode("utf-8"))
        return True


class FaceCache(ContentCache):
    """Aligned faces of one aligner setting, keyed by the sha256 of the image file's content."""

    def __init__(self, aligner: Aligner, cache_dir: str | os.PathLike[str] | None = None) -> None:
        super().__init__("faces", aligner.settings_key(), FaceCodec(), cache_dir)


def cached_map(paths: Sequence[str | os.PathLike[str]], cache: ContentCache,
               compute: Callable[[list[str]], Iterable[Any]]) -> tuple[list[Any], int, int]:
    """The one loop behind every content cache: ``(results, from_cache, computed)``.

    Each path's result is its cached value, or ``compute``'s (called once, on the distinct files that missed,
    in order; each result is stored as soon as it arrives, so an interrupted run keeps what it finished), or an
    :class:`~siamese.errors.InputFileError` (unreadable files are never cached). Identical files are computed once.
    A result is stored only if the file still has the content hashed before ``compute`` read it (a file replaced
    meanwhile is not cached under the old content's key).
    """
    paths = [os.fspath(p) for p in paths]
    results: list[Any] = [None] * len(paths)
    digests: list[str | None] = [None] * len(paths)
    from_cache = 0
    todo: dict[str, list[int]] = {}  # digest -> positions
    for i, path in enumerate(paths):
        try:
            digest = file_sha256(path)
        except E.InputFileError as e:  # missing, unreadable, or not a regular file (FIFO, device, folder)
            results[i] = E.InputFileError(path, f"cannot read file: {e.reason}")
            continue
        digests[i] = digest
        if digest in todo:
            todo[digest].append(i)
            continue
        hit = cache.get(digest, path)
        todo[digest] = [i]
        if hit is not None:
            results[i] = hit
            from_cache += 1
    miss_first = [pos[0] for pos in todo.values() if results[pos[0]] is None]
    computed = 0
    for i, res in zip(miss_first, compute([paths[i] for i in miss_first]), strict=True):
        digest = digests[i]
        assert digest is not None
        if _unchanged(paths[i], digest):  # else the file was replaced while computing: the result may be the new
            if isinstance(res, E.InputFileError):  # content's, so it is not stored under the old content's key
                cache.put_error(digest, res)
            else:
                cache.put(digest, res)
        results[i] = res
        computed += 1
    for pos in todo.values():
        for j in pos[1:]:
            results[j] = results[pos[0]]
    return results, from_cache, computed


def _unchanged(path: str, digest: str) -> bool:
    """Whether ``path`` still holds the content whose sha256 is ``digest``."""
    try:
        return file_sha256(path) == digest
    except E.InputFileError:
        return False


def _typed_error(aligner: Aligner, path: str, message: str) -> E.InputFileError:
    """``align_files`` reports failures as messages; run ``align_file`` once more on the failed
    file to get the typed error (so that content-determined failures can be cached)."""
    try:
        aligner.align_file(path)
    except E.InputFileError as e:
        return e
    except Exception:  # noqa: BLE001 - an odd file: keep the first message, do not cache
        pass
    prefix = f"{path}: "
    return E.InputFileError(path, message[len(prefix) :] if message.startswith(prefix) else message)


def _align_many(
    aligner: Aligner, paths: list[str], workers: int | None, progress: bool
) -> list[np.ndarray | E.InputFileError]:
    """Align ``paths`` in order; a per-file InputFileError is returned in place of its face.

    Uses ``aligner.align_files`` when it has one (``siamese.faces.FaceAligner``: threaded decoding,
    detector-safe threading), else ``align_file`` per path.
    """
    if not paths:
        return []
    align_files = getattr(aligner, "align_files", None)
    if align_files is None:
        out: list[np.ndarray | E.InputFileError] = []
        for path in _progress(paths, progress):
            try:
                out.append(np.asarray(aligner.align_file(path)))
            except E.InputFileError as e:
                out.append(e)
        return out
    res = align_files(paths, workers=workers, progress=progress)
    results: list[np.ndarray | E.InputFileError | None] = [None] * len(paths)
    for k, i in enumerate(res.indices):
        results[i] = np.asarray(res.faces[k])
    for err, i in zip(res.errors, res.error_indices, strict=True):
        typed = getattr(err, "error", None)
        results[i] = typed if isinstance(typed, E.InputFileError) else _typed_error(aligner, paths[i], err.message)
    missing = [paths[i] for i, r in enumerate(results) if r is None]
    if missing:
        raise E.SiameseError(f"aligner returned no result for {len(missing)} file(s), e.g. {missing[0]}")
    return results  # type: ignore[return-value]


def _progress(items: list[str], enabled: bool) -> Any:
    if not enabled:
        return items
    from tqdm.auto import tqdm

    return tqdm(items, desc="aligning", unit="face")


def load_faces(
    paths: Sequence[str | os.PathLike[str]],
    aligner: Aligner,
    cache_dir: str | os.PathLike[str] | None = None,
    workers: int | None = None,
    progress: bool = True,
) -> LoadedFaces:
    """Aligned faces of ``paths`` through the on-disk cache (see module doc).

    ``cache_dir`` defaults to ``siamese.paths.cache_dir()``. Cache misses go to
    ``aligner.align_files(misses, workers=workers, progress=progress)`` (or ``align_file`` one by
    one for an aligner without it). Every per-file failure is collected as
    ``(path, message)`` and never raised; the faces of the files that worked come back in input
    order with their positions in ``index``. Identical files are aligned once.
    """
    paths = [os.fspath(p) for p in paths]
    results, from_cache, computed = cached_map(
        paths, FaceCache(aligner, cache_dir), lambda misses: _align_many(aligner, misses, workers, progress))

    faces: list[np.ndarray] = []
    index: list[int] = []
    errs: list[tuple[str, str]] = []
    for i, res in enumerate(results):
        if isinstance(res, np.ndarray):
            faces.append(res)
            index.append(i)
        else:
            reason = res.reason if isinstance(res, E.InputFileError) else "not loaded"
            errs.append((paths[i], f"{paths[i]}: {reason}"))
    shapes = {f.shape for f in faces}
    if len(shapes) > 1:
        raise E.SiameseError(f"aligner returned faces of different shapes: {sorted(shapes)}")
    size = int(getattr(aligner, "size", 112))
    stacked = np.stack(faces).astype(np.uint8, copy=False) if faces else np.zeros((0, size, size, 3), np.uint8)
    return LoadedFaces(stacked, np.asarray(index, dtype=np.int64), errs, from_cache, computed)


def unpack_faces(result: Any) -> tuple[np.ndarray, np.ndarray, list[tuple[str, str]]]:
    """(faces, positions in the input, [(path, reason)]) from a FaceAligner.align_files result or a
    :func:`load_faces` result. Reasons lose the ``"<path>: "`` prefix their messages carry."""
    faces = np.asarray(result.faces)
    index = np.asarray(result.indices if hasattr(result, "indices") else result.index, dtype=np.int64)
    errors = []
    for path, message in result.errors:
        path, message = str(path), str(message)
        prefix = f"{path}: "
        errors.append((path, message[len(prefix):] if message.startswith(prefix) else message))
    return faces, index, errors


@dataclass
class PairFaces:
    """Every distinct image of a pairs set aligned once: ``faces[ia[k]]`` and ``faces[ib[k]]`` are the faces of
    the k-th usable pair; ``ok`` marks, per input pair, whether both images worked."""

    faces: np.ndarray
    ia: np.ndarray
    ib: np.ndarray
    ok: np.ndarray
    errors: list[tuple[str, str]]
    fallbacks: list[tuple[str, str]] = field(default_factory=list)


#: ``fallback`` values of :func:`pair_faces`: None (a photo without a face fails its pairs) or "center".
FALLBACKS = (None, "center")


def center_fallback(
    aligner: Aligner, failed: list[tuple[str, str]]
) -> tuple[list[np.ndarray], list[tuple[str, str]], list[tuple[str, str]]]:
    """Centre crops of the files in ``failed`` (``(path, reason)``) that still decode: the aligner's centre-crop
    path, as the ``none`` detector takes (:func:`siamese.faces.center_crop` at ``aligner.size``). Returns
    ``(faces, fallbacks, errors)``: the crops with their ``(path, reason the aligner gave)``, in input order, and
    the files that do not decode (unreadable, not an image, over the pixel limit), which keep failing."""
    from siamese.faces.align import center_crop
    from siamese.faces.image_io import DEFAULT_MAX_PIXELS, read_image

    size = int(getattr(aligner, "size", 112))
    max_pixels = int(getattr(aligner, "max_pixels", DEFAULT_MAX_PIXELS))
    faces: list[np.ndarray] = []
    fallbacks: list[tuple[str, str]] = []
    errors: list[tuple[str, str]] = []
    for path, reason in failed:
        try:
            image = read_image(path, max_pixels)
        except E.InputFileError:
            errors.append((path, reason))
            continue
        faces.append(center_crop(image, size, path))
        fallbacks.append((path, reason))
    return faces, fallbacks, errors


def pair_faces(pairs: Any, aligner: Aligner, cache: bool = False, cache_dir: str | os.PathLike[str] | None = None,
               workers: int | None = None, progress: bool = True, fallback: str | None = None) -> PairFaces:
    """Align each distinct image of ``pairs`` once (through the on-disk cache when ``cache``); pairs with a
    failed image get ``ok = False``. The one mapping from pairs to aligned faces.

    ``fallback="center"`` scores every pair of a protocol: a photo the aligner refuses (no face found, or the
    ``none`` detector's checks) but that decodes is centre-cropped instead (:func:`center_fallback`) and listed in
    ``fallbacks`` as ``(path, reason)``; only files that cannot be read or decoded stay in ``errors``. Training keeps
    the default (None): such photos are left out.
    """
    if fallback not in FALLBACKS:
        raise E.ConfigError(f"fallback: {fallback!r} is not one of {', '.join(map(str, FALLBACKS))}")
    unique = sorted(set(map(str, pairs.paths_a)) | set(map(str, pairs.paths_b)))
    if cache:
        loaded: Any = load_faces(unique, aligner, cache_dir=cache_dir, workers=workers, progress=progress)
    else:
        loaded = aligner.align_files(unique, progress=progress)
    faces, index, errors = unpack_faces(loaded)
    fallbacks: list[tuple[str, str]] = []
    if fallback == "center" and errors:
        crops, fallbacks, errors = center_fallback(aligner, errors)
        if crops:
            where = {p: i for i, p in enumerate(unique)}
            faces = np.concatenate([faces.reshape((-1, *crops[0].shape)), np.stack(crops)]).astype(np.uint8)
            index = np.concatenate([index, [where[p] for p, _ in fallbacks]]).astype(np.int64)
    slot = np.full(len(unique), -1, dtype=np.int64)
    slot[index] = np.arange(len(index))
    pos = {p: i for i, p in enumerate(unique)}
    ia = slot[[pos[str(p)] for p in pairs.paths_a]] if len(unique) else np.zeros(0, np.int64)
    ib = slot[[pos[str(p)] for p in pairs.paths_b]] if len(unique) else np.zeros(0, np.int64)
    ok = (ia >= 0) & (ib >= 0)
    return PairFaces(faces, ia[ok], ib[ok], ok, errors, fallbacks)


@dataclass
class LoadedPairs:
    """Faces of the pairs whose two files both worked, in input order.

    ``faces_a``/``faces_b``: uint8 ``(M, S, S, 3)``; ``same``/``folds``: int64 ``(M,)``; ``index``:
    int64 positions of those pairs in the PairsSet; ``errors``: ``(path, reason)`` per failed
    file (each file once). A pair with a failed file is left out: report ``len(index)`` against
    ``len(pairs)``.
    """

    faces_a: np.ndarray
    faces_b: np.ndarray
    same: np.ndarray
    folds: np.ndarray
    index: np.ndarray
    errors: list[tuple[str, str]] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.index)


def load_pair_faces(
    pairs: PairsSet,
    aligner: Aligner,
    cache_dir: str | os.PathLike[str] | None = None,
    workers: int | None = None,
    progress: bool = True,
) -> LoadedPairs:
    """Load each distinct file of ``pairs`` once with :func:`load_faces`, then assemble the pairs."""
    pf = pair_faces(pairs, aligner, cache=True, cache_dir=cache_dir, workers=workers, progress=progress)
    return LoadedPairs(
        faces_a=pf.faces[pf.ia],
        faces_b=pf.faces[pf.ib],
        same=np.asarray(pairs.same)[pf.ok],
        folds=np.asarray(pairs.folds)[pf.ok],
        index=np.flatnonzero(pf.ok).astype(np.int64),
        errors=pf.errors,
    )
