"""The training run: a validated config -> a model directory (see :mod:`siamese.model_dir`).

Flow: overwrite guard -> data (:mod:`.data`) -> pieces from the registries (:mod:`.build`) -> ``model.fit`` with
margin schedulers, LR logging, per-epoch pair validation with the verification metrics, best checkpoint, early
stopping, TensorBoard, stop on NaN -> model directory with card and a threshold calibrated on validation pairs.
"""

from __future__ import annotations

import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from siamese.config import dump_config
from siamese.errors import ConfigError
from siamese.training import build
from siamese.training.card import calibrate_on_validation, model_card, validation_distances, validation_figures
from siamese.training.data import PreparedData, prepare_data
from siamese.training.distill import TeacherTargets, distillation_losses, teacher_targets


@dataclass
class TrainResult:
    model_dir: Path
    history: dict[str, list[float]]
    val_metrics: dict[str, float]
    seconds: float
    val_before: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"model_dir": str(self.model_dir), "seconds": round(self.seconds, 1),
                "epochs": len(next(iter(self.history.values()), [])), "validation": self.val_metrics,
                "validation_before_training": self.val_before}


def _callbacks(cfg: dict[str, Any], out: Path, tower: Any, losses: list[Any], data: PreparedData,
               ds: Any, single_process: bool = True) -> list[Any]:
    """Validation, margin schedules, LR log, NaN stop, best checkpoint, early stopping, TensorBoard, gradient norms.
    In a multi-process run every process makes the same calls and none writes: no best checkpoint (the last
    weights are kept) and no TensorBoard logs. With ``train.optimizer.ema`` the averaged weights are put in at each
    epoch's end, before everything else here: validation and the checkpoint see them, and fit ends on them."""
    import keras

    from siamese import callbacks as scallbacks

    t = cfg["train"]
    distance = cfg["model"]["distance"]
    cbs: list[Any] = [scallbacks.AveragedWeightsAtEpochEnd()] if t["optimizer"]["ema"] is not None else []
    cbs.append(scallbacks.PairValidation(tower, data.val_faces, data.val_a, data.val_b, data.val_same,
                                         distance, build.verification_metrics(distance), flip=t["flip_eval"]))
    cbs += build.build_margin_schedulers(cfg, *losses)
    cbs.append(scallbacks.LearningRateLogger())
    cbs.append(keras.callbacks.TerminateOnNaN())
    monitor = t["monitor"]
    mode = "min" if monitor in ("val_eer", "val_loss") else "max"
    if single_process:
        cbs.append(keras.callbacks.ModelCheckpoint(out / "best.weights.h5", monitor=monitor, mode=mode,
                                                   save_best_only=True, save_weights_only=True))
    if t["early_stopping"]:
        es = dict(t["early_stopping"])
        cbs.append(keras.callbacks.EarlyStopping(monitor=es.get("monitor", monitor), mode=es.get("mode", mode),
                                                 patience=int(es.get("patience", 5))))
    if t["tensorboard"] and single_process and build.tensorboard_available():
        cbs.append(keras.callbacks.TensorBoard(
            log_dir=str(out / "logs"), profile_batch=tuple(t["profile_batches"]) if t["profile_batches"] else 0))
    if t["grad_norms"]:
        x, y = ds[0]
        cbs.append(scallbacks.GradientNormLogger(losses[0], x, y, out / "logs" / "grad_norms"))
    return cbs


def with_loss_state(tower: Any, loss: Any) -> Any:
    """The tower's output, through :class:`siamese.layers.LossState` when ``loss`` keeps state (a cross-batch
    memory): the training model then holds the loss's variables, so the compiled step carries their updates on
    every backend (JAX's only carries the model's own). The saved tower never holds them."""
    from siamese.layers import LossState, loss_state_variables

    state = loss_state_variables(loss)
    return LossState(state, name="loss_state")(tower.output) if state else tower.output


