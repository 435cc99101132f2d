"""Training: from a validated config to a model directory. The ``siamese train`` command is a thin wrapper.

Flow: read identity folders -> drop people of the evaluation pairs files -> identity-disjoint train/validation
split -> align faces once (on-disk cache) -> tf.data pipelines (pairs for the contrastive loss, P x K batches for
the triplet losses) -> ``model.fit`` with the margin scheduler, LR schedule, per-epoch pair validation with the
verification metrics, best checkpoint, early stopping, TensorBoard, stop on NaN -> ``MODEL_DIR`` (see
:mod:`siamese.model_dir`) with a calibrated threshold from the validation pairs.
"""

from __future__ import annotations

import logging
import os
import random
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from siamese import paths
from siamese.config import dump_config
from siamese.errors import ConfigError

log = logging.getLogger("siamese.training")


@dataclass
class PreparedData:
    """Aligned faces of the training and validation identities, and the fixed validation pairs."""

    train_faces: np.ndarray
    train_labels: np.ndarray
    val_faces: np.ndarray
    val_labels: np.ndarray
    val_a: np.ndarray          # indices into val_faces
    val_b: np.ndarray
    val_same: np.ndarray       # 1 = same person
    summary: dict[str, Any] = field(default_factory=dict)


@dataclass
class TrainResult:
    model_dir: Path
    history: dict[str, list[float]]
    val_metrics: dict[str, float]
    seconds: float
    val_before: dict[str, float] = field(default_factory=dict)


def set_seeds(seed: int) -> None:
    """Seed Python, NumPy and Keras/TensorFlow."""
    import keras

    random.seed(seed)
    np.random.seed(seed)
    keras.utils.set_random_seed(seed)


