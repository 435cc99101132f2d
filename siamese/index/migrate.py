"""Copy a gallery to another address (local directory <-> Milvus): identities, templates, provenance."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

from siamese.errors import GalleryError
from siamese.index.address import create_gallery, gallery_backend, normalize_address, open_gallery
from siamese.index.base import Gallery, iter_identities

__all__ = ["migrate"]


def migrate(src: str | os.PathLike[str], dst: str | os.PathLike[str], *, index: str | None = None,
            batch_size: int = 256, **opts: Any) -> dict[str, Any]:
    """Copy the gallery at ``src`` into a NEW gallery at ``dst`` (any backends; see :func:`open_gallery`).

    The copy keeps the model binding (fingerprint, dim), each identity's templates in enrolment order
    and their provenance; ``index`` (default: the source's kind) and ``opts`` set the new index.
    Template ids are the new gallery's own. The source is only read. Returns a summary dict.

    A source identity name that a new gallery refuses fails the copy before ``dst`` is created; a copy that fails
    later removes what it made: the local directory, the new Milvus collection (and a milvus-lite database that the
    copy created), so that the retry is not refused as "already exists".
    """
    from siamese.index.gallery import check_name

    with open_gallery(src, read_only=True) as source:
        for name in source.names():
            try:
                check_name(name)
            except GalleryError as exc:
                raise GalleryError(f"{src}: cannot be copied: {exc}") from None
        local = gallery_backend(dst) == "local"
        lite = None
        if not local:
            from siamese.index.milvus_gallery import parse_milvus_address

            lite = parse_milvus_address(normalize_address(dst)).lite_path
        fresh_lite = lite is not None and not lite.exists()
        target = create_gallery(dst, source.fingerprint, source.dim, index or source.kind, **opts)
        try:
            identities, templates = _copy(source, target, dst, batch_size)
        except BaseException:
            if local:
                shutil.rmtree(normalize_address(dst), ignore_errors=True)
            else:
                _drop_milvus_copy(target, fresh_lite)
            raise
    return {"source": str(src), "destination": str(dst), "identities": identities, "templates": templates,
            "fingerprint": source.fingerprint, "dim": source.dim, "index": index or source.kind}


def _drop_milvus_copy(target: Gallery, fresh_lite: bool) -> None:
    """Drop the collection a failed copy made (only that one: matched by its gallery id); with ``fresh_lite`` also
    the milvus-lite database folder the copy created. Best effort: the copy's own error is the one raised."""
    from siamese.index.milvus_gallery import MilvusGallery

    address = target.address  # type: ignore[attr-defined]
    try:
        MilvusGallery.drop(address, target.gallery_id)  # type: ignore[attr-defined]
    except Exception:  # noqa: BLE001 - the server may be what failed; the copy's error says so
        return
    if fresh_lite and address.lite_path is not None:
        shutil.rmtree(address.lite_path, ignore_errors=True)


def _copy(source: Gallery, target: Gallery, dst: str | os.PathLike[str], batch_size: int) -> tuple[int, int]:
    """Copy every identity of ``source`` into the new ``target`` (closed after); ``(identities, templates)``."""
    with target:
        identities = templates = 0
        pending: list[tuple[str, Any, Any]] = []
        with target.batch():
            for name, vectors, sources in _identities(source):
                pending.append((name, vectors, sources))
                identities += 1
                templates += len(vectors)
                if len(pending) >= batch_size:
                    target.add_many(pending)
                    pending = []
            if pending:
                target.add_many(pending)
        if len(target) != identities:
            raise GalleryError(f"{dst}: copy holds {len(target)} identities, source {identities}")
    return identities, templates


def _identities(source: Gallery):
    """The source's identities with provenance; a local gallery's comes from its catalogue."""
    from siamese.index.gallery import DB_NAME, FaceGallery
    from siamese.index.sqlite_store import SQLiteStore

    if not isinstance(source, FaceGallery) or type(source).sources is not Gallery.sources:
        yield from iter_identities(source)
        return
    store = SQLiteStore(Path(source.directory) / DB_NAME, read_only=True)
    try:
        for name in source.names():
            yield name, source.templates(name), store.sources(name)
    finally:
        store.close()
