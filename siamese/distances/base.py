"""Abstract :class:`Distance` and the gradient-safe helpers every distance shares."""

from __future__ import annotations

import abc
from typing import Any, ClassVar

from siamese.distances._xp import namespace

#: Floor of the squared norm in :func:`l2_normalize` (as ``tf.math.l2_normalize``).
NORM_EPSILON = 1e-12


def safe_sqrt(x: Any, xp: Any = None) -> Any:
    """``sqrt(x)`` for ``x >= 0`` (0 for ``x <= 0``) with a finite gradient at ``x == 0`` (where it is 0).

    The double ``where`` keeps the infinite derivative of ``sqrt`` at 0 out of the graph: the square root
    only ever sees a positive value. ``xp``: array namespace (default: chosen from ``x``).
    """
    xp = xp or namespace(x)
    positive = xp.greater(x, 0.0)
    return xp.where(positive, xp.sqrt(xp.where(positive, x, xp.ones_like(x))), xp.zeros_like(x))


def l2_normalize(x: Any, axis: int = -1, xp: Any = None) -> Any:
    """``x / sqrt(max(sum(x**2), 1e-12))`` along ``axis`` (TensorFlow's ``l2_normalize``)."""
    xp = xp or namespace(x)
    squared_norm = xp.sum(xp.square(x), axis=axis, keepdims=True)
    return x * xp.rsqrt(xp.maximum(squared_norm, NORM_EPSILON))


class Distance(abc.ABC):
    """A distance between embeddings (small = similar), on numpy arrays and on Keras tensors alike.

    Every method casts its inputs to float32 and returns float32. numpy inputs are computed with numpy only
    (Keras is not imported); any other input (backend tensor, ``keras.Variable``, ``KerasTensor``) with
    ``keras.ops``, gradient-safe (no infinite derivative at zero distance).

    Subclasses set :attr:`name` (the canonical name in :data:`siamese.plugins.DISTANCES`), :attr:`tfa_name`
    (TensorFlow Addons' ``distance_metric`` spelling), :attr:`max_value` and implement the ``_rowwise``,
    ``_cross`` and ``_from_similarity`` formulas against the array namespace ``xp``.
    """

    name: ClassVar[str] = ""
    tfa_name: ClassVar[str] = ""
    #: Largest distance between two L2-normalised vectors (the histogram range of the metrics).
    max_value: ClassVar[float] = 0.0

    # -- public API -----------------------------------------------------------------------------------
    def rowwise(self, a: Any, b: Any) -> Any:
        """Distance of each row pair: ``(n, d), (n, d) -> (n,)``."""
        xp = namespace(a, b)
        return self._rowwise(xp, xp.cast(a, "float32"), xp.cast(b, "float32"))

    def cross(self, a: Any, b: Any) -> Any:
        """Every row of ``a`` against every row of ``b``: ``(n, d), (m, d) -> (n, m)`` (galleries, evaluation)."""
        xp = namespace(a, b)
        return self._cross(xp, xp.cast(a, "float32"), xp.cast(b, "float32"))

    def matrix(self, x: Any) -> Any:
        """Pairwise distances within one batch: ``(n, d) -> (n, n)``, TensorFlow Addons' formulation."""
        xp = namespace(x)
        return self._matrix(xp, xp.cast(x, "float32"))

    def from_similarity(self, similarity: Any) -> Any:
        """Inner product of two unit vectors (clipped to ``[-1, 1]``) -> this distance."""
        xp = namespace(similarity)
        s = xp.clip(xp.cast(similarity, "float32"), -1.0, 1.0)
        return self._from_similarity(xp, s)

    # -- formulas (written once, for numpy and keras.ops) ----------------------------------------------
    @abc.abstractmethod
    def _rowwise(self, xp: Any, a: Any, b: Any) -> Any: ...

    @abc.abstractmethod
    def _cross(self, xp: Any, a: Any, b: Any) -> Any: ...

    @abc.abstractmethod
    def _from_similarity(self, xp: Any, s: Any) -> Any: ...

    def _matrix(self, xp: Any, x: Any) -> Any:
        return self._cross(xp, x, x)

    # -- identity -------------------------------------------------------------------------------------
    def __eq__(self, other: object) -> bool:
        return type(other) is type(self)

    def __hash__(self) -> int:
        return hash((type(self), self.name))

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"

    def __str__(self) -> str:
        return self.name
