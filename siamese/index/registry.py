"""Search backends by name (``"flat"``, ``"ivf"``, ``"hnsw"``): a view of :data:`siamese.plugins.INDEXES`.

Galleries record the canonical name of their backend; :func:`get_backend_class` resolves it (case-insensitive).
"""

from __future__ import annotations

from siamese.index.backend import SearchBackend
from siamese.plugins import INDEXES

__all__ = ["BACKENDS", "get_backend_class", "register_backend"]

#: The one table of search backends (``siamese.plugins.INDEXES``); iterate it for the names.
BACKENDS = INDEXES


def register_backend(cls: type[SearchBackend]) -> type[SearchBackend]:
    """Class decorator adding a backend under ``cls.kind`` (galleries record that name)."""
    if not cls.kind:
        raise ValueError(f"{cls.__name__} has no kind")
    INDEXES.register(cls.kind, cls)
    return cls


def get_backend_class(kind: str) -> type[SearchBackend]:
    """Backend class for ``kind``; ConfigError naming the choices if unknown."""
    return INDEXES.get(kind)
