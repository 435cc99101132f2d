"""Data-parallel training over several processes or machines: Keras 3 ``keras.distribution.DataParallel`` on the
JAX backend, processes joined by ``jax.distributed``. No TensorFlow is imported here.

Launching on N machines (or N processes on one machine): run the **same command** on each, with ``KERAS_BACKEND=jax``
and three environment variables::

    SIAMESE_COORDINATOR=10.0.0.1:12345   # machine 0's address and a free port, identical on every process
    SIAMESE_NUM_PROCESSES=N
    SIAMESE_PROCESS_ID=k                 # 0 .. N-1, distinct; process 0 hosts the coordinator service

then, first thing, before any JAX computation (before building a model or touching an array)::

    cfg = DistributedConfig.from_env()   # None when the variables are unset: single process, nothing to do
    if cfg is not None:
        initialize(cfg)

How a step works (Keras 3.15 ``keras/src/backend/jax/trainer.py`` and ``distribution_lib.py``): with a distribution
set, ``model.fit`` / ``train_on_batch`` pass every batch through ``_distribute_data``, which calls
``distribute_data_input`` = ``jax.make_array_from_process_local_data(sharding, local_batch)``: each process hands in
only **its own rows**, and the global batch is their concatenation in process order (the mesh is ``jax.devices()``,
ordered by process index), so a local batch of ``B/N`` rows on each of N processes is a global batch of ``B``. The
train step is one ``jax.jit`` over the global array with replicated variables: loss, gradients and metric updates
are computed over the **whole global batch** (XLA inserts the cross-process all-reduces; on CPU through gloo over
TCP), so a batch loss that mines pairs across the batch (:class:`~siamese.losses.BatchContrastiveLoss`) sees every
pair of the global batch, the weights stay identical on every process, and stateful metrics (histograms) are exact
global counts -- the run equals one process fed the global batches, up to float summation order.

Feeding data: each process must feed, step for step, its slice ``shard_rows(k, N, B)`` of the same global batches
(numpy arrays with ``batch_size=B // N`` and ``shuffle=False``, or a ``PyDataset`` returning those rows), every
process the same number of steps. ``auto_shard_dataset`` is off (Keras would otherwise demand a ``tf.data``
dataset and shard it itself). Only process 0 should write checkpoints or the model directory
(:func:`is_chief`); every process holds the same weights. ``model.evaluate`` works (metrics over the global
batch, the same on every process), ``model.predict`` does not (Keras cannot fetch an output spanning other
processes): use :func:`local_predict`. Every process must make the same sequence of ``fit`` / ``evaluate`` calls
with the same number of steps, or the collectives wait for the missing one (until ``timeout_s``/heartbeat).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from siamese.errors import ConfigError

ENV_COORDINATOR = "SIAMESE_COORDINATOR"
ENV_NUM_PROCESSES = "SIAMESE_NUM_PROCESSES"
ENV_PROCESS_ID = "SIAMESE_PROCESS_ID"
_ENV = (ENV_COORDINATOR, ENV_NUM_PROCESSES, ENV_PROCESS_ID)


@dataclass(frozen=True)
class DistributedConfig:
    """Where this process sits in a multi-process run.

    ``coordinator``: ``"host:port"`` of process 0's coordinator service (the same on every process);
    ``num_processes`` >= 1; ``process_id`` in ``[0, num_processes)``; ``timeout_s``: how long
    :func:`initialize` waits for all processes to join.
    """

    coordinator: str
    num_processes: int
    process_id: int
    timeout_s: int = 300

    def __post_init__(self) -> None:
        host, sep, port = self.coordinator.rpartition(":")
        if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise ConfigError(f"{ENV_COORDINATOR}: expected host:port, got {self.coordinator!r}")
        if not isinstance(self.num_processes, int) or self.num_processes < 1:
            raise ConfigError(f"{ENV_NUM_PROCESSES}: must be an integer >= 1, got {self.num_processes!r}")
        if not isinstance(self.process_id, int) or not 0 <= self.process_id < self.num_processes:
            raise ConfigError(f"{ENV_PROCESS_ID}: must be an integer in [0, {self.num_processes}), "
                              f"got {self.process_id!r}")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> DistributedConfig | None:
        """The config from ``SIAMESE_COORDINATOR``, ``SIAMESE_NUM_PROCESSES``, ``SIAMESE_PROCESS_ID`` (of
        ``environ``, default ``os.environ``); ``None`` when none is set. A missing or bad one raises
        :class:`~siamese.errors.ConfigError` naming the variable."""
        env = os.environ if environ is None else environ
        values = {name: env.get(name, "").strip() for name in _ENV}
        if not any(values.values()):
            return None
        for name, value in values.items():
            if not value:
                raise ConfigError(f"{name}: not set (the three of {', '.join(_ENV)} go together)")
        return cls(values[ENV_COORDINATOR], _int(ENV_NUM_PROCESSES, values[ENV_NUM_PROCESSES]),
                   _int(ENV_PROCESS_ID, values[ENV_PROCESS_ID]))


def _int(name: str, value: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise ConfigError(f"{name}: not an integer: {value!r}") from None


def shard_rows(k: int, n: int, batch_size: int) -> slice:
    """Rows of a global batch of ``batch_size`` that process ``k`` of ``n`` feeds: ``k*B/n : (k+1)*B/n``.

    ``make_array_from_process_local_data`` puts process k's rows at exactly these positions of the global
    array. ``batch_size`` must divide by ``n`` (every process feeds the same number of rows). Shards need not
    hold whole identities of a P x K batch: the loss sees the global batch.
    """
    if not 0 <= k < n:
        raise ValueError(f"shard {k} outside [0, {n})")
    if batch_size % n:
        raise ValueError(f"global batch size {batch_size} does not divide into {n} processes")
    per = batch_size // n
    return slice(k * per, (k + 1) * per)


def initialize(cfg: DistributedConfig) -> None:
    """Join the multi-process run and make Keras train data-parallel over every device of every process.

    Call once, before any JAX computation. Needs ``KERAS_BACKEND=jax`` (else
    :class:`~siamese.errors.ConfigError`). Sets gloo (TCP) cross-process collectives for CPU devices
    (``jax_cpu_collectives_implementation``; JAX 0.10's default, set explicitly), calls
    ``jax.distributed.initialize``, agrees on one Keras random seed across processes unless one was set with
    ``keras.utils.set_random_seed`` (so every process initialises the same weights), and sets
    ``keras.distribution.DataParallel`` over ``jax.devices()`` with ``auto_shard_dataset=False``.
    """
    import keras

    if keras.config.backend() != "jax":
        raise ConfigError(f"KERAS_BACKEND: distributed training needs 'jax', got {keras.config.backend()!r}")
    import jax

    if jax.distributed.is_initialized():
        raise RuntimeError("siamese.training.distributed.initialize: jax.distributed is already initialized")
    jax.config.update("jax_cpu_collectives_implementation", "gloo")
    jax.distributed.initialize(coordinator_address=cfg.coordinator, num_processes=cfg.num_processes,
                               process_id=cfg.process_id, initialization_timeout=cfg.timeout_s)
    _agree_on_seed()
    keras.distribution.set_distribution(
        keras.distribution.DataParallel(devices=jax.devices(), auto_shard_dataset=False))


def _agree_on_seed() -> None:
    """Unless a Keras seed is set, seed every process with process 0's random seed, so that unseeded Keras
    initializers, ``SeedGenerator`` s and ``keras.random`` draw the same values everywhere (JAX refuses replicated
    variables whose initial values differ between processes). This is ``keras.utils.set_random_seed`` (Python
    ``random``, NumPy, Keras' global seed) without its TensorFlow seed, which imports TensorFlow when installed;
    Keras' own ``initialize_rng`` calls that."""
    import random

    from jax.experimental import multihost_utils
    from keras.src.backend.common import global_state
    from keras.src.random import seed_generator
    from keras.src.utils import rng_utils

    if rng_utils.get_random_seed() is not None:
        return
    local = np.uint32(np.random.SeedSequence().entropy % 2**31)
    seed = int(multihost_utils.broadcast_one_to_all(local))
    global_state.set_global_attribute(rng_utils.GLOBAL_RANDOM_SEED, seed)
    global_state.set_global_attribute(seed_generator.GLOBAL_SEED_GENERATOR, None)
    random.seed(seed)
    np.random.seed(seed)


def local_predict(model: Any, x: Any, batch_size: int = 256) -> np.ndarray:
    """``model(x)`` in batches, computed by this process alone on its local ``x`` (numpy, or a dict of numpy
    arrays for a multi-input model), as numpy.

    ``model.predict`` does not work in a multi-process run (Keras 3.15 fetches its output, a global array
    spanning other processes' devices: ``RuntimeError: Fetching value for jax.Array that spans non-addressable
    ... devices``), while an eager call reads the replicated weights locally. Works single-process too.
    """
    first = next(iter(x.values())) if isinstance(x, dict) else x
    out = []
    for start in range(0, len(first), batch_size):
        rows = slice(start, start + batch_size)
        batch = {k: v[rows] for k, v in x.items()} if isinstance(x, dict) else x[rows]
        out.append(np.asarray(model(batch, training=False)))
    return np.concatenate(out) if out else np.asarray(model(x, training=False))


@contextlib.contextmanager
def locally() -> Iterator[None]:
    """Within the block no distribution is set: what is built or run there lives on this process alone (saving,
    fingerprinting and TFLite conversion of the trained model, which must not wait for the other processes)."""
    import keras

    dist = keras.distribution.distribution()
    keras.distribution.set_distribution(None)
    try:
        yield
    finally:
        keras.distribution.set_distribution(dist)


def local_copy(model: Any) -> Any:
    """A copy of ``model`` whose variables live on this process alone, with the same weights (use it within
    :func:`locally` for anything that traces or saves it)."""
    import keras

    weights = model.get_weights()
    with locally():
        clone = keras.models.clone_model(model)
        clone.set_weights(weights)
    return clone


def barrier(name: str) -> None:
    """Wait until every process reaches ``name`` (nothing to wait for in a single process)."""
    import keras

    if keras.config.backend() != "jax":
        return
    import jax

    if jax.distributed.is_initialized() and jax.process_count() > 1:
        from jax.experimental import multihost_utils

        multihost_utils.sync_global_devices(name)


def is_chief() -> bool:
    """Whether this process should write shared outputs (model directory, checkpoints, logs): process 0, or the
    only process."""
    import keras

    if keras.config.backend() != "jax":
        return True
    import jax

    return not jax.distributed.is_initialized() or jax.process_index() == 0


__all__ = ["ENV_COORDINATOR", "ENV_NUM_PROCESSES", "ENV_PROCESS_ID", "DistributedConfig", "barrier", "initialize",
           "is_chief", "local_copy", "locally", "local_predict", "shard_rows"]
