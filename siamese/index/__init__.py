"""Gallery storage: enrolled identities, their templates (embeddings) and search over them.

:class:`FaceGallery` composes a :class:`Store` (source of truth; :class:`SQLiteStore`) with a
:class:`SearchBackend` (a derived FAISS index; ``"flat"``, ``"ivf"``, ``"hnsw"`` in
:data:`BACKENDS`). Takes embeddings, not images; never imports TensorFlow.
"""

from siamese.index.backend import FaissBackend, SearchBackend
from siamese.index.flat import FlatBackend
from siamese.index.gallery import FaceGallery
from siamese.index.hnsw import HNSWBackend
from siamese.index.ivf import IVFBackend
from siamese.index.registry import BACKENDS, get_backend_class, register_backend
from siamese.index.sqlite_store import SQLiteStore
from siamese.index.store import Store
from siamese.index.types import Match, Source

__all__ = [
    "BACKENDS",
    "FaceGallery",
    "FaissBackend",
    "FlatBackend",
    "HNSWBackend",
    "IVFBackend",
    "Match",
    "SQLiteStore",
    "SearchBackend",
    "Source",
    "Store",
    "get_backend_class",
    "register_backend",
]
