"""Training configuration: YAML files validated against a schema of defaults.

Every key has a default below (``DEFAULTS``); a config file overrides any subset. Validation raises
:class:`siamese.errors.ConfigError` naming the bad key (dotted path) and why: unknown keys, wrong types and
values outside a key's choices are all refused. ``--set key=value`` overrides use dotted paths and YAML values
(``--set train.epochs=3 --set loss.name=triplet_semihard``).
"""

from __future__ import annotations

import copy
import math
import os
from pathlib import Path
from typing import Any

import yaml

from siamese import plugins
from siamese.errors import ConfigError

DEFAULTS: dict[str, Any] = {
    "seed": 0,
    "data": {
        "root": None,              # face data root; None -> $SIAMESE_DATA
        "train": "orl",            # identity folders (root/<identity>/<images>), relative to root
        "min_images": 2,           # identities with fewer images are dropped from training (see train.pk.singletons)
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
        "min_face_size": 20,       # faces smaller than this (pixels, shorter box side) count as no face
        "check_face": False,       # detector none: refuse crops in which YuNet finds no face
    },
    "model": {
        "tower": "small_cnn",      # small_cnn | iresnet
        "embedding_dim": 128,
        "distance": "euclidean",   # euclidean | squared_euclidean | cosine
        "tower_args": {},          # extra keyword arguments of the tower builder (width, depth, dropout...)
        "head": None,              # identification head trained jointly (batch losses only), e.g. {kind: cosface,
                                   # weight: 1.0, margin: 0.35, scale: 30}; its margin schedulable as head_margin
    },
    "loss": {
        "name": "contrastive",     # contrastive (twin model, pairs) | batch_contrastive | triplet_semihard |
                                   # triplet_hard (tower on P x K batches); any name in siamese.plugins.LOSSES
        "margin": 1.0,             # the (negative) margin: impostor pairs closer than this are pushed apart
        "pos_margin": None,        # contrastive losses: genuine pairs farther than this are pulled in (None: 0)
        "miner": None,             # batch losses: pairs/triplets used (siamese.plugins.MINERS; None: the loss's own)
        "reducer": None,           # mean | avg_nonzero | balanced | balanced_nonzero (siamese.plugins.REDUCERS;
                                   # None: the loss's own)
        "args": {},                # further keyword arguments of the loss class (e.g. soft: true for triplet_hard)
        "margin_schedule": None,   # one schedule for `margin`, e.g. {name: linear_warmup, start: 0.5, end: 1.0,
                                   # warmup_epochs: 3}, or {margin_name: schedule, ...} for several margins
    },
    "teacher": {
        "name": None,              # a pretrained teacher to distil (siamese.plugins.TEACHERS: dlib); None: none
        "args": {},                # keyword arguments of the teacher (dlib: upsample, jitters)
        "weight": 1.0,             # weight of 1 - cos(student, teacher) per photo (needs embedding_dim == teacher's)
        "relational_weight": 1.0,  # weight of (d_student - d_teacher)^2 over the batch's pairs
        "center": True,            # subtract the training photos' mean teacher embedding (see siamese.training.distill)
        "cache_dir": None,         # where teacher embeddings are kept; None -> the siamese cache
    },
    "train": {
        "epochs": 10,
        "steps_per_epoch": 100,
        "batch_size": 64,          # pairs per batch (contrastive)
        "genuine_fraction": 0.5,   # contrastive: share of genuine pairs in a batch
        "pk": {"P": 16, "K": 4,    # batch/triplet losses: P identities x K images per batch,
               "singletons": 0},   # + this many one-photo people per batch (impostors only; they join training)
        "optimizer": {"name": "adam", "learning_rate": 1e-3, "weight_decay": 0.0,
                      "ema": None},        # momentum of an exponential moving average of the weights (e.g. 0.995):
                                           # validated, checkpointed and saved on the averaged weights; None: off
        "lr_schedule": {"name": "constant", "warmup_epochs": 0},   # constant | cosine (with linear warm-up)
        "augment": {"flip": True, "affine": 0.05, "color": 0.1, "shift": 0.0,   # affine/shift: image fractions
                    "grayscale": 0.0},   # probability that a training image is turned grey
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

#: keys whose value names a plug-in: validated (and canonicalised) by that plug-in point's registry
REGISTRY_KEYS: dict[str, Any] = {
    "faces.detector": plugins.DETECTORS,
    "model.tower": plugins.TOWERS,
    "model.distance": plugins.DISTANCES,
    "loss.name": plugins.LOSSES,
}

CHOICES: dict[str, tuple[Any, ...]] = {
    "train.optimizer.name": ("adam", "adamw", "sgd"),
    "train.lr_schedule.name": ("constant", "cosine"),
    "train.precision": ("auto", "float32", "mixed_float16"),
    "train.monitor": ("val_eer", "val_accuracy", "val_auc", "val_tar"),
}

# keys whose value is free-form (a dict of anything, or None/dict)
FREE = {"model.tower_args", "model.head", "loss.args", "loss.margin_schedule", "loss.pos_margin", "loss.miner",
        "loss.reducer", "train.early_stopping", "train.profile_batches",
        "data.root", "data.max_identities", "faces.yunet_model", "teacher.name", "teacher.args",
        "teacher.cache_dir"}


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
        if not math.isfinite(value):
            raise ConfigError(f"{key}: must be a finite number, got {value!r}")
        if value < 0:
            raise ConfigError(f"{key}: must not be negative, got {value!r}")
    elif isinstance(default, list):
        if not isinstance(value, list):
            raise ConfigError(f"{key}: expected a list, got {value!r}")
    elif isinstance(default, str) and not isinstance(value, str):
        raise ConfigError(f"{key}: expected a string, got {value!r}")
    if key in CHOICES and value not in CHOICES[key]:
        raise ConfigError(f"{key}: {value!r} is not one of {', '.join(map(str, CHOICES[key]))}")
    if key in REGISTRY_KEYS:
        return REGISTRY_KEYS[key].canonical(value)  # ConfigError naming the key and the registry's choices
    return value


def _deprecated_keys(config: dict[str, Any]) -> None:
    """``loss.distance_metric`` (TensorFlow Addons spelling) is folded into the one key ``model.distance``."""
    loss = config.get("loss")
    if isinstance(loss, dict) and "soft" in loss:  # moved under loss.args
        args = loss.setdefault("args", {})
        if isinstance(args, dict):
            args["soft"] = loss.pop("soft")
    if isinstance(loss, dict) and "distance_metric" in loss:
        metric = loss.pop("distance_metric")
        model = config.setdefault("model", {})
        if not isinstance(model, dict):
            return
        wanted = plugins.DISTANCES.canonical(metric) if isinstance(metric, str) else metric
        given = model.get("distance")
        if given is not None and plugins.DISTANCES.canonical(given) != wanted:
            raise ConfigError(f"loss.distance_metric: {metric!r} disagrees with model.distance {given!r} "
                              "(one key now: set model.distance only)")
        model["distance"] = wanted


def _check_schedules(loss: dict[str, Any]) -> None:
    spec = loss["margin_schedule"]
    if spec is None:
        return
    if isinstance(spec, int | float) and not isinstance(spec, bool):
        if not math.isfinite(spec) or spec < 0:
            raise ConfigError(f"loss.margin_schedule: a margin must be a finite number >= 0, got {spec!r}")
        return
    if not isinstance(spec, dict):
        raise ConfigError(f"loss.margin_schedule: expected a mapping, got {spec!r}")
    per_margin = spec if "name" not in spec else {"margin": spec}
    for margin, sched in per_margin.items():
        key = "loss.margin_schedule" if "name" in spec else f"loss.margin_schedule.{margin}"
        if isinstance(sched, dict):
            if "name" not in sched:
                raise ConfigError(f"{key}: needs a 'name' (one of {', '.join(plugins.SCHEDULES.names())})")
            if sched["name"] not in plugins.SCHEDULES:
                raise ConfigError(f"{key}.name: unknown margin schedule {sched['name']!r} "
                                  f"(choose from {', '.join(plugins.SCHEDULES.names())})")
            for k, v in sched.items():
                if isinstance(v, float) and not math.isfinite(v):
                    raise ConfigError(f"{key}.{k}: must be a finite number, got {v!r}")
                if k in ("start", "end", "value") and isinstance(v, int | float) and not isinstance(v, bool) \
                        and v < 0:
                    raise ConfigError(f"{key}.{k}: a margin must be >= 0, got {v!r}")
        elif isinstance(sched, bool) or not isinstance(sched, int | float) or not math.isfinite(sched):
            raise ConfigError(f"{key}: expected a schedule mapping or a finite number, got {sched!r}")
        elif sched < 0:
            raise ConfigError(f"{key}: a margin must be >= 0, got {sched!r}")


HEAD_DEFAULTS: dict[str, Any] = {"kind": "cosface", "weight": 1.0, "margin": None, "scale": None}


def _check_head(model: dict[str, Any]) -> None:
    head = model["head"]
    if head is None:
        return
    if not isinstance(head, dict):
        raise ConfigError(f"model.head: expected a mapping such as {{kind: cosface, weight: 1.0}}, got {head!r}")
    for k in head:
        if k not in HEAD_DEFAULTS:
            raise ConfigError(f"model.head.{k}: unknown key (expected one of: {', '.join(HEAD_DEFAULTS)})")
    merged = {**HEAD_DEFAULTS, **head}
    merged["kind"] = plugins.HEADS.canonical(merged["kind"])
    for k in ("weight", "margin", "scale"):
        v = merged[k]
        if v is None and k != "weight":
            continue
        if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v) or v < 0:
            raise ConfigError(f"model.head.{k}: must be a finite number >= 0, got {v!r}")
    if merged["weight"] == 0:
        raise ConfigError("model.head.weight: must be positive (leave model.head out for no head)")
    model["head"] = merged


def _check_teacher(config: dict[str, Any]) -> None:
    teacher = config["teacher"]
    if teacher["name"] is None:
        return
    if not isinstance(teacher["name"], str):
        raise ConfigError(f"teacher.name: expected a teacher name or null, got {teacher['name']!r}")
    teacher["name"] = plugins.TEACHERS.canonical(teacher["name"])
    if not isinstance(teacher["args"], dict):
        raise ConfigError(f"teacher.args: expected a mapping, got {teacher['args']!r}")
    if teacher["cache_dir"] is not None and not isinstance(teacher["cache_dir"], str):
        raise ConfigError(f"teacher.cache_dir: expected a path, got {teacher['cache_dir']!r}")
    if teacher["weight"] == 0 and teacher["relational_weight"] == 0:
        raise ConfigError("teacher.weight / teacher.relational_weight: one must be positive (or set teacher.name "
                          "to null)")
    if getattr(plugins.LOSSES.get(config["loss"]["name"]), "pair_input", False):
        raise ConfigError(f"teacher: needs a loss on identity-labelled batches (e.g. batch_contrastive), not "
                          f"{config['loss']['name']!r}")


EARLY_STOPPING_KEYS = ("monitor", "mode", "patience")


def _check_early_stopping(train: dict[str, Any]) -> None:
    es = train["early_stopping"]
    if es is None or es is False:
        return
    if not isinstance(es, dict):
        raise ConfigError(f"train.early_stopping: expected a mapping such as {{patience: 5}} or null, got {es!r}")
    for k, v in es.items():
        if k not in EARLY_STOPPING_KEYS:
            raise ConfigError(f"train.early_stopping.{k}: unknown key (expected one of: "
                              f"{', '.join(EARLY_STOPPING_KEYS)})")
        if k == "monitor" and v not in CHOICES["train.monitor"]:
            raise ConfigError(f"train.early_stopping.monitor: {v!r} is not one of "
                              f"{', '.join(CHOICES['train.monitor'])}")
        if k == "mode" and v not in ("min", "max"):
            raise ConfigError(f"train.early_stopping.mode: {v!r} is not one of min, max")
        if k == "patience" and (isinstance(v, bool) or not isinstance(v, int) or v < 0):
            raise ConfigError(f"train.early_stopping.patience: must be a whole number of epochs >= 0, got {v!r}")


def _check_train_extras(train: dict[str, Any]) -> None:
    aug = train["augment"]
    for k in ("affine", "color", "shift"):
        if not math.isfinite(aug[k]) or aug[k] < 0:
            raise ConfigError(f"train.augment.{k}: must be a finite number >= 0, got {aug[k]!r}")
    if not 0.0 <= aug["grayscale"] <= 1.0:
        raise ConfigError(f"train.augment.grayscale: a probability in [0, 1], got {aug['grayscale']!r}")
    pb = train["profile_batches"]
    if pb is not None and (not isinstance(pb, list) or len(pb) != 2
                           or not all(isinstance(b, int) and not isinstance(b, bool) and b >= 1 for b in pb)
                           or pb[0] > pb[1]):
        raise ConfigError(f"train.profile_batches: expected [first, last] batch numbers (1 <= first <= last) or "
                          f"null, got {pb!r}")


def _check_data(data: dict[str, Any]) -> None:
    if data["val_pairs"] < 2:
        raise ConfigError(f"data.val_pairs: must be at least 2 (genuine and impostor pairs), got {data['val_pairs']}")
    if data["root"] is not None and not isinstance(data["root"], str):
        raise ConfigError(f"data.root: expected a path or null, got {data['root']!r}")
    n = data["max_identities"]
    if n is not None and (isinstance(n, bool) or not isinstance(n, int) or n < 2):
        raise ConfigError(f"data.max_identities: must be a whole number >= 2 or null, got {n!r}")
    pairs = data["exclude_pairs"]
    if not isinstance(pairs, list) or not all(isinstance(x, str) and x for x in pairs):
        raise ConfigError(f"data.exclude_pairs: expected a list of pairs files, got {pairs!r}")


def validate(config: dict[str, Any]) -> dict[str, Any]:
    """Return ``config`` merged over the defaults, or raise ConfigError naming the bad key."""
    if not isinstance(config, dict):
        raise ConfigError("config: the file must hold a mapping at top level")
    config = copy.deepcopy(config)
    _deprecated_keys(config)
    out = _check(config, DEFAULTS, "")
    if out["model"]["embedding_dim"] < 1:
        raise ConfigError(f"model.embedding_dim: must be at least 1, got {out['model']['embedding_dim']}")
    if out["faces"]["size"] < 16:
        raise ConfigError(f"faces.size: must be at least 16 pixels, got {out['faces']['size']}")
    if not isinstance(out["loss"]["args"], dict):
        raise ConfigError(f"loss.args: expected a mapping, got {out['loss']['args']!r}")
    if not isinstance(out["model"]["tower_args"], dict):
        raise ConfigError(f"model.tower_args: expected a mapping, got {out['model']['tower_args']!r}")
    _check_schedules(out["loss"])
    _check_head(out["model"])
    _check_teacher(out)
    loss = out["loss"]
    pos = loss["pos_margin"]
    if pos is not None and (isinstance(pos, bool) or not isinstance(pos, int | float) or not math.isfinite(pos)
                            or pos < 0):
        raise ConfigError(f"loss.pos_margin: must be a finite number >= 0, got {pos!r}")
    for key, registry in (("miner", plugins.MINERS), ("reducer", plugins.REDUCERS)):
        if loss[key] is not None:
            loss[key] = registry.canonical(loss[key])  # ConfigError naming loss.<key> and the choices
    ema = out["train"]["optimizer"]["ema"]
    if ema is not None and (isinstance(ema, bool) or not isinstance(ema, int | float) or not 0.0 < ema < 1.0):
        raise ConfigError(f"train.optimizer.ema: must be a momentum strictly between 0 and 1, or null; got {ema!r}")
    if out["train"]["epochs"] < 1 or out["train"]["steps_per_epoch"] < 1:
        raise ConfigError("train.epochs / train.steps_per_epoch: must be at least 1")
    if out["train"]["batch_size"] < 2:
        raise ConfigError("train.batch_size: must be at least 2")
    if not 0.0 < out["train"]["genuine_fraction"] < 1.0:
        raise ConfigError("train.genuine_fraction: must be strictly between 0 and 1")
    if not 0.0 < out["data"]["val_fraction"] < 1.0:
        raise ConfigError("data.val_fraction: must be strictly between 0 and 1")
    _check_early_stopping(out["train"])
    _check_train_extras(out["train"])
    _check_data(out["data"])
    pk = out["train"]["pk"]
    if pk["P"] < 2 or pk["K"] < 2:
        raise ConfigError("train.pk: P and K must both be at least 2")
    if pk["singletons"] and out["loss"]["name"] == "triplet_hard":  # its anchors without a positive use themselves
        raise ConfigError("train.pk.singletons: not with triplet_hard (an anchor without a genuine pair takes itself "
                          "as its positive); use batch_contrastive or triplet_semihard")
    if pk["singletons"] and getattr(plugins.LOSSES.get(out["loss"]["name"]), "pair_input", False):
        raise ConfigError(f"train.pk.singletons: applies to losses on P x K batches (e.g. batch_contrastive), not "
                          f"{out['loss']['name']!r}")
    if out["loss"]["args"].get("soft") and out["loss"]["name"] != "triplet_hard":
        raise ConfigError("loss.args.soft: only applies to triplet_hard")
    return out


def set_override(config: dict[str, Any], assignment: str) -> None:
    """Apply one ``dotted.key=yaml_value`` override in place (validated later by :func:`validate`)."""
    if "=" not in assignment:
        raise ConfigError(f"--set {assignment}: expected key=value")
    key, raw = assignment.split("=", 1)
    try:
        value = yaml.safe_load(raw)
    except yaml.YAMLError as e:
        raise ConfigError(f"{key}: cannot parse value {raw!r}: {_one_line_yaml_error(e)}") from None
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
            raise ConfigError(f"{p}: cannot read config ({e.strerror or e})") from None
        except UnicodeDecodeError:
            raise ConfigError(f"{p}: cannot read config (not UTF-8 text)") from None
        try:
            raw = yaml.load(text, Loader=_UniqueKeyLoader)  # noqa: S506 (a SafeLoader that refuses repeated keys)
        except yaml.YAMLError as e:
            raise ConfigError(f"{p}: not valid YAML ({_one_line_yaml_error(e)})") from None
        if raw is None:
            raise ConfigError(f"{p}: the config file is empty")
        if not isinstance(raw, dict):
            raise ConfigError(f"{p}: the file must hold a mapping at top level, not a {type(raw).__name__}")
    for assignment in overrides:
        set_override(raw, assignment)
    return validate(raw)


class _UniqueKeyLoader(yaml.SafeLoader):
    """``yaml.SafeLoader`` that refuses a key given twice in one mapping (YAML would keep the last silently)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(None, None, f"key {key!r} given twice in one mapping",
                                                        key_node.start_mark)
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def _one_line_yaml_error(error: yaml.YAMLError) -> str:
    """``"<problem> at line L, column C"``: PyYAML's own message spans several lines."""
    mark = getattr(error, "problem_mark", None)
    problem = getattr(error, "problem", None) or str(error).splitlines()[0]
    where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
    return f"{problem}{where}"


def dump_config(config: dict[str, Any]) -> str:
    return yaml.safe_dump(config, sort_keys=False)
