"""Run by test_distributed.py (``KERAS_BACKEND=jax``): train a tiny two-output siamese model for a few steps on
fixed global batches and write ``OUT.npz``.

With ``SIAMESE_COORDINATOR`` / ``SIAMESE_NUM_PROCESSES`` / ``SIAMESE_PROCESS_ID`` set it joins a multi-process
run through :func:`siamese.training.distributed.initialize` and feeds only its rows
(:func:`~siamese.training.distributed.shard_rows`) of each global batch; without them it trains alone on the
full global batches. The model embeds 8-D points (``emb``, :class:`~siamese.losses.BatchContrastiveLoss` on
identity labels, mined over the whole global batch) and gives pair distances (``dist``,
:class:`~siamese.losses.ContrastiveLoss` on pair labels, 1 = same identity, with verification metrics).

The npz holds: ``w<i>`` the final weights, ``init<i>`` the initial ones, ``loss`` the per-step running mean of
the total loss as ``fit`` logs it, ``metric_<name>`` each metric after the last step, ``global_batch`` the first
global batch as JAX assembled it from the processes' rows (gathered back), ``processes`` the process count,
``unseeded`` a ``keras.random.uniform`` draw without a seed (equal on all processes of one run), ``embedded`` the
trained tower's embeddings of the first global batch by :func:`~siamese.training.distributed.local_predict` on
process 0 only (empty on the others), ``chief`` :func:`~siamese.training.distributed.is_chief`.
"""

from __future__ import annotations

import io
import sys

import numpy as np

from siamese.training import distributed

STEPS = 5
GLOBAL_BATCH = 16  # 4 identities x 4 rows per global batch
DIM = 8


def global_batches(steps: int = STEPS, batch: int = GLOBAL_BATCH, seed: int = 7) -> list[dict[str, np.ndarray]]:
    """Fixed global batches: anchors ``a`` and partners ``b`` of 8 identities (Gaussian centres), identity labels
    of ``a`` and pair labels (1 = ``b`` of the same identity)."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(0.0, 1.0, (8, DIM))
    out = []
    for _ in range(steps):
        ids = np.repeat(rng.choice(8, batch // 4, replace=False), 4)
        same = (np.arange(batch) % 2 == 0).astype(np.float32)
        other = np.where(same == 1, ids, (ids + 1 + rng.integers(0, 7, batch)) % 8)
        a = centres[ids] + rng.normal(0.0, 0.4, (batch, DIM))
        b = centres[other] + rng.normal(0.0, 0.4, (batch, DIM))
        out.append({"a": a.astype(np.float32), "b": b.astype(np.float32), "ids": ids.astype(np.float32),
                    "same": same})
    return out


def main(out_path: str) -> None:
    cfg = distributed.DistributedConfig.from_env()
    if cfg is not None:
        distributed.initialize(cfg)  # before anything touches JAX
    k, n = (cfg.process_id, cfg.num_processes) if cfg else (0, 1)

    import jax
    import keras
    from jax.experimental import multihost_utils

    from siamese import layers, losses, metrics

    # seeded initializers: the single-process run starts from the same weights (keras.utils.set_random_seed would
    # import TensorFlow); the unseeded draw checks that initialize() made the processes agree on Keras' seed
    unseeded = np.asarray(keras.random.uniform((4,)))
    rows = distributed.shard_rows(k, n, GLOBAL_BATCH)
    batches = global_batches()

    class Shard(keras.utils.PyDataset):
        """This process's rows of each global batch."""

        def __len__(self) -> int:
            return len(batches)

        def __getitem__(self, i: int):
            g = batches[i]
            return ({"a": g["a"][rows], "b": g["b"][rows]}, {"emb": g["ids"][rows], "dist": g["same"][rows]})

    # how JAX assembles the global batch from each process's rows (what fit does with every batch)
    dist = keras.distribution.distribution()
    local = batches[0]["a"][rows]
    if dist is not None:
        sharding = dist.get_data_layout((GLOBAL_BATCH, DIM)).backend_layout
        assembled = multihost_utils.process_allgather(
            jax.make_array_from_process_local_data(sharding, local), tiled=True)
    else:
        assembled = local

    def glorot(seed: int) -> keras.initializers.Initializer:
        return keras.initializers.GlorotUniform(seed=seed)

    tower = keras.Sequential([keras.Input((DIM,)), keras.layers.Dense(16, "tanh", kernel_initializer=glorot(1)),
                              keras.layers.Dense(4, kernel_initializer=glorot(2))], name="tower")
    a, b = keras.Input((DIM,), name="a"), keras.Input((DIM,), name="b")
    ea, eb = tower(a), tower(b)
    emb = keras.layers.Identity(name="emb")(ea)
    dist_out = keras.layers.Identity(name="dist")(layers.EuclideanDistance()([ea, eb]))
    model = keras.Model({"a": a, "b": b}, {"emb": emb, "dist": dist_out})
    init = [np.asarray(w) for w in model.get_weights()]
    model.compile(
        optimizer=keras.optimizers.SGD(0.1, momentum=0.9),
        loss={"emb": losses.BatchContrastiveLoss(margin=1.0), "dist": losses.ContrastiveLoss(margin=1.0)},
        metrics={"dist": [metrics.VerificationAccuracy(num_bins=256, max_distance=4.0),
                          metrics.VerificationAccuracy(threshold=0.8, name="acc_at_0_8"),
                          metrics.EqualErrorRate(num_bins=256, max_distance=4.0)]},
    )
    step_loss: list[float] = []
    logs_end: dict[str, float] = {}

    class Record(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            step_loss.append(float(logs["loss"]))

        def on_epoch_end(self, epoch, logs=None):
            logs_end.update({key: float(value) for key, value in logs.items()})

    model.fit(Shard(), epochs=1, shuffle=False, verbose=0, callbacks=[Record()])

    # every row of the first global batch, embedded by this process alone (model.predict fails multi-process);
    # only process 0 does it, the way a chief-only validation callback would
    if k == 0:
        embedded = distributed.local_predict(tower, batches[0]["a"], batch_size=6)
    else:
        embedded = np.zeros((0, 4), np.float32)
    payload = {f"w{i}": np.asarray(w) for i, w in enumerate(model.get_weights())}
    payload.update({f"init{i}": w for i, w in enumerate(init)})
    payload.update({f"metric_{key}": np.float64(value) for key, value in logs_end.items()})
    payload.update(loss=np.asarray(step_loss), global_batch=np.asarray(assembled), processes=np.int64(n),
                   unseeded=unseeded, embedded=embedded,
                   chief=np.bool_(distributed.is_chief()))
    buffer = io.BytesIO()
    np.savez(buffer, **payload)
    from siamese._files import atomic_write_bytes

    atomic_write_bytes(out_path, buffer.getvalue())
    if cfg is not None:
        jax.distributed.shutdown()


if __name__ == "__main__":
    main(sys.argv[1])
