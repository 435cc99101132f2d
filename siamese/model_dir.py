"""A model directory: everything needed to turn photos into decisions, and the record of how it was made.

Layout of ``MODEL_DIR``::

    embedding.keras     the embedding tower (float32 [0,255] RGB in, L2-normalised embedding out)
    embedding.tflite    the same tower for the TensorFlow-free runtime (LiteRT; float32 by default), its sha256 in
                        the card's ``runtime`` record next to the weights fingerprint it was made from
    model.json          the model card (input size, preprocessing, alignment, embedding size, distance,
                        training data summary, metrics, fingerprint = sha256 of the weights)
    config.yaml         the training config as run (absent for imported models)
    calibration.json    the decision threshold for a target FAR (see siamese.evaluation.Calibration)
    history.json        per-epoch training history

:class:`ModelDir` is the one owner of that layout: it reads and validates the card (every problem is one
:class:`~siamese.errors.ModelError` naming the file and the reason), loads the tower (checking its weights against
the card's fingerprint and for non-finite values), and writes every file through the crash-safe writer
(:mod:`siamese._files`). Opening reads JSON only; TensorFlow is imported when the tower is first needed.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import numbers
import os
import re
import zipfile
from pathlib import Path
from typing import Any

from siamese._files import atomic_path, atomic_write_bytes, atomic_write_text, file_sha256
from siamese.errors import ModelError

__all__ = ["CALIBRATION_FILE", "CARD_FILE", "CONFIG_FILE", "DISTANCE_RANGE", "EMBEDDING_FILE", "HISTORY_FILE",
           "TFLITE_FILE",
           "ModelDir", "atomic_write_text", "pairwise_distance_np", "similarity_to_distance", "weights_fingerprint",
           "write_model_dir"]

EMBEDDING_FILE = "embedding.keras"
TFLITE_FILE = "embedding.tflite"
CARD_FILE = "model.json"
CONFIG_FILE = "config.yaml"
CALIBRATION_FILE = "calibration.json"
HISTORY_FILE = "history.json"

_HEX64 = re.compile(r"[0-9a-f]{64}")


def weights_fingerprint(model: Any) -> str:
    """sha256 over the model's weights (names, shapes, dtypes and bytes, in order): identifies a trained model."""
    h = hashlib.sha256()
    for w in model.weights:
        value = w.numpy() if hasattr(w, "numpy") else w
        h.update(f"{w.path}:{value.shape}:{value.dtype}".encode())
        h.update(value.tobytes())
    return h.hexdigest()


def _finite_weights(model: Any) -> bool:
    import numpy as np

    return all(np.all(np.isfinite(w.numpy() if hasattr(w, "numpy") else w)) for w in model.weights)


# --- distances of numpy embeddings: thin aliases onto siamese.distances (kept for one release) ----------------
def pairwise_distance_np(a: Any, b: Any, distance: str) -> Any:
    """Row-wise distance of two ``(n, d)`` arrays. Deprecated: ``siamese.distances.get(distance).rowwise``."""
    from siamese import distances

    return distances.get(distance).rowwise(a, b)


def similarity_to_distance(similarity: Any, distance: str) -> Any:
    """Inner product of unit vectors -> distance. Deprecated: ``siamese.distances.get(d).from_similarity``."""
    from siamese import distances

    return distances.get(distance).from_similarity(similarity)


class _DistanceRange(dict):
    """``DISTANCE_RANGE[name]``: deprecated view of ``siamese.distances.get(name).max_value``."""

    def __missing__(self, key: str) -> float:
        from siamese import distances

        return float(distances.get(key).max_value)


DISTANCE_RANGE: dict[str, float] = _DistanceRange()


def _positive_int(card: dict[str, Any], key: str, where: Path) -> int:
    value = card.get(key)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ModelError(f"{where}: '{key}' must be a positive integer, got {value!r}")
    return value


