"""The LiteRT engine: the model directory's ``embedding.tflite`` on ``ai-edge-litert`` -- no TensorFlow, no Keras.

The interpreter is resized to each batch (a batch dimension, not a Python loop over faces) and uses
``$SIAMESE_THREADS`` threads (default: all cores). The TFLite file must hash to the sha256 recorded in the model
card, which binds it to the Keras weights' fingerprint.
"""

from __future__ import annotations

import importlib.util
import os
import threading
from typing import Any

import numpy as np

from siamese._quiet import silenced_stderr_fd
from siamese.errors import ModelError
from siamese.runtime.base import EmbeddingEngine


class LiteRTEngine(EmbeddingEngine):
    """Runs ``embedding.tflite`` with ``ai_edge_litert.interpreter.Interpreter``."""

    name = "litert"
    batch_size = 64

    def __init__(self, model_dir: Any) -> None:
        super().__init__(model_dir)
        from ai_edge_litert.interpreter import Interpreter

        path = model_dir.tflite_path(check=True)
        threads = int(os.environ.get("SIAMESE_THREADS") or os.cpu_count() or 1)
        try:
            with silenced_stderr_fd():  # LiteRT's native "INFO: Created TensorFlow Lite XNNPACK delegate" line
                self._interp = Interpreter(model_path=str(path), num_threads=threads)
        except Exception as e:  # corrupt flatbuffer, unsupported op
            raise ModelError(f"{path}: cannot load TFLite model ({str(e).splitlines()[0] if str(e) else e})") from None
        self._input = self._interp.get_input_details()[0]["index"]
        self._output = self._interp.get_output_details()[0]["index"]
        self._shape: tuple[int, ...] | None = None
        self._lock = threading.Lock()  # one interpreter: one batch at a time

    @classmethod
    def available(cls, model_dir: Any) -> str | None:
        if importlib.util.find_spec("ai_edge_litert") is None:
            return "the litert engine needs ai-edge-litert: pip install siamese"
        if not model_dir.has_tflite:
            return (f"{model_dir.path}: no TFLite model in this directory (write one with "
                    f"'siamese export {model_dir.path} --format tflite')")
        return None

    def _run(self, batch: np.ndarray) -> np.ndarray:
        with self._lock:
            if self._shape != batch.shape:
                with silenced_stderr_fd():
                    self._interp.resize_tensor_input(self._input, batch.shape)
                    self._interp.allocate_tensors()
                self._shape = batch.shape
            self._interp.set_tensor(self._input, batch)
            self._interp.invoke()
            return np.array(self._interp.get_tensor(self._output), dtype=np.float32)
