"""Training configuration: YAML files validated against a schema of defaults.

Every key has a default below (``DEFAULTS``); a config file overrides any subset. Validation raises
:class:`siamese.errors.ConfigError` naming the bad key (dotted path) and why: unknown keys, wrong types and
values outside a key's choices are all refused. ``--set key=value`` overrides use dotted paths and YAML values
(``--set train.epochs=3 --set loss.name=triplet_semihard``).
"""

from __future__ import annotations

import copy
import os
from pathlib import Path
from typing import Any

import yaml

from siamese.errors import ConfigError

DEFAULTS: dict[str, Any] = {
    "seed": 0,
    "data": {
        "root": None,              # face data root; None -> $SIAMESE_DATA
        "train": "orl",            # identity folders (root/<identity>/<images>), relative to root
        "min_images": 2,           # identities with fewer images are dropped from training
        "exclude_pairs": [],       # pairs files (relative to root) whose people never enter training
        "val_fraction": 0.2,       # identity-disjoint validation split of the training identities
        "val_pairs": 1000,         # fixed validation pairs drawn from the validation identities
        "max_identities": None,    # cap on training identities (for quick runs)
    },
    "faces": {
        "detector": "none",        # mtcnn | yunet | none (already aligned: centre crop + resize)
        "size": 112,               # aligned crop size (pixels, square)
        "yunet_model": None,       # path to the YuNet ONNX file; None -> $SIAMESE_YUNET or download
        "cache": True,             # keep aligned crops in the on-disk cache
    },
    "model": {
        "tower": "small_cnn",      # small_cnn | iresnet
        "embedding_dim": 128,
        "distance": "euclidean",   # euclidean | squared_euclidean | cosine
        "tower_args": {},          # extra keyword arguments of the tower builder (width, depth, dropout...)
    },
    "loss": {
        "name": "contrastive",     # contrastive (twin model, pairs) | batch_contrastive | triplet_semihard |
                                   # triplet_hard (tower on P x K batches)
        "margin": 1.0,
        "margin_schedule": None,   # e.g. {name: linear_warmup, start: 0.5, end: 1.0, warmup_epochs: 3}
        "soft": False,             # triplet_hard only
        "distance_metric": "L2",   # batch/triplet losses: L2 | squared-L2 | angular
    },
    "train": {
        "epochs": 10,
        "steps_per_epoch": 100,
        "batch_size": 64,          # pairs per batch (contrastive)
        "genuine_fraction": 0.5,   # contrastive: share of genuine pairs in a batch
        "pk": {"P": 16, "K": 4},   # batch/triplet losses: P identities x K images per batch
        "optimizer": {"name": "adam", "learning_rate": 1e-3, "weight_decay": 0.0},
        "lr_schedule": {"name": "constant", "warmup_epochs": 0},   # constant | cosine (with linear warm-up)
        "augment": {"flip": True, "affine": 0.05, "color": 0.1, "shift": 0.0},   # affine/shift: image fractions
        "precision": "auto",       # auto (mixed_float16 on GPU, float32 on CPU) | float32 | mixed_float16
        "jit_compile": False,
        "early_stopping": None,    # e.g. {monitor: val_eer, patience: 5}
        "monitor": "val_eer",      # checkpoint metric (lower is better for val_eer; higher for accuracy/auc)
        "tensorboard": True,
        "grad_norms": False,       # log per-layer gradient norms to TensorBoard
        "profile_batches": None,   # e.g. [10, 15]: tf.profiler window
        "flip_eval": False,        # flip-averaged embeddings in validation
    },
}

CHOICES: dict[str, tuple[Any, ...]] = {
    "faces.detector": ("mtcnn", "yunet", "none"),
    "model.tower": ("small_cnn", "iresnet"),
    "model.distance": ("euclidean", "squared_euclidean", "cosine"),
    "loss.name": ("contrastive", "batch_contrastive", "triplet_semihard", "triplet_hard"),
    "loss.distance_metric": ("L2", "squared-L2", "angular"),
    "train.optimizer.name": ("adam", "adamw", "sgd"),
    "train.lr_schedule.name": ("constant", "cosine"),
    "train.precision": ("auto", "float32", "mixed_float16"),
    "train.monitor": ("val_eer", "val_accuracy", "val_auc", "val_loss"),
}

# keys whose value is free-form (a dict of anything, or None/dict)
FREE = {"model.tower_args", "loss.margin_schedule", "train.early_stopping", "train.profile_batches",
        "data.root", "data.max_identities", "faces.yunet_model"}


