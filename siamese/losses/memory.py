"""Cross-batch memory (Wang et al., "Cross-Batch Memory for Embedding Learning", CVPR 2020; "XBM").

The embeddings and labels of the last ``size`` training images, kept in non-trainable variables, so that a pair
loss pairs each batch with them too: ``n x size`` more pairs per step (mostly impostor pairs, of people the batch
does not hold) for one ``(n, size)`` distance matrix. The memory holds no gradient: only the batch's side of a
memory pair is trained. Its entries are up to ``size / n`` steps old; the paper relies on the embeddings drifting
slowly once training has settled, so the memory is filled only from step ``start`` on.

Conventions: ``labels`` integer identities ``(n,)`` or ``(n, 1)`` (label equality = same person), ``embeddings``
``(n, dim)``; the memory is first in, first out, the newest batch in the first rows. Updating assigns variables
inside the compiled train step. TensorFlow assigns them in place; JAX's compiled step carries only the training
model's own variables, so there the model must hold :attr:`CrossBatchMemory.variables`: put
:class:`siamese.layers.LossState` on the tower's output in the training model (``siamese train`` does, on both
backends). Traced by JAX without that, the memory raises :class:`~siamese.errors.ConfigError` rather than stay
silently empty. One replica or process (``siamese train`` refuses more).
"""

from __future__ import annotations

from typing import Any

import keras
import numpy as np
from keras import ops

from siamese import distances
from siamese.errors import ConfigError


def _stateless_scope() -> Any:
    """Keras' active ``StatelessScope`` (where JAX's trainer maps the model's variables to the values it traces),
    or ``None``; also ``None`` in Keras' symbolic shape pass (``compute_output_spec``), which maps no variable and
    whose updates are thrown away anyway. Keras exports the classes but not these look-ups: private modules."""
    from keras.src.backend.common.stateless_scope import get_stateless_scope
    from keras.src.backend.common.symbolic_scope import in_symbolic_scope

    return None if in_symbolic_scope() else get_stateless_scope()


class CrossBatchMemory:
    """FIFO memory of ``size`` embeddings of width ``dim`` and their labels, filled from call ``start`` on."""

    def __init__(self, size: int, dim: int, start: int = 0) -> None:
        if int(size) < 1:
            raise ConfigError(f"loss.args.memory_size: must be at least 1, got {size!r}")
        if dim is None or int(dim) < 1:
            raise ConfigError(f"loss.args.memory_dim: the embedding width, at least 1, got {dim!r}")
        if int(start) < 0:
            raise ConfigError(f"loss.args.memory_start: a step count >= 0, got {start!r}")
        self.size, self.dim, self.start = int(size), int(dim), int(start)
        self.embeddings = keras.Variable(np.zeros((self.size, self.dim), np.float32), trainable=False,
                                         name="memory_embeddings")
        self.labels = keras.Variable(np.zeros((self.size,), np.float32), trainable=False, name="memory_labels")
        self.filled = keras.Variable(np.zeros((self.size,), np.float32), trainable=False, name="memory_filled")
        self.steps = keras.Variable(0.0, dtype="float32", trainable=False, name="memory_steps")

    @property
    def variables(self) -> list[keras.Variable]:
        """The memory's state (embeddings, labels, filled slots, step count): what a training model must hold
        (:class:`siamese.layers.LossState`) for JAX's compiled step to carry the updates."""
        return [self.embeddings, self.labels, self.filled, self.steps]

    def _check_carried(self) -> None:
        """Inside a stateless (JAX) trace, the variables must be part of the traced state: otherwise reads see the
        value at trace time and updates are dropped, and the memory would stay empty without a word."""
        scope = _stateless_scope()
        if scope is not None and scope.get_current_value(self.embeddings) is None:
            raise ConfigError("loss.args.memory_size: the cross-batch memory's variables are not part of the "
                              "training model, so this compiled step cannot update them; put "
                              "siamese.layers.LossState(loss.state_variables) on the tower's output in the "
                              "model you train (siamese train does)")

    def pairs(self, labels: Any, embeddings: Any, distance: distances.Distance) -> tuple[Any, Any, Any]:
        """``(cross, positives, negatives)``: float32 ``(n, size)`` distances from the batch to the memory and the
        masks of the genuine / impostor pairs among the filled slots (empty slots are in neither)."""
        self._check_carried()
        y = ops.reshape(ops.cast(labels, "float32"), (-1, 1))
        cross = distance.cross(ops.cast(embeddings, "float32"), ops.convert_to_tensor(self.embeddings))
        same = ops.cast(ops.equal(y, ops.expand_dims(self.labels, 0)), "float32")
        filled = ops.expand_dims(self.filled, 0)
        return cross, same * filled, (1.0 - same) * filled

    def update(self, labels: Any, embeddings: Any) -> None:
        """Put the batch in front (once ``start`` calls have been made), dropping the oldest rows; count the call."""
        self._check_carried()
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
            var.assign(ops.zeros(var.shape, var.dtype))
        self.steps.assign(0.0)

    def get_config(self) -> dict[str, Any]:
        return {"memory_size": self.size, "memory_dim": self.dim, "memory_start": self.start}
