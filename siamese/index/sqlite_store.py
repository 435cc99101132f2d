"""SQLite catalogue: rollback journal, ``synchronous=EXTRA``, ``secure_delete=ON``.

Tables: ``meta(key, value)``, ``identities(id, name UNIQUE, created)``,
``templates(id, identity_id, embedding BLOB float32, source_sha256, source_path, created)``;
``templates.id`` is the search backend's id (``AUTOINCREMENT``: never reused).

Why a rollback journal and not WAL: a read-only open of a WAL database creates ``-wal`` / ``-shm``
files, and read-only opens must not write. Durability: ``synchronous=EXTRA`` also fsyncs the
directory after the journal is deleted, so a commit survives power loss; a crash (kill -9) at any
moment rolls the database back to the last commit on the next read-write open. Deleted rows are
zeroed in place (``secure_delete``) and :meth:`SQLiteStore.scrub` VACUUMs the file. A read-only open that meets
such a journal raises :class:`RecoveryNeededError` (the gallery rolls it back under its writer lock).

Every embedding read back is checked to be finite (a NaN template would silently drop out of searches): a
non-finite row raises GalleryError naming the identity.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import os
import sqlite3
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from siamese.errors import GalleryError
from siamese.index._fs import create_private_file
from siamese.index.store import Entry, Store
from siamese.index.types import Source

SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE identities (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL UNIQUE,
    created TEXT NOT NULL
);
CREATE TABLE templates (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    identity_id INTEGER NOT NULL REFERENCES identities(id) ON DELETE CASCADE,
    embedding BLOB NOT NULL,
    source_sha256 TEXT,
    source_path TEXT,
    created TEXT NOT NULL
);
CREATE INDEX templates_by_identity ON templates(identity_id);
"""

_MAX_PARAMS = 500


class RecoveryNeededError(GalleryError):
    """A read-only open met a hot journal (interrupted write): a read-write connection must roll it back."""


def _now() -> str:
    return _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")