def sample_pairs(labels: np.ndarray, n: int, genuine_fraction: float = 0.5,
                 seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Draw ``n`` distinct-index pairs (about ``genuine_fraction`` genuine) from ``labels``; seeded."""
    rng = np.random.default_rng(seed)
    labels = np.asarray(labels)
    by_id = {c: np.flatnonzero(labels == c) for c in np.unique(labels)}
    multi = [c for c, idx in by_id.items() if len(idx) >= 2]
    classes = list(by_id)
    if not multi or len(classes) < 2:
        raise ConfigError("data: the validation split needs at least 2 identities, one with 2+ images")
    n_gen = int(round(n * genuine_fraction))
    a, b, same = [], [], []
    for _ in range(n_gen):
        i, j = rng.choice(by_id[multi[rng.integers(len(multi))]], size=2, replace=False)
        a.append(i), b.append(j), same.append(1)
    for _ in range(n - n_gen):
        c1, c2 = rng.choice(len(classes), size=2, replace=False)
        a.append(rng.choice(by_id[classes[c1]])), b.append(rng.choice(by_id[classes[c2]])), same.append(0)
    return np.array(a), np.array(b), np.array(same, dtype=np.int32)


def make_aligner(faces_cfg: dict[str, Any]) -> Any:
    from siamese.faces import FaceAligner

    kwargs: dict[str, Any] = {}
    if faces_cfg["detector"] == "yunet" and faces_cfg.get("yunet_model"):
        kwargs["model_path"] = faces_cfg["yunet_model"]
    return FaceAligner(detector=faces_cfg["detector"], size=faces_cfg["size"], **kwargs)


def prepare_data(cfg: dict[str, Any], progress: bool = True) -> PreparedData:
    """Read, filter, split and align the training data described by ``cfg['data']`` and ``cfg['faces']``."""
    from siamese import data as sdata
    from siamese.verification import unpack_faces

    dcfg = cfg["data"]
    root = paths.data_root(dcfg["root"])
    folders = root / dcfg["train"]
    if not folders.is_dir():
        raise ConfigError(f"data.train: {folders} is not a directory")
    dataset = sdata.read_identity_folders(folders, min_images=dcfg["min_images"])
    excluded: set[str] = set()
    for pairs_file in dcfg["exclude_pairs"]:
        pairs = sdata.read_lfw_pairs(root / pairs_file, folders)
        excluded |= set(pairs.people())
    if excluded:
        dataset = sdata.exclude_identities(dataset, excluded)
    if dcfg["max_identities"]:
        rng = np.random.default_rng(cfg["seed"])
        keep = sorted(rng.choice(dataset.names, size=min(int(dcfg["max_identities"]), len(dataset.names)),
                                 replace=False).tolist())
        dataset = dataset.subset(keep)
    train_set, val_set = sdata.split_identities(dataset, val_fraction=dcfg["val_fraction"], seed=cfg["seed"])

    aligner = make_aligner(cfg["faces"])

    def load(ds: Any) -> tuple[np.ndarray, np.ndarray, int]:
        if cfg["faces"]["cache"]:
            loaded: Any = sdata.load_faces(ds.paths, aligner, progress=progress)
        else:
            loaded = aligner.align_files(ds.paths, progress=progress)
        faces, index, errors = unpack_faces(loaded)
        for path, reason in errors[:5]:
            log.warning("skipped %s: %s", path, reason)
        return faces, np.asarray(ds.labels)[index], len(errors)

    train_faces, train_labels, train_err = load(train_set)
    val_faces, val_labels, val_err = load(val_set)
    a, b, same = sample_pairs(val_labels, dcfg["val_pairs"], 0.5, seed=cfg["seed"] + 1)
    summary = {
        "source": str(dcfg["train"]),
        "excluded_pairs_files": list(dcfg["exclude_pairs"]),
        "excluded_people": len(excluded),
        "train_identities": int(len(np.unique(train_labels))),
        "train_images": int(len(train_faces)),
        "val_identities": int(len(np.unique(val_labels))),
        "val_images": int(len(val_faces)),
        "val_pairs": int(len(same)),
        "skipped_images": int(train_err + val_err),
    }
    return PreparedData(train_faces, train_labels, val_faces, val_labels, a, b, same, summary)


def resolve_precision(requested: str) -> str:
    import tensorflow as tf

    if requested == "auto":
        return "mixed_float16" if tf.config.list_physical_devices("GPU") else "float32"
    return requested


def get_strategy() -> Any:
    """MirroredStrategy over all GPUs when there are several, else the default strategy (one GPU or the CPU).

    For several machines, set ``TF_CONFIG`` on each worker and use ``tf.distribute.MultiWorkerMirroredStrategy``
    (see docs/design.md); the metrics sum their histograms across replicas, so they stay exact.
    """
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    if len(gpus) > 1:
        return tf.distribute.MirroredStrategy()
    return tf.distribute.get_strategy()


def build_tower(cfg: dict[str, Any]) -> Any:
    from siamese.models import get_tower

    m = cfg["model"]
    size = cfg["faces"]["size"]
    return get_tower(m["tower"], input_shape=(size, size, 3), embedding_dim=m["embedding_dim"], **m["tower_args"])


def _optimizer(cfg: dict[str, Any]) -> Any:
    import keras

    t = cfg["train"]
    o = t["optimizer"]
    total = t["epochs"] * t["steps_per_epoch"]
    lr: Any = float(o["learning_rate"])
    sched = t["lr_schedule"]
    if sched["name"] == "cosine":
        warm = int(sched.get("warmup_epochs", 0)) * t["steps_per_epoch"]
        lr = keras.optimizers.schedules.CosineDecay(
            initial_learning_rate=0.0 if warm else lr, decay_steps=max(total - warm, 1),
            warmup_target=lr if warm else None, warmup_steps=warm, alpha=0.01)
    if o["name"] == "adam":
        return keras.optimizers.Adam(lr)
    if o["name"] == "adamw":
        return keras.optimizers.AdamW(lr, weight_decay=float(o["weight_decay"]) or 1e-4)
    return keras.optimizers.SGD(lr, momentum=0.9, nesterov=True)


def _loss(cfg: dict[str, Any]) -> Any:
    from siamese import losses

    lc = cfg["loss"]
    if lc["name"] == "contrastive":
        return losses.ContrastiveLoss(margin=float(lc["margin"]))
    if lc["name"] == "batch_contrastive":
        return losses.BatchContrastiveLoss(margin=float(lc["margin"]), distance_metric=lc["distance_metric"])
    if lc["name"] == "triplet_semihard":
        return losses.TripletSemiHardLoss(margin=float(lc["margin"]), distance_metric=lc["distance_metric"])
    return losses.TripletHardLoss(margin=float(lc["margin"]), soft=bool(lc["soft"]),
                                  distance_metric=lc["distance_metric"])


def verification_metrics(distance: str) -> list[Any]:
    """The project's stateful verification metrics, with the histogram range of ``distance``."""
    from siamese import metrics
    from siamese.model_dir import DISTANCE_RANGE

    rng = DISTANCE_RANGE[distance]
    return [metrics.VerificationAccuracy(name="accuracy", max_distance=rng),
            metrics.EqualErrorRate(name="eer", max_distance=rng),
            metrics.TrueAcceptRate(far=1e-3, name="tar", max_distance=rng),
            metrics.VerificationAUC(name="auc", max_distance=rng)]


def train(cfg: dict[str, Any], out_dir: str | os.PathLike[str], progress: bool = True, debug: bool = False,
          data: PreparedData | None = None) -> TrainResult:
    """Train the model described by ``cfg`` (validated) and write ``out_dir``. Returns history and metrics."""
    import keras
    import tensorflow as tf

    from siamese import callbacks as scallbacks
    from siamese import data as sdata
    from siamese.model_dir import write_model_dir
    from siamese.models import build_siamese

    start = time.time()
    out = Path(out_dir)
    set_seeds(cfg["seed"])
    if data is None:
        data = prepare_data(cfg, progress=progress)
    out.mkdir(parents=True, exist_ok=True)  # only once the data is known to be usable
    precision = resolve_precision(cfg["train"]["precision"])
    keras.mixed_precision.set_global_policy(precision)
    if debug:
        tf.config.run_functions_eagerly(True)
        tf.debugging.enable_check_numerics()
    t = cfg["train"]
    lc = cfg["loss"]
    distance = cfg["model"]["distance"]
    aug = t["augment"]
    augment = sdata.make_augmentation(flip=aug["flip"], affine=aug["affine"], color=aug["color"], seed=cfg["seed"],
                                      shift=aug["shift"])
    try:
        strategy = get_strategy()
        with strategy.scope():
            tower = build_tower(cfg)
            loss = _loss(cfg)
            if lc["name"] == "contrastive":
                model = build_siamese(tower, distance=distance)
                model.compile(optimizer=_optimizer(cfg), loss=loss, metrics=verification_metrics(distance),
                              jit_compile=t["jit_compile"], run_eagerly=debug)
                ds = sdata.pair_dataset(data.train_faces, data.train_labels, batch_size=t["batch_size"],
                                        genuine_fraction=t["genuine_fraction"], seed=cfg["seed"], augment=augment)
                tower = model.get_layer("tower")
            else:
                model = tower
                model.compile(optimizer=_optimizer(cfg), loss=loss, jit_compile=t["jit_compile"], run_eagerly=debug)
                ds = sdata.pk_dataset(data.train_faces, data.train_labels, P=t["pk"]["P"], K=t["pk"]["K"],
                                      seed=cfg["seed"], augment=augment)

        cbs: list[Any] = [scallbacks.PairValidation(tower, data.val_faces, data.val_a, data.val_b, data.val_same,
                                                    distance, verification_metrics(distance), flip=t["flip_eval"])]
        if lc["margin_schedule"] is not None:
            if lc["name"] != "contrastive" and not hasattr(loss, "margin"):
                raise ConfigError("loss.margin_schedule: this loss has no margin variable")
            cbs.append(scallbacks.MarginScheduler(scallbacks.schedules.get(lc["margin_schedule"]),
                                                  margin=getattr(loss, "margin", None)))
        cbs.append(scallbacks.LearningRateLogger())
        cbs.append(keras.callbacks.TerminateOnNaN())
        monitor = t["monitor"]
        mode = "min" if monitor == "val_eer" else "max"
        best = out / "best.weights.h5"
        cbs.append(keras.callbacks.ModelCheckpoint(best, monitor=monitor, mode=mode, save_best_only=True,
                                                   save_weights_only=True))
        if t["early_stopping"]:
            es = dict(t["early_stopping"])
            cbs.append(keras.callbacks.EarlyStopping(monitor=es.get("monitor", monitor), mode=es.get("mode", mode),
                                                     patience=int(es.get("patience", 5))))
        if t["tensorboard"]:
            cbs.append(keras.callbacks.TensorBoard(
                log_dir=str(out / "logs"), profile_batch=tuple(t["profile_batches"]) if t["profile_batches"] else 0))
        if t["grad_norms"]:
            x, y = next(iter(ds))
            cbs.append(scallbacks.GradientNormLogger(loss, x, y, out / "logs" / "grad_norms"))

        val_before = _validation_figures(_validation_distances(tower, data, distance, t["flip_eval"]), data)
        hist = model.fit(ds, epochs=t["epochs"], steps_per_epoch=t["steps_per_epoch"], callbacks=cbs, shuffle=False,
                         verbose=(0 if not progress else 1 if sys.stdout.isatty() else 2))
        if best.exists():
            model.load_weights(best)
            best.unlink()
    finally:
        if debug:
            tf.config.run_functions_eagerly(False)
            tf.debugging.disable_check_numerics()
    keras.mixed_precision.set_global_policy("float32")

    history = {k: [float(x) for x in v] for k, v in hist.history.items()}
    val_d = _validation_distances(tower, data, distance, t["flip_eval"])
    val_metrics = _validation_figures(val_d, data)
    card = {
        "format": "siamese-model/1",
        "input_size": cfg["faces"]["size"],
        "preprocessing": "RGB float32 in [0, 255]; rescaled to [-1, 1] inside the model",
        "alignment": {"detector": cfg["faces"]["detector"], "size": cfg["faces"]["size"],
                      "template": "arcface-5pt"},
        "embedding_dim": cfg["model"]["embedding_dim"],
        "tower": cfg["model"]["tower"],
        "distance": distance,
        "loss": lc["name"],
        "precision": precision,
        "training_data": data.summary,
        "metrics": {"validation": val_metrics, "validation_before_training": val_before},
        "seed": cfg["seed"],
        "epochs_run": len(next(iter(history.values()), [])),
        "train_seconds": round(time.time() - start, 1),
    }
    from siamese import __version__

    card["siamese_version"] = __version__
    write_model_dir(out, tower, card, config_text=dump_config(cfg), history=history)
    _calibrate_on_validation(out, val_d, data, distance)
    return TrainResult(out, history, val_metrics, time.time() - start, val_before)


def _validation_distances(tower: Any, data: PreparedData, distance: str, flip: bool) -> np.ndarray:
    """Distances of the fixed validation pairs under ``tower``."""
    from siamese.embedding import embed_faces
    from siamese.model_dir import pairwise_distance_np

    emb = embed_faces(tower, data.val_faces, flip=flip)
    return pairwise_distance_np(emb[data.val_a], emb[data.val_b], distance)


def _validation_figures(d: np.ndarray, data: PreparedData) -> dict[str, float]:
    from siamese.evaluation import verification_metrics as vm

    m = vm(d, data.val_same)
    return {k: float(v) for k, v in m.items() if isinstance(v, int | float | np.floating)}


def _calibrate_on_validation(out: Path, d: np.ndarray, data: PreparedData, distance: str) -> None:
    """Default threshold from the validation pairs (overridden by 'siamese calibrate'): FAR 1e-3 when there are
    at least 1000 impostor pairs to resolve it, else FAR 1e-2."""
    import warnings

    from siamese.evaluation import calibrate_threshold
    from siamese.model_dir import CALIBRATION_FILE

    n_impostor = int((data.val_same == 0).sum())
    far = 1e-3 if n_impostor >= 1000 else 1e-2
    with warnings.catch_warnings():  # an unresolvable FAR is recorded in the file (resolved: false)
        warnings.simplefilter("ignore", UserWarning)
        cal = calibrate_threshold(d, data.val_same, far=far, meta={
            "source": "validation pairs of the training identities (siamese train)", "distance": distance})
    cal.save(out / CALIBRATION_FILE)