class ModelDir:
    """A model directory on disk. Cheap to open (reads and validates JSON only); the Keras model loads on first use.

    ``verify_weights`` (default True): the loaded weights must hash to the card's fingerprint and be finite, so a
    directory whose weights were replaced cannot enroll into a gallery bound to the original.
    """

    def __init__(self, path: str | os.PathLike[str], verify_weights: bool = True) -> None:
        self.path = Path(path).expanduser()
        self.verify_weights = verify_weights
        card = self.path / CARD_FILE
        if self.path.exists() and not self.path.is_dir():
            raise ModelError(f"{self.path}: a file, not a model directory")
        if not self.path.is_dir():
            raise ModelError(f"{self.path}: model directory not found (train one with 'siamese train' "
                             "or set SIAMESE_MODEL)")
        if not card.is_file() or not (self.path / EMBEDDING_FILE).is_file():
            raise ModelError(f"{self.path}: not a model directory (needs {CARD_FILE} and {EMBEDDING_FILE})")
        self.card: dict[str, Any] = self._read_json(card, "model card")
        if not isinstance(self.card, dict):
            raise ModelError(f"{card}: the model card must be a JSON object")
        self._validate_card(card)
        self._model: Any = None

    @staticmethod
    def _read_json(path: Path, what: str) -> Any:
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except OSError as e:
            raise ModelError(f"{path}: unreadable {what} ({e.strerror or e})") from None
        except ValueError as e:
            raise ModelError(f"{path}: unreadable {what} (not valid JSON: {e})") from None

    def _validate_card(self, where: Path) -> None:
        from siamese.plugins import DISTANCES

        fingerprint = self.card.get("fingerprint")
        if not isinstance(fingerprint, str) or not _HEX64.fullmatch(fingerprint):
            raise ModelError(f"{where}: 'fingerprint' missing or not a sha256 hex digest")
        self._input_size = _positive_int(self.card, "input_size", where)
        self._embedding_dim = _positive_int(self.card, "embedding_dim", where)
        distance = self.card.get("distance", "euclidean")
        if distance not in DISTANCES:
            raise ModelError(f"{where}: 'distance' {distance!r} is not one of {', '.join(DISTANCES.names())}")
        self._distance = DISTANCES.canonical(distance)
        align = self.card.get("alignment", {})
        if not isinstance(align, dict):
            raise ModelError(f"{where}: 'alignment' must be an object")
        if "size" in align:
            _positive_int(align, "size", where)
        runtime = self.card.get("runtime")
        if runtime is not None and (not isinstance(runtime, dict) or not isinstance(runtime.get("sha256"), str)):
            raise ModelError(f"{where}: 'runtime' must be an object with the sha256 of {TFLITE_FILE}")

    # --- card fields -------------------------------------------------------------------------------------
    @property
    def fingerprint(self) -> str:
        return str(self.card["fingerprint"])

    @property
    def distance(self) -> str:
        """Canonical distance name (``euclidean``, ``squared_euclidean`` or ``cosine``)."""
        return self._distance

    @property
    def input_size(self) -> int:
        return self._input_size

    @property
    def alignment(self) -> dict[str, Any]:
        return dict(self.card.get("alignment") or {"detector": "mtcnn", "size": self.input_size})

    @property
    def embedding_dim(self) -> int:
        return self._embedding_dim

    # --- calibration -------------------------------------------------------------------------------------
    def calibration(self) -> dict[str, Any] | None:
        """The stored calibration record, or None when there is none; ModelError if it is unreadable."""
        path = self.path / CALIBRATION_FILE
        if not path.is_file():
            return None
        cal = self._read_json(path, "calibration")
        if not isinstance(cal, dict):
            raise ModelError(f"{path}: unreadable calibration (not a JSON object)")
        return cal

    def threshold(self) -> float:
        """The calibrated decision threshold (a distance: accept as same person when distance <= threshold)."""
        cal = self.calibration()
        path = self.path / CALIBRATION_FILE
        if cal is None or "threshold" not in cal:
            raise ModelError(f"{self.path}: no calibration.json; run 'siamese calibrate' or pass --threshold")
        return check_threshold(cal["threshold"], str(path))

    def save_calibration(self, calibration: Any) -> Path:
        """Store a :class:`siamese.evaluation.Calibration` (or its dict) as this model's threshold."""
        from siamese.evaluation import Calibration

        if not isinstance(calibration, Calibration):
            calibration = Calibration.from_dict(dict(calibration))
        check_threshold(calibration.threshold, "calibration threshold")
        return calibration.save(self.path / CALIBRATION_FILE)

    # --- the runtime (TFLite) model -----------------------------------------------------------------------
    @property
    def has_tflite(self) -> bool:
        """True when the directory carries a TFLite model recorded in its card."""
        return self.card.get("runtime") is not None and (self.path / TFLITE_FILE).is_file()

    @property
    def tflite_quantization(self) -> str | None:
        runtime = self.card.get("runtime") or {}
        return runtime.get("quantize")

    def tflite_path(self, check: bool = True) -> Path:
        """Path of ``embedding.tflite``; with ``check``, ModelError unless it hashes to the card's record and was
        made from this directory's weights."""
        path = self.path / TFLITE_FILE
        runtime = self.card.get("runtime")
        if runtime is None or not path.is_file():
            raise ModelError(f"{self.path}: no {TFLITE_FILE} (write one with 'siamese export {self.path}')")
        if check:
            if runtime.get("fingerprint") != self.fingerprint:
                raise ModelError(f"{path}: made from other weights than {EMBEDDING_FILE} (fingerprint differs)")
            if file_sha256(path) != runtime["sha256"]:
                raise ModelError(f"{path}: does not match the sha256 in {CARD_FILE} (the file was replaced or "
                                 "modified)")
        return path

    def save_tflite(self, blob: bytes, quantize: str | None = None) -> Path:
        """Install ``blob`` as this directory's runtime model and record it (sha256, quantisation) in the card; if
        the card cannot be written, the runtime model that was there before is put back (the two never disagree)."""
        path = self.path / TFLITE_FILE
        before = path.read_bytes() if path.is_file() else None
        card = dict(self.card)
        card["runtime"] = {"tflite": TFLITE_FILE, "quantize": quantize or "float32",
                           "sha256": hashlib.sha256(blob).hexdigest(), "fingerprint": self.fingerprint}
        atomic_write_bytes(path, blob, mode=0o644)
        try:
            atomic_write_text(self.path / CARD_FILE, json.dumps(card, indent=2, default=_json_default))
        except BaseException:
            with contextlib.suppress(OSError):
                if before is None:
                    path.unlink()
                else:
                    atomic_write_bytes(path, before, mode=0o644)
            raise
        self.card = card
        return path

    # --- the Keras model ---------------------------------------------------------------------------------
    def embedding_model(self) -> Any:
        """The tower, loaded in Keras safe mode; checked against the card's fingerprint and for finite weights."""
        if self._model is None:
            from siamese._quiet import import_tensorflow_quietly

            import_tensorflow_quietly()
            import keras

            import siamese.layers  # noqa: F401  (registers custom objects)

            path = self.path / EMBEDDING_FILE
            # Keras reports a file that is not a zip as "File not found", which sends users looking for a
            # missing file: a .keras model is a zip archive, so say that instead
            if not zipfile.is_zipfile(path):
                raise ModelError(f"{path}: cannot load model: not a valid .keras model file (not a zip archive)")
            try:
                model = keras.saving.load_model(path, safe_mode=True, compile=False)
            except Exception as e:  # corrupt zip, unknown layer, ...
                reason = str(e).splitlines()[0] if str(e) else type(e).__name__
                if isinstance(e, FileNotFoundError | ValueError | OSError) or "zip" in reason.lower():
                    reason = f"not a valid .keras model file ({reason})"
                raise ModelError(f"{path}: cannot load model: {reason}") from None
            if self.verify_weights:
                if not _finite_weights(model):
                    raise ModelError(f"{path}: the weights hold NaN or infinite values")
                if weights_fingerprint(model) != self.fingerprint:
                    raise ModelError(f"{path}: the weights do not match the fingerprint in {CARD_FILE} "
                                     "(the file was replaced or modified)")
            self._model = model
        return self._model

    # --- writing -----------------------------------------------------------------------------------------
    @classmethod
    def write(cls, path: str | os.PathLike[str], tower: Any, card: dict[str, Any], config_text: str | None = None,
              history: dict[str, Any] | None = None, force: bool = False, tflite: bool = True) -> ModelDir:
        """Save ``tower`` and its card (fingerprint computed here) into ``path``, crash-safely; with ``tflite``
        (default) also its float32 TFLite model for the runtime.

        Refuses (ModelError) to replace a directory that already holds a trained model unless ``force``.
        """
        path = Path(path).expanduser()
        check_writable(path, force)
        path.mkdir(parents=True, exist_ok=True)
        with atomic_path(path / EMBEDDING_FILE, mode=0o644) as tmp:
            tower.save(tmp)
        card = dict(card)
        card.pop("runtime", None)
        card["fingerprint"] = weights_fingerprint(tower)
        (path / TFLITE_FILE).unlink(missing_ok=True)  # a stale runtime model never outlives its weights
        if tflite:
            from siamese.exporting import tflite_bytes

            blob = tflite_bytes(tower, int(card["input_size"]))
            tfl = atomic_write_bytes(path / TFLITE_FILE, blob, mode=0o644)
            card["runtime"] = {"tflite": TFLITE_FILE, "quantize": "float32", "sha256": file_sha256(tfl),
                               "fingerprint": card["fingerprint"]}
        if config_text is not None:
            atomic_write_text(path / CONFIG_FILE, config_text)
        if history is not None:
            atomic_write_text(path / HISTORY_FILE, json.dumps(history, indent=2, default=_json_default))
        # the card goes last: a directory is a model only once its card names the weights written above
        atomic_write_text(path / CARD_FILE, json.dumps(card, indent=2, sort_keys=False, default=_json_default))
        return cls(path)


def check_writable(path: str | os.PathLike[str], force: bool = False) -> None:
    """The overwrite guard: ModelError if ``path`` already holds a trained model and ``force`` is not set."""
    path = Path(path).expanduser()
    if path.exists() and not path.is_dir():
        raise ModelError(f"{path}: exists and is not a directory")
    if (path / CARD_FILE).exists() and not force:
        raise ModelError(f"{path}: already holds a trained model; choose another output or pass --force to "
                         "replace it")


def check_threshold(value: Any, where: str) -> float:
    """A decision threshold is a distance: a finite number >= 0 (a negative one would accept no one); anything else
    is a ModelError naming ``where``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(float(value)):
        raise ModelError(f"{where}: threshold must be a finite number, got {value!r}")
    if float(value) < 0:
        raise ModelError(f"{where}: threshold is a distance and must be >= 0, got {value!r}")
    return float(value)


def write_model_dir(path: str | os.PathLike[str], tower: Any, card: dict[str, Any],
                    config_text: str | None = None, history: dict[str, Any] | None = None,
                    force: bool = True) -> Path:
    """Deprecated alias of :meth:`ModelDir.write` (kept for one release); returns the path."""
    return ModelDir.write(path, tower, card, config_text=config_text, history=history, force=force).path


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
