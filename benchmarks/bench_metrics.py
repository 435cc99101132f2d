"""Time the histogram verification metrics in a compiled tf.function (CPU).

Usage: .venv/bin/python benchmarks/bench_metrics.py [--batches 256 4096 65536] [--bins 2048] [--repeats 30]
Prints a markdown table: median milliseconds per ``update_state`` of one batch of (label, distance)
pairs for the four metrics together, with ``keras.metrics.AUC(num_thresholds=200)`` as a reference,
and the time of one ``result()`` of all four (threshold sweeps over the bins).
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from siamese import metrics  # noqa: E402


def median_ms(fn, *args, repeats: int) -> float:
    fn(*args)  # trace
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        out = fn(*args)
        tf.nest.map_structure(lambda t: t.numpy() if hasattr(t, "numpy") else t, out)
        times.append(time.perf_counter() - start)
    return 1000.0 * float(np.median(times))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--batches", type=int, nargs="+", default=[256, 4096, 65536])
    parser.add_argument("--bins", type=int, default=2048)
    parser.add_argument("--repeats", type=int, default=30)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    ours = [metrics.VerificationAccuracy(num_bins=args.bins), metrics.EqualErrorRate(num_bins=args.bins),
            metrics.TrueAcceptRate(num_bins=args.bins), metrics.VerificationAUC(num_bins=args.bins)]
    reference = keras.metrics.AUC(num_thresholds=200)

    @tf.function(jit_compile=False)
    def update_ours(y, d):
        for m in ours:
            m.update_state(y, d)

    @tf.function(jit_compile=False)
    def update_reference(y, d):
        reference.update_state(y, 1.0 - d / 2.0)  # AUC wants scores in [0, 1]

    @tf.function(jit_compile=False)
    def results():
        return [m.result() for m in ours]

    print(f"| {args.bins} bins | " + " | ".join(f"batch {b}" for b in args.batches) + " |")
    print("| --- |" + " --- |" * len(args.batches))
    rows = {"update_state, 4 siamese metrics": [], "update_state, keras AUC(200 thresholds)": []}
    for b in args.batches:
        y = tf.constant(rng.integers(0, 2, size=b).astype(np.float32))
        d = tf.constant(rng.uniform(0, 2, size=(b, 1)).astype(np.float32))
        rows["update_state, 4 siamese metrics"].append(median_ms(update_ours, y, d, repeats=args.repeats))
        rows["update_state, keras AUC(200 thresholds)"].append(
            median_ms(update_reference, y, d, repeats=args.repeats))
    for name, values in rows.items():
        print(f"| {name} | " + " | ".join(f"{v:.2f} ms" for v in values) + " |")
    print(f"| result(), 4 siamese metrics | {median_ms(results, repeats=args.repeats):.2f} ms"
          + " | " * (len(args.batches) - 1) + " |")


if __name__ == "__main__":
    main()
