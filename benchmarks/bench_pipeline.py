"""Is the input pipeline the bottleneck? Training steps/s of a small twin model fed by
``pair_dataset`` (with augmentation) versus the same step fed one in-memory batch repeated.

    python benchmarks/bench_pipeline.py --data /work/shared/data --steps 10 --repeats 5

Faces: ORL (400 photos, 40 people), centre-cropped to 64x64 by ``FaceAligner(detector="none")``
through the face cache (a temporary folder unless ``--cache-dir``). Model:
``build_siamese(get_tower("small_cnn", (64, 64, 3), 64))`` with the contrastive loss, Adam.
Both feeds run through ``model.fit(steps_per_epoch=steps)``; a warm-up epoch each, then
``--repeats`` timed epochs per feed, alternating, medians. A ratio (pipeline / in-memory) >= ~0.9 means the pipeline
keeps up with the model. Also prints the pipeline alone (batches/s, no model) and steps per
CPU-second of the whole process: on a shared CPU box, where other jobs distort wall-clock
time, the CPU ratio is the steadier measure of what the pipeline costs.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import tensorflow as tf  # noqa: E402

from siamese.data import load_faces, make_augmentation, pair_dataset, read_identity_folders  # noqa: E402
from siamese.faces import FaceAligner  # noqa: E402
from siamese.paths import data_root  # noqa: E402


def build_model(size: int) -> keras.Model:
    try:
        from siamese.losses import ContrastiveLoss
        from siamese.models import build_siamese, get_tower

        model = build_siamese(get_tower("small_cnn", input_shape=(size, size, 3), embedding_dim=64))
        loss: keras.losses.Loss | str = ContrastiveLoss(margin=1.0)
    except ImportError:  # siamese.models / siamese.losses not there: a local tiny twin
        tower = keras.Sequential(
            [keras.Input((size, size, 3)), keras.layers.Rescaling(1 / 255), keras.layers.Conv2D(32, 3, strides=2),
             keras.layers.ReLU(), keras.layers.GlobalAveragePooling2D(), keras.layers.Dense(64),
             keras.layers.UnitNormalization()]
        )
        a, b = keras.Input((size, size, 3)), keras.Input((size, size, 3))
        d = keras.layers.Lambda(lambda t: keras.ops.norm(t[0] - t[1], axis=-1, keepdims=True))([tower(a), tower(b)])
        model, loss = keras.Model([a, b], d), "mse"
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss=loss)
    return model


def time_epoch(model: keras.Model, ds: tf.data.Dataset, steps: int) -> tuple[float, float]:
    """Steps per wall-clock second and per CPU second (all threads of this process) of one epoch."""
    t0, c0 = time.perf_counter(), time.process_time()
    model.fit(ds, steps_per_epoch=steps, epochs=1, verbose=0, shuffle=False)
    return steps / (time.perf_counter() - t0), steps / (time.process_time() - c0)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=None, help="data root holding orl/ (default: $SIAMESE_DATA)")
    ap.add_argument("--cache-dir", default=None)
    ap.add_argument("--size", type=int, default=64)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--no-augment", action="store_true")
    args = ap.parse_args()
    keras.utils.set_random_seed(0)

    ds_info = read_identity_folders(data_root(args.data) / "orl")
    with tempfile.TemporaryDirectory() as tmp:
        loaded = load_faces(ds_info.paths, FaceAligner(detector="none", size=args.size),
                            cache_dir=args.cache_dir or tmp, progress=False)
    faces, labels = loaded.faces, ds_info.labels[loaded.index]
    augment = None if args.no_augment else make_augmentation(seed=0)
    pipeline = pair_dataset(faces, labels, args.batch_size, seed=0, augment=augment)

    t0 = time.perf_counter()
    n_alone = 0
    for _ in pipeline.take(args.steps * 2):
        n_alone += 1
    alone = n_alone / (time.perf_counter() - t0)

    (a, b), y = next(iter(pair_dataset(faces, labels, args.batch_size, seed=1)))
    in_memory = tf.data.Dataset.from_tensors(((a, b), y)).repeat()

    # one model for both feeds; a warm-up epoch each, then timed epochs alternating between the
    # feeds so that load from other processes falls on both alike; medians
    model = build_model(args.size)
    time_epoch(model, in_memory, 3)
    time_epoch(model, pipeline, 3)
    mem_rates, pipe_rates = [], []
    for _ in range(args.repeats):
        mem_rates.append(time_epoch(model, in_memory, args.steps))
        pipe_rates.append(time_epoch(model, pipeline, args.steps))
    rate_mem, rate_pipe = (statistics.median(r[0] for r in rates) for rates in (mem_rates, pipe_rates))
    cpu_mem, cpu_pipe = (statistics.median(r[1] for r in rates) for rates in (mem_rates, pipe_rates))
    ratios = [p[0] / m[0] for p, m in zip(pipe_rates, mem_rates, strict=True)]

    gpus = tf.config.list_physical_devices("GPU")
    device = f"GPU {gpus[0].name}" if gpus else "CPU"
    print(f"machine: {platform.machine()} {os.cpu_count()} cores, {device}; "
          f"TF {tf.__version__}, Keras {keras.__version__}")
    print(f"faces: ORL {len(faces)} x {args.size}x{args.size}; batch {args.batch_size}; "
          f"augmentation: {'off' if augment is None else 'flip+affine+color'}")
    print(f"pipeline alone (no model):          {alone:8.1f} batches/s")
    print(f"train step, in-memory batch:        {rate_mem:8.3f} steps/s wall  {cpu_mem:8.3f} steps/CPU-s")
    print(f"train step, pair_dataset pipeline:  {rate_pipe:8.3f} steps/s wall  {cpu_pipe:8.3f} steps/CPU-s")
    print(f"ratio pipeline / in-memory:         {rate_pipe / rate_mem:8.3f} wall  "
          f"{cpu_pipe / cpu_mem:8.3f} CPU  (median of per-pair wall ratios {statistics.median(ratios):.3f}; "
          f"{args.repeats} x {args.steps} steps per feed)")


if __name__ == "__main__":
    main()
