"""Distances between embeddings, one implementation for numpy (deployment) and Keras (training).

A :class:`Distance` offers, for float32 embeddings (small distance = similar)::

    rowwise(a, b)        (n, d), (n, d) -> (n,)     pairs
    matrix(x)            (n, d)         -> (n, n)   within a batch (TensorFlow Addons' formulation)
    cross(a, b)          (n, d), (m, d) -> (n, m)   e.g. probes against a gallery
    from_similarity(s)   inner product of unit vectors -> distance
    max_value            largest distance between unit vectors (euclidean 2, squared_euclidean 4, cosine 2)

numpy inputs are computed with numpy alone (no Keras/TensorFlow import); tensors with ``keras.ops``.
Built-ins: :data:`EUCLIDEAN` (``"euclidean"``, aliases ``"l2"``), :data:`SQUARED_EUCLIDEAN`
(``"squared_euclidean"``, ``"squared_l2"``) and :data:`COSINE` (``"cosine"``, ``"angular"``), registered in
:data:`siamese.plugins.DISTANCES`; :func:`get` accepts any registered name or alias (TensorFlow Addons'
``"L2"``, ``"squared-L2"``, ``"angular"`` included) or a :class:`Distance`.
"""

from __future__ import annotations

from typing import Any

from siamese.distances.base import NORM_EPSILON, Distance, l2_normalize, safe_sqrt
from siamese.distances.cosine import Cosine
from siamese.distances.euclidean import Euclidean
from siamese.distances.squared_euclidean import SquaredEuclidean
from siamese.errors import ConfigError
from siamese.plugins import DISTANCES

EUCLIDEAN = Euclidean()
SQUARED_EUCLIDEAN = SquaredEuclidean()
COSINE = Cosine()

# Resolve the registry's lazy entries for the built-ins (they point here) now, so that no later look-up imports
# anything (a first look-up inside a tf.function would make AutoGraph trace importlib).
for _name in (EUCLIDEAN.name, SQUARED_EUCLIDEAN.name, COSINE.name):
    DISTANCES.get(_name)


def get(distance: str | Distance | type[Distance], key: str | None = None) -> Distance:
    """The :class:`Distance` named ``distance`` (canonical name or alias, case-insensitive, ``-`` = ``_``).

    A :class:`Distance` passes through (a subclass is instantiated). Unknown names raise
    :class:`~siamese.errors.ConfigError` naming ``key`` (default: the registry's ``model.distance``).
    """
    if isinstance(distance, Distance):
        return distance
    if isinstance(distance, type) and issubclass(distance, Distance):
        return distance()
    if key is not None and distance not in DISTANCES:
        raise ConfigError(f"{key}: unknown distance {distance!r} (choose from {', '.join(DISTANCES.choices())})")
    found = DISTANCES.get(distance)
    return found() if isinstance(found, type) else found


def names() -> list[str]:
    """Canonical names of the registered distances."""
    return DISTANCES.names()


def canonical(distance: Any, key: str | None = None) -> str:
    """Canonical name of ``distance`` (a name, an alias or a :class:`Distance`)."""
    return get(distance, key=key).name


__all__ = [
    "COSINE",
    "EUCLIDEAN",
    "NORM_EPSILON",
    "SQUARED_EUCLIDEAN",
    "Cosine",
    "Distance",
    "Euclidean",
    "SquaredEuclidean",
    "canonical",
    "get",
    "l2_normalize",
    "names",
    "safe_sqrt",
]
