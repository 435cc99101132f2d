"""A minimal array namespace: the subset of ``keras.ops`` that the distances use, for numpy and for Keras.

Each distance formula is written once against ``xp`` (this module's :data:`NUMPY` or ``keras.ops`` itself):
numpy arrays stay on the pure-numpy path (no Keras import, so the deployment runtime needs no TensorFlow),
anything else (backend tensors, variables, symbolic ``KerasTensor``) goes through ``keras.ops``. Both paths
compute in float32.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import numpy as np

_NUMPY_TYPES = (np.ndarray, np.generic, int, float, list, tuple)


def _sum(x: Any, axis: int | None = None, keepdims: bool = False) -> Any:
    return np.sum(x, axis=axis, keepdims=keepdims)


def _cast(x: Any, dtype: str) -> Any:
    return np.asarray(x, dtype=dtype)


def _eye(n: int, dtype: str = "float32") -> Any:
    return np.eye(n, dtype=dtype)


def _rsqrt(x: Any) -> Any:
    return (1.0 / np.sqrt(x)).astype(np.result_type(x, np.float32))


#: ``keras.ops``-compatible numpy functions (only the ones the distances need).
NUMPY = SimpleNamespace(
    cast=_cast, sum=_sum, eye=_eye, rsqrt=_rsqrt, shape=np.shape,
    square=np.square, sqrt=np.sqrt, maximum=np.maximum, clip=np.clip, matmul=np.matmul,
    transpose=np.transpose, where=np.where, greater=np.greater, less_equal=np.less_equal,
    ones_like=np.ones_like, zeros_like=np.zeros_like, expand_dims=np.expand_dims,
)


def is_numpy(*arrays: Any) -> bool:
    """Whether every one of ``arrays`` is a numpy array, numpy scalar, Python number or nested list."""
    return all(isinstance(a, _NUMPY_TYPES) for a in arrays)


def namespace(*arrays: Any) -> Any:
    """:data:`NUMPY` if every array is numpy-like, else ``keras.ops`` (imported only then)."""
    if is_numpy(*arrays):
        return NUMPY
    from keras import ops

    return ops
