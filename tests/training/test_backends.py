"""``siamese train`` itself under ``KERAS_BACKEND=jax`` (no tf.data: the numpy batches), alone and as two
data-parallel processes on localhost (``SIAMESE_COORDINATOR`` & co.), against the model directory contract: the
``.keras`` tower of a JAX run loads under TensorFlow with its fingerprint, and its TFLite file (converted through
jax2tf) gives the tower's embeddings.

The 2-process run trains the same global batches as the single JAX run (every process draws the global P x K
batch from the seed and feeds its half); with one epoch (the best checkpoint is the last weights) the chief's
saved tower must equal the single run's within float summation order (atol 1e-4) and the epoch loss within rtol
1e-4; the second process writes nothing, and its validation figures equal the chief's (same weights).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tests.training.test_distributed import _env as worker_env
from tests.training.test_distributed import _free_port

REPO = Path(__file__).resolve().parents[2]
TIMEOUT_S = 300
TINY = ["--set", "faces.size=32", "--set", "model.embedding_dim=16", "--set", "model.tower_args={width: 8, blocks: 2}",
        "--set", "loss.name=batch_contrastive", "--set", "loss.margin_schedule=null", "--set", "train.epochs=1",
        "--set", "train.steps_per_epoch=4", "--set", "train.pk={P: 4, K: 2}", "--set", "data.val_pairs=60",
        "--set", "train.augment={flip: true, affine: 0.0, color: 0.0, shift: 0.1}",
        "--set", "train.optimizer={name: sgd, learning_rate: 0.01}"]


def _env(data_root: Path, **extra: str) -> dict[str, str]:
    return worker_env(SIAMESE_DATA=str(data_root), TF_CPP_MIN_LOG_LEVEL="2", **extra)


#: a cross-batch memory of two batches, filled from the first step
MEMORY = ["--set", "loss.args={memory_size: 16, memory_start: 0}"]


def _train(out: Path, env: dict[str, str], log: Path, extra: tuple[str, ...] = ()) -> subprocess.Popen:
    cmd = [sys.executable, "-c", "import sys; from siamese.cli.app import main; sys.exit(main())", "train",
           str(REPO / "configs" / "orl-smoke.yaml"), "--out", str(out), "--json", "--quiet", *TINY, *extra]
    return subprocess.Popen(cmd, env=env, stdout=open(log, "wb"), stderr=subprocess.STDOUT)  # noqa: SIM115


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory, data_root: Path) -> dict[str, Path]:
    tmp = tmp_path_factory.mktemp("backends")
    coordinator = f"127.0.0.1:{_free_port()}"
    jobs = {"single": (tmp / "single", _env(data_root))}
    for k in range(2):
        jobs[f"worker{k}"] = (tmp / "multi", _env(data_root, SIAMESE_COORDINATOR=coordinator,
                                                  SIAMESE_NUM_PROCESSES="2", SIAMESE_PROCESS_ID=str(k)))
    procs = {name: _train(out, env, tmp / f"{name}.log") for name, (out, env) in jobs.items()}
    procs["memory"] = _train(tmp / "memory", _env(data_root), tmp / "memory.log", tuple(MEMORY))
    try:
        for name, proc in procs.items():
            code = proc.wait(timeout=TIMEOUT_S)
            assert code == 0, f"{name} exited {code}:\n" + (tmp / f"{name}.log").read_text()[-4000:]
    finally:
        for proc in procs.values():
            if proc.poll() is None:
                proc.kill()
                proc.wait(timeout=30)
    return {"single": tmp / "single", "multi": tmp / "multi", "memory": tmp / "memory", "logs": tmp}


def _result(runs: dict[str, Path], name: str) -> dict:
    text = (runs["logs"] / f"{name}.log").read_text()
    return json.loads(text[text.index("{"):])


def test_a_jax_run_writes_the_same_model_directory(runs: dict[str, Path], data_root: Path) -> None:
    import yaml

    from siamese.model_dir import ModelDir
    from siamese.runtime import select_engine

    # the data root came from $SIAMESE_DATA, not the config: config.yaml records it all the same
    assert yaml.safe_load((runs["single"] / "config.yaml").read_text())["data"]["root"] == str(data_root.absolute())
    md = ModelDir(runs["single"])  # this process runs TensorFlow: the JAX tower loads with its fingerprint
    assert md.card["backend"] == "jax" and md.card["processes"] == 1
    assert md.card["runtime"]["fingerprint"] == md.card["fingerprint"]
    faces = np.random.default_rng(0).uniform(0, 255, (5, 32, 32, 3)).astype(np.float32)
    keras_emb = np.asarray(md.embedding_model()(faces))
    litert_emb = select_engine(md, "litert").embed(faces)
    np.testing.assert_allclose(litert_emb, keras_emb, atol=1e-4)
    history = json.loads((runs["single"] / "history.json").read_text())
    assert np.isfinite(history["loss"]).all()


def test_two_processes_train_what_one_process_trains(runs: dict[str, Path]) -> None:
    from siamese.model_dir import ModelDir

    single, multi = ModelDir(runs["single"]), ModelDir(runs["multi"])
    assert multi.card["processes"] == 2 and multi.card["backend"] == "jax"
    for a, b in zip(single.embedding_model().get_weights(), multi.embedding_model().get_weights(), strict=True):
        np.testing.assert_allclose(b, a, atol=1e-4)  # float32 summation order: 2.7e-5 seen on the CI box
    h1 = json.loads((runs["single"] / "history.json").read_text())
    h2 = json.loads((runs["multi"] / "history.json").read_text())
    np.testing.assert_allclose(h2["loss"], h1["loss"], rtol=1e-4)
    w0, w1 = _result(runs, "worker0"), _result(runs, "worker1")
    assert w0["validation"] == pytest.approx(w1["validation"], rel=1e-6)  # the same weights on both processes
    assert sorted(p.name for p in runs["multi"].iterdir()) == sorted(p.name for p in runs["single"].iterdir())


def test_a_jax_run_trains_with_the_cross_batch_memory(runs: dict[str, Path]) -> None:
    """The memory's variables ride in JAX's compiled step through the training model's ``LossState`` (without it
    the step stops with a ConfigError): the run's loss parts from the same run without the memory, which it equals
    but for the memory's pairs, and the saved tower holds none of the memory."""
    from siamese.model_dir import ModelDir

    single, memory = ModelDir(runs["single"]), ModelDir(runs["memory"])
    assert memory.card["backend"] == "jax" and "memory_size: 16" in (runs["memory"] / "config.yaml").read_text()
    h1 = json.loads((runs["single"] / "history.json").read_text())
    h2 = json.loads((runs["memory"] / "history.json").read_text())
    assert np.all(np.isfinite(h2["loss"])) and h2["loss"] != pytest.approx(h1["loss"], rel=1e-3)
    assert [w.shape for w in memory.embedding_model().weights] == [w.shape for w in single.embedding_model().weights]


