"""Gallery addresses: which backend serves ``--gallery ADDRESS`` and how to open, create or detect one.

Rules (first match wins), the backend names being those of :data:`siamese.plugins.GALLERIES`:

==========================================  ==========  =============================================
address                                     backend     meaning
==========================================  ==========  =============================================
``milvus-lite:PATH``                        ``milvus``  an embedded milvus-lite database at PATH
``http://``, ``https://``, ``milvus://``,   ``milvus``  a Milvus server (``milvus://`` = ``http://``);
``tcp://`` URI                                          ``?collection=NAME&db=NAME`` pick the
                                                        collection (default ``siamese_gallery``)
a path ending in ``.db`` that is not a      ``milvus``  an embedded milvus-lite database
local gallery directory
anything else (a path)                      ``local``   a :class:`~siamese.index.FaceGallery` directory
==========================================  ==========  =============================================

A local path keeps the meaning it always had: a directory that already holds a local gallery
(``gallery.db`` inside) stays local even when its name ends in ``.db``; the ``gallery.db`` file inside a local
gallery is refused (its folder is the address), never opened as a milvus-lite database.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from siamese.errors import GalleryError
from siamese.index.base import Gallery

__all__ = [
    "LITE_PREFIX",
    "SERVER_SCHEMES",
    "create_gallery",
    "default_gallery_address",
    "gallery_backend",
    "gallery_exists",
    "normalize_address",
    "open_gallery",
    "open_or_create_gallery",
]

LITE_PREFIX = "milvus-lite:"
SERVER_SCHEMES = ("http://", "https://", "milvus://", "tcp://")

Address = str | os.PathLike[str]


def normalize_address(address: Address) -> Path | str:
    """A local gallery's address as an expanded :class:`Path`; a Milvus address as its string."""
    if gallery_backend(address) == "local":
        return Path(address).expanduser()
    return os.fspath(address)


def gallery_backend(address: Address) -> str:
    """Name of the backend (``"local"`` or ``"milvus"``) that serves ``address`` (see module docstring)."""
    text = os.fspath(address)
    if text.startswith(LITE_PREFIX) or text.lower().startswith(SERVER_SCHEMES):
        return "milvus"
    if text.endswith(".db"):
        path = Path(text).expanduser()
        if not (path / "gallery.db").is_file():  # from siamese.index.gallery.DB_NAME, unimported (no FAISS)
            if path.name == "gallery.db" and path.is_file() and (path.parent / "index.faiss").is_file():
                raise GalleryError(f"{path}: the catalogue inside the local gallery {path.parent}; give the folder "
                                   f"{path.parent} as the gallery")
            return "milvus"
    return "local"


def _backend(address: Address) -> type[Gallery]:
    from siamese.plugins import GALLERIES

    return GALLERIES.get(gallery_backend(address))


def open_gallery(address: Address, fingerprint: str | None = None, read_only: bool = False, **kw: Any) -> Gallery:
    """Open the gallery at ``address`` with the backend that serves it; GalleryError if there is none."""
    return _backend(address).open(normalize_address(address), fingerprint, read_only=read_only, **kw)


def create_gallery(address: Address, fingerprint: str, dim: int, index: str = "flat", **opts: Any) -> Gallery:
    """Create an empty gallery at ``address`` (bound to ``fingerprint``, ``dim``-sized embeddings)."""
    return _backend(address).create(normalize_address(address), fingerprint, dim, index, **opts)


def gallery_exists(address: Address) -> bool:
    """True when ``address`` holds something that :func:`create_gallery` would refuse to overwrite."""
    normalized = normalize_address(address)
    if isinstance(normalized, Path):
        return normalized.exists() and (not normalized.is_dir() or any(normalized.iterdir()))
    from siamese.index.milvus_gallery import MilvusGallery

    return MilvusGallery.exists(normalized)


def open_or_create_gallery(address: Address, fingerprint: str, dim: int, index: str = "flat",
                           **opts: Any) -> Gallery:
    """Open the gallery at ``address`` (checking ``fingerprint``), creating it first if there is none; race-safe
    (see :meth:`siamese.index.Gallery.open_or_create`)."""
    return _backend(address).open_or_create(normalize_address(address), fingerprint, dim, index, **opts)


def default_gallery_address() -> Path | str:
    """``$SIAMESE_GALLERY`` (a path or a Milvus address) or the user data dir's ``gallery``."""
    value = os.environ.get("SIAMESE_GALLERY")
    if value:
        return normalize_address(value)
    from siamese.paths import default_gallery_dir

    return default_gallery_dir()
