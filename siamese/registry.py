"""The one registry helper: a name -> plug-in table used by every plug-in point of siamese.

A :class:`Registry` maps canonical names (and aliases) to objects: classes, builder functions, or lazy
``"module:attribute"`` strings that are imported on first use (so that the table of every plug-in point,
:mod:`siamese.plugins`, can be read without importing TensorFlow). Names are matched case-insensitively and
``-`` equals ``_``. Every lookup failure is one :class:`~siamese.errors.ConfigError` that names the config key
and lists the choices, so the config's allowed values and its messages come from the registries::

    LOSSES = Registry("loss", key="loss.name")
    LOSSES.register("contrastive", "siamese.losses.contrastive:ContrastiveLoss")

    @LOSSES.register("my_loss")
    class MyLoss(keras.losses.Loss): ...

    LOSSES.get("Contrastive")  # -> ContrastiveLoss
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from importlib import import_module
from typing import Any, Generic, TypeVar, overload

from siamese.errors import ConfigError

T = TypeVar("T")

__all__ = ["Registry", "normalize"]


def normalize(name: str) -> str:
    """Registry key of ``name``: stripped, lower case, ``-`` and spaces as ``_``."""
    return name.strip().lower().replace("-", "_").replace(" ", "_")


class Registry(Generic[T]):
    """Names -> plug-ins of one kind (``what``, e.g. ``"loss"``), errors naming the config ``key``."""

    def __init__(self, what: str, key: str | None = None) -> None:
        self.what = what
        self.key = key or what
        self._entries: dict[str, T | str] = {}  # canonical name -> object or "module:attr"
        self._aliases: dict[str, str] = {}      # any accepted key -> canonical name

    # -- registration ---------------------------------------------------------------------------------
    @overload
    def register(self, name: str, obj: None = None, *, aliases: tuple[str, ...] = ()) -> Callable[[T], T]: ...
    @overload
    def register(self, name: str, obj: T | str, *, aliases: tuple[str, ...] = ()) -> T | str: ...

    def register(self, name: str, obj: T | str | None = None, *, aliases: tuple[str, ...] = ()) -> Any:
        """Register ``obj`` under ``name`` (plus ``aliases``); without ``obj``, a decorator.

        ``obj`` may be a ``"module:attribute"`` string, imported when first looked up. Registering a name again
        replaces the entry (so that a user's plug-in can override a built-in).
        """
        if obj is None:
            def decorator(target: T) -> T:
                self.register(name, target, aliases=aliases)
                return target

            return decorator
        canonical = normalize(name)
        self._entries[canonical] = obj
        for key in (canonical, *map(normalize, aliases)):
            self._aliases[key] = canonical
        return obj

    # -- lookup ---------------------------------------------------------------------------------------
    def canonical(self, name: Any) -> str:
        """Canonical name of ``name`` or of one of its aliases; ConfigError (naming the key) if unknown."""
        key = normalize(name) if isinstance(name, str) else None
        if key is None or key not in self._aliases:
            raise ConfigError(f"{self.key}: unknown {self.what} {name!r} (choose from {', '.join(self.names())})")
        return self._aliases[key]

    def get(self, name: Any) -> T:
        """The plug-in registered as ``name`` (lazy entries are imported and cached)."""
        canonical = self.canonical(name)
        entry = self._entries[canonical]
        if isinstance(entry, str):
            module, _, attr = entry.partition(":")
            entry = getattr(import_module(module), attr)
            self._entries[canonical] = entry
        return entry  # type: ignore[return-value]

    def build(self, name: Any, **kwargs: Any) -> Any:
        """``get(name)(**kwargs)``; a bad argument becomes a ConfigError naming the key."""
        factory: Any = self.get(name)
        try:
            return factory(**kwargs)
        except TypeError as e:  # missing or unknown constructor argument
            raise ConfigError(f"{self.key}: {self.canonical(name)}: {e}") from None

    def names(self) -> list[str]:
        """Canonical names, sorted (aliases left out)."""
        return sorted(self._entries)

    def choices(self) -> list[str]:
        """Every accepted spelling: canonical names and aliases, sorted."""
        return sorted(self._aliases)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and normalize(name) in self._aliases

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __len__(self) -> int:
        return len(self._entries)

    def __repr__(self) -> str:
        return f"Registry({self.what!r}, {self.names()})"
