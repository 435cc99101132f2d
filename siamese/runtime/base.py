"""The embedding engine interface: aligned faces in, unit embeddings out, from a model directory."""

from __future__ import annotations

import abc
from typing import Any, ClassVar

import numpy as np


class EmbeddingEngine(abc.ABC):
    """Runs a model directory's tower. ``embed(faces)``: ``(N, S, S, 3)`` RGB in [0, 255] (uint8 or float) ->
    float32 ``(N, dim)`` L2-normalised; ``flip=True`` averages each face with its mirror image first.

    Subclasses set :attr:`name` (the registry name, ``siamese.plugins.ENGINES``), implement :meth:`_run` on one
    float32 batch and :meth:`available` (whether the packages it needs are importable).
    """

    name: ClassVar[str] = ""
    batch_size: int = 64

    def __init__(self, model_dir: Any) -> None:
        self.model_dir = model_dir

    @classmethod
    @abc.abstractmethod
    def available(cls, model_dir: Any) -> str | None:
        """None when this engine can run ``model_dir`` here, else the reason (what to install or export)."""

    @abc.abstractmethod
    def _run(self, batch: np.ndarray) -> np.ndarray:
        """One float32 batch ``(n, S, S, 3)`` -> raw embeddings ``(n, dim)``."""

    def embed(self, faces: np.ndarray, flip: bool = False) -> np.ndarray:
        from siamese.embedding import embed_batches

        return embed_batches(self._run, faces, self.model_dir.embedding_dim, self.batch_size, flip)
