"""Data-parallel training over 2 processes (``keras.distribution.DataParallel`` + ``jax.distributed``, gloo CPU
collectives on localhost) against one process fed the same global batches.

``_dp_worker.py`` trains a tiny model 5 steps; each of the 2 workers feeds half of every global batch of 16.
Tolerances: the workers' weights are bit-identical (one replicated jit output); against the single process the
loss curve agrees to rtol 1e-5 and the weights to atol 1e-5 (only the float summation order of the cross-process
all-reduce differs: seen ~1e-7); the metrics (histogram counts) are equal to float32 rounding (rtol 1e-6).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import siamese
from siamese.errors import ConfigError
from siamese.training import distributed
from siamese.training.distributed import DistributedConfig, shard_rows

WORKER = Path(__file__).with_name("_dp_worker.py")
TIMEOUT_S = 180  # the run takes ~20 s on 2 idle cores; a hung coordinator must not hang CI


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SIAMESE_COORDINATOR", "SIAMESE_NUM_PROC",
                                                                      "SIAMESE_PROCESS_ID", "XLA_FLAGS"))}
    root = str(Path(siamese.__file__).resolve().parents[1])
    env.update(KERAS_BACKEND="jax", JAX_PLATFORMS="cpu",
               PYTHONPATH=os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p), **extra)
    return env


def _run_all(jobs: list[tuple[Path, dict[str, str]]], log_dir: Path) -> None:
    """Start every worker at once, wait for all (killing all on a failure or timeout), require exit 0."""
    procs = []
    try:
        for i, (out, env) in enumerate(jobs):
            log = open(log_dir / f"worker{i}.log", "wb")  # noqa: SIM115 -- closed below
            procs.append((subprocess.Popen([sys.executable, str(WORKER), str(out)], env=env, stdout=log,
                                           stderr=subprocess.STDOUT), log))
        for i, (proc, _) in enumerate(procs):
            code = proc.wait(timeout=TIMEOUT_S)
            assert code == 0, f"worker {i} exited {code}:\n" + (log_dir / f"worker{i}.log").read_text()[-4000:]
    finally:
        for proc, log in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait(timeout=30)
            log.close()


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, np.ndarray]]:
    """The two workers of a 2-process run and a single-process run, all started together."""
    tmp = tmp_path_factory.mktemp("dp")
    coordinator = f"127.0.0.1:{_free_port()}"
    jobs = [(tmp / f"worker{k}.npz", _env(SIAMESE_COORDINATOR=coordinator, SIAMESE_NUM_PROCESSES="2",
                                          SIAMESE_PROCESS_ID=str(k))) for k in range(2)]
    jobs.append((tmp / "single.npz", _env()))
    _run_all(jobs, tmp)
    return {name: dict(np.load(tmp / f"{name}.npz")) for name in ("worker0", "worker1", "single")}


def _weights(run: dict[str, np.ndarray], prefix: str = "w") -> list[np.ndarray]:
    return [run[f"{prefix}{i}"] for i in range(sum(k[len(prefix):].isdigit() for k in run if k.startswith(prefix)))]


def test_runs_are_what_they_claim(runs):
    assert [int(runs[name]["processes"]) for name in ("worker0", "worker1", "single")] == [2, 2, 1]
    assert len(runs["single"]["loss"]) == 5
    assert [bool(runs[name]["chief"]) for name in ("worker0", "worker1", "single")] == [True, False, True]
    # the processes agreed on Keras' seed in initialize(): an unseeded draw is the same on both
    np.testing.assert_array_equal(runs["worker0"]["unseeded"], runs["worker1"]["unseeded"])


def test_global_batch_is_the_processes_rows_in_order(runs):
    # what fit does with each batch: process k's rows shard_rows(k, 2, 16) land at those rows of the global array
    for worker in ("worker0", "worker1"):
        np.testing.assert_array_equal(runs[worker]["global_batch"], runs["single"]["global_batch"])


def test_workers_end_with_identical_weights(runs):
    w0, w1 = _weights(runs["worker0"]), _weights(runs["worker1"])
    assert len(w0) == len(w1) == 4
    for a, b in zip(w0, w1, strict=True):
        np.testing.assert_array_equal(a, b)


def test_training_moved_and_matches_single_process(runs):
    single, worker = runs["single"], runs["worker0"]
    moved = []
    for start, a, b in zip(_weights(single, "init"), _weights(worker, "init"), _weights(single), strict=True):
        np.testing.assert_array_equal(start, a)  # same starting point ...
        moved.append(np.abs(b - start).max())
    assert max(moved) > 1e-2  # ... and 5 steps really changed the weights (not the last bias: distances ignore it)
    for a, b in zip(_weights(worker), _weights(single), strict=True):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-5)


def test_local_predict_on_the_chief_alone(runs):
    # model.predict cannot fetch a multi-process output; local_predict embeds locally, with the trained weights
    assert runs["worker1"]["embedded"].shape == (0, 4)
    single = runs["single"]["embedded"]
    assert single.shape == (16, 4)
    np.testing.assert_allclose(runs["worker0"]["embedded"], single, rtol=0, atol=1e-5)


def test_loss_curve_matches_single_process(runs):
    single = runs["single"]["loss"]  # fit's running mean after each step
    assert single[-1] < single[0]
    for worker in ("worker0", "worker1"):
        np.testing.assert_allclose(runs[worker]["loss"], single, rtol=1e-5)
    # the per-step losses behind the running means
    steps = np.arange(1, len(single) + 1)
    per_step = lambda mean: mean * steps - np.concatenate([[0.0], mean[:-1] * steps[:-1]])  # noqa: E731
    np.testing.assert_allclose(per_step(runs["worker0"]["loss"]), per_step(single), rtol=1e-4, atol=1e-6)


def test_metrics_are_exact_across_workers(runs):
    names = sorted(k for k in runs["single"] if k.startswith("metric_"))
    assert {"metric_dist_verification_accuracy", "metric_dist_acc_at_0_8", "metric_dist_eer"} <= set(names)
    for name in names:
        values = [float(runs[run][name]) for run in ("worker0", "worker1", "single")]
        assert values[0] == values[1], name
        np.testing.assert_allclose(values[0], values[2], rtol=1e-6, err_msg=name)
    # 80 pairs were counted: a fixed-threshold accuracy is a multiple of 1/80
    accuracy = float(runs["single"]["metric_dist_acc_at_0_8"]) * 80
    assert abs(accuracy - round(accuracy)) < 1e-4


# --- configuration, no processes ---------------------------------------------------------------------------------

def test_from_env_unset_is_none():
    assert DistributedConfig.from_env({}) is None
    assert DistributedConfig.from_env({"SIAMESE_COORDINATOR": " "}) is None


def test_from_env_reads_the_three_variables():
    cfg = DistributedConfig.from_env({"SIAMESE_COORDINATOR": "10.0.0.1:1234", "SIAMESE_NUM_PROCESSES": "4",
                                      "SIAMESE_PROCESS_ID": "3"})
    assert cfg == DistributedConfig("10.0.0.1:1234", 4, 3)


@pytest.mark.parametrize(("env", "variable"), [
    ({"SIAMESE_COORDINATOR": "h:1", "SIAMESE_NUM_PROCESSES": "2"}, "SIAMESE_PROCESS_ID"),
    ({"SIAMESE_NUM_PROCESSES": "2", "SIAMESE_PROCESS_ID": "0"}, "SIAMESE_COORDINATOR"),
    ({"SIAMESE_COORDINATOR": "h:1", "SIAMESE_NUM_PROCESSES": "two", "SIAMESE_PROCESS_ID": "0"},
     "SIAMESE_NUM_PROCESSES"),
    ({"SIAMESE_COORDINATOR": "h:1", "SIAMESE_NUM_PROCESSES": "0", "SIAMESE_PROCESS_ID": "0"},
     "SIAMESE_NUM_PROCESSES"),
    ({"SIAMESE_COORDINATOR": "h:1", "SIAMESE_NUM_PROCESSES": "2", "SIAMESE_PROCESS_ID": "2"}, "SIAMESE_PROCESS_ID"),
    ({"SIAMESE_COORDINATOR": "h:1", "SIAMESE_NUM_PROCESSES": "2", "SIAMESE_PROCESS_ID": "-1"}, "SIAMESE_PROCESS_ID"),
    ({"SIAMESE_COORDINATOR": "nohost", "SIAMESE_NUM_PROCESSES": "2", "SIAMESE_PROCESS_ID": "0"},
     "SIAMESE_COORDINATOR"),
    ({"SIAMESE_COORDINATOR": "h:99999", "SIAMESE_NUM_PROCESSES": "2", "SIAMESE_PROCESS_ID": "0"},
     "SIAMESE_COORDINATOR"),
    ({"SIAMESE_COORDINATOR": ":80", "SIAMESE_NUM_PROCESSES": "2", "SIAMESE_PROCESS_ID": "0"}, "SIAMESE_COORDINATOR"),
])
def test_from_env_bad_values_name_the_variable(env, variable):
    with pytest.raises(ConfigError, match=f"^{variable}: "):
        DistributedConfig.from_env(env)


def test_initialize_needs_the_jax_backend(monkeypatch):
    import keras

    monkeypatch.setattr(keras.config, "backend", lambda: "tensorflow")
    with pytest.raises(ConfigError, match="^KERAS_BACKEND: "):
        distributed.initialize(DistributedConfig("127.0.0.1:1", 2, 0))


def test_shard_rows_tile_the_global_batch_in_process_order():
    for n in (1, 2, 4):
        rows = np.concatenate([np.arange(12)[shard_rows(k, n, 12)] for k in range(n)])
        np.testing.assert_array_equal(rows, np.arange(12))
    assert shard_rows(1, 2, 16) == slice(8, 16)
    with pytest.raises(ValueError, match="divide"):
        shard_rows(0, 3, 16)
    with pytest.raises(ValueError, match="outside"):
        shard_rows(2, 2, 16)
