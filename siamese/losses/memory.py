"""Cross-batch memory (Wang et al., "Cross-Batch Memory for Embedding Learning", CVPR 2020; "XBM").

The embeddings and labels of the last ``size`` training images, kept in non-trainable variables, so that a pair
loss pairs each batch with them too: ``n x size`` more pairs per step (mostly impostor pairs, of people the batch
does not hold) for one ``(n, size)`` distance matrix. The memory holds no gradient: only the batch's side of a
memory pair is trained. Its entries are up to ``size / n`` steps old; the paper relies on the embeddings drifting
slowly once training has settled, so the memory is filled only from step ``start`` on.

Conventions: ``labels`` integer identities ``(n,)`` or ``(n, 1)`` (label equality = same person), ``embeddings``
``(n, dim)``; the memory is first in, first out, the newest batch in the first rows. Updating assigns variables
inside the compiled train step, so it needs ``KERAS_BACKEND=tensorflow`` (the JAX trainer keeps no state of a loss)
and one replica.
"""

from __future__ import annotations

from typing import Any

import keras
import numpy as np
from keras import ops

from siamese import distances
from siamese.errors import ConfigError


class CrossBatchMemory:
    """FIFO memory of ``size`` embeddings of width ``dim`` and their labels, filled from call ``start`` on."""

    def __init__(self, size: int, dim: int, start: int = 0) -> None:
        if int(size) < 1:
            raise ConfigError(f"loss.args.memory_size: must be at least 1, got {size!r}")
        if dim is None or int(dim) < 1:
            raise ConfigError(f"loss.args.memory_dim: the embedding width, at least 1, got {dim!r}")
        if int(start) < 0:
            raise ConfigError(f"loss.args.memory_start: a step count >= 0, got {start!r}")
        if keras.backend.backend() != "tensorflow":
            raise ConfigError(f"loss.args.memory_size: the cross-batch memory needs KERAS_BACKEND=tensorflow "
                              f"(the backend is {keras.backend.backend()})")
        self.size, self.dim, self.start = int(size), int(dim), int(start)
        self.embeddings = keras.Variable(np.zeros((self.size, self.dim), np.float32), trainable=False,
                                         name="memory_embeddings")
        self.labels = keras.Variable(np.zeros((self.size,), np.float32), trainable=False, name="memory_labels")
        self.filled = keras.Variable(np.zeros((self.size,), np.float32), trainable=False, name="memory_filled")
        self.steps = keras.Variable(0.0, dtype="float32", trainable=False, name="memory_steps")

    def pairs(self, labels: Any, embeddings: Any, distance: distances.Distance) -> tuple[Any, Any, Any]:
        """``(cross, positives, negatives)``: float32 ``(n, size)`` distances from the batch to the memory and the
        masks of the genuine / impostor pairs among the filled slots (empty slots are in neither)."""
        y = ops.reshape(ops.cast(labels, "float32"), (-1, 1))
        cross = distance.cross(ops.cast(embeddings, "float32"), ops.convert_to_tensor(self.embeddings))
        same = ops.cast(ops.equal(y, ops.expand_dims(self.labels, 0)), "float32")
        filled = ops.expand_dims(self.filled, 0)
        return cross, same * filled, (1.0 - same) * filled

    def update(self, labels: Any, embeddings: Any) -> None:
        """Put the batch in front (once ``start`` calls have been made), dropping the oldest rows; count the call."""
        x = ops.stop_gradient(ops.cast(embeddings, "float32"))
        y = ops.reshape(ops.cast(labels, "float32"), (-1,))
        on = ops.greater_equal(self.steps, float(self.start))
        for var, new in ((self.embeddings, x), (self.labels, y), (self.filled, ops.ones_like(y))):
            old = ops.convert_to_tensor(var)
            var.assign(ops.where(on, ops.concatenate([new, old], axis=0)[: self.size], old))
        self.steps.assign(self.steps + 1.0)

    def reset(self) -> None:
        """Empty the memory and restart its step count."""
        for var in (self.embeddings, self.labels, self.filled):
            var.assign(ops.zeros_like(var))
        self.steps.assign(0.0)

    def get_config(self) -> dict[str, Any]:
        return {"memory_size": self.size, "memory_dim": self.dim, "memory_start": self.start}
