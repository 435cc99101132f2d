"""The teacher interface: a pretrained face model whose embeddings a student learns from (knowledge distillation).

A teacher reads a photo with its OWN detection and alignment (not the student's) and returns one embedding.
Implementations: :class:`siamese.teachers.DlibTeacher` (registry ``siamese.plugins.TEACHERS``); a user's model (an
ONNX file, say) plugs in by subclassing :class:`Teacher` and registering it.
"""

from __future__ import annotations

import abc
from typing import Any, ClassVar

import numpy as np


class Teacher(abc.ABC):
    """``embed_image(rgb)`` -> float32 ``(dim,)`` embedding of the photo's largest face.

    Raises :class:`siamese.errors.NoFaceError` (naming ``source``) when the teacher finds no face. Subclasses set
    :attr:`name` (registry name) and :attr:`dim`, and return in :meth:`settings_key` everything that changes their
    output (library version, model file hashes, detector settings): the embedding cache is keyed by it.
    """

    name: ClassVar[str] = ""
    dim: ClassVar[int] = 0

    @abc.abstractmethod
    def embed_image(self, image_rgb: np.ndarray, source: str = "<image>") -> np.ndarray:
        """One uint8 RGB ``(H, W, 3)`` photo -> float32 ``(dim,)``."""

    @abc.abstractmethod
    def settings_key(self) -> str:
        """A string that identifies this teacher's output exactly (cache key)."""

    def get_config(self) -> dict[str, Any]:
        return {"name": self.name, "dim": self.dim}
