"""Shared plumbing of miners and reducers: config, registry lookup and a YAML-friendly serialisation.

A component is named in a config as a registry name (``"hardest"``), a mapping ``{"name": ..., **arguments}``,
a Keras-serialised dict, or given as an instance.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import keras

from siamese.errors import ConfigError
from siamese.registry import Registry


class Component:
    """Base of miners and reducers: stateless, configurable by keyword arguments, Keras-serialisable."""

    #: Canonical registry name.
    name: ClassVar[str] = ""

    def get_config(self) -> dict[str, Any]:
        """Constructor arguments (none for the built-ins)."""
        return {}

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Component:
        return cls(**config)

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and other.get_config() == self.get_config()

    def __hash__(self) -> int:
        return hash(type(self))

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


def resolve(spec: Any, registry: Registry[Any], base: type, default: str) -> Any:
    """An instance of ``base`` from ``spec`` (``None`` = ``default``): a name, a mapping with ``"name"``, a
    Keras-serialised dict or an instance. Bad specs raise :class:`~siamese.errors.ConfigError` naming the key."""
    if spec is None:
        spec = default
    if isinstance(spec, base):
        return spec
    if isinstance(spec, str):
        return registry.build(spec)
    if isinstance(spec, Mapping) and "class_name" in spec:
        obj = keras.saving.deserialize_keras_object(dict(spec))
    elif isinstance(spec, Mapping):
        kwargs = dict(spec)
        obj = registry.build(kwargs.pop("name", None), **kwargs)
    else:
        obj = spec
    if not isinstance(obj, base):
        raise ConfigError(f"{registry.key}: expected a {registry.what} name, mapping or object, got {spec!r}")
    return obj


def serialize(obj: Component, registry: Registry[Any]) -> str | dict[str, Any]:
    """``obj``'s registry name (plus its arguments, if any) when it is registered, else Keras' serialisation."""
    if obj.name in registry and registry.get(obj.name) is type(obj):
        config = obj.get_config()
        return {"name": obj.name, **config} if config else obj.name
    return keras.saving.serialize_keras_object(obj)
