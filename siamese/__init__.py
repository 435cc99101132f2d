"""siamese: face verification with twin-tower embedding networks on TensorFlow / Keras 3.

Importing ``siamese`` is cheap: TensorFlow is imported only by the submodules that need it
(``siamese.layers``, ``siamese.losses``, ``siamese.metrics``, ``siamese.models`` ...), so that
the command line starts fast for commands that never touch a model.

Conventions used throughout the package:

* label ``1`` means *same person* (genuine pair), ``0`` means different people (impostor pair);
* distance-based components take **distances** (smaller = more similar), never similarities;
* embeddings are L2-normalised float32 vectors, shape ``(batch, dim)``;
* aligned faces are uint8 RGB arrays of shape ``(112, 112, 3)`` unless configured otherwise.
"""

from importlib import import_module
from typing import Any

__version__ = "0.1.0"

_SUBMODULES = {
    "layers", "losses", "metrics", "callbacks", "models", "faces", "data", "index",
    "errors", "paths", "config", "training", "evaluation", "verification", "export", "recognition",
    "model_dir", "embedding",
}


def __getattr__(name: str) -> Any:  # lazy submodule access: siamese.layers etc.
    if name in _SUBMODULES:
        return import_module(f"siamese.{name}")
    raise AttributeError(f"module 'siamese' has no attribute {name!r}")
