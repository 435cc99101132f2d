"""The TensorFlow-free runtime (LiteRT + OpenCV): enroll, verify, identify, gallery, evaluate.

Runs twice in CI: in the full environment (both engines: the LiteRT path is compared with the Keras model) and in
an environment where TensorFlow and Keras are not installed (SIAMESE_EXPECT_NO_TF=1; the model directory comes from
$SIAMESE_RUNTIME_MODEL, trained beforehand by the full environment).
"""

from __future__ import annotations

import csv
import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[2]
NO_TF = os.environ.get("SIAMESE_EXPECT_NO_TF") == "1"
HAS_TF = importlib.util.find_spec("tensorflow") is not None
needs_tf = pytest.mark.skipif(not HAS_TF, reason="compares with the Keras engine (full environment only)")


def _cli(*args: object, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """The installed command in a subprocess, with this checkout's code first on the path."""
    full_env = {**os.environ, "PYTHONPATH": str(REPO), **(env or {})}
    code = "import sys; from siamese.cli.app import main; sys.argv[0] = 'siamese'; main()"
    return subprocess.run([sys.executable, "-c", code, *map(str, args)], capture_output=True, text=True,
                          env=full_env, timeout=300)


def _people(orl_root: Path, tmp: Path, persons: range, photos: range) -> Path:
    root = tmp / "people"
    for s in persons:
        d = root / f"s{s}"
        d.mkdir(parents=True)
        for i in photos:
            (d / f"{i}.pgm").symlink_to(orl_root / f"s{s}" / f"{i}.pgm")
    return root


def test_tensorflow_is_not_installed_here():
    if not NO_TF:
        pytest.skip("only in the TensorFlow-free environment (SIAMESE_EXPECT_NO_TF=1)")
    with pytest.raises(ImportError):
        import tensorflow  # noqa: F401
    with pytest.raises(ImportError):
        import keras  # noqa: F401


def test_python_api_runs_on_litert_without_importing_tensorflow(smoke_model, orl_root: Path):
    model = smoke_model[0]
    code = (
        "import sys, siamese\n"
        f"r = siamese.verify({str(orl_root / 's3/1.pgm')!r}, {str(orl_root / 's3/2.pgm')!r}, model={str(model)!r})\n"
        f"e = siamese.represent({str(orl_root / 's4/1.pgm')!r}, model={str(model)!r})\n"
        "print(r.same, e.shape[0], 'tensorflow' in sys.modules, 'keras' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=300,
                         env={**os.environ, "PYTHONPATH": str(REPO)})
    same, dim, tf_loaded, keras_loaded = out.stdout.split()
    assert same == "True" and int(dim) == 64
    assert (tf_loaded, keras_loaded) == ("False", "False"), out.stdout


def test_cli_enroll_identify_verify_gallery_on_litert(smoke_model, orl_root: Path, tmp_path: Path):
    model = smoke_model[0]
    gallery = tmp_path / "gallery"
    people = _people(orl_root, tmp_path, range(1, 11), range(1, 6))
    env = {"SIAMESE_MODEL": str(model), "SIAMESE_GALLERY": str(gallery), "SIAMESE_ENGINE": "litert"}

    r = _cli("enroll", "--from-dir", people, "--json", env=env)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["templates"] == 50 and r.stderr == ""

    hits = 0
    for s in range(1, 11):
        r = _cli("identify", orl_root / f"s{s}" / "8.pgm", "--threshold", "10", "--json", env=env)
        assert r.returncode == 0, r.stderr
        hits += json.loads(r.stdout)["name"] == f"s{s}"
    assert hits >= 6  # the smoke model's top-1 on ORL is about 0.8

    r = _cli("verify", orl_root / "s2" / "9.pgm", "--claim", "s2", "--threshold", "10", "--json", env=env)
    assert r.returncode == 0 and json.loads(r.stdout)["claim"] == "s2"
    r = _cli("verify", orl_root / "s2" / "9.pgm", orl_root / "s2" / "10.pgm", "--threshold", "0", env=env)
    assert r.returncode == 1 and "different people" in r.stdout

    assert json.loads(_cli("gallery", "list", "--json", env=env).stdout)["count"] == 10
    r = _cli("gallery", "remove", "s5", "--json", env=env)
    assert r.returncode == 0 and json.loads(r.stdout)["templates"] == 5
    assert "s5" not in json.loads(_cli("gallery", "list", "--json", env=env).stdout)["identities"]


def test_cli_evaluate_on_litert(smoke_model, orl_root: Path, tmp_path: Path):
    pairs = tmp_path / "pairs.csv"
    with pairs.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["path_a", "path_b", "same"])
        for s in range(1, 41):
            w.writerow([orl_root / f"s{s}" / "6.pgm", orl_root / f"s{s}" / "7.pgm", 1])
            w.writerow([orl_root / f"s{s}" / "6.pgm", orl_root / f"s{s % 40 + 1}" / "6.pgm", 0])
    r = _cli("--engine", "litert", "evaluate", smoke_model[0], "--pairs", pairs, "--json")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["pairs_scored"] == 80 and out["roc_auc"] > 0.7


