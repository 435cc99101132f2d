"""The metrics inside compiled Keras training / evaluation and under tf.distribute."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import pytest

from siamese import metrics as M

HELPER = Path(__file__).with_name("distributed_metrics_check.py")


def _pairs(n: int = 2000, seed: int = 5) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    label = (rng.random(n) < 0.5).astype(np.float32)
    distance = np.where(label == 1, rng.normal(0.8, 0.2, n), rng.normal(1.3, 0.2, n))
    return label, np.clip(distance, 0.0, 2.0).astype(np.float32).reshape(-1, 1)


def _distance_model() -> keras.Model:
    """Output = input distance (a frozen-in-effect Dense 1x1 with weight 1, bias 0, lr 0)."""
    inputs = keras.Input((1,))
    outputs = keras.layers.Dense(1, kernel_initializer="ones", bias_initializer="zeros")(inputs)
    return keras.Model(inputs, outputs)


def _metric_set() -> list[keras.metrics.Metric]:
    return [M.VerificationAccuracy(), M.VerificationAccuracy(threshold=1.05, name="acc_at_1_05"),
            M.EqualErrorRate(), M.TrueAcceptRate(far=0.01), M.VerificationAUC()]


def _direct(label, distance) -> dict[str, float]:
    out = {}
    for metric in _metric_set():
        metric.update_state(label, distance)
        out[metric.name] = float(metric.result())
    return out


@pytest.mark.parametrize("jit_compile", [False, True])
def test_compiled_evaluate_and_fit_match_direct_use(jit_compile):
    label, distance = _pairs()
    expected = _direct(label, distance)
    model = _distance_model()
    model.compile(optimizer=keras.optimizers.SGD(0.0), loss="mse", metrics=_metric_set(),
                  jit_compile=jit_compile)
    got = model.evaluate(distance, label, batch_size=256, return_dict=True, verbose=0)
    for name, value in expected.items():
        assert got[name] == pytest.approx(value, abs=1e-6), name
    # two epochs over the same data: states are reset per epoch, so both epochs read the same
    history = model.fit(distance, label, batch_size=300, epochs=2, shuffle=False, verbose=0).history
    for name, value in expected.items():
        assert history[name] == pytest.approx([value, value], abs=1e-6), name


def test_mirrored_strategy_sums_histograms_across_replicas():
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", CUDA_VISIBLE_DEVICES="")
    repo = str(Path(__file__).resolve().parents[2])
    env["PYTHONPATH"] = repo + os.pathsep + env.get("PYTHONPATH", "")
    done = subprocess.run([sys.executable, str(HELPER)], capture_output=True, text=True, env=env,
                          timeout=300, cwd=repo)
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["replicas"] == 2
    label, distance = _pairs()
    expected = _direct(label, distance)
    for run in ("evaluate_mirrored", "evaluate_single", "custom_loop_mirrored"):
        assert report[run]["pairs_counted"] == label.size, run  # both replicas' counts were summed
        for name, value in expected.items():
            assert report[run][name] == pytest.approx(value, abs=1e-6), (run, name)
