"""Registry of search backends by name: ``"flat"``, ``"ivf"``, ``"hnsw"``."""

from __future__ import annotations

from siamese.errors import ConfigError
from siamese.index.backend import SearchBackend
from siamese.index.flat import FlatBackend
from siamese.index.hnsw import HNSWBackend
from siamese.index.ivf import IVFBackend

BACKENDS: dict[str, type[SearchBackend]] = {
    FlatBackend.kind: FlatBackend,
    IVFBackend.kind: IVFBackend,
    HNSWBackend.kind: HNSWBackend,
}


def register_backend(cls: type[SearchBackend]) -> type[SearchBackend]:
    """Class decorator adding a backend under ``cls.kind`` (galleries record that name)."""
    if not cls.kind:
        raise ValueError(f"{cls.__name__} has no kind")
    BACKENDS[cls.kind] = cls
    return cls


def get_backend_class(kind: str) -> type[SearchBackend]:
    """Backend class for ``kind``; ConfigError naming the choices if unknown."""
    try:
        return BACKENDS[kind]
    except (KeyError, TypeError):
        raise ConfigError(f"index: unknown kind {kind!r}; choose one of {sorted(BACKENDS)}") from None
