"""What a training run records: validation figures, the model card, and the default calibrated threshold."""

from __future__ import annotations

import time
import warnings
from typing import Any

import numpy as np

from siamese.training.data import PreparedData


def validation_distances(tower: Any, data: PreparedData, distance: str, flip: bool) -> np.ndarray:
    """Distances of the fixed validation pairs under ``tower``."""
    from siamese import distances
    from siamese.embedding import embed_faces

    emb = embed_faces(tower, data.val_faces, flip=flip)
    return distances.get(distance).rowwise(emb[data.val_a], emb[data.val_b])


def validation_figures(d: np.ndarray, data: PreparedData) -> dict[str, float]:
    """Accuracy, AUC, EER, ... of validation distances ``d`` (numbers only)."""
    from siamese.evaluation import verification_metrics as vm

    m = vm(d, data.val_same)
    return {k: float(v) for k, v in m.items() if isinstance(v, int | float | np.floating)}


def model_card(cfg: dict[str, Any], data: PreparedData, history: dict[str, list[float]], precision: str,
               val_metrics: dict[str, float], val_before: dict[str, float], start: float) -> dict[str, Any]:
    """The model card of a trained tower (the fingerprint is added when it is written)."""
    from siamese import __version__

    return {
        "format": "siamese-model/1",
        "input_size": cfg["faces"]["size"],
        "preprocessing": "RGB float32 in [0, 255]; rescaled to [-1, 1] inside the model",
        "alignment": {"detector": cfg["faces"]["detector"], "size": cfg["faces"]["size"],
                      "template": "arcface-5pt", "min_face_size": cfg["faces"]["min_face_size"]},
        "embedding_dim": cfg["model"]["embedding_dim"],
        "tower": cfg["model"]["tower"],
        "distance": cfg["model"]["distance"],
        "loss": cfg["loss"]["name"],
        "identification_head": cfg["model"]["head"],  # trained jointly, never saved: the tower is the model
        "precision": precision,
        "training_data": data.summary,
        "metrics": {"validation": val_metrics, "validation_before_training": val_before},
        "seed": cfg["seed"],
        "epochs_run": len(next(iter(history.values()), [])),
        "train_seconds": round(time.time() - start, 1),
        "siamese_version": __version__,
    }


def calibrate_on_validation(model_dir: Any, d: np.ndarray, data: PreparedData, distance: str) -> None:
    """Default threshold from the validation pairs (overridden by 'siamese calibrate'): FAR 1e-3 when there are
    at least 1000 impostor pairs to resolve it, else FAR 1e-2. ``d`` must be distances as verify computes them
    (without flip-averaging), whatever ``train.flip_eval`` chose for the validation figures."""
    from siamese.evaluation import calibrate_threshold

    n_impostor = int((data.val_same == 0).sum())
    far = 1e-3 if n_impostor >= 1000 else 1e-2
    with warnings.catch_warnings():  # an unresolvable FAR is recorded in the file (resolved: false)
        warnings.simplefilter("ignore", UserWarning)
        cal = calibrate_threshold(d, data.val_same, far=far, meta={
            "source": "validation pairs of the training identities (siamese train)", "distance": distance,
            "model": model_dir.fingerprint})
    model_dir.save_calibration(cal)
