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
    "errors", "paths", "config", "training", "evaluation", "verification", "exporting", "recognition",
    "model_dir", "embedding", "api", "distances", "plugins", "registry",
}

#: the Python API (siamese.api), reachable as siamese.verify(...) etc.
_API = {"verify", "identify", "enroll", "enroll_folder", "represent", "train", "evaluate", "calibrate", "export",
        "remove", "gallery_names", "gallery_info", "migrate",
        "benchmark_lfw"}


def __getattr__(name: str) -> Any:  # lazy: siamese.layers, siamese.verify, ... import only what they need
    if name in _API:
        return getattr(import_module("siamese.api"), name)
    if name in _SUBMODULES:
        return import_module(f"siamese.{name}")
    raise AttributeError(f"module 'siamese' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | _SUBMODULES | _API)
