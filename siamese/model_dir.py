"""A model directory: everything needed to turn photos into decisions, and the record of how it was made.

Layout of ``MODEL_DIR``::

    embedding.keras     the embedding tower (float32 [0,255] RGB in, L2-normalised embedding out)
    model.json          the model card (input size, preprocessing, alignment, embedding size, distance,
                        training data summary, metrics, fingerprint = sha256 of the weights)
    config.yaml         the training config as run (absent for imported models)
    calibration.json    the decision threshold for a target FAR (see siamese.evaluation.Calibration)
    history.json        per-epoch training history

Loading never imports TensorFlow until the model itself is needed (:meth:`ModelDir.embedding_model`).
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

from siamese._files import atomic_write_text
from siamese.errors import ModelError

__all__ = ["CALIBRATION_FILE", "CARD_FILE", "CONFIG_FILE", "DISTANCE_RANGE", "EMBEDDING_FILE", "HISTORY_FILE",
           "ModelDir", "atomic_write_text", "pairwise_distance_np", "similarity_to_distance", "weights_fingerprint",
           "write_model_dir"]

EMBEDDING_FILE = "embedding.keras"
CARD_FILE = "model.json"
CONFIG_FILE = "config.yaml"
CALIBRATION_FILE = "calibration.json"
HISTORY_FILE = "history.json"

# Range of each distance between L2-normalised embeddings: used for metric histograms.
DISTANCE_RANGE = {"euclidean": 2.0, "squared_euclidean": 4.0, "cosine": 2.0}


def weights_fingerprint(model: Any) -> str:
    """sha256 over the model's weights (names, shapes, dtypes and bytes, in order): identifies a trained model."""
    h = hashlib.sha256()
    for w in model.weights:
        value = w.numpy() if hasattr(w, "numpy") else w
        h.update(f"{w.path}:{value.shape}:{value.dtype}".encode())
        h.update(value.tobytes())
    return h.hexdigest()


def pairwise_distance_np(a: Any, b: Any, distance: str) -> Any:
    """Row-wise distance between two ``(n, d)`` embedding arrays, numpy, matching siamese.layers' conventions."""
    import numpy as np

    a = np.asarray(a, dtype=np.float32)
    b = np.asarray(b, dtype=np.float32)
    if distance == "cosine":
        an = a / np.maximum(np.linalg.norm(a, axis=1, keepdims=True), 1e-12)
        bn = b / np.maximum(np.linalg.norm(b, axis=1, keepdims=True), 1e-12)
        return 1.0 - np.sum(an * bn, axis=1)
    d2 = np.sum((a - b) ** 2, axis=1)
    if distance == "squared_euclidean":
        return d2
    if distance == "euclidean":
        return np.sqrt(np.maximum(d2, 0.0))
    raise ValueError(f"unknown distance {distance!r}")


def similarity_to_distance(similarity: Any, distance: str) -> Any:
    """Inner product of two unit vectors -> the model's distance (used by the gallery)."""
    import numpy as np

    s = np.clip(np.asarray(similarity, dtype=np.float32), -1.0, 1.0)
    if distance == "cosine":
        return 1.0 - s
    d2 = np.maximum(2.0 - 2.0 * s, 0.0)
    return d2 if distance == "squared_euclidean" else np.sqrt(d2)


class ModelDir:
    """A model directory on disk. Cheap to open (reads JSON only); the Keras model loads on first use."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path).expanduser()
        card = self.path / CARD_FILE
        if not self.path.is_dir():
            raise ModelError(f"{self.path}: model directory not found (train one with 'siamese train' "
                             "or set SIAMESE_MODEL)")
        if not card.is_file() or not (self.path / EMBEDDING_FILE).is_file():
            raise ModelError(f"{self.path}: not a model directory (needs {CARD_FILE} and {EMBEDDING_FILE})")
        try:
            self.card: dict[str, Any] = json.loads(card.read_text(encoding="utf-8"))
        except (OSError, ValueError) as e:
            raise ModelError(f"{card}: unreadable model card ({e})") from None
        self._model = None

    # --- card fields -------------------------------------------------------------------------------------
    @property
    def fingerprint(self) -> str:
        return str(self.card["fingerprint"])

    @property
    def distance(self) -> str:
        return str(self.card.get("distance", "euclidean"))

    @property
    def input_size(self) -> int:
        return int(self.card["input_size"])

    @property
    def alignment(self) -> dict[str, Any]:
        return dict(self.card.get("alignment", {"detector": "mtcnn", "size": self.input_size}))

    @property
    def embedding_dim(self) -> int:
        return int(self.card["embedding_dim"])

    def calibration(self) -> dict[str, Any] | None:
        path = self.path / CALIBRATION_FILE
        if not path.is_file():
            return None
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as e:
            raise ModelError(f"{path}: unreadable calibration ({e})") from None

    def threshold(self) -> float:
        """The calibrated decision threshold (a distance: accept as same person when distance <= threshold)."""
        cal = self.calibration()
        if cal is None or "threshold" not in cal:
            raise ModelError(f"{self.path}: no calibration.json; run 'siamese calibrate' or pass --threshold")
        return float(cal["threshold"])

    # --- the Keras model ---------------------------------------------------------------------------------
    def embedding_model(self) -> Any:
        if self._model is None:
            import keras

            import siamese.layers  # noqa: F401  (registers custom objects)

            try:
                self._model = keras.saving.load_model(self.path / EMBEDDING_FILE, safe_mode=True, compile=False)
            except Exception as e:  # corrupt zip, unknown layer, ...
                raise ModelError(f"{self.path / EMBEDDING_FILE}: cannot load model ({e})") from None
        return self._model


def write_model_dir(path: str | os.PathLike[str], tower: Any, card: dict[str, Any],
                    config_text: str | None = None, history: dict[str, Any] | None = None) -> Path:
    """Save the tower and its card (fingerprint computed here) into ``path``; returns the path."""
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    tmp = path / f".{EMBEDDING_FILE}.tmp.keras"
    tower.save(tmp)
    os.replace(tmp, path / EMBEDDING_FILE)
    card = dict(card)
    card["fingerprint"] = weights_fingerprint(tower)
    atomic_write_text(path / CARD_FILE, json.dumps(card, indent=2, sort_keys=False, default=_json_default))
    if config_text is not None:
        atomic_write_text(path / CONFIG_FILE, config_text)
    if history is not None:
        atomic_write_text(path / HISTORY_FILE, json.dumps(history, indent=2, default=_json_default))
    return path


def _json_default(o: Any) -> Any:
    try:
        import numpy as np

        if isinstance(o, np.generic):
            return o.item()
        if isinstance(o, np.ndarray):
            return o.tolist()
    except ImportError:  # pragma: no cover
        pass
    if isinstance(o, Path):
        return str(o)
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")
