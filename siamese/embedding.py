"""Faces -> embeddings with a tower model, batched, optionally flip-averaged."""

from __future__ import annotations

from typing import Any

import numpy as np


def embed_faces(model: Any, faces: np.ndarray, batch_size: int = 128, flip: bool = False) -> np.ndarray:
    """Embed aligned faces.

    ``faces``: uint8 or float ``(N, S, S, 3)`` RGB in [0, 255]. Returns float32 ``(N, dim)`` L2-normalised.
    ``flip=True`` averages the embeddings of each face and its horizontal mirror, then re-normalises.
    """
    faces = np.asarray(faces)
    if faces.ndim != 4:
        raise ValueError(f"faces must be (N, H, W, 3), got shape {faces.shape}")
    dim = int(model.output_shape[-1])
    out = np.empty((len(faces), dim), dtype=np.float32)
    for start in range(0, len(faces), batch_size):
        batch = faces[start:start + batch_size].astype(np.float32)
        emb = np.asarray(model(batch, training=False), dtype=np.float32)
        if flip:
            emb = emb + np.asarray(model(batch[:, :, ::-1, :], training=False), dtype=np.float32)
        out[start:start + len(batch)] = emb
    norms = np.linalg.norm(out, axis=1, keepdims=True)
    return out / np.maximum(norms, 1e-12)
