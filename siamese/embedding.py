"""Faces -> embeddings, batched, optionally flip-averaged: the one loop used by training (a Keras model) and by
the runtime engines (:mod:`siamese.runtime`). No TensorFlow import here."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np


def embed_batches(run: Callable[[np.ndarray], Any], faces: np.ndarray, dim: int, batch_size: int = 128,
                  flip: bool = False) -> np.ndarray:
    """Embed aligned faces with ``run`` (one float32 batch ``(n, S, S, 3)`` -> ``(n, dim)``).

    ``faces``: uint8 or float ``(N, S, S, 3)`` RGB in [0, 255]. Returns float32 ``(N, dim)`` L2-normalised.
    ``flip=True`` averages the embeddings of each face and its horizontal mirror, then re-normalises.
    """
    faces = np.asarray(faces)
    if faces.ndim != 4:
        raise ValueError(f"faces must be (N, H, W, 3), got shape {faces.shape}")
    out = np.empty((len(faces), dim), dtype=np.float32)
    for start in range(0, len(faces), batch_size):
        batch = np.ascontiguousarray(faces[start:start + batch_size], dtype=np.float32)
        emb = np.asarray(run(batch), dtype=np.float32)
        if flip:
            emb = emb + np.asarray(run(np.ascontiguousarray(batch[:, :, ::-1, :])), dtype=np.float32)
        out[start:start + len(batch)] = emb
    return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)


def embed_faces(model: Any, faces: np.ndarray, batch_size: int = 128, flip: bool = False) -> np.ndarray:
    """Embed aligned faces with a Keras tower (see :func:`embed_batches`)."""
    return embed_batches(lambda b: model(b, training=False), faces, int(model.output_shape[-1]), batch_size, flip)
