"""Run in a subprocess by test_margin_scheduler.py: MarginScheduler under MirroredStrategy (2 CPUs).

Prints one JSON line {"replicas": 2, "margin": [...], "loss": [...]} from a 3-epoch fit of a
distance-identity model with ContrastiveLoss built inside the strategy scope.
"""

from __future__ import annotations

import json
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import tensorflow as tf  # noqa: E402

_cpu = tf.config.list_physical_devices("CPU")[0]  # before TensorFlow initialises its devices
tf.config.set_logical_device_configuration(
    _cpu, [tf.config.LogicalDeviceConfiguration(), tf.config.LogicalDeviceConfiguration()]
)

import keras  # noqa: E402
import numpy as np  # noqa: E402

from siamese.callbacks import MarginScheduler  # noqa: E402
from siamese.losses import ContrastiveLoss  # noqa: E402


def main() -> None:
    rng = np.random.default_rng(11)
    label = (rng.random(256) < 0.5).astype(np.float32)
    distance = rng.uniform(0.0, 2.0, 256).astype(np.float32).reshape(-1, 1)
    strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    with strategy.scope():
        inputs = keras.Input((1,))
        outputs = keras.layers.Dense(1, kernel_initializer="ones", bias_initializer="zeros")(inputs)
        model = keras.Model(inputs, outputs)
        model.compile(optimizer=keras.optimizers.SGD(0.0), loss=ContrastiveLoss(margin=1.0))
    data = tf.data.Dataset.from_tensor_slices((distance, label)).batch(64)
    history = model.fit(data, epochs=3, verbose=0,
                        callbacks=[MarginScheduler({"name": "step", "values_by_epoch": {0: 0.5, 1: 1.0, 2: 1.5}})])
    print(json.dumps({"replicas": strategy.num_replicas_in_sync, "margin": history.history["margin"],
                      "loss": history.history["loss"]}))


if __name__ == "__main__":
    main()