def check_loss_state(cfg: dict[str, Any], processes: int) -> None:
    """A cross-batch memory (``loss.args.memory_size``) trains on one process and one replica: refuse more, before
    anything is read or written."""
    if not cfg["loss"]["args"].get("memory_size"):
        return
    replicas = build.get_strategy().num_replicas_in_sync if build.backend() == "tensorflow" else 1
    if processes > 1 or replicas > 1:
        raise ConfigError(f"loss.args.memory_size: the cross-batch memory trains on one process and one replica "
                          f"(this run has {processes} processes, {replicas} replicas); train without it: "
                          f"--set 'loss.args={{}}'")


def _multi_output_model(cfg: dict[str, Any], tower: Any, loss: Any, data: PreparedData,
                        compile_args: dict[str, Any], augment: Any, teacher: TeacherTargets | None,
                        shard: tuple[int, int] = (0, 1)) -> tuple[Any, Any, Any]:
    """The tower with the extra training terms of the config, each an output of its own: ``"embedding"`` (the
    labelled embedding loss, weight 1), ``"identity"`` (an identification head over the training identities,
    DeepID2-style, ``model.head.weight``), ``"teacher"`` / ``"teacher_relation"`` (distillation toward the
    teacher's embeddings, ``teacher.weight`` / ``teacher.relational_weight``). Only the tower is ever saved.
    Returns ``(model, dataset, head loss or None)``."""
    import keras
    import numpy as np

    from siamese import data as sdata

    t = cfg["train"]
    classes, labels = np.unique(data.train_labels, return_inverse=True)  # class ids 0..C-1
    emb = with_loss_state(tower, loss)
    outputs: dict[str, Any] = {"embedding": emb}
    losses: dict[str, Any] = {"embedding": loss}
    weights: dict[str, float] = {"embedding": 1.0}
    targets: dict[str, Any] = {"embedding": None}
    head_loss = None
    if cfg["model"]["head"] is not None:
        layer, head_loss = build.build_head(cfg, len(classes))
        outputs["identity"], losses["identity"] = layer(emb), head_loss
        weights["identity"], targets["identity"] = float(cfg["model"]["head"]["weight"]), None
    if teacher is not None:
        for name, (term, weight) in distillation_losses(cfg).items():
            outputs[name] = keras.layers.Identity(name=name)(emb)
            losses[name], weights[name], targets[name] = term, weight, teacher.embeddings
    model = keras.Model(tower.input, outputs)
    model.compile(**{**compile_args, "loss": losses}, loss_weights=weights)
    ds = sdata.PKBatches(data.train_faces, labels.astype(np.int32), P=t["pk"]["P"], K=t["pk"]["K"], seed=cfg["seed"],
                         steps=t["steps_per_epoch"], augment=augment, targets=targets, shard=shard,
                         singletons=t["pk"]["singletons"])
    return model, ds, head_loss


