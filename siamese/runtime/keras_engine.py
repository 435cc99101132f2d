"""The Keras engine: the ``embedding.keras`` tower on the installed Keras backend (needs siamese[train])."""

from __future__ import annotations

import importlib.util
from typing import Any

import numpy as np

from siamese.runtime.base import EmbeddingEngine


class KerasEngine(EmbeddingEngine):
    """Runs ``embedding.keras`` (loaded and checked by :meth:`siamese.model_dir.ModelDir.embedding_model`)."""

    name = "keras"
    batch_size = 128

    @classmethod
    def available(cls, model_dir: Any) -> str | None:
        if importlib.util.find_spec("keras") is None:
            return "the keras engine needs Keras and TensorFlow: pip install 'siamese[train]'"
        return None

    def _run(self, batch: np.ndarray) -> np.ndarray:
        return np.asarray(self.model_dir.embedding_model()(batch, training=False))
