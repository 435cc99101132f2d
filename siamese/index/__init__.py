"""Gallery storage: enrolled identities, their templates (embeddings) and search over them.

Every gallery backend is a :class:`Gallery`; :func:`open_gallery` / :func:`create_gallery` pick it from
the address (a directory: :class:`FaceGallery`; a milvus-lite file or a Milvus URI: :class:`MilvusGallery`,
which needs the ``milvus`` extra). :func:`migrate` copies a gallery between addresses.

:class:`FaceGallery` composes a :class:`Store` (source of truth; :class:`SQLiteStore`) with a
:class:`SearchBackend` (a derived FAISS index; ``"flat"``, ``"ivf"``, ``"hnsw"`` in
:data:`BACKENDS`). Takes embeddings, not images; never imports TensorFlow.
"""

from siamese.index.address import (
    create_gallery,
    default_gallery_address,
    gallery_backend,
    gallery_exists,
    normalize_address,
    open_gallery,
    open_or_create_gallery,
)
from siamese.index.backend import FaissBackend, SearchBackend
from siamese.index.base import Gallery
from siamese.index.flat import FlatBackend
from siamese.index.gallery import FaceGallery
from siamese.index.hnsw import HNSWBackend
from siamese.index.ivf import IVFBackend
from siamese.index.migrate import migrate
from siamese.index.milvus_gallery import MilvusGallery
from siamese.index.registry import BACKENDS, get_backend_class, register_backend
from siamese.index.sqlite_store import SQLiteStore
from siamese.index.store import Store
from siamese.index.types import Match, Source

__all__ = [
    "BACKENDS",
    "FaceGallery",
    "FaissBackend",
    "FlatBackend",
    "Gallery",
    "HNSWBackend",
    "IVFBackend",
    "Match",
    "MilvusGallery",
    "SQLiteStore",
    "SearchBackend",
    "Source",
    "Store",
    "create_gallery",
    "default_gallery_address",
    "gallery_backend",
    "gallery_exists",
    "get_backend_class",
    "migrate",
    "normalize_address",
    "open_gallery",
    "open_or_create_gallery",
    "register_backend",
]
