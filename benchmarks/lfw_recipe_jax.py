"""Explore LFW training recipes quickly (GPU, Keras 3 JAX backend) for the 2-core CPU budget.

Reads the pre-aligned faces of ``.gpu/lfw112.bin`` / ``.gpu/lfw112.json`` (JPEG bytes of YuNet-aligned
112x112 RGB faces, encoded from BGR; the first ``n_train`` are training faces of LFW people NOT in
pairsDevTest, ``test_a`` / ``test_b`` / ``test_same`` are the 1000 View 1 devtest pairs). Trains a tower
from :func:`siamese.models.get_tower` on seeded P x K batches (numpy augmentation: horizontal flip and a
random shift by reflect-pad + crop) with Adam(W) and a cosine schedule with linear warm-up, then reports
devtest accuracy (10-fold with random folds, and best-threshold accuracy) on flip-averaged embeddings.
One JSON line per run on stdout.

Works with any Keras backend (``KERAS_BACKEND=jax`` on the GPU machine, ``tensorflow`` on the CPU box).
``--time-only N`` skips training and evaluation: it times N compiled train steps on one fixed P x K batch
after 3 warm-up steps (images/second of pure training compute) -- the figure used to turn a CPU time budget
into an image budget (images/s x seconds).

Example (GPU):
  KERAS_BACKEND=jax python3 benchmarks/lfw_recipe_jax.py --tower small_cnn --size 64 --width 32 \
      --blocks 4 --loss triplet_semihard --margin 0.3 --P 32 --K 4 --lr 2e-3 --steps 2000
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import cv2
import numpy as np

REPO = Path(__file__).resolve().parents[1]


def load_faces(data_dir: Path, size: int) -> tuple[np.ndarray, dict]:
    """All faces as uint8 RGB ``(n, size, size, 3)`` (cv2.INTER_AREA when resized) and the json metadata."""
    meta = json.loads((data_dir / "lfw112.json").read_text())
    blob = np.fromfile(data_dir / "lfw112.bin", dtype=np.uint8)
    offsets = meta["offsets"]
    n = len(offsets) - 1
    faces = np.empty((n, size, size, 3), np.uint8)
    for i in range(n):
        bgr = cv2.imdecode(blob[offsets[i]:offsets[i + 1]], cv2.IMREAD_COLOR)
        if bgr is None:
            raise ValueError(f"face {i}: JPEG decode failed")
        if bgr.shape[0] != size:
            bgr = cv2.resize(bgr, (size, size), interpolation=cv2.INTER_AREA)
        faces[i] = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
    return faces, meta


class PKSampler:
    """Seeded P identities x K images per batch; identities with fewer than K images are drawn with replacement."""

    def __init__(self, labels: np.ndarray, P: int, K: int, seed: int) -> None:
        self.rng = np.random.default_rng(seed)
        self.P, self.K = P, K
        order = np.argsort(labels, kind="stable")
        ids, starts, counts = np.unique(labels[order], return_index=True, return_counts=True)
        self.members = [order[s:s + c] for s, c in zip(starts, counts, strict=True)]
        self.ids = ids

    def __call__(self) -> tuple[np.ndarray, np.ndarray]:
        chosen = self.rng.choice(len(self.ids), size=self.P, replace=False)
        idx = []
        for c in chosen:
            m = self.members[c]
            idx.append(self.rng.choice(m, size=self.K, replace=len(m) < self.K))
        idx = np.concatenate(idx)
        return idx, np.repeat(self.ids[chosen], self.K).astype(np.int32)


def augment(images: np.ndarray, rng: np.random.Generator, shift: int) -> np.ndarray:
    """Random horizontal flip and a random shift of up to ``shift`` pixels (reflect-pad then crop), uint8."""
    n, h, w, _ = images.shape
    out = images.copy()
    flip = rng.random(n) < 0.5
    out[flip] = out[flip, :, ::-1]
    if shift > 0:
        padded = np.pad(out, ((0, 0), (shift, shift), (shift, shift), (0, 0)), mode="reflect")
        dy = rng.integers(0, 2 * shift + 1, n)
        dx = rng.integers(0, 2 * shift + 1, n)
        for i in range(n):
            out[i] = padded[i, dy[i]:dy[i] + h, dx[i]:dx[i] + w]
    return out


def batch_contrastive(margin: float, metric: str):
    """Contrastive loss over all pairs of the batch: mean of d^2 over genuine pairs plus mean of
    max(margin - d, 0)^2 over impostor pairs (each class averaged separately), float32 scalar."""
    from keras import ops

    from siamese.layers.pairwise import pairwise_distances
    from siamese.losses.mining import label_masks

    def loss(y_true, y_pred):
        d = pairwise_distances(ops.cast(y_pred, "float32"), metric)
        pos, neg = label_masks(y_true)
        pos_term = ops.sum(pos * ops.square(d)) / ops.maximum(ops.sum(pos), 1.0)
        neg_term = ops.sum(neg * ops.square(ops.maximum(margin - d, 0.0))) / ops.maximum(ops.sum(neg), 1.0)
        return pos_term + neg_term

    return loss


def build(args: argparse.Namespace, steps: int):
    import keras

    from siamese.losses import TripletHardLoss, TripletSemiHardLoss
    from siamese.models import get_tower

    keras.utils.set_random_seed(args.seed)
    keras.mixed_precision.set_global_policy(args.precision)
    kw = {"width": args.width}
    if args.tower == "small_cnn":
        kw["blocks"] = args.blocks
        kw["width"] = int(args.width)
    else:
        kw["depth"] = args.depth
    if args.dropout:
        kw["dropout"] = args.dropout
    tower = get_tower(args.tower, (args.size, args.size, 3), args.emb, **kw)
    if args.loss == "triplet_semihard":
        loss = TripletSemiHardLoss(args.margin, distance_metric=args.metric)
    elif args.loss == "triplet_hard":
        loss = TripletHardLoss(args.margin, soft=False, distance_metric=args.metric)
    elif args.loss == "contrastive":
        loss = batch_contrastive(args.margin, args.metric)
    else:
        raise ValueError(f"unknown loss {args.loss!r}")
    warmup = min(args.warmup, max(steps - 1, 0))
    schedule = keras.optimizers.schedules.CosineDecay(
        initial_learning_rate=0.0 if warmup else args.lr, decay_steps=max(steps - warmup, 1), alpha=0.01,
        warmup_target=args.lr if warmup else None, warmup_steps=warmup)
    opt = keras.optimizers.AdamW(schedule, weight_decay=args.wd) if args.wd > 0 else keras.optimizers.Adam(schedule)
    tower.compile(optimizer=opt, loss=loss, jit_compile=args.jit)
    return tower


def embed(tower, images: np.ndarray, batch: int = 256) -> np.ndarray:
    """Flip-averaged, L2-normalised float32 embeddings."""
    x = images.astype(np.float32)
    e = tower.predict(x, batch_size=batch, verbose=0) + tower.predict(x[:, :, ::-1], batch_size=batch, verbose=0)
    e = np.asarray(e, np.float32)
    return e / np.maximum(np.linalg.norm(e, axis=1, keepdims=True), 1e-12)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--data", type=Path, default=REPO / ".gpu")
    p.add_argument("--precision", default="float32", choices=["float32", "mixed_float16", "mixed_bfloat16"])
    p.add_argument("--steps", type=int, default=1000)
    p.add_argument("--size", type=int, default=64)
    p.add_argument("--tower", default="small_cnn", choices=["small_cnn", "iresnet"])
    p.add_argument("--width", type=float, default=32, help="small_cnn: base channels; iresnet: multiplier")
    p.add_argument("--blocks", type=int, default=4, help="small_cnn blocks")
    p.add_argument("--depth", type=int, default=18, help="iresnet depth")
    p.add_argument("--dropout", type=float, default=0.0)
    p.add_argument("--emb", type=int, default=128)
    p.add_argument("--loss", default="triplet_semihard", choices=["triplet_semihard", "triplet_hard", "contrastive"])
    p.add_argument("--metric", default="L2", help="L2, squared-L2 or angular")
    p.add_argument("--margin", type=float, default=0.3)
    p.add_argument("--P", type=int, default=32)
    p.add_argument("--K", type=int, default=4)
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--wd", type=float, default=0.0, help="AdamW weight decay (0 = Adam)")
    p.add_argument("--warmup", type=int, default=100, help="linear warm-up steps")
    p.add_argument("--shift", type=int, default=-1, help="max random shift in pixels (-1: size // 16)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--jit", default="auto", help="compile(jit_compile=...): auto, true, false")
    p.add_argument("--time-only", type=int, default=0, help="only time this many steps of a fixed batch")
    p.add_argument("--tag", default="")
    args = p.parse_args(argv)
    args.jit = {"auto": "auto", "true": True, "false": False}[str(args.jit).lower()]
    shift = args.size // 16 if args.shift < 0 else args.shift

    import keras

    t0 = time.perf_counter()
    faces, meta = load_faces(args.data, args.size)
    n_train = meta["n_train"]
    labels = np.asarray(meta["train_labels"], np.int32)
    load_s = time.perf_counter() - t0
    sampler = PKSampler(labels, args.P, args.K, args.seed)
    aug_rng = np.random.default_rng(args.seed + 1)
    batch = args.P * args.K
    record = {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()}
    record.update(backend=keras.backend.backend(), batch=batch, shift=shift, load_s=round(load_s, 1))

    if args.time_only:
        tower = build(args, args.time_only + 3)
        idx, y = sampler()
        x = augment(faces[idx], aug_rng, shift).astype(np.float32)
        for _ in range(3):
            tower.train_on_batch(x, y)
        t = time.perf_counter()
        for _ in range(args.time_only):
            out = tower.train_on_batch(x, y)
        float(np.asarray(out))  # block until done
        dt = time.perf_counter() - t
        record.update(images_per_s=round(args.time_only * batch / dt, 1), step_ms=round(1000 * dt / args.time_only, 2),
                      loadavg=os.getloadavg()[0], params=tower.count_params())
        print(json.dumps(record), flush=True)
        return 0

    tower = build(args, args.steps)
    train_faces = faces[:n_train]
    losses = []
    t = time.perf_counter()
    t_first = None
    for step in range(args.steps):
        idx, y = sampler()
        x = augment(train_faces[idx], aug_rng, shift).astype(np.float32)
        out = tower.train_on_batch(x, y)
        if step == 0:
            float(np.asarray(out))
            t_first = time.perf_counter()
        if step % 100 == 0 or step == args.steps - 1:
            losses.append(round(float(np.asarray(out)), 4))
    float(np.asarray(out))
    train_s = time.perf_counter() - t
    steady = (args.steps - 1) * batch / max(time.perf_counter() - t_first, 1e-9) if args.steps > 1 else None

    from siamese import distances
    from siamese.evaluation import best_threshold, kfold_accuracy

    a = np.asarray(meta["test_a"])
    b = np.asarray(meta["test_b"])
    same = np.asarray(meta["test_same"], np.int32)
    used = np.unique(np.concatenate([a, b]))
    emb = np.zeros((len(faces), args.emb), np.float32)
    emb[used] = embed(tower, faces[used])
    d = distances.EUCLIDEAN.rowwise(emb[a], emb[b])
    kf = kfold_accuracy(d, same, folds=10, seed=args.seed)
    _, best_acc = best_threshold(d, same)
    record.update(
        devtest_kfold=round(kf["mean_accuracy"], 4), devtest_kfold_se=round(kf["standard_error"], 4),
        devtest_best=round(float(best_acc), 4), train_images=args.steps * batch, train_s=round(train_s, 1),
        images_per_s=round(args.steps * batch / train_s, 1),
        images_per_s_steady=round(steady, 1) if steady else None, params=tower.count_params(),
        loss_curve=losses, loadavg=os.getloadavg()[0])
    print(json.dumps(record), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
