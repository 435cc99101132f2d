"""Per-epoch verification on fixed validation pairs, with the project's stateful metrics."""

from __future__ import annotations

from typing import Any

import keras
import numpy as np


class PairValidation(keras.callbacks.Callback):
    """At each epoch end: embed ``faces`` with ``tower``, score the pairs ``(a[i], b[i])`` (label ``same``, 1 = same
    person) by ``distance``, and add ``val_<metric.name>`` for each metric to the logs (e.g. ``val_eer``).

    ``metrics``: stateful metrics fed ``(y_true, distance)`` (``siamese.metrics``); reset before each epoch's
    update. ``flip``: average each face's embedding with its mirror image's. Must come before callbacks that
    read these logs (checkpoint, early stopping, TensorBoard).
    """

    def __init__(self, tower: keras.Model, faces: np.ndarray, a: np.ndarray, b: np.ndarray, same: np.ndarray,
                 distance: str, metrics: list[Any], flip: bool = False) -> None:
        super().__init__()
        self.tower, self.faces, self.a, self.b = tower, faces, a, b
        self.same = np.asarray(same, dtype=np.float32)
        self.distance, self.metrics, self.flip = distance, metrics, flip

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        from siamese import distances
        from siamese.embedding import embed_faces

        emb = embed_faces(self.tower, self.faces, flip=self.flip)
        d = distances.get(self.distance).rowwise(emb[self.a], emb[self.b]).astype(np.float32)
        for m in self.metrics:
            m.reset_state()
            m.update_state(self.same, d)
            if logs is not None:
                logs[f"val_{m.name}"] = float(m.result())
