"""Import TensorFlow without its start-up chatter on stderr.

The TensorFlow 2.21 wheels print CUDA-stub and absl lines to file descriptor 2 while loading (even with
``TF_CPP_MIN_LOG_LEVEL``), which would break the CLI's promise of one error line on stderr. The import runs with
fd 2 pointed at /dev/null; Python exceptions still propagate normally.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import sys
from collections.abc import Iterator


@contextlib.contextmanager
def silenced_stderr_fd() -> Iterator[None]:
    """Point file descriptor 2 at /dev/null for the duration (C-level writes included)."""
    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def import_tensorflow_quietly(required: bool = False) -> None:
    """Import Keras (with its backend) and TensorFlow, and probe the devices once, with the native start-up lines
    hidden. TensorFlow is required when it is the Keras backend or ``required`` (``siamese export``: its TFLite
    converter); beside another backend (``KERAS_BACKEND=jax``) it is imported when installed and skipped when not, so
    JAX-only machines train. An installed TensorFlow that fails to import is an error at once, not at the end of
    a training.

    Raises ``ImportError`` when Keras, its backend, or a required TensorFlow is missing or broken.
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    if "tensorflow" in sys.modules:
        return
    with silenced_stderr_fd():
        import keras

        if keras.backend.backend() != "tensorflow" and not required and importlib.util.find_spec("tensorflow") is None:
            return
        import tensorflow as tf

        tf.config.list_physical_devices("GPU")
