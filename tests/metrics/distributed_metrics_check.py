"""Run in a subprocess by test_metrics_in_keras.py: metrics under MirroredStrategy on 2 logical CPUs.

Prints one JSON line: {"replicas": 2, "evaluate_mirrored": {...}, "evaluate_single": {...},
"custom_loop_mirrored": {...}}, each mapping metric name -> value plus "pairs_counted" (the total
of the accumulated histograms, which must equal the number of pairs when replicas are summed).
"""

from __future__ import annotations

import json
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import tensorflow as tf  # noqa: E402

# must run before TensorFlow initialises its devices
_cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(
    _cpu, [tf.config.LogicalDeviceConfiguration(), tf.config.LogicalDeviceConfiguration()]
)

import keras  # noqa: E402
import numpy as np  # noqa: E402

from siamese import metrics as M  # noqa: E402


def _pairs(n: int = 2000, seed: int = 5):
    rng = np.random.default_rng(seed)
    label = (rng.random(n) < 0.5).astype(np.float32)
    distance = np.where(label == 1, rng.normal(0.8, 0.2, n), rng.normal(1.3, 0.2, n))
    return label, np.clip(distance, 0.0, 2.0).astype(np.float32).reshape(-1, 1)


def _metric_set():
    return [M.VerificationAccuracy(), M.VerificationAccuracy(threshold=1.05, name="acc_at_1_05"),
            M.EqualErrorRate(), M.TrueAcceptRate(far=0.01), M.VerificationAUC()]


def _summary(metrics) -> dict[str, float]:
    out = {m.name: float(m.result()) for m in metrics}
    out["pairs_counted"] = float(sum(float(np.sum(h)) for h in metrics[0].histograms()))
    return out


def _evaluate(strategy, label, distance) -> dict[str, float]:
    with strategy.scope():
        inputs = keras.Input((1,))
        outputs = keras.layers.Dense(1, kernel_initializer="ones", bias_initializer="zeros")(inputs)
        model = keras.Model(inputs, outputs)
        metrics = _metric_set()
        model.compile(optimizer=keras.optimizers.SGD(0.0), loss="mse", metrics=metrics)
    data = tf.data.Dataset.from_tensor_slices((distance, label)).batch(250)
    model.evaluate(data, verbose=0)
    return _summary(metrics)


def _custom_loop(strategy, label, distance) -> dict[str, float]:
    with strategy.scope():
        metrics = _metric_set()
    data = strategy.experimental_distribute_dataset(
        tf.data.Dataset.from_tensor_slices((distance, label)).batch(250)
    )

    @tf.function
    def step(x, y):
        def update(x, y):
            for metric in metrics:
                metric.update_state(y, x)

        strategy.run(update, args=(x, y))

    for x, y in data:
        step(x, y)
    return _summary(metrics)


def main() -> None:
    label, distance = _pairs()
    mirrored = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    report = {
        "replicas": mirrored.num_replicas_in_sync,
        "evaluate_mirrored": _evaluate(mirrored, label, distance),
        "evaluate_single": _evaluate(tf.distribute.get_strategy(), label, distance),
        "custom_loop_mirrored": _custom_loop(mirrored, label, distance),
    }
    print(json.dumps(report))


if __name__ == "__main__":
    main()