def _check(value: Any, default: Any, key: str) -> Any:
    if key in FREE:
        return value
    if isinstance(default, dict):
        if not isinstance(value, dict):
            raise ConfigError(f"{key}: expected a mapping, got {type(value).__name__}")
        out = copy.deepcopy(default)
        for k, v in value.items():
            sub = f"{key}.{k}" if key else str(k)
            if k not in default:
                raise ConfigError(f"{sub}: unknown key (expected one of: {', '.join(sorted(default))})")
            out[k] = _check(v, default[k], sub)
        return out
    if isinstance(default, bool):
        if not isinstance(value, bool):
            raise ConfigError(f"{key}: expected true or false, got {value!r}")
    elif isinstance(default, int | float) and not isinstance(default, bool):
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigError(f"{key}: expected a number, got {value!r}")
        if isinstance(default, int) and not isinstance(value, int):
            raise ConfigError(f"{key}: expected an integer, got {value!r}")
        if value < 0:
            raise ConfigError(f"{key}: must not be negative, got {value!r}")
    elif isinstance(default, list):
        if not isinstance(value, list):
            raise ConfigError(f"{key}: expected a list, got {value!r}")
    elif isinstance(default, str) and not isinstance(value, str):
        raise ConfigError(f"{key}: expected a string, got {value!r}")
    if key in CHOICES and value not in CHOICES[key]:
        raise ConfigError(f"{key}: {value!r} is not one of {', '.join(map(str, CHOICES[key]))}")
    return value


def validate(config: dict[str, Any]) -> dict[str, Any]:
    """Return ``config`` merged over the defaults, or raise ConfigError naming the bad key."""
    if not isinstance(config, dict):
        raise ConfigError("config: the file must hold a mapping at top level")
    out = _check(config, DEFAULTS, "")
    if out["train"]["epochs"] < 1 or out["train"]["steps_per_epoch"] < 1:
        raise ConfigError("train.epochs / train.steps_per_epoch: must be at least 1")
    if out["train"]["batch_size"] < 2:
        raise ConfigError("train.batch_size: must be at least 2")
    if not 0.0 < out["train"]["genuine_fraction"] < 1.0:
        raise ConfigError("train.genuine_fraction: must be strictly between 0 and 1")
    if not 0.0 < out["data"]["val_fraction"] < 1.0:
        raise ConfigError("data.val_fraction: must be strictly between 0 and 1")
    pk = out["train"]["pk"]
    if pk["P"] < 2 or pk["K"] < 2:
        raise ConfigError("train.pk: P and K must both be at least 2")
    if out["loss"]["soft"] and out["loss"]["name"] != "triplet_hard":
        raise ConfigError("loss.soft: only applies to triplet_hard")
    return out


def set_override(config: dict[str, Any], assignment: str) -> None:
    """Apply one ``dotted.key=yaml_value`` override in place (validated later by :func:`validate`)."""
    if "=" not in assignment:
        raise ConfigError(f"--set {assignment}: expected key=value")
    key, raw = assignment.split("=", 1)
    try:
        value = yaml.safe_load(raw)
    except yaml.YAMLError as e:
        raise ConfigError(f"{key}: cannot parse value {raw!r}: {e}") from None
    node = config
    parts = key.strip().split(".")
    for part in parts[:-1]:
        node = node.setdefault(part, {})
        if not isinstance(node, dict):
            raise ConfigError(f"{key}: {part} is not a mapping")
    node[parts[-1]] = value


def load_config(path: str | os.PathLike[str] | None, overrides: list[str] | tuple[str, ...] = ()) -> dict[str, Any]:
    """Read a YAML config (or start from defaults when ``path`` is None), apply overrides, validate."""
    raw: dict[str, Any] = {}
    if path is not None:
        p = Path(path)
        try:
            text = p.read_text(encoding="utf-8")
        except OSError as e:
            raise ConfigError(f"{p}: cannot read config ({e.strerror})") from None
        try:
            raw = yaml.safe_load(text) or {}
        except yaml.YAMLError as e:
            raise ConfigError(f"{p}: not valid YAML ({e})") from None
    for assignment in overrides:
        set_override(raw, assignment)
    return validate(raw)


def dump_config(config: dict[str, Any]) -> str:
    return yaml.safe_dump(config, sort_keys=False)