def train(cfg: dict[str, Any], out_dir: str | os.PathLike[str], progress: bool = True, debug: bool = False,
          data: PreparedData | None = None, force: bool = False) -> TrainResult:
    """Train the model described by ``cfg`` (validated) and write ``out_dir``. Returns history and metrics.

    Refuses (ModelError) to replace a trained model in ``out_dir`` unless ``force``; nothing is written before the
    data is known to be usable.
    """
    import keras

    from siamese import data as sdata
    from siamese.model_dir import ModelDir, check_writable
    from siamese.models import build_siamese

    start = time.time()
    out = Path(out_dir)
    check_writable(out, force)
    build.check_head(cfg)
    build.check_backend(cfg)
    chief = build.join_processes()  # multi-process data parallelism when SIAMESE_COORDINATOR & co. are set
    check_loss_state(cfg, build.data_shard()[1])
    head_loss = None
    build.set_seeds(cfg["seed"])
    if data is None:
        data = prepare_data(cfg, progress=progress)
    teacher = teacher_targets(cfg, data, progress=progress)  # before anything is written: its errors are the user's
    precision = build.resolve_precision(cfg["train"]["precision"])
    keras.mixed_precision.set_global_policy(precision)
    debugging = build.debug_mode(debug)
    t = cfg["train"]
    distance = cfg["model"]["distance"]
    aug = t["augment"]
    augment = sdata.make_numpy_augmentation(flip=aug["flip"], affine=aug["affine"], color=aug["color"],
                                            shift=aug["shift"], grayscale=aug["grayscale"])
    shard = build.data_shard()
    best = out / "best.weights.h5"
    try:
        with build.distribution_scope():
            tower = build.build_tower(cfg)
            loss = build.build_loss(cfg)
            compile_args = {"optimizer": build.build_optimizer(cfg), "loss": loss, "jit_compile": t["jit_compile"],
                            "run_eagerly": debug}
            if build.takes_pairs(loss):
                model = build_siamese(tower, distance=distance)
                model.compile(metrics=build.verification_metrics(distance), **compile_args)
                ds = sdata.PairBatches(data.train_faces, data.train_labels, batch_size=t["batch_size"],
                                       genuine_fraction=t["genuine_fraction"], seed=cfg["seed"],
                                       steps=t["steps_per_epoch"], augment=augment, shard=shard)
                tower = model.get_layer("tower")
            elif cfg["model"]["head"] is None and teacher is None:
                from siamese.layers import loss_state_variables

                stateful = bool(loss_state_variables(loss))
                model = keras.Model(tower.input, with_loss_state(tower, loss)) if stateful else tower
                model.compile(**compile_args)
                ds = sdata.PKBatches(data.train_faces, data.train_labels, P=t["pk"]["P"], K=t["pk"]["K"],
                                     seed=cfg["seed"], steps=t["steps_per_epoch"], augment=augment, shard=shard,
                                     singletons=t["pk"]["singletons"])
            else:
                model, ds, head_loss = _multi_output_model(cfg, tower, loss, data, compile_args, augment, teacher,
                                                           shard)
        cbs = _callbacks(cfg, out, tower, [loss] + ([head_loss] if cfg["model"]["head"] else []), data, ds,
                         single_process=shard[1] == 1)
        val_before = validation_figures(validation_distances(tower, data, distance, t["flip_eval"]), data)
        if chief:  # only once the data, the model, the loss, the batches and the callbacks are known to be usable
            out.mkdir(parents=True, exist_ok=True)
        hist = model.fit(ds, epochs=t["epochs"], steps_per_epoch=t["steps_per_epoch"], callbacks=cbs, shuffle=False,
                         verbose=(0 if not progress else 1 if sys.stdout.isatty() else 2))
        if best.exists():
            model.load_weights(best)
            best.unlink()
    finally:
        debugging.close()
        keras.mixed_precision.set_global_policy("float32")

    history = {k: [float(x) for x in v] for k, v in hist.history.items()}
    val_d = validation_distances(tower, data, distance, t["flip_eval"])
    val_metrics = validation_figures(val_d, data)
    card = model_card(cfg, data, history, precision, val_metrics, val_before, start)
    card["teacher"] = teacher.summary if teacher is not None else None
    card["backend"] = keras.backend.backend()
    card["processes"] = shard[1]
    from siamese.training import distributed

    if shard[1] > 1:
        tower = distributed.local_copy(tower)  # every process holds the same weights; process 0 writes them
    if chief:
        with distributed.locally():
            md = ModelDir.write(out, tower, card, config_text=dump_config(cfg), history=history, force=True,
                                tflite=build.can_convert_tflite())
            # the threshold is for what verify / enroll / identify compute: embeddings without flip-averaging
            cal_d = val_d if not t["flip_eval"] else validation_distances(tower, data, distance, False)
            calibrate_on_validation(md, cal_d, data, distance)
    distributed.barrier("siamese-train-written")
    return TrainResult(out, history, val_metrics, time.time() - start, val_before)
