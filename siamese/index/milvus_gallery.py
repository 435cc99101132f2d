"""MilvusGallery: the gallery in a Milvus collection, so several machines can enrol into and search one.

One collection per gallery; each row is a template::

    id        INT64 primary key   template id (client-made, unique across writers, grows with time)
    name      VARCHAR             the identity owning the template
    vec       FLOAT_VECTOR(dim)   the L2-normalised embedding (metric IP = cosine similarity)
    sha256    VARCHAR             provenance: SHA-256 of the source photo ("" if unknown)
    path      VARCHAR             provenance: the photo's path ("" if unknown)

The collection's properties hold the binding (``siamese.fingerprint``, ``siamese.dim``,
``siamese.index``, ``siamese.index_options``, ``siamese.gallery_id``, ``siamese.created``). An identity
exists while it owns a row. Index kinds map to Milvus ones: ``flat`` -> FLAT, ``ivf`` -> IVF_FLAT
(``nlist``, ``nprobe``), ``hnsw`` -> HNSW (``m``, ``ef_construction``, ``ef_search``). Search by identity
uses Milvus' grouping by ``name`` (one best template per identity: exact on FLAT).

Addresses (see :mod:`siamese.index.address`): a milvus-lite database (``PATH.db`` or
``milvus-lite:PATH``) or a server (``http://host:19530``, ``milvus://host:19530``; ``?collection=NAME``
and ``?db=NAME`` choose where; the token comes from ``$MILVUS_TOKEN``).

milvus-lite lets one process at a time open a database. Each operation (or each :meth:`batch`
block) therefore takes a file lock (``PATH/siamese.lock``), opens the database, works and lets it go:
several processes share one lite gallery, serialised. Wrap many calls in :meth:`batch` to open once.

Removal: ``delete`` hides the rows at once (Strong consistency). Bytes: on milvus-lite, :meth:`remove`
then rewrites the collection without the person (copy the rest, drop the old files, rename), so no
byte of them stays in the database directory; on a server it flushes and runs a manual compaction
and waits for it: the segments are rewritten without the rows, but Milvus deletes the old segment
files only at its garbage collection (``dataCoord.gc.dropTolerance``, 3 h by default) and its
message log keeps the insert until retention ends. See docs/design.md.

Requires the ``milvus`` extra (``pip install 'siamese[milvus]'``); imported lazily.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import json
import os
import secrets
import threading
import time
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal
from urllib.parse import parse_qs, urlsplit, urlunsplit

import numpy as np
from filelock import FileLock, Timeout

from siamese.errors import ConfigError, GalleryError, ModelMismatchError
from siamese.index._fs import make_tree_private
from siamese.index.address import LITE_PREFIX
from siamese.index.base import EntryLike, Gallery, check_search_args, without_known_sources
from siamese.index.gallery import FaceGallery, _check_name
from siamese.index.types import Match, Source

__all__ = ["DEFAULT_COLLECTION", "MilvusAddress", "MilvusGallery", "parse_milvus_address"]

DEFAULT_COLLECTION = "siamese_gallery"
LOCK_NAME = "siamese.lock"
PURGE_SUFFIX = "__purge"
SCHEMA_VERSION = 1
NAME_BYTES = 1024   # 256 characters (MAX_NAME_LENGTH) of up to 4 UTF-8 bytes
PATH_BYTES = 65535  # Milvus' VARCHAR limit
MAX_TOPK = 16384    # Milvus' limit on k
PAGE = 4096         # rows per query page
INDEX_TYPES = {"flat": "FLAT", "ivf": "IVF_FLAT", "hnsw": "HNSW"}
INDEX_OPTIONS = {
    "flat": {},
    "ivf": {"nlist": 1024, "nprobe": 16},
    "hnsw": {"m": 32, "ef_construction": 200, "ef_search": 64},
}
_EPOCH_MS = 1_735_689_600_000  # 2025-01-01T00:00Z: template ids are (ms since then) << 22 | writer << 8 | seq
_WRITER_BITS, _SEQ_BITS = 14, 8


def _pymilvus() -> Any:
    try:
        import pymilvus
    except ImportError as exc:
        raise GalleryError(
            "milvus: the Milvus gallery backend needs pymilvus and milvus-lite; install siamese[milvus]"
        ) from exc
    return pymilvus


@dataclass(frozen=True)
class MilvusAddress:
    """A parsed Milvus gallery address: where the database is and which collection holds the gallery."""

    text: str                 # as given (for messages)
    uri: str | None           # server URI (None for milvus-lite)
    lite_path: Path | None    # milvus-lite database directory (None for a server)
    collection: str
    db_name: str = ""

    def __str__(self) -> str:
        return self.text


def parse_milvus_address(address: str | os.PathLike[str] | MilvusAddress) -> MilvusAddress:
    """Parse ``milvus-lite:PATH``, ``PATH.db`` or ``http(s)|milvus|tcp://host:port[?collection=..&db=..]``."""
    if isinstance(address, MilvusAddress):
        return address
    text = os.fspath(address)
    lower = text.lower()
    if lower.startswith(("http://", "https://", "milvus://", "tcp://")):
        parts = urlsplit(text)
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        unknown = sorted(set(query) - {"collection", "db"})
        if unknown or not parts.hostname:
            raise ConfigError(f"--gallery: {text}: expected SCHEME://HOST:PORT[?collection=NAME&db=NAME]"
                              + (f", unknown {unknown}" if unknown else ""))
        scheme = "http" if parts.scheme.lower() == "milvus" else parts.scheme.lower()
        uri = urlunsplit((scheme, parts.netloc, parts.path, "", ""))
        return MilvusAddress(text, uri, None, query.get("collection", DEFAULT_COLLECTION), query.get("db", ""))
    path = text[len(LITE_PREFIX):] if text.startswith(LITE_PREFIX) else text
    if not path:
        raise ConfigError(f"--gallery: {text}: no milvus-lite path after {LITE_PREFIX!r}")
    return MilvusAddress(text, None, Path(path).expanduser().absolute(), DEFAULT_COLLECTION)


