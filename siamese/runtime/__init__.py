"""Embedding engines: how a model directory's tower is run after training.

* ``litert`` (:class:`LiteRTEngine`): ``embedding.tflite`` on ai-edge-litert -- no TensorFlow or Keras needed;
  chosen automatically when the model directory has a TFLite model and ai-edge-litert is installed.
* ``keras`` (:class:`KerasEngine`): ``embedding.keras`` on Keras (siamese[train]).

``select_engine(model_dir, "auto" | "litert" | "keras")``; the default comes from ``$SIAMESE_ENGINE`` (the CLI's
``--engine``). Engines are registered in :data:`siamese.plugins.ENGINES`.
"""

from __future__ import annotations

import os
from typing import Any

from siamese.errors import ConfigError
from siamese.runtime.base import EmbeddingEngine

__all__ = ["AUTO_ORDER", "EmbeddingEngine", "select_engine"]

#: engines tried, in order, by ``auto``
AUTO_ORDER = ("litert", "keras")


def select_engine(model_dir: Any, engine: str | None = None) -> EmbeddingEngine:
    """The engine that runs ``model_dir``: the named one (ConfigError saying what to install when it cannot run
    here), or with ``auto`` the first of :data:`AUTO_ORDER` that can."""
    from siamese.plugins import ENGINES

    name = engine or os.environ.get("SIAMESE_ENGINE") or "auto"
    if name == "auto":
        reasons = []
        for candidate in AUTO_ORDER:
            cls = ENGINES.get(candidate)
            reason = cls.available(model_dir)
            if reason is None:
                return cls(model_dir)
            reasons.append(reason)
        raise ConfigError("engine: no engine can run this model here (" + "; ".join(reasons) + ")")
    if name not in ENGINES:
        raise ConfigError(f"engine: unknown engine {name!r} (choose from auto, {', '.join(ENGINES.names())})")
    cls = ENGINES.get(name)
    reason = cls.available(model_dir)
    if reason is not None:
        raise ConfigError(f"engine: {reason}")
    return cls(model_dir)
