"""FaceGallery: enrolled identities, their templates (embeddings) and fast search over them.

A gallery is a directory (mode 0700, files 0600)::

    gallery.db    SQLite catalogue: the source of truth (embeddings included), see SQLiteStore
    index.faiss   search index: a derived cache tagged with the catalogue generation it matches
    .lock         file lock held by each write (serialises writers across processes)

Crash safety: every write is one SQLite transaction (an identity's templates all land or none);
the index file is then replaced atomically. If a crash leaves it missing, stale (its tag's
generation differs from the catalogue's) or unreadable, the next open rebuilds the difference
from the catalogue (read-write opens also rewrite the file). The tag also records the catalogue's
*version token* (SQLite's file change counter): a catalogue changed by any other tool makes the next
open rebuild the whole index from it (each stored template is checked to be finite on the way).

Erasure: :meth:`FaceGallery.remove` rewrites the index file WITHOUT the person's vectors *before*
the catalogue transaction commits (tagged "stale", so a crash in between only re-adds them from the
still-present catalogue rows: the removal was never reported done), then commits (SQLite zeroes the
rows: ``secure_delete``), VACUUMs and tags the file current. So no gallery file holds the vectors
once the catalogue says they are gone, whatever moment a kill lands. As a second line of defence,
an open of any kind that finds the index file holding ids the catalogue no longer has rewrites it
under the writer lock, and every write deletes temp files left by crashed writers first.

Read-only opens write nothing, except to repair what a crash left behind, under the writer lock:
a hot SQLite journal is rolled back (so ``list`` / ``info`` work after an interrupted write) and an
index file holding removed vectors is rewritten (see above).

Creation is atomic (a staging folder ``.NAME.*.creating`` renamed into place) and race-safe with
:meth:`FaceGallery.open_or_create`. A creator holds an ``flock`` on its staging folder; folders
whose lock is free were left by crashed creators and are deleted by the next create or read-write
open.

A gallery is bound to one embedding model by a *fingerprint* string recorded at creation;
embeddings declared with another fingerprint, or of another dimension, raise ModelMismatchError.

Conventions: embeddings are float32 ``(n, dim)``, L2-normalised (checked, tolerance 1e-3);
similarity = inner product = cosine similarity, larger is more alike.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import glob
import json
import os
import shutil
import tempfile
import threading
import unicodedata
import uuid
import warnings
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np
from filelock import FileLock, Timeout

from siamese.errors import ConfigError, GalleryError, ModelMismatchError, os_reason
from siamese.index._fs import FILE_MODE, fsync_dir, remove_stale_temps
from siamese.index.backend import IndexFileError, SearchBackend
from siamese.index.base import Gallery, check_search_args, without_known_sources
from siamese.index.registry import BACKENDS, get_backend_class
from siamese.index.sqlite_store import RecoveryNeededError, SQLiteStore
from siamese.index.types import Match, Source

DB_NAME = "gallery.db"
INDEX_NAME = "index.faiss"
LOCK_NAME = ".lock"
MAX_NAME_LENGTH = 256
NORM_TOLERANCE = 1e-3

SourceLike = Source | str | os.PathLike[str] | None
STAGING_SUFFIX = ".creating"


class _GalleryExistsError(GalleryError):
    """Internal: create() found the target taken (by another creator, or by anything else)."""


def _staging_glob(target: Path) -> str:
    return f".{glob.escape(target.name)}.*{STAGING_SUFFIX}"


def _new_staging(target: Path) -> tuple[Path, int]:
    """A fresh staging folder beside ``target`` and an fd holding an exclusive flock on it (see module doc)."""
    while True:
        staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=STAGING_SUFFIX, dir=target.parent))
        try:
            fd = os.open(staging, os.O_RDONLY | os.O_DIRECTORY)
        except FileNotFoundError:  # a cleaner deleted it between mkdtemp and open: take another
            continue
        fcntl.flock(fd, fcntl.LOCK_EX)  # waits only while a cleaner deletes it (it took the lock first)
        if os.fstat(fd).st_nlink > 0:
            return staging, fd
        os.close(fd)  # a cleaner got here between mkdtemp and flock and deleted it: take another


def remove_stale_staging(target: str | os.PathLike[str]) -> list[Path]:
    """Delete the staging folders of crashed creations of ``target`` (their flock is free); returns them.

    A live creator holds the flock on its folder from right after ``mkdtemp`` until its rename, so
    only folders of dead creators are taken; best effort (errors are ignored)."""
    target = Path(target).expanduser()
    removed = []
    for stray in target.parent.glob(_staging_glob(target)):
        try:
            fd = os.open(stray, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
        except OSError:
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            here, held = os.stat(stray, follow_symlinks=False), os.fstat(fd)
            if (here.st_dev, here.st_ino) == (held.st_dev, held.st_ino):  # not renamed into place meanwhile
                shutil.rmtree(stray, ignore_errors=True)
                removed.append(stray)
        except OSError:
            pass  # locked: a live creator
        finally:
            os.close(fd)
    return removed


def _os_reason(exc: OSError) -> str:
    """The reason of an OSError in words, with the file it names (``Read-only file system: /g/.lock``)."""
    reason = os_reason(exc)
    return f"{reason}: {exc.filename}" if exc.filename else reason


def _shown(name: str, limit: int = 40) -> str:
    """``repr`` of a name for an error message, cut to ``limit`` characters (a 10,000-character name is not
    echoed whole)."""
    return repr(name) if len(name) <= limit else f"{name[:limit]!r}... ({len(name)} characters)"


def check_name(name: Any) -> str:
    """An identity name in Unicode NFC (returned): a non-empty string without leading/trailing spaces or control
    characters, at most MAX_NAME_LENGTH characters; GalleryError otherwise. NFC makes "José" one identity whether
    it was typed precomposed or decomposed (as macOS file names are)."""
    if not isinstance(name, str) or not name.strip():
        raise GalleryError(f"identity name must be a non-empty string, got {_shown(str(name))}")
    name = unicodedata.normalize("NFC", name)
    if len(name) > MAX_NAME_LENGTH:
        raise GalleryError(f"identity name {_shown(name)}: at most {MAX_NAME_LENGTH} characters")
    if name != name.strip():
        raise GalleryError(f"identity name {_shown(name)}: no leading or trailing spaces")
    if any(unicodedata.category(ch) in ("Cc", "Cf", "Cs") for ch in name):
        raise GalleryError(f"identity name {_shown(name)} holds control characters")
    return name


_check_name = check_name


def _as_source(item: SourceLike) -> Source | None:
    if item is None or isinstance(item, Source):
        return item
    if isinstance(item, str | os.PathLike):
        return Source.from_file(item)
    raise GalleryError(f"a source must be a Source, a path or None, got {type(item).__name__}")


def _roll_back_journal(directory: Path, lock_timeout: float) -> None:
    """Roll back the hot journal of an interrupted write (a read-write connection does it), under the writer lock."""
    lock = FileLock(str(directory / LOCK_NAME), timeout=lock_timeout, mode=FILE_MODE, preserve_lock_file=True)
    try:
        with lock:
            store = SQLiteStore(directory / DB_NAME)
            try:
                store.meta()  # the first read rolls the journal back
            finally:
                store.close()
    except (Timeout, OSError) as exc:
        raise GalleryError(f"{directory}: an interrupted write left a journal to roll back, which cannot be done "
                           f"here ({exc}); open the gallery read-write once") from exc


class FaceGallery(Gallery):
    """Enrolled faces: identities (unique names) owning L2-normalised templates; see module docstring.

    Build with :meth:`create` or :meth:`open`, not the constructor. Thread-safe within a process;
    several processes may open the same gallery (writes are serialised by a file lock).
    """

    def __init__(
        self,
        directory: Path,
        store: SQLiteStore,
        backend: SearchBackend,
        *,
        fingerprint: str | None,
        read_only: bool,
        lock_timeout: float,
    ) -> None:
        self.directory = directory
        self.read_only = read_only
        self._store = store
        self._backend = backend
        self._meta = store.meta()
        self.dim = int(self._meta["dim"])
        self.fingerprint = self._meta["fingerprint"]
        self.kind = self._meta["index"]
        self._claimed = fingerprint
        self._mutex = threading.RLock()
        self._lock = None if read_only else FileLock(
            str(directory / LOCK_NAME), timeout=lock_timeout, mode=FILE_MODE, preserve_lock_file=True
        )
        self._lock_timeout = lock_timeout
        self._generation = -1
        self._token: str | None = None
        self._batch_depth = 0
        self._dirty = False
        self._committed = False
        self._closed = False
        self._max_per_identity: int | None = None
        self.recovered = False  # True when the last open (or refresh) had to repair the index cache
        self._set_lookup(np.empty(0, np.int64), np.empty(0, np.int64), [])

    # -- construction -------------------------------------------------------------------------
    @classmethod
    def create(
        cls,
        directory: str | os.PathLike[str],
        fingerprint: str,
        dim: int,
        index: str = "flat",
        *,
        lock_timeout: float = 60.0,
        **opts: Any,
    ) -> FaceGallery:
        """Create an empty gallery bound to the model ``fingerprint`` with embeddings of size ``dim``.

        ``index``: ``"flat"`` (exact, default), ``"ivf"`` (opts ``nlist``, ``nprobe``,
        ``train_size``) or ``"hnsw"`` (opts ``m``, ``ef_construction``, ``ef_search``).
        The directory must not exist or be empty; it appears complete or not at all. Raises
        GalleryError if it is taken (see :meth:`open_or_create` for several processes creating one).
        """
        if not isinstance(fingerprint, str) or not fingerprint:
            raise ConfigError(f"fingerprint: must be a non-empty string, got {fingerprint!r}")
        if isinstance(dim, bool) or not isinstance(dim, int | np.integer) or int(dim) <= 0:
            raise ConfigError(f"dim: must be a positive int, got {dim!r}")
        backend_cls = get_backend_class(index)
        index = BACKENDS.canonical(index)
        try:
            backend = backend_cls(int(dim), **opts)
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"index options for {index!r}: {exc}") from exc
        target = Path(directory).expanduser()
        if target.exists() and (not target.is_dir() or any(target.iterdir())):
            raise _GalleryExistsError(f"{target}: already exists and is not an empty directory")
        try:  # a parent that is a file, a read-only file system, a full disk: one line naming the gallery
            target.parent.mkdir(parents=True, exist_ok=True)
            remove_stale_staging(target)
            staging, staging_lock = _new_staging(target)
        except OSError as exc:
            raise GalleryError(f"{target}: cannot create gallery ({_os_reason(exc)})") from exc
        try:
            os.chmod(staging, 0o700)
            store = SQLiteStore(staging / DB_NAME, create=True)
            try:
                options = {k: v for k, v in backend.get_config().items() if k != "dim"}
                store.initialize({
                    "fingerprint": fingerprint, "dim": str(int(dim)), "index": index,
                    "index_options": json.dumps(options, sort_keys=True), "gallery_id": uuid.uuid4().hex,
                })
                meta = store.meta()
            finally:
                store.close()
            backend.save(staging / INDEX_NAME, {"generation": int(meta["generation"]),
                                                "gallery_id": meta["gallery_id"]})
            fd = os.open(staging / LOCK_NAME, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
            os.close(fd)
            fsync_dir(staging)
            os.rename(staging, target)  # atomic; fails if someone filled ``target`` meanwhile
            fsync_dir(target.parent)
        except BaseException as exc:
            shutil.rmtree(staging, ignore_errors=True)
            if isinstance(exc, OSError) and exc.errno in (errno.ENOTEMPTY, errno.EEXIST, errno.ENOTDIR):
                raise _GalleryExistsError(f"{target}: already exists and is not an empty directory") from None
            if isinstance(exc, OSError):
                raise GalleryError(f"{target}: cannot create gallery ({_os_reason(exc)})") from exc
            raise
        finally:
            os.close(staging_lock)
        return cls.open(target, fingerprint, lock_timeout=lock_timeout)

    @classmethod
    def open_or_create(
        cls,
        directory: str | os.PathLike[str],
        fingerprint: str,
        dim: int,
        index: str = "flat",
        *,
        lock_timeout: float = 60.0,
        **opts: Any,
    ) -> FaceGallery:
        """Open the gallery at ``directory`` (read-write), creating it first if there is none; race-safe.

        Several processes may call this at once on a fresh path: exactly one creates the gallery (atomic
        rename), the others open the one it created, so every caller's later writes land in the same
        gallery. ModelMismatchError if the gallery is bound to another ``fingerprint`` or ``dim``;
        ``index`` and ``opts`` only apply when this call creates it (an existing gallery keeps its own).
        """
        target = Path(directory).expanduser()
        for _ in range(3):
            if not (target / DB_NAME).is_file():
                try:
                    return cls.create(target, fingerprint, dim, index, lock_timeout=lock_timeout, **opts)
                except _GalleryExistsError:
                    if not (target / DB_NAME).is_file():
                        raise  # taken by something that is not a gallery
            try:
                gallery = cls.open(target, fingerprint, lock_timeout=lock_timeout)
            except GalleryError:
                if (target / DB_NAME).is_file():
                    raise
                continue  # removed between our look and our open: try again
            if gallery.dim != int(dim):
                gallery.close()
                raise ModelMismatchError(f"{target}: gallery holds embeddings of dim {gallery.dim}, not {dim} "
                                         f"(model {fingerprint!r})")
            return gallery
        raise GalleryError(f"{target}: cannot open or create a gallery (it keeps appearing and vanishing)")

    @classmethod
    def open(
        cls,
        directory: str | os.PathLike[str],
        fingerprint: str | None = None,
        *,
        read_only: bool = False,
        lock_timeout: float = 60.0,
    ) -> FaceGallery:
        """Open an existing gallery; GalleryError if missing or corrupt.

        ``fingerprint``: the model the caller will use; ModelMismatchError if the gallery is
        bound to another one (None: not checked here). ``read_only``: never writes any file.
        """
        path = Path(directory).expanduser()
        if path.exists() and not path.is_dir():
            raise GalleryError(f"{path}: exists and is not a directory (a gallery is a folder)")
        if not path.is_dir():
            raise GalleryError(f"{path}: no gallery here (not a directory)")
        if not (path / DB_NAME).is_file():
            raise GalleryError(f"{path}: no gallery here ({DB_NAME} missing)")
        if not read_only:
            remove_stale_staging(path)
        store = SQLiteStore(path / DB_NAME, read_only=read_only)
        try:
            try:
                meta = store.meta()
            except RecoveryNeededError:  # read-only: roll the interrupted write back, then read
                store.close()
                _roll_back_journal(path, lock_timeout)
                store = SQLiteStore(path / DB_NAME, read_only=read_only)
                meta = store.meta()
            if fingerprint is not None and fingerprint != meta["fingerprint"]:
                raise ModelMismatchError(
                    f"{path}: gallery is bound to model {meta['fingerprint']!r}, not {fingerprint!r}; "
                    "re-enrol with this model into a new gallery"
                )
            try:
                options = json.loads(meta.get("index_options") or "{}")
                backend = get_backend_class(meta["index"])(int(meta["dim"]), **options)
            except (TypeError, ValueError, ConfigError) as exc:
                raise GalleryError(f"{path}: bad index settings in catalogue ({exc})") from exc
            gallery = cls(path, store, backend, fingerprint=fingerprint, read_only=read_only,
                          lock_timeout=lock_timeout)
            gallery._load()
        except BaseException:
            store.close()
            raise
        return gallery

    # -- index cache ----------------------------------------------------------------------------
    def _tag(self, generation: int | None = None) -> dict[str, Any]:
        return {"generation": self._generation if generation is None else generation,
                "gallery_id": self._meta.get("gallery_id"), "store_token": self._token}

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        """Hold the writer lock (none when read-only) for the block. A lock file that cannot be made (a read-only
        file system, a full disk) is one GalleryError naming the gallery; errors of the block itself pass as they
        are."""
        if self._lock is None:
            yield
            return
        try:
            self._lock.acquire()
        except Timeout as exc:
            raise GalleryError(
                f"{self.directory}: locked by another process (waited {self._lock_timeout:g} s)"
            ) from exc
        except OSError as exc:
            raise GalleryError(f"{self.directory}: cannot write to the gallery ({_os_reason(exc)})") from exc
        try:
            yield
        finally:
            self._lock.release()

    def _load(self) -> None:
        """Load the index file, reconcile it with the catalogue, rewrite it if it was not current."""
        with self._mutex, self._locked():
            if not self.read_only:
                remove_stale_temps(self.directory, INDEX_NAME)
            try:
                tag = self._backend.load(self.directory / INDEX_NAME)
            except IndexFileError:
                tag = None
                self._backend.reset()
            if tag is not None and tag.get("gallery_id") != self._meta.get("gallery_id"):
                tag = None
                self._backend = type(self._backend).from_config(self._backend.get_config())
            current, stale = self._sync(tag, trusted=tag is not None)
            self.recovered = not current
            if self.recovered and not self.read_only:
                self._persist()
            elif stale:  # read-only, and the file holds vectors the catalogue no longer has: erase them
                self._rewrite_index_read_only()

    def _rewrite_index_read_only(self) -> None:
        """Replace the index file of a read-only gallery by one of the current catalogue, under the writer lock."""
        lock = FileLock(str(self.directory / LOCK_NAME), timeout=self._lock_timeout, mode=FILE_MODE,
                        preserve_lock_file=True)
        try:
            with lock:
                remove_stale_temps(self.directory, INDEX_NAME)
                self._refresh()  # a writer may have gone on meanwhile: never write back an older state
                self._backend.save(self.directory / INDEX_NAME, self._tag())
        except (Timeout, OSError) as exc:
            raise GalleryError(f"{self.directory}: the index file holds removed templates and cannot be "
                               f"rewritten ({exc}); open the gallery read-write") from exc

    def _sync(self, tag: dict[str, Any] | None, trusted: bool = True) -> tuple[bool, int]:
        """Make the in-memory index and name lookup match the catalogue (one consistent snapshot).

        ``trusted``: the in-memory index holds catalogue vectors (ids never reused), so only the difference is
        applied; an index loaded with another version token (or none) is rebuilt from the catalogue.
        Returns (was the index as loaded, described by ``tag``, already current; how many ids it held that the
        catalogue no longer has)."""
        store, backend = self._store, self._backend
        with store.snapshot():
            generation = store.generation()
            _, templates = store.counts()
            token = store.version_token()
            if tag is not None and tag.get("store_token") != token:
                trusted = False
            current = (trusted and tag is not None and tag.get("generation") == generation
                       and backend.size == templates)
            stale = np.empty(0, np.int64)
            if not current:
                wanted, held = store.template_ids(), backend.ids()
                stale = np.setdiff1d(held, wanted, assume_unique=True)
                if not trusted and len(held):  # catalogue changed outside siamese: rebuild all from it
                    backend.reset()
                    held = np.empty(0, np.int64)
                missing = np.setdiff1d(wanted, held, assume_unique=True)
                if len(stale):
                    backend.remove(stale)
                if len(missing):
                    scan_all = len(missing) > len(wanted) // 2
                    for ids, vectors in store.embeddings(None if scan_all else missing):
                        if scan_all:
                            keep = np.isin(ids, missing, assume_unique=True)
                            ids, vectors = ids[keep], vectors[keep]
                        backend.add(ids, vectors)
            ids, owners, names = store.lookup()
        order = sorted(names)
        position = {identity: row for row, identity in enumerate(order)}
        owner_rows = np.array([position[o] for o in owners.tolist()], dtype=np.int64) if len(owners) else owners
        self._set_lookup(ids, owner_rows, [names[i] for i in order])
        self._generation = generation
        self._token = token
        return current, len(stale)

    def _set_lookup(self, ids: np.ndarray, owners: np.ndarray, names: list[str | None]) -> None:
        self._lut_ids, self._lut_owner, self._lut_names = ids, owners, names
        self._lut_row = {name: row for row, name in enumerate(names) if name is not None}
        self._max_per_identity = None

    def _refresh(self) -> None:
        """Catch up with writes made by other processes since our last look."""
        if self._store.generation() != self._generation:
            self._sync(None)

    def _persist(self) -> None:
        self._backend.save(self.directory / INDEX_NAME, self._tag())
        self._dirty = False

    def _persist_after_commit(self) -> None:
        """Rewrite the index file after a committed write. The catalogue is the record and the index file a cache
        that the next open rebuilds (removed vectors left the file before the catalogue committed), so a failure
        here (a full disk) is a warning: the write is done."""
        try:
            self._persist()
        except OSError as exc:
            warnings.warn(f"{self.directory}: saved in the catalogue, but the index file could not be rewritten "
                          f"({_os_reason(exc)}); it is rebuilt when the gallery is next opened", stacklevel=2)

    @contextlib.contextmanager
    def _writing(self) -> Iterator[None]:
        self._check_open()
        if self.read_only:
            raise GalleryError(f"{self.directory}: gallery is open read-only")
        with self._mutex, self._locked():
            remove_stale_temps(self.directory, INDEX_NAME)  # under the lock every temp is a crashed writer's
            self._refresh()
            self._committed = False
            try:
                yield
            except BaseException:
                if self._committed:  # catalogue or memory changed, may differ: resync on next use
                    self._generation = -1
                raise
            if not self._committed:  # the block wrote nothing (e.g. every template was enrolled already)
                return
            self._generation = self._store.generation()
            self._token = self._store.version_token()
            self._dirty = True
            if self._batch_depth == 0:
                self._persist_after_commit()

    @contextlib.contextmanager
    def batch(self) -> Iterator[FaceGallery]:
        """Hold the write lock and defer rewriting the index file to the end of the block.

        Each ``add`` stays its own transaction (crash-safe); use for bulk enrolment. ``remove``
        still rewrites the index at once so no removed vector lingers in the file.
        """
        self._check_open()
        if self.read_only:
            raise GalleryError(f"{self.directory}: gallery is open read-only")
        with self._mutex, self._locked():
            self._batch_depth += 1
            try:
                yield self
            finally:
                self._batch_depth -= 1
                if self._batch_depth == 0 and self._dirty and not self._closed:
                    self._persist_after_commit()

    # -- validation -----------------------------------------------------------------------------
    def _check_open(self) -> None:
        if self._closed:
            raise GalleryError(f"{self.directory}: gallery is closed")

    def _check_model(self, fingerprint: str | None) -> None:
        claimed = fingerprint if fingerprint is not None else self._claimed
        if claimed is not None and claimed != self.fingerprint:
            raise ModelMismatchError(
                f"{self.directory}: gallery is bound to model {self.fingerprint!r}, "
                f"embeddings come from {claimed!r}"
            )

    def _vectors(self, embeddings: Any, what: str, allow_empty: bool = False) -> np.ndarray:
        try:
            arr = np.asarray(embeddings, dtype=np.float32)
        except (TypeError, ValueError) as exc:
            raise GalleryError(f"{what}: not a numeric array ({exc})") from exc
        if arr.ndim == 1:
            arr = arr.reshape(1, -1)
        if arr.ndim != 2:
            raise GalleryError(f"{what}: expected shape (n, {self.dim}), got {arr.shape}")
        if arr.shape[1] != self.dim:
            raise ModelMismatchError(
                f"{what}: embeddings have dim {arr.shape[1]}, gallery {self.directory} holds dim "
                f"{self.dim} (model {self.fingerprint!r})"
            )
        if not len(arr) and not allow_empty:
            raise GalleryError(f"{what}: no embeddings given")
        if not np.isfinite(arr).all():
            raise GalleryError(f"{what}: embeddings hold NaN or inf")
        norms = np.linalg.norm(arr, axis=1)
        if len(arr) and np.abs(norms - 1.0).max() > NORM_TOLERANCE:
            raise GalleryError(f"{what}: embeddings are not L2-normalised (norms {norms.min():.4f}..{norms.max():.4f})")
        return np.ascontiguousarray(arr)

    def _stored(self, name: Any) -> str:
        """``name`` as the catalogue spells it: its NFC form (:func:`check_name`), except for a name that only the
        exact string given is enrolled under (written before names were normalised): that one stays reachable as
        it was typed then."""
        nfc = _check_name(name)
        if nfc != name:
            with self._mutex:
                self._refresh()
                if nfc not in self._lut_row and name in self._lut_row:
                    return name
        return nfc

    def _entry(self, name: Any, embeddings: Any, sources: Sequence[SourceLike] | None):
        name = self._stored(name)
        vectors = self._vectors(embeddings, f"identity {name!r}")
        if sources is None:
            items: list[Source | None] = [None] * len(vectors)
        else:
            items = [_as_source(s) for s in sources]
            if len(items) != len(vectors):
                raise GalleryError(f"identity {name!r}: {len(items)} sources for {len(vectors)} embeddings")
        return name, vectors, items

    # -- writes ---------------------------------------------------------------------------------
    def add_many(
        self,
        entries: Iterable[tuple[str, np.ndarray] | tuple[str, np.ndarray, Sequence[SourceLike] | None]],
        *,
        fingerprint: str | None = None,
        new_sources_only: bool = False,
    ) -> list[list[int]]:
        """Enrol several identities in ONE transaction (all land or none); ids per entry. ``new_sources_only``
        (see :meth:`Gallery.add_many`) is checked under the writer lock, so racing enrolments add a photo once."""
        self._check_open()
        self._check_model(fingerprint)
        checked = [self._entry(e[0], e[1], e[2] if len(e) > 2 else None) for e in entries]
        if not checked:
            return []
        with self._writing():
            if new_sources_only:
                checked = without_known_sources(
                    checked, lambda name: self._store.sources(name) if name in self._lut_row else [])
            writes = [entry for entry in checked if len(entry[1])]
            if not writes:
                return [[] for _ in checked]
            written = iter(self._add_checked(writes))
        return [next(written) if len(entry[1]) else [] for entry in checked]

    def _add_checked(self, checked: list[tuple[str, np.ndarray, list[Source | None]]]) -> list[list[int]]:
        """Write non-empty checked entries (inside :meth:`_writing`); their new template ids."""
        new_ids = self._store.add(checked)
        self._committed = True
        all_ids = np.concatenate(new_ids)
        self._backend.add(all_ids, np.concatenate([vectors for _, vectors, _ in checked]))
        owners = []
        for (name, _, _), ids in zip(checked, new_ids, strict=True):
            row = self._lut_row.get(name)
            if row is None:
                row = len(self._lut_names)
                self._lut_names.append(name)
                self._lut_row[name] = row
            owners.append(np.full(len(ids), row, np.int64))
        self._lut_ids = np.concatenate([self._lut_ids, all_ids])  # new ids exceed all old ones
        self._lut_owner = np.concatenate([self._lut_owner, *owners])
        self._max_per_identity = None
        return [ids.tolist() for ids in new_ids]

    def remove(self, name: str) -> int:
        """Forget ``name``: its rows, its vectors, and their bytes in every gallery file.

        Returns the number of templates removed; GalleryError if the name is unknown.
        """
        name = self._stored(name)
        with self._writing():  # the file loses the vectors below, even inside batch(); its final tag may wait
            row = self._lut_row.get(name)
            if row is None:
                raise GalleryError(f"unknown identity {name!r}")
            ids = self._lut_ids[self._lut_owner == row]
            self._committed = True  # from here memory may differ from the catalogue
            self._backend.remove(ids)
            # 1. the index file loses the vectors first, tagged stale (generation -1: never taken as current)
            try:
                self._backend.save(self.directory / INDEX_NAME, self._tag(generation=-1))
            except OSError as exc:
                raise GalleryError(f"{self.directory}: {name!r} not removed: the index file could not be rewritten "
                                   f"({_os_reason(exc)})") from exc
            # 2. then the catalogue commits (a crash before this leaves the person enrolled: not reported done)
            removed = self._store.remove(name)
            extra = np.setdiff1d(removed, ids)
            if len(extra):  # cannot happen under the writer lock; never leave them in memory all the same
                self._backend.remove(extra)
                ids = np.union1d(ids, extra)
            keep = ~np.isin(self._lut_ids, ids)
            self._lut_ids, self._lut_owner = self._lut_ids[keep], self._lut_owner[keep]
            row = self._lut_row.pop(name, None)
            if row is not None:  # copy on write: a search in another thread may hold the old list
                self._lut_names = [None if i == row else n for i, n in enumerate(self._lut_names)]
            self._max_per_identity = None
            try:
                self._store.scrub()
            except GalleryError as exc:  # the rows are already zeroed in place (secure_delete); only compaction failed
                warnings.warn(str(exc), stacklevel=2)
        return len(ids)

    # -- reads ----------------------------------------------------------------------------------
    def _max_templates(self) -> int:
        if self._max_per_identity is None:
            counts = np.bincount(self._lut_owner) if len(self._lut_owner) else np.zeros(1, np.int64)
            self._max_per_identity = max(1, int(counts.max()))
        return self._max_per_identity

    def search(
        self,
        embeddings: np.ndarray,
        k: int = 5,
        *,
        by: Literal["identity", "template"] = "identity",
        min_similarity: float | None = None,
        fingerprint: str | None = None,
    ) -> list[list[Match]]:
        """Top-k matches per query row, best first.

        ``by="identity"``: the k best identities, each represented by its best template (exact
        for the flat index); ``by="template"``: the k best templates, raw. Hits with similarity
        below ``min_similarity`` are dropped. Returns one list per query row.
        """
        self._check_open()
        self._check_model(fingerprint)
        check_search_args(k, by)
        queries = self._vectors(embeddings, "query", allow_empty=True)
        with self._mutex:
            self._refresh()
            total = self._backend.size
            if total == 0 or not len(queries):
                return [[] for _ in range(len(queries))]
            fetch = min(total, k if by == "template" else k * self._max_templates())
            sims, ids = self._backend.search(queries, fetch)
            lut_ids, lut_owner, names = self._lut_ids, self._lut_owner, self._lut_names
        pos = np.minimum(np.searchsorted(lut_ids, ids), len(lut_ids) - 1)
        owners = np.where((ids >= 0) & (lut_ids[pos] == ids), lut_owner[pos], -1)
        floor = -np.inf if min_similarity is None else float(min_similarity)
        results: list[list[Match]] = []
        rows = zip(sims.tolist(), ids.tolist(), owners.tolist(), strict=True)
        if by == "template":  # hits come sorted, padding (-1) last: the kept hits are a prefix
            for row_sims, row_ids, row_owners in rows:
                results.append([
                    Match(names[o], t, s, r)
                    for r, (s, t, o) in enumerate(zip(row_sims, row_ids, row_owners, strict=True))
                    if o >= 0 and s >= floor
                ])
            return results
        for row_sims, row_ids, row_owners in rows:
            hits: list[Match] = []
            seen: set[int] = set()
            for sim, tid, owner in zip(row_sims, row_ids, row_owners, strict=True):
                if sim < floor:
                    break
                if owner < 0 or owner in seen:
                    continue
                seen.add(owner)
                hits.append(Match(names[owner], tid, sim, len(hits)))
                if len(hits) == k:
                    break
            results.append(hits)
        return results

    def templates(self, name: str) -> np.ndarray:
        """Embeddings enrolled for ``name``, float32 ``(n, dim)``; GalleryError if unknown."""
        self._check_open()
        return self._store.templates(self._stored(name))

    def sources(self, name: str) -> list[Source | None]:
        """Provenance of ``name``'s templates, in the order of :meth:`templates`."""
        self._check_open()
        return self._store.sources(self._stored(name))

    def names(self) -> list[str]:
        """Enrolled identity names, sorted."""
        self._check_open()
        return self._store.names()

    def __len__(self) -> int:
        """Number of enrolled identities."""
        self._check_open()
        return self._store.counts()[0]

    def __contains__(self, name: object) -> bool:
        self._check_open()
        try:
            name = self._stored(name)
        except GalleryError:  # not a name at all
            return False
        with self._mutex:
            self._refresh()
            return name in self._lut_row

    def info(self) -> dict[str, Any]:
        """Counts, dim, index kind and options, fingerprint, generation and file sizes (bytes)."""
        self._check_open()
        with self._mutex:
            self._refresh()
            identities, templates = self._store.counts()
            files = {}
            for entry in sorted(self.directory.iterdir()):
                if entry.is_file():
                    files[entry.name] = entry.stat().st_size
            return {
                "directory": str(self.directory),
                "fingerprint": self.fingerprint,
                "dim": self.dim,
                "index": self.kind,
                "index_options": json.loads(self._meta.get("index_options") or "{}"),
                "identities": identities,
                "templates": templates,
                "indexed": self._backend.size,
                "generation": self._generation,
                "created": self._meta.get("created"),
                "schema_version": int(self._meta["schema_version"]),
                "read_only": self.read_only,
                "files": files,
                "bytes": sum(files.values()),
            }

    def verify(self) -> list[str]:
        """Cross-check index and catalogue; returns a list of problems (empty when consistent)."""
        self._check_open()
        problems: list[str] = []
        with self._mutex, self._store.snapshot():
            self._refresh()
            wanted, held = self._store.template_ids(), self._backend.ids()
            if not np.array_equal(wanted, held):
                extra, lost = np.setdiff1d(held, wanted), np.setdiff1d(wanted, held)
                problems.append(f"index holds {len(extra)} unknown ids, lacks {len(lost)} catalogue ids")
            if not np.array_equal(wanted, self._lut_ids):
                problems.append("name lookup out of date")
            for ids, vectors in self._store.embeddings():
                stored = self._backend.reconstruct(ids) if not problems else None
                if stored is not None and not np.array_equal(stored, vectors):
                    problems.append(f"index vectors differ from catalogue for ids {ids[0]}..{ids[-1]}")
            identities, _ = self._store.counts()
            owned = len(set(self._lut_owner.tolist()))
            if owned != identities:
                problems.append(f"{identities - owned} identities have no templates")
        return problems

    @property
    def backend(self) -> SearchBackend:
        """The search backend (for benchmarks and tools)."""
        return self._backend

    # -- lifetime -------------------------------------------------------------------------------
    def close(self) -> None:
        with self._mutex:
            if self._closed:
                return
            try:
                if self._dirty and not self.read_only:
                    with self._locked():
                        self._persist_after_commit()
            finally:
                self._closed = True
                self._store.close()

    def __enter__(self) -> FaceGallery:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self._closed else f"{self._backend.size} templates"
        return f"FaceGallery({str(self.directory)!r}, index={self.kind!r}, {state})"