class SQLiteStore(Store):
    """Catalogue in one SQLite file. ``create=True`` makes the file (mode 0600, must not exist)."""

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        read_only: bool = False,
        create: bool = False,
        busy_timeout: float = 60.0,
    ) -> None:
        self.path = Path(path)
        self.read_only = read_only
        self._dim: int | None = None
        if create:
            if read_only:
                raise ValueError("cannot create a read-only store")
            create_private_file(self.path)  # journal files inherit this 0600 mode
        elif not self.path.is_file():
            raise GalleryError(f"{self.path}: catalogue not found")
        uri = self.path.resolve().as_uri() + ("?mode=ro" if read_only else "?mode=rw")
        try:
            self._db = sqlite3.connect(
                uri, uri=True, isolation_level=None, timeout=busy_timeout, check_same_thread=False
            )
            if read_only:
                self._db.execute("PRAGMA query_only = ON")
            else:
                self._db.execute("PRAGMA journal_mode = DELETE")
                self._db.execute("PRAGMA synchronous = EXTRA")
            self._db.execute("PRAGMA secure_delete = ON")
            self._db.execute("PRAGMA foreign_keys = ON")
        except sqlite3.Error as exc:
            raise self._error(exc) from exc

    # -- helpers ------------------------------------------------------------------------------
    def _error(self, exc: sqlite3.Error, writing: bool = False) -> GalleryError:
        text = str(exc)
        if self.read_only and getattr(exc, "sqlite_errorcode", None) == sqlite3.SQLITE_READONLY_ROLLBACK:
            return RecoveryNeededError(f"{self.path}: an interrupted write left a journal to roll back; open the "
                                       f"gallery read-write once to recover it ({text})")
        if writing:  # e.g. a full disk: the transaction was rolled back, nothing changed
            return GalleryError(f"{self.path}: catalogue write failed, nothing changed: {text}")
        return GalleryError(f"{self.path}: catalogue unreadable: {text}")

    def _check_finite(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        """Stored templates must be finite: a NaN would silently drop its identity from every search."""
        bad = ~np.isfinite(vectors).all(axis=1)
        if bad.any():
            tid = int(ids[bad][0])
            rows = self._query("SELECT i.name FROM templates t JOIN identities i ON i.id = t.identity_id "
                               "WHERE t.id = ?", (tid,))
            name = rows[0][0] if rows else "?"
            raise GalleryError(f"{self.path}: identity {name!r} has a non-finite stored template (id {tid}, "
                               f"{int(bad.sum())} such row(s) in this batch): the catalogue is corrupt")

    def _query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        try:
            return self._db.execute(sql, params).fetchall()
        except sqlite3.Error as exc:
            raise self._error(exc) from exc

    @contextlib.contextmanager
    def _write(self) -> Iterator[sqlite3.Cursor]:
        if self.read_only:
            raise GalleryError(f"{self.path}: gallery is open read-only")
        try:
            cur = self._db.cursor()
            cur.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            raise self._error(exc, writing=True) from exc
        try:
            yield cur
            cur.execute(
                "UPDATE meta SET value = CAST(CAST(value AS INTEGER) + 1 AS TEXT) WHERE key = 'generation'"
            )
            cur.execute("COMMIT")
        except BaseException as exc:
            with contextlib.suppress(sqlite3.Error):
                self._db.execute("ROLLBACK")
            if isinstance(exc, sqlite3.Error):
                raise self._error(exc, writing=True) from exc
            raise

    @property
    def dim(self) -> int:
        if self._dim is None:
            self._dim = int(self.meta()["dim"])
        return self._dim

    def _identity_id(self, name: str) -> int:
        rows = self._query("SELECT id FROM identities WHERE name = ?", (name,))
        if not rows:
            raise GalleryError(f"unknown identity {name!r}")
        return int(rows[0][0])

    # -- Store API ----------------------------------------------------------------------------
    def initialize(self, meta: Mapping[str, str]) -> None:
        values = {"schema_version": str(SCHEMA_VERSION), "created": _now(), "generation": "0", **meta}
        if self.read_only:
            raise GalleryError(f"{self.path}: gallery is open read-only")
        try:
            self._db.execute("BEGIN IMMEDIATE")
            for statement in _SCHEMA.strip().split(";"):
                if statement.strip():
                    self._db.execute(statement)
            self._db.executemany("INSERT INTO meta(key, value) VALUES (?, ?)", sorted(values.items()))
            self._db.execute("COMMIT")
        except sqlite3.Error as exc:
            with contextlib.suppress(sqlite3.Error):
                self._db.execute("ROLLBACK")
            raise self._error(exc) from exc

    def meta(self) -> dict[str, str]:
        try:
            rows = self._query("SELECT key, value FROM meta")
        except RecoveryNeededError:
            raise
        except GalleryError as exc:
            raise GalleryError(f"{self.path}: not a gallery catalogue ({exc})") from exc
        meta = dict(rows)
        missing = {"schema_version", "fingerprint", "dim", "index", "generation"} - meta.keys()
        if missing:
            raise GalleryError(f"{self.path}: catalogue lacks meta {sorted(missing)}")
        if int(meta["schema_version"]) != SCHEMA_VERSION:
            raise GalleryError(f"{self.path}: schema version {meta['schema_version']} is not supported")
        return meta

    def generation(self) -> int:
        rows = self._query("SELECT value FROM meta WHERE key = 'generation'")
        if not rows:
            raise GalleryError(f"{self.path}: catalogue lacks its generation")
        return int(rows[0][0])

    def add(self, entries: Sequence[Entry]) -> list[np.ndarray]:
        created = _now()
        out: list[np.ndarray] = []
        with self._write() as cur:
            row = cur.execute(
                "SELECT MAX(COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'templates'), 0),"
                " COALESCE((SELECT MAX(id) FROM templates), 0))"
            ).fetchone()
            next_id = int(row[0]) + 1
            for name, embeddings, sources in entries:
                found = cur.execute("SELECT id FROM identities WHERE name = ?", (name,)).fetchone()
                if found is None:
                    cur.execute("INSERT INTO identities(name, created) VALUES (?, ?)", (name, created))
                    identity = int(cur.lastrowid)
                else:
                    identity = int(found[0])
                vectors = np.ascontiguousarray(embeddings, dtype="<f4")
                ids = np.arange(next_id, next_id + len(vectors), dtype=np.int64)
                next_id += len(vectors)
                cur.executemany(
                    "INSERT INTO templates(id, identity_id, embedding, source_sha256, source_path, created)"
                    " VALUES (?, ?, ?, ?, ?, ?)",
                    (
                        (int(tid), identity, vec.tobytes(), src.sha256 if src else None,
                         src.path if src else None, created)
                        for tid, vec, src in zip(ids, vectors, sources, strict=True)
                    ),
                )
                out.append(ids)
        return out

    def remove(self, name: str) -> np.ndarray:
        with self._write() as cur:
            found = cur.execute("SELECT id FROM identities WHERE name = ?", (name,)).fetchone()
            if found is None:
                raise GalleryError(f"unknown identity {name!r}")
            rows = cur.execute("SELECT id FROM templates WHERE identity_id = ? ORDER BY id", found).fetchall()
            cur.execute("DELETE FROM templates WHERE identity_id = ?", found)
            cur.execute("DELETE FROM identities WHERE id = ?", found)
        return np.array([r[0] for r in rows], dtype=np.int64)

    def names(self) -> list[str]:
        return [r[0] for r in self._query("SELECT name FROM identities ORDER BY name")]

    def templates(self, name: str) -> np.ndarray:
        identity = self._identity_id(name)
        rows = self._query("SELECT id, embedding FROM templates WHERE identity_id = ? ORDER BY id", (identity,))
        ids = np.array([r[0] for r in rows], dtype=np.int64)
        vectors = np.frombuffer(b"".join(r[1] for r in rows), dtype="<f4").astype(np.float32).reshape(-1, self.dim)
        self._check_finite(ids, vectors)
        return vectors

    def sources(self, name: str) -> list[Source | None]:
        """Provenance of ``name``'s templates in enrolment order (None where none was recorded)."""
        identity = self._identity_id(name)
        rows = self._query("SELECT source_sha256, source_path FROM templates WHERE identity_id = ? ORDER BY id",
                           (identity,))
        return [None if sha is None and path is None else Source(sha, path) for sha, path in rows]

    def template_ids(self) -> np.ndarray:
        rows = self._query("SELECT id FROM templates ORDER BY id")
        return np.array([r[0] for r in rows], dtype=np.int64)

    def embeddings(
        self, ids: np.ndarray | None = None, batch: int = 65536
    ) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        dim = self.dim

        def unpack(rows: list[tuple[int, bytes]]) -> tuple[np.ndarray, np.ndarray]:
            got = np.array([r[0] for r in rows], dtype=np.int64)
            vecs = np.frombuffer(b"".join(r[1] for r in rows), dtype="<f4").astype(np.float32).reshape(-1, dim)
            self._check_finite(got, vecs)
            return got, vecs

        try:
            if ids is None:
                cur = self._db.execute("SELECT id, embedding FROM templates ORDER BY id")
                while rows := cur.fetchmany(batch):
                    yield unpack(rows)
                return
            ids = np.asarray(ids, dtype=np.int64)
            for start in range(0, len(ids), _MAX_PARAMS):
                chunk = [int(i) for i in ids[start : start + _MAX_PARAMS]]
                marks = ",".join("?" * len(chunk))
                rows = self._db.execute(
                    f"SELECT id, embedding FROM templates WHERE id IN ({marks}) ORDER BY id", chunk
                ).fetchall()
                if rows:
                    yield unpack(rows)
        except sqlite3.Error as exc:
            raise self._error(exc) from exc

    def lookup(self) -> tuple[np.ndarray, np.ndarray, dict[int, str]]:
        with self.snapshot():
            rows = self._query("SELECT id, identity_id FROM templates ORDER BY id")
            names = dict(self._query("SELECT id, name FROM identities"))
        pairs = np.array(rows, dtype=np.int64).reshape(-1, 2)
        return pairs[:, 0].copy(), pairs[:, 1].copy(), {int(k): v for k, v in names.items()}

    def counts(self) -> tuple[int, int]:
        with self.snapshot():
            identities = self._query("SELECT COUNT(*) FROM identities")[0][0]
            templates = self._query("SELECT COUNT(*) FROM templates")[0][0]
        return int(identities), int(templates)

    def scrub(self) -> None:
        if self.read_only:
            raise GalleryError(f"{self.path}: gallery is open read-only")
        try:
            self._db.execute("VACUUM")
            self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        except sqlite3.Error as exc:
            raise GalleryError(f"{self.path}: cannot compact the catalogue after a removal (the removal itself is "
                               f"done, deleted rows are zeroed): {exc}") from exc

    def version_token(self) -> str:
        """SQLite's file change counter (header offset 24): changes with every committed write, by siamese or not."""
        try:
            with open(self.path, "rb") as handle:
                header = handle.read(28)
        except OSError as exc:
            raise GalleryError(f"{self.path}: catalogue unreadable: {exc.strerror or exc}") from exc
        return header[24:28].hex()

    def files(self) -> list[str]:
        paths = [self.path, *(Path(f"{self.path}{s}") for s in ("-journal", "-wal", "-shm"))]
        return [str(p) for p in paths if p.exists()]

    @contextlib.contextmanager
    def snapshot(self) -> Iterator[None]:
        if self._db.in_transaction:
            yield
            return
        try:
            self._db.execute("BEGIN")
        except sqlite3.Error as exc:
            raise self._error(exc) from exc
        try:
            yield
        finally:
            with contextlib.suppress(sqlite3.Error):
                self._db.execute("COMMIT")

    def close(self) -> None:
        with contextlib.suppress(sqlite3.Error):
            self._db.close()

    def get_config(self) -> dict[str, Any]:
        return {"path": str(self.path), "read_only": self.read_only}
