"""Building the pieces of a training run from a validated config, each through its registry
(:mod:`siamese.plugins`): tower, loss, optimizer, metrics, margin schedules. No if-chains over names: a loss,
tower or schedule registered by a user is built the same way as the built-ins."""

from __future__ import annotations

import contextlib
import importlib.util
import inspect
import random
import warnings
from typing import Any

import numpy as np

from siamese import plugins
from siamese.errors import ConfigError


def set_seeds(seed: int) -> None:
    """Seed Python, NumPy and Keras (and through it the backend)."""
    import keras

    random.seed(seed)
    np.random.seed(seed)
    keras.utils.set_random_seed(seed)


BACKENDS = ("tensorflow", "jax")


def backend() -> str:
    """The Keras backend in use (``KERAS_BACKEND``; TensorFlow by default)."""
    import keras

    return str(keras.backend.backend())


def has_tensorflow() -> bool:
    """Whether TensorFlow can be imported (TFLite conversion and TensorBoard need it, whatever the backend)."""
    return importlib.util.find_spec("tensorflow") is not None


def check_backend(cfg: dict[str, Any]) -> None:
    """ConfigError when the backend is not one training supports, or a TensorFlow-only option is asked for."""
    name = backend()
    if name not in BACKENDS:
        raise ConfigError(f"KERAS_BACKEND: training runs on {' or '.join(BACKENDS)}, not {name!r}")
    if name != "tensorflow":
        for key in ("grad_norms", "profile_batches"):
            if cfg["train"][key]:
                raise ConfigError(f"train.{key}: needs KERAS_BACKEND=tensorflow (the backend is {name})")


def gpu_available() -> bool:
    """Whether the backend sees a GPU."""
    if backend() == "jax":
        import jax

        return any(d.platform == "gpu" for d in jax.devices())
    import tensorflow as tf

    return bool(tf.config.list_physical_devices("GPU"))


def resolve_precision(requested: str) -> str:
    """``auto`` -> ``mixed_float16`` when the backend sees a GPU, else ``float32``."""
    if requested == "auto":
        return "mixed_float16" if gpu_available() else "float32"
    return requested


class _DebugMode:
    """``debug``: eager execution with numeric checks (TensorFlow) or NaN checks (JAX); :meth:`close` undoes it."""

    def __init__(self, on: bool) -> None:
        self.on, self.name = on, backend()
        if not on:
            return
        if self.name == "jax":
            import jax

            jax.config.update("jax_debug_nans", True)
        else:
            import tensorflow as tf

            tf.config.run_functions_eagerly(True)
            tf.debugging.enable_check_numerics()

    def close(self) -> None:
        if not self.on:
            return
        if self.name == "jax":
            import jax

            jax.config.update("jax_debug_nans", False)
        else:
            import tensorflow as tf

            tf.config.run_functions_eagerly(False)
            tf.debugging.disable_check_numerics()


def debug_mode(on: bool) -> _DebugMode:
    return _DebugMode(on)


def get_strategy() -> Any:
    """TensorFlow: MirroredStrategy over all GPUs when there are several, else the default strategy (one GPU or
    the CPU). The verification metrics sum their histograms across replicas, so they stay exact."""
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    if len(gpus) > 1:
        return tf.distribute.MirroredStrategy()
    return tf.distribute.get_strategy()


def distribution_scope() -> Any:
    """Where the model and optimizer are built: TensorFlow's strategy scope; on JAX nothing (data parallelism is
    the global ``keras.distribution`` set by :func:`siamese.training.distributed.initialize`)."""
    if backend() == "tensorflow":
        return get_strategy().scope()
    return contextlib.nullcontext()


def data_shard() -> tuple[int, int]:
    """``(this process, processes)``: which rows of each global batch this process feeds (JAX multi-process data
    parallelism); ``(0, 1)`` otherwise."""
    if backend() == "jax":
        import jax

        return int(jax.process_index()), int(jax.process_count())
    return 0, 1


def join_processes() -> bool:
    """Join a multi-process data-parallel run when ``SIAMESE_COORDINATOR``, ``SIAMESE_NUM_PROCESSES`` and
    ``SIAMESE_PROCESS_ID`` are set (:mod:`siamese.training.distributed`; JAX backend), once per process. Returns
    whether this process writes the outputs (process 0, or the only one)."""
    from siamese.training import distributed

    dcfg = distributed.DistributedConfig.from_env()
    if dcfg is not None and dcfg.num_processes > 1:
        import jax

        if not jax.distributed.is_initialized():
            distributed.initialize(dcfg)
    return distributed.is_chief()


def tensorboard_available() -> bool:
    """Keras' TensorBoard callback writes through TensorFlow; without it the logs are skipped (with a warning)."""
    if backend() == "tensorflow" or has_tensorflow():
        return True
    warnings.warn("train.tensorboard: TensorFlow is not installed, so no TensorBoard logs are written", stacklevel=2)
    return False


def can_convert_tflite() -> bool:
    """The runtime's TFLite file needs TensorFlow's converter (from a JAX-trained tower too, through jax2tf);
    without it the model directory gets only the ``.keras`` tower, and ``siamese export`` adds the TFLite file
    later on a machine with TensorFlow."""
    return has_tensorflow()