# Run the CLI as on a machine with JAX and no TensorFlow (the GPU machines this project is lent): every meta-path
# finder is told to find no ``tensorflow``, so ``import tensorflow`` fails and ``find_spec`` says it is not installed,
# exactly as when the wheel is absent. Exit 3 if anything imported TensorFlow anyway.
_NO_TENSORFLOW = """
import atexit, os, sys
class Hide:
    def __init__(self, finder):
        self.finder = finder
    def find_spec(self, name, path=None, target=None):
        if name == "tensorflow" or name.startswith("tensorflow."):
            return None
        return self.finder.find_spec(name, path, target)
sys.meta_path[:] = [Hide(f) if hasattr(f, "find_spec") else f for f in sys.meta_path]
atexit.register(lambda: "tensorflow" in sys.modules and os._exit(3))
from siamese.cli.app import main
sys.exit(main())
"""


def _run_without_tensorflow(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", _NO_TENSORFLOW, *args], env=env, capture_output=True, text=True,
                          timeout=TIMEOUT_S)


def test_jax_trains_where_tensorflow_is_not_installed(tmp_path: Path, data_root: Path) -> None:
    """``_env`` runs on ``KERAS_BACKEND=jax``."""
    out = tmp_path / "model"
    proc = _run_without_tensorflow(["train", str(REPO / "configs" / "orl-smoke.yaml"), "--out", str(out), "--json",
                                    "--quiet", *TINY], _env(data_root))
    assert proc.returncode == 0, proc.stderr[-4000:]
    card = json.loads((out / "model.json").read_text())
    assert card["backend"] == "jax" and "runtime" not in card  # no converter without TensorFlow: no TFLite file
    assert (out / "embedding.keras").is_file() and not list(out.glob("*.tflite"))
    assert json.loads(proc.stdout)["model_dir"] == str(out)


def test_training_without_its_backend_is_one_line_exit_2(tmp_path: Path, data_root: Path) -> None:
    out, env = tmp_path / "model", _env(data_root)
    env["KERAS_BACKEND"] = "tensorflow"
    proc = _run_without_tensorflow(["train", str(REPO / "configs" / "orl-smoke.yaml"), "--out", str(out)], env)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "needs Keras on its backend (tensorflow)" in lines[0], proc.stderr
    assert not out.exists()


def test_export_without_tensorflow_is_one_line_exit_2(tmp_path: Path, data_root: Path) -> None:
    """Export needs TensorFlow's converter whatever the backend (a JAX-only machine trains, another exports)."""
    from siamese.paths import packaged_model_dir

    out = tmp_path / "m.tflite"
    proc = _run_without_tensorflow(["export", str(packaged_model_dir()), "--out", str(out)], _env(data_root))
    assert proc.returncode == 2 and not out.exists()
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "'export' needs TensorFlow" in lines[0], proc.stderr


def test_a_broken_tensorflow_stops_a_jax_training_at_once(tmp_path: Path, data_root: Path) -> None:
    """Installed but failing to import (say, built for another numpy): an error before training, not after it."""
    fake = tmp_path / "site" / "tensorflow"
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text("raise ImportError('this TensorFlow is broken')\n")
    env = _env(data_root)
    env["PYTHONPATH"] = f"{tmp_path / 'site'}:{env.get('PYTHONPATH', '')}".rstrip(":")
    out = tmp_path / "model"
    proc = subprocess.run([sys.executable, "-c", "import sys; from siamese.cli.app import main; sys.exit(main())",
                           "train", str(REPO / "configs" / "orl-smoke.yaml"), "--out", str(out), *TINY], env=env,
                          capture_output=True, text=True, timeout=TIMEOUT_S)
    assert proc.returncode == 2 and not out.exists()
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "this TensorFlow is broken" in lines[0], proc.stderr