def _quote(value: str) -> str:
    """A Milvus filter string literal (C-style escapes; names hold no control characters)."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


class _LiteHandle:
    """One milvus-lite database opened by this process: a file lock across processes, a lock across
    threads, and the embedded server, started on first use and stopped when the last user leaves."""

    _handles: dict[Path, _LiteHandle] = {}
    _guard = threading.Lock()

    def __init__(self, path: Path) -> None:
        self.path = path
        self.mutex = threading.RLock()
        self.depth = 0
        self.loaded: set[str] = set()  # collections loaded in the current session
        self.client: Any = None
        self.file_lock: FileLock | None = None

    @classmethod
    def get(cls, path: Path) -> _LiteHandle:
        with cls._guard:
            return cls._handles.setdefault(path, cls(path))

    @contextlib.contextmanager
    def session(self, timeout: float) -> Iterator[Any]:
        with self.mutex:
            if self.depth == 0:
                self._start(timeout)
            self.depth += 1
            try:
                yield self.client
            finally:
                self.depth -= 1
                if self.depth == 0:
                    self._stop()

    def _start(self, timeout: float) -> None:
        pymilvus = _pymilvus()
        try:
            from milvus_lite.server_manager import server_manager_instance
        except ImportError as exc:
            raise GalleryError(f"{self.path}: milvus-lite is not installed; install siamese[milvus]") from exc
        self.path.mkdir(mode=0o700, parents=True, exist_ok=True)
        lock = FileLock(str(self.path / LOCK_NAME), timeout=timeout, mode=0o600, thread_local=False,
                        preserve_lock_file=True)
        try:
            lock.acquire()
        except Timeout as exc:
            raise GalleryError(f"{self.path}: locked by another process (waited {timeout:g} s)") from exc
        try:
            uri = server_manager_instance.start_and_get_uri(str(self.path))
            if uri is None:
                raise GalleryError(f"{self.path}: milvus-lite cannot open this database (see the log above)")
            self.client = pymilvus.MilvusClient(uri=uri)
        except BaseException:
            server_manager_instance.release_server(str(self.path))
            lock.release()
            raise
        self.file_lock = lock

    def _stop(self) -> None:
        from milvus_lite.server_manager import server_manager_instance

        try:
            if self.client is not None:
                self.client.close()
            server_manager_instance.release_server(str(self.path))
        finally:
            self.client = None
            self.loaded.clear()
            with contextlib.suppress(OSError):  # milvus-lite writes 0644 files inside the 0700 folder: owner-only
                make_tree_private(self.path)
            if self.file_lock is not None:
                self.file_lock.release()
                self.file_lock = None


class MilvusGallery(Gallery):
    """Enrolled faces in a Milvus collection (see module docstring). Build with :meth:`create` or :meth:`open`.

    Same API, checks and messages as :class:`~siamese.index.FaceGallery`. Thread-safe within a process;
    several processes (several machines, on a server) may use one gallery at once.
    """

    # The same validation (and messages) as the local gallery; they read dim, fingerprint, directory, _claimed.
    _check_model = FaceGallery._check_model
    _vectors = FaceGallery._vectors
    _entry = FaceGallery._entry

    def __init__(self, address: MilvusAddress, meta: dict[str, str], *, fingerprint: str | None,
                 read_only: bool, lock_timeout: float, client: Any = None) -> None:
        self.address = address
        self.directory = str(address)  # where the gallery lives, for messages (named as in FaceGallery)
        self.read_only = read_only
        self.collection = address.collection
        self._meta = meta
        self.dim = int(meta["dim"])
        self.fingerprint = meta["fingerprint"]
        self.kind = meta["index"]
        self._options = json.loads(meta.get("index_options") or "{}")
        self._claimed = fingerprint
        self._lock_timeout = lock_timeout
        self._mutex = threading.RLock()
        self._client = client  # server: one connection for the gallery's life; lite: per session
        self._lite = _LiteHandle.get(address.lite_path) if address.lite_path is not None else None
        self._closed = False
        self._writer = secrets.randbits(_WRITER_BITS)
        self._last_ms = 0

    # -- connections ----------------------------------------------------------------------------
    @staticmethod
    def _connect(address: MilvusAddress) -> Any:
        pymilvus = _pymilvus()
        try:
            return pymilvus.MilvusClient(uri=address.uri, token=os.environ.get("MILVUS_TOKEN", ""),
                                         db_name=address.db_name)
        except Exception as exc:
            raise GalleryError(f"{address}: cannot connect to Milvus ({exc})") from exc

    @classmethod
    @contextlib.contextmanager
    def _connection(cls, address: MilvusAddress, lock_timeout: float) -> Iterator[Any]:
        """A client for one operation (lite: under the file lock; server: a fresh connection)."""
        if address.lite_path is not None:
            with _LiteHandle.get(address.lite_path).session(lock_timeout) as client:
                yield client
            return
        client = cls._connect(address)
        try:
            yield client
        finally:
            client.close()

    @contextlib.contextmanager
    def _session(self) -> Iterator[Any]:
        self._check_open()
        with self._mutex:
            if self._lite is None:
                yield self._client
                return
            with self._lite.session(self._lock_timeout) as client:
                if self.collection not in self._lite.loaded:
                    self._ensure_loaded(client)
                    self._lite.loaded.add(self.collection)
                yield client

    def _ensure_loaded(self, client: Any) -> None:
        with _errors(self.address):
            if not client.has_collection(self.collection):
                _recover_purge(client, self.collection)
                if not client.has_collection(self.collection):
                    raise GalleryError(f"{self.address}: no gallery here (collection {self.collection!r} is gone)")
            client.load_collection(self.collection)

    # -- construction -------------------------------------------------------------------------
    @classmethod
    def exists(cls, address: str | os.PathLike[str] | MilvusAddress, *, lock_timeout: float = 60.0) -> bool:
        """True when the address holds this gallery's collection."""
        addr = parse_milvus_address(address)
        if addr.lite_path is not None and not addr.lite_path.exists():
            return False
        with cls._connection(addr, lock_timeout) as client, _errors(addr):
            return bool(client.has_collection(addr.collection) or client.has_collection(addr.collection + PURGE_SUFFIX))

    @classmethod
    def create(cls, address: Any, fingerprint: str, dim: int, index: str = "flat", *,
               lock_timeout: float = 60.0, **opts: Any) -> MilvusGallery:
        """Create an empty gallery (a new collection) bound to ``fingerprint``; GalleryError if one is there.

        ``index``: ``"flat"`` (exact, default), ``"ivf"`` (``nlist``, ``nprobe``) or ``"hnsw"``
        (``m``, ``ef_construction``, ``ef_search``).
        """
        if not isinstance(fingerprint, str) or not fingerprint:
            raise ConfigError(f"fingerprint: must be a non-empty string, got {fingerprint!r}")
        if isinstance(dim, bool) or not isinstance(dim, int | np.integer) or int(dim) <= 0:
            raise ConfigError(f"dim: must be a positive int, got {dim!r}")
        options = _index_options(index, opts)
        addr = parse_milvus_address(address)
        meta = {
            "fingerprint": fingerprint, "dim": str(int(dim)), "index": index,
            "index_options": json.dumps(options, sort_keys=True), "gallery_id": uuid.uuid4().hex,
            "created": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
            "schema_version": str(SCHEMA_VERSION),
        }
        with cls._connection(addr, lock_timeout) as client, _errors(addr):
            if client.has_collection(addr.collection) or client.has_collection(addr.collection + PURGE_SUFFIX):
                raise GalleryError(f"{addr}: already exists (collection {addr.collection!r})")
            _create_collection(client, addr.collection, meta)
        return cls.open(addr, fingerprint, lock_timeout=lock_timeout)

    @classmethod
    def drop(cls, address: Any, gallery_id: str, *, lock_timeout: float = 60.0) -> bool:
        """Drop the collection at ``address`` if it is the gallery ``gallery_id`` (e.g. a copy that failed halfway);
        True when dropped. Any other collection there, another gallery's included, is left alone."""
        addr = parse_milvus_address(address)
        if addr.lite_path is not None and not addr.lite_path.is_dir():
            return False
        with cls._connection(addr, lock_timeout) as client, _errors(addr):
            if not client.has_collection(addr.collection):
                return False
            props = client.describe_collection(addr.collection).get("properties") or {}
            if props.get("siamese.gallery_id") != gallery_id:
                return False
            client.drop_collection(addr.collection)
        return True

    @property
    def gallery_id(self) -> str:
        """The id this gallery's collection was created with (unique per gallery)."""
        return self._meta.get("gallery_id", "")

    @classmethod
    def open(cls, address: Any, fingerprint: str | None = None, *, read_only: bool = False,
             lock_timeout: float = 60.0) -> MilvusGallery:
        """Open an existing gallery; GalleryError if there is none, ModelMismatchError for another model."""
        addr = parse_milvus_address(address)
        if addr.lite_path is not None and not addr.lite_path.is_dir():
            raise GalleryError(f"{addr}: no gallery here (no milvus-lite database at {addr.lite_path})")
        client = None if addr.lite_path is not None else cls._connect(addr)
        try:
            with contextlib.ExitStack() as stack:
                conn = client if client is not None else stack.enter_context(cls._connection(addr, lock_timeout))
                with _errors(addr):
                    if not conn.has_collection(addr.collection):
                        _recover_purge(conn, addr.collection)
                    if not conn.has_collection(addr.collection):
                        raise GalleryError(f"{addr}: no gallery here (no collection {addr.collection!r})")
                    props = conn.describe_collection(addr.collection).get("properties") or {}
            meta = {k[len("siamese."):]: v for k, v in props.items() if k.startswith("siamese.")}
            meta.pop("purge_complete", None)
            if not {"fingerprint", "dim", "index"} <= set(meta):
                raise GalleryError(f"{addr}: collection {addr.collection!r} is not a siamese gallery")
            if fingerprint is not None and fingerprint != meta["fingerprint"]:
                raise ModelMismatchError(
                    f"{addr}: gallery is bound to model {meta['fingerprint']!r}, not {fingerprint!r}; "
                    "re-enrol with this model into a new gallery"
                )
            if client is not None:
                with _errors(addr):
                    client.load_collection(addr.collection)
        except BaseException:
            if client is not None:
                client.close()
            raise
        return cls(addr, meta, fingerprint=fingerprint, read_only=read_only, lock_timeout=lock_timeout,
                   client=client)

    # -- writes ---------------------------------------------------------------------------------
    def _check_writable(self) -> None:
        self._check_open()
        if self.read_only:
            raise GalleryError(f"{self.address}: gallery is open read-only")

    def _new_ids(self, n: int) -> np.ndarray:
        """``n`` fresh template ids: ``ms << 22 | writer << 8 | seq``, increasing, unique across writers
        unless two draw the same 14-bit writer tag within the same milliseconds."""
        per_ms = 1 << _SEQ_BITS
        with self._mutex:
            start = max(int(time.time() * 1000) - _EPOCH_MS, self._last_ms + 1)
            self._last_ms = start + (n - 1) // per_ms
        seq = np.arange(n, dtype=np.int64)
        return ((start + seq // per_ms) << (_WRITER_BITS + _SEQ_BITS)) | (self._writer << _SEQ_BITS) | (seq % per_ms)

    def add_many(self, entries: Iterable[EntryLike], *, fingerprint: str | None = None,
                 new_sources_only: bool = False) -> list[list[int]]:
        """Enrol several identities in ONE insert request (Milvus applies it whole or rejects it).
        ``new_sources_only`` (see :meth:`Gallery.add_many`) is checked in the insert's session: exact on
        milvus-lite (its file lock spans both); on a Milvus server, which has no transactions, two writers racing
        within that moment can still both add a photo."""
        self._check_writable()
        self._check_model(fingerprint)
        checked = [self._entry(e[0], e[1], e[2] if len(e) > 2 else None) for e in entries]
        if not checked:
            return []
        with self._session() as client:  # one session: on milvus-lite its file lock spans the check and the insert
            if new_sources_only:
                checked = without_known_sources(checked, lambda name: self._known_sources(client, name))
            total = sum(len(vectors) for _, vectors, _ in checked)
            if not total:
                return [[] for _ in checked]
            return self._insert(client, checked, self._new_ids(total))

    def _known_sources(self, client: Any, name: str) -> list[Source | None]:
        """The sources of ``name``'s templates now ([] for a name not enrolled)."""
        with _errors(self.address):
            rows = client.query(self.collection, filter=f"name == {_quote(name)}", output_fields=["sha256"])
        return [Source(r["sha256"]) if r["sha256"] else None for r in rows]

    def _insert(self, client: Any, checked: list[tuple[str, np.ndarray, list[Source | None]]],
                ids: np.ndarray) -> list[list[int]]:
        """Insert checked entries under ``ids`` (in order) in one request; the ids per entry."""
        rows, out, at = [], [], 0
        for name, vectors, sources in checked:
            mine = ids[at:at + len(vectors)]
            at += len(vectors)
            out.append(mine.tolist())
            for tid, vec, src in zip(mine.tolist(), vectors, sources, strict=True):
                path = (src.path or "") if src else ""
                if len(path.encode()) > PATH_BYTES:
                    raise GalleryError(f"identity {name!r}: source path longer than {PATH_BYTES} bytes")
                rows.append({"id": tid, "name": name, "vec": vec, "sha256": (src.sha256 or "") if src else "",
                             "path": path})
        with _errors(self.address):
            client.insert(self.collection, rows)
        return out

    def remove(self, name: str) -> int:
        """Forget ``name``: delete its rows, then purge their bytes (see module docstring)."""
        name = self._stored(name)
        self._check_writable()
        with self._session() as client, _errors(self.address):
            found = client.query(self.collection, filter=f"name == {_quote(name)}", output_fields=["id"])
            if not found:
                raise GalleryError(f"unknown identity {name!r}")
            client.delete(self.collection, filter=f"name == {_quote(name)}")
            client.flush(self.collection)
            if self._lite is not None:
                _rewrite_collection(client, self.collection, self._meta)
                client.load_collection(self.collection)
            else:
                job = client.compact(self.collection)
                deadline = time.monotonic() + 600
                while str(client.get_compaction_state(job)) != "Completed" and time.monotonic() < deadline:
                    time.sleep(0.5)
        return len(found)

    @contextlib.contextmanager
    def batch(self) -> Iterator[MilvusGallery]:
        """Keep one connection (milvus-lite: the database and its lock) for the whole block."""
        self._check_writable()
        with self._session():
            yield self

    @contextlib.contextmanager
    def session(self) -> Iterator[MilvusGallery]:
        """Like :meth:`batch` but also for read-only galleries: open milvus-lite once for many searches."""
        with self._session():
            yield self

    # -- reads ----------------------------------------------------------------------------------
    def search(self, embeddings: np.ndarray, k: int = 5, *, by: Literal["identity", "template"] = "identity",
               min_similarity: float | None = None, fingerprint: str | None = None) -> list[list[Match]]:
        """Top-k matches per query row, best first (see :meth:`FaceGallery.search`)."""
        self._check_open()
        check_search_args(k, by)
        self._check_model(fingerprint)
        queries = self._vectors(embeddings, "query", allow_empty=True)
        if not len(queries):
            return []
        params: dict[str, Any] = {"metric_type": "IP", "params": _search_params(self.kind, self._options)}
        extra = {"group_by_field": "name", "group_size": 1} if by == "identity" else {}
        with self._session() as client, _errors(self.address):
            hits = client.search(self.collection, data=list(queries), limit=min(int(k), MAX_TOPK),
                                 anns_field="vec", output_fields=["name"], search_params=params, **extra)
        floor = -np.inf if min_similarity is None else float(min_similarity)
        results = []
        for row in hits:
            kept = [(h["entity"]["name"], int(h["id"]), float(h["distance"])) for h in row]
            kept = [x for x in sorted(kept, key=lambda x: -x[2]) if x[2] >= floor]
            results.append([Match(n, t, s, r) for r, (n, t, s) in enumerate(kept)])
        return results

    def _stored(self, name: Any) -> str:
        """``name`` as the collection spells it (see :meth:`FaceGallery._stored`: NFC, or the exact string given
        when only that spelling, from before names were normalised, is enrolled)."""
        nfc = _check_name(name)
        if nfc != name:
            with self._session() as client, _errors(self.address):
                def there(n: str) -> bool:
                    return bool(client.query(self.collection, filter=f"name == {_quote(n)}", output_fields=["id"],
                                             limit=1))
                if not there(nfc) and there(name):
                    return name
        return nfc

    def _rows(self, name: str, fields: list[str]) -> list[dict[str, Any]]:
        name = self._stored(name)
        with self._session() as client, _errors(self.address):
            rows = client.query(self.collection, filter=f"name == {_quote(name)}", output_fields=["id", *fields])
        if not rows:
            raise GalleryError(f"unknown identity {name!r}")
        return sorted(rows, key=lambda r: r["id"])

    def templates(self, name: str) -> np.ndarray:
        """Embeddings enrolled for ``name``, float32 ``(n, dim)`` in enrolment order; GalleryError if unknown."""
        rows = self._rows(name, ["vec"])
        return np.asarray([r["vec"] for r in rows], dtype=np.float32).reshape(-1, self.dim)

    def sources(self, name: str) -> list[Source | None]:
        """Provenance of ``name``'s templates in enrolment order (None where unknown)."""
        rows = self._rows(name, ["sha256", "path"])
        return [Source(r["sha256"] or None, r["path"] or None) if r["sha256"] or r["path"] else None for r in rows]

    def _scan(self, fields: list[str]) -> Iterator[list[dict[str, Any]]]:
        with self._session() as client, _errors(self.address):
            yield from _pages(client, self.collection, fields, lite=self._lite is not None)

    def _name_counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for page in self._scan(["name"]):
            for row in page:
                counts[row["name"]] = counts.get(row["name"], 0) + 1
        return counts

    def names(self) -> list[str]:
        """Enrolled identity names, sorted (a scan of the name field)."""
        return sorted(self._name_counts())

    def __len__(self) -> int:
        """Number of enrolled identities."""
        return len(self._name_counts())

    def __contains__(self, name: object) -> bool:
        self._check_open()
        try:
            name = self._stored(name)
        except GalleryError:  # not a name at all
            return False
        with self._session() as client, _errors(self.address):
            return bool(client.query(self.collection, filter=f"name == {_quote(name)}", output_fields=["id"],
                                     limit=1))

    def info(self) -> dict[str, Any]:
        """Counts, dim, index kind and options, fingerprint, and where the gallery lives."""
        counts = self._name_counts()
        out: dict[str, Any] = {
            "address": str(self.address),
            "backend": "milvus-lite" if self._lite is not None else "milvus",
            "collection": self.collection,
            "fingerprint": self.fingerprint,
            "dim": self.dim,
            "index": self.kind,
            "index_options": self._options,
            "identities": len(counts),
            "templates": sum(counts.values()),
            "created": self._meta.get("created"),
            "schema_version": int(self._meta.get("schema_version", SCHEMA_VERSION)),
            "read_only": self.read_only,
        }
        if self.address.lite_path is not None:
            files = [p for p in self.address.lite_path.rglob("*") if p.is_file()]
            out["bytes"] = sum(p.stat().st_size for p in files)
        return out

    # -- lifetime -------------------------------------------------------------------------------
    def _check_open(self) -> None:
        if self._closed:
            raise GalleryError(f"{self.address}: gallery is closed")

    def close(self) -> None:
        with self._mutex:
            if self._closed:
                return
            self._closed = True
            if self._client is not None:
                self._client.close()
                self._client = None

    def __enter__(self) -> MilvusGallery:
        return self

    def __repr__(self) -> str:
        return f"MilvusGallery({str(self.address)!r}, collection={self.collection!r}, index={self.kind!r})"


# -- helpers -----------------------------------------------------------------------------------------
@contextlib.contextmanager
def _errors(address: Any) -> Iterator[None]:
    """Milvus client errors become one-line GalleryErrors naming the address."""
    try:
        yield
    except GalleryError:
        raise
    except Exception as exc:
        pymilvus = _pymilvus()
        if isinstance(exc, pymilvus.MilvusException):
            raise GalleryError(f"{address}: Milvus: {getattr(exc, 'message', exc)}") from exc
        raise


def _index_options(index: str, opts: dict[str, Any]) -> dict[str, Any]:
    if index not in INDEX_TYPES:
        raise ConfigError(f"index: unknown kind {index!r}; choose one of {sorted(INDEX_TYPES)}")
    allowed = INDEX_OPTIONS[index]
    unknown = sorted(set(opts) - set(allowed))
    if unknown:
        raise ConfigError(f"index options for {index!r}: unknown {unknown}; choose from {sorted(allowed)}")
    options = {**allowed, **opts}
    for key, value in options.items():
        if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
            raise ConfigError(f"index options for {index!r}: {key} must be a positive int, got {value!r}")
    return {k: int(v) for k, v in options.items()}


def _search_params(kind: str, options: dict[str, Any]) -> dict[str, Any]:
    if kind == "ivf":
        return {"nprobe": options["nprobe"]}
    if kind == "hnsw":
        return {"ef": options["ef_search"]}
    return {}


def _create_collection(client: Any, collection: str, meta: dict[str, str]) -> None:
    """A gallery collection: the schema of the module docstring, its vector index, ``meta`` as properties."""
    pymilvus = _pymilvus()
    dtype = pymilvus.DataType
    schema = pymilvus.MilvusClient.create_schema(auto_id=False, enable_dynamic_field=False)
    schema.add_field("id", dtype.INT64, is_primary=True)
    schema.add_field("name", dtype.VARCHAR, max_length=NAME_BYTES)
    schema.add_field("vec", dtype.FLOAT_VECTOR, dim=int(meta["dim"]))
    schema.add_field("sha256", dtype.VARCHAR, max_length=64)
    schema.add_field("path", dtype.VARCHAR, max_length=PATH_BYTES)
    options = json.loads(meta["index_options"])
    params = {"ivf": {"nlist": options.get("nlist")},
              "hnsw": {"M": options.get("m"), "efConstruction": options.get("ef_construction")}}.get(meta["index"], {})
    index_params = client.prepare_index_params()
    index_params.add_index(field_name="vec", index_type=INDEX_TYPES[meta["index"]], metric_type="IP", params=params)
    client.create_collection(collection, schema=schema, index_params=index_params, consistency_level="Strong",
                             properties={f"siamese.{k}": v for k, v in meta.items()})


def _pages(client: Any, collection: str, fields: list[str], *, lite: bool) -> Iterator[list[dict[str, Any]]]:
    """Every row of ``collection``, a page at a time. milvus-lite: offset paging (stable: nothing else
    writes while we hold its lock; its query iterator needs an RPC it lacks); a server: a query iterator."""
    if lite:
        offset = 0
        while page := client.query(collection, filter="id >= 0", output_fields=fields, limit=PAGE, offset=offset):
            yield page
            offset += len(page)
        return
    it = client.query_iterator(collection, batch_size=PAGE, filter="", output_fields=fields)
    try:
        while page := it.next():
            yield page
    finally:
        it.close()


def _rewrite_collection(client: Any, collection: str, meta: dict[str, str]) -> None:
    """milvus-lite: copy the live rows to a new collection, drop the old one's files, take its name.

    Crash-safe under the file lock: the copy is marked complete (a property) before the old collection
    is dropped; :func:`_recover_purge` finishes or discards a purge that a crash interrupted."""
    staging = collection + PURGE_SUFFIX
    if client.has_collection(staging):
        client.drop_collection(staging)
    _create_collection(client, staging, meta)
    for page in _pages(client, collection, ["id", "name", "vec", "sha256", "path"], lite=True):
        client.insert(staging, page)
    client.flush(staging)
    client.alter_collection_properties(staging, properties={"siamese.purge_complete": "1"})
    client.drop_collection(collection)
    client.rename_collection(staging, collection)


def _recover_purge(client: Any, collection: str) -> None:
    """Finish a purge that a crash cut off between dropping the old collection and the rename."""
    staging = collection + PURGE_SUFFIX
    if client.has_collection(collection) or not client.has_collection(staging):
        return
    props = client.describe_collection(staging).get("properties") or {}
    if props.get("siamese.purge_complete") == "1":
        client.rename_collection(staging, collection)