def build_tower(cfg: dict[str, Any]) -> Any:
    """The embedding tower named by ``model.tower`` (``plugins.TOWERS``)."""
    m = cfg["model"]
    size = cfg["faces"]["size"]
    builder = plugins.TOWERS.get(m["tower"])
    try:
        return builder(input_shape=(size, size, 3), embedding_dim=m["embedding_dim"], **m["tower_args"])
    except (TypeError, ValueError) as e:
        raise ConfigError(f"model.tower_args: {m['tower']}: {e}") from None


def build_optimizer(cfg: dict[str, Any]) -> Any:
    """Adam / AdamW / SGD with the configured learning-rate schedule (constant or cosine with warm-up), keeping an
    exponential moving average of the weights when ``train.optimizer.ema`` is a momentum (Keras' ``use_ema``)."""
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
    ema = {"use_ema": True, "ema_momentum": float(o["ema"])} if o["ema"] is not None else {}
    if o["name"] == "adam":
        return keras.optimizers.Adam(lr, **ema)
    if o["name"] == "adamw":
        return keras.optimizers.AdamW(lr, weight_decay=float(o["weight_decay"]) or 1e-4, **ema)
    return keras.optimizers.SGD(lr, momentum=0.9, nesterov=True, **ema)


def takes_pairs(loss: Any) -> bool:
    """True for losses on the distances of a twin model's pairs (``loss(same, distance)``), False for losses on
    the embeddings of identity-labelled P x K batches (``loss(labels, embeddings)``)."""
    return bool(getattr(loss, "pair_input", False))


def build_loss(cfg: dict[str, Any]) -> Any:
    """The loss named by ``loss.name`` (``plugins.LOSSES``) with ``loss.margin`` and ``loss.args``; losses on
    embeddings also get the model's one distance (``model.distance``)."""
    lc = cfg["loss"]
    cls = plugins.LOSSES.get(lc["name"])
    kwargs: dict[str, Any] = {"margin": float(lc["margin"]), **lc["args"]}
    for key in ("pos_margin", "miner", "reducer"):
        if lc.get(key) is not None:
            kwargs[key] = lc[key]
    params = inspect.signature(cls).parameters
    if not getattr(cls, "pair_input", False):
        if "distance" in params:
            kwargs.setdefault("distance", cfg["model"]["distance"])
        elif "distance_metric" in params:
            kwargs.setdefault("distance_metric", cfg["model"]["distance"])
    if kwargs.get("memory_size") and "memory_dim" in params:
        kwargs.setdefault("memory_dim", cfg["model"]["embedding_dim"])
    try:
        return cls(**kwargs)
    except (TypeError, ValueError) as e:
        raise ConfigError(f"loss.args: {lc['name']}: {e}") from None


def verification_metrics(distance: str) -> list[Any]:
    """The project's stateful verification metrics, with the histogram range of ``distance``."""
    from siamese import distances, metrics

    rng = float(distances.get(distance).max_value)
    return [metrics.VerificationAccuracy(name="accuracy", max_distance=rng),
            metrics.EqualErrorRate(name="eer", max_distance=rng),
            metrics.TrueAcceptRate(far=1e-3, name="tar", max_distance=rng),
            metrics.VerificationAUC(name="auc", max_distance=rng)]


class _Margins:
    """The named margins of several losses seen as one (the embedding loss's and the head's ``head_margin``)."""

    def __init__(self, *losses: Any) -> None:
        from siamese.callbacks.margin_scheduler import find_margins

        self.margins: dict[str, Any] = {}
        for loss in losses:
            self.margins.update(find_margins(loss) or {})


def check_head(cfg: dict[str, Any]) -> None:
    """``model.head`` needs a loss on identity-labelled batches (the twin model's pair loss has no identities)."""
    if cfg["model"]["head"] is not None and getattr(plugins.LOSSES.get(cfg["loss"]["name"]), "pair_input", False):
        raise ConfigError(f"model.head: needs a loss on identity-labelled batches (e.g. batch_contrastive), not "
                          f"{cfg['loss']['name']!r}")


def build_head(cfg: dict[str, Any], num_classes: int) -> tuple[Any, Any]:
    """``(layer, loss)`` of ``model.head`` (``plugins.HEADS``) over ``num_classes`` training identities."""
    from siamese.models.heads import identification_head

    head = cfg["model"]["head"]
    return identification_head(head["kind"], num_classes, margin=head["margin"], scale=head["scale"])


def build_margin_schedulers(cfg: dict[str, Any], *losses: Any) -> list[Any]:
    """The MarginScheduler of ``loss.margin_schedule``: one schedule for ``margin``, or ``{margin_name: schedule}``
    for several named margins of the losses (``margin``, ``pos_margin``, the head's ``head_margin``); each is
    logged under its name."""
    from siamese import callbacks

    spec = cfg["loss"]["margin_schedule"]
    if spec is None:
        return []
    if isinstance(spec, dict) and "name" not in spec:
        margins = _Margins(*losses)
        unknown = sorted(set(spec) - set(margins.margins))
        if unknown:
            raise ConfigError(f"loss.margin_schedule: no margin named {', '.join(unknown)} (the losses have: "
                              f"{', '.join(sorted(margins.margins)) or 'none'})")
        return [callbacks.MarginScheduler(spec, loss=margins)]
    return [callbacks.MarginScheduler(spec, margin=losses[0])]
