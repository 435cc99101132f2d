"""Time one forward+backward pass of the metric-learning losses (CPU, compiled tf.function).

Usage: .venv/bin/python benchmarks/bench_losses.py [--batches 32 128 256] [--dim 128] [--repeats 20]
Prints a markdown table: median milliseconds per call of loss + gradient w.r.t. the embeddings.
The semi-hard miner builds a (batch, batch, batch) tensor, so its cost grows as batch**3.
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from keras import ops  # noqa: E402

from siamese import losses  # noqa: E402
from siamese.layers import pairwise_distances  # noqa: E402


def dense_semihard_loss(labels, embeddings, margin=0.5):
    """Baseline: TFA's O(n^3) formulation of the semi-hard miner (full anchor x positive x negative mask)."""
    pdist = pairwise_distances(embeddings, "L2")
    positives, negatives = losses.label_masks(labels)
    candidates = pdist[:, None, :]
    outside = ops.cast(
        ops.logical_and(ops.cast(negatives[:, None, :], "bool"), ops.greater(candidates, pdist[:, :, None])),
        "float32",
    )
    has_outside = ops.greater(ops.sum(outside, axis=-1), 0.0)
    negatives_outside = ops.squeeze(losses.masked_minimum(candidates, outside, axis=-1), axis=-1)
    negatives_inside = ops.broadcast_to(losses.masked_maximum(pdist, negatives), ops.shape(pdist))
    mined = ops.where(has_outside, negatives_outside, negatives_inside)
    return ops.sum(ops.maximum((margin + pdist - mined) * positives, 0.0)) / ops.sum(positives)


def time_call(fn, labels, emb, repeats: int) -> float:
    @tf.function(jit_compile=False)
    def step(y, e):
        with tf.GradientTape() as tape:
            tape.watch(e)
            value = fn(y, e)
        return value, tape.gradient(value, e)

    step(labels, emb)  # trace
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        value, grad = step(labels, emb)
        _ = grad.numpy()
        times.append(time.perf_counter() - start)
    return 1000.0 * float(np.median(times))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--batches", type=int, nargs="+", default=[32, 128, 256])
    parser.add_argument("--dim", type=int, default=128)
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    cases = {
        "contrastive (pairs)": None,
        "triplet_semihard L2": lambda y, e: losses.triplet_semihard_loss(y, e, 0.5, "L2"),
        "triplet_semihard L2, dense TFA-style miner (baseline)": dense_semihard_loss,
        "triplet_hard L2": lambda y, e: losses.triplet_hard_loss(y, e, 0.5, distance_metric="L2"),
    }
    print("| loss | " + " | ".join(f"batch {b}" for b in args.batches) + " |")
    print("| --- |" + " --- |" * len(args.batches))
    for name, fn in cases.items():
        row = []
        for b in args.batches:
            labels = tf.constant(np.repeat(np.arange(b // 4), 4).astype(np.int32))
            emb = rng.normal(size=(b, args.dim)).astype(np.float32)
            emb = tf.constant(emb / np.linalg.norm(emb, axis=1, keepdims=True))
            if fn is None:
                y = tf.constant(rng.integers(0, 2, size=b).astype(np.float32))
                d = tf.constant(rng.uniform(0, 2, size=(b, 1)).astype(np.float32))
                ms = time_call(lambda yy, dd: tf.reduce_mean(losses.contrastive_loss(yy, dd, 1.0)), y, d,
                               args.repeats)
            else:
                ms = time_call(fn, labels, emb, args.repeats)
            row.append(f"{ms:.2f} ms")
        print(f"| {name} | " + " | ".join(row) + " |")


if __name__ == "__main__":
    main()