def test_tampered_tflite_is_refused(smoke_model, tmp_path: Path):
    import shutil

    from siamese.errors import ModelError
    from siamese.model_dir import TFLITE_FILE, ModelDir
    from siamese.runtime import select_engine

    copy = tmp_path / "model"
    shutil.copytree(smoke_model[0], copy)
    blob = bytearray((copy / TFLITE_FILE).read_bytes())
    blob[len(blob) // 2] ^= 0xFF
    (copy / TFLITE_FILE).write_bytes(bytes(blob))
    with pytest.raises(ModelError, match="sha256"):
        select_engine(ModelDir(copy), "litert")


def test_model_without_tflite_says_what_to_do(smoke_model, tmp_path: Path):
    import shutil

    from siamese.errors import ConfigError
    from siamese.model_dir import TFLITE_FILE, ModelDir
    from siamese.runtime import select_engine

    copy = tmp_path / "model"
    shutil.copytree(smoke_model[0], copy)
    (copy / TFLITE_FILE).unlink()
    with pytest.raises(ConfigError, match="siamese export"):
        select_engine(ModelDir(copy), "litert")
    if not HAS_TF:
        with pytest.raises(ConfigError, match=r"siamese\[train\]"):
            select_engine(ModelDir(copy), "auto")


def _orl_faces(orl_root: Path, model_dir) -> np.ndarray:
    from siamese.verification import FaceEmbedder

    emb = FaceEmbedder(model_dir, engine="litert")
    files = [str(orl_root / f"s{s}" / f"{i}.pgm") for s in range(1, 41) for i in (1, 6)]
    result = emb.aligner.align_files(files, progress=False)
    return np.asarray(result.faces)


@needs_tf
def test_litert_float32_matches_keras(smoke_model, orl_root: Path):
    from siamese.model_dir import ModelDir
    from siamese.runtime.keras_engine import KerasEngine
    from siamese.runtime.litert_engine import LiteRTEngine

    md = ModelDir(smoke_model[0])
    faces = _orl_faces(orl_root, md)
    keras_emb = KerasEngine(md).embed(faces)
    lite_emb = LiteRTEngine(md).embed(faces)
    assert np.max(np.abs(keras_emb - lite_emb)) < 1e-4


@needs_tf
def test_a_gallery_answers_the_same_through_both_engines(smoke_model, orl_root: Path, tmp_path: Path):
    from siamese.recognition import Recognizer

    people = {f"s{s}": [str(orl_root / f"s{s}" / f"{i}.pgm") for i in range(1, 6)] for s in range(1, 21)}
    probes = [str(orl_root / f"s{s}" / f"{i}.pgm") for s in range(1, 21) for i in (7, 9)]
    gallery = tmp_path / "g"
    with Recognizer(smoke_model[0], gallery, threshold=0.8, create=True, engine="keras") as rec:
        rec.enroll_many(people)
    answers = {}
    for engine in ("keras", "litert"):
        with Recognizer(smoke_model[0], gallery, threshold=0.8, engine=engine) as rec:
            emb = rec.embedder.embed_files(probes, progress=False)
            answers[engine] = [(r.name, r.candidates[0].distance) for r in rec.identify_embeddings(emb.embeddings)]
    assert [n for n, _ in answers["keras"]] == [n for n, _ in answers["litert"]]
    assert np.allclose([d for _, d in answers["keras"]], [d for _, d in answers["litert"]], atol=1e-4)


@needs_tf
@pytest.mark.parametrize(("quantize", "max_cosine_distance"), [("float16", 1e-3), ("int8", 0.05)])
def test_quantised_runtime_models_stay_close(smoke_model, orl_root: Path, tmp_path: Path, quantize: str,
                                             max_cosine_distance: float):
    """How far float16 / int8 embeddings move from the Keras model's (cosine distance, printed)."""
    import shutil

    from siamese import api
    from siamese.model_dir import ModelDir
    from siamese.runtime.keras_engine import KerasEngine
    from siamese.runtime.litert_engine import LiteRTEngine

    copy = tmp_path / "model"
    shutil.copytree(smoke_model[0], copy)
    api.export(copy, quantize=quantize, representative=orl_root / "s1")
    md = ModelDir(copy)
    assert md.tflite_quantization == quantize
    faces = _orl_faces(orl_root, md)
    drift = 1.0 - np.sum(KerasEngine(md).embed(faces) * LiteRTEngine(md).embed(faces), axis=1)
    print(f"{quantize}: cosine distance to the Keras embedding: mean {drift.mean():.2e}, max {drift.max():.2e}")
    assert drift.max() < max_cosine_distance


def test_an_unknown_engine_lists_every_choice_auto_included(smoke_model) -> None:
    from siamese.errors import ConfigError
    from siamese.model_dir import ModelDir
    from siamese.runtime import select_engine

    with pytest.raises(ConfigError, match=r"^engine: unknown engine 'bogus' \(choose from auto, keras, litert\)$"):
        select_engine(ModelDir(smoke_model[0]), "bogus")
