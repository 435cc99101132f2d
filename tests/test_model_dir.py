"""siamese.model_dir.ModelDir on its own: write / reopen, the overwrite guard, card validation, weight checks.

Every problem with a model directory is one ModelError naming the file and the reason.
"""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from siamese.errors import ModelError
from siamese.model_dir import (
    CALIBRATION_FILE,
    CARD_FILE,
    CONFIG_FILE,
    EMBEDDING_FILE,
    HISTORY_FILE,
    ModelDir,
    check_threshold,
    check_writable,
    weights_fingerprint,
)

SIZE, DIM = 32, 8
CARD = {"input_size": SIZE, "embedding_dim": DIM, "distance": "euclidean",
        "alignment": {"detector": "none", "size": SIZE}, "training_data": {"train_identities": 3}}


def tiny_tower(seed: int = 0) -> Any:
    import keras

    from siamese.models import get_tower

    keras.utils.set_random_seed(seed)
    return get_tower("small_cnn", input_shape=(SIZE, SIZE, 3), embedding_dim=DIM, width=4, blocks=2)


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A model directory written once by ModelDir.write (tests copy it before breaking it)."""
    path = tmp_path_factory.mktemp("md") / "model"
    ModelDir.write(path, tiny_tower(), CARD, config_text="seed: 0\n", history={"loss": [1.0, 0.5]})
    return path


@pytest.fixture
def model_copy(written: Path, tmp_path: Path) -> Path:
    path = tmp_path / "model"
    shutil.copytree(written, path)
    return path


def _edit_card(path: Path, **changes: Any) -> Path:
    card = json.loads((path / CARD_FILE).read_text())
    for k, v in changes.items():
        if v is _DROP:
            card.pop(k, None)
        else:
            card[k] = v
    (path / CARD_FILE).write_text(json.dumps(card))
    return path / CARD_FILE


_DROP = object()


def test_write_then_reopen_round_trip(written: Path) -> None:
    for name in (EMBEDDING_FILE, CARD_FILE, CONFIG_FILE, HISTORY_FILE):
        assert (written / name).is_file(), name
    assert not [p for p in written.iterdir() if p.name.startswith(".")]  # no temporary files left
    md = ModelDir(written)
    assert (md.input_size, md.embedding_dim, md.distance) == (SIZE, DIM, "euclidean")
    assert md.alignment == {"detector": "none", "size": SIZE}
    assert md.card["training_data"] == {"train_identities": 3}
    assert (written / CONFIG_FILE).read_text() == "seed: 0\n"
    assert json.loads((written / HISTORY_FILE).read_text()) == {"loss": [1.0, 0.5]}
    model = md.embedding_model()
    # the fingerprint is the weights' hash, and the reloaded weights are the written ones
    assert md.fingerprint == weights_fingerprint(model) == weights_fingerprint(tiny_tower())
    faces = np.random.default_rng(0).uniform(0, 255, (3, SIZE, SIZE, 3)).astype(np.float32)
    expected = tiny_tower()(faces, training=False)
    np.testing.assert_allclose(np.asarray(model(faces, training=False)), np.asarray(expected), atol=1e-6)
    assert md.calibration() is None
    with pytest.raises(ModelError, match="no calibration.json"):
        md.threshold()


def test_card_defaults_and_distance_aliases_are_canonical(model_copy: Path) -> None:
    _edit_card(model_copy, distance=_DROP, alignment=_DROP)
    md = ModelDir(model_copy)
    assert md.distance == "euclidean" and md.alignment == {"detector": "mtcnn", "size": SIZE}


def test_overwrite_guard(written: Path, tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="already holds a trained model") as err:
        check_writable(written)
    assert str(written) in str(err.value)
    check_writable(written, force=True)
    check_writable(tmp_path / "fresh")
    (tmp_path / "file").write_text("x")
    with pytest.raises(ModelError, match="not a directory"):
        check_writable(tmp_path / "file", force=True)


def test_write_refuses_then_force_replaces(model_copy: Path) -> None:
    before = (model_copy / CARD_FILE).read_bytes()
    other = tiny_tower(seed=1)
    with pytest.raises(ModelError, match="already holds a trained model"):
        ModelDir.write(model_copy, other, CARD)
    assert (model_copy / CARD_FILE).read_bytes() == before
    md = ModelDir.write(model_copy, other, dict(CARD, embedding_dim=DIM), force=True)
    assert md.fingerprint == weights_fingerprint(other) != json.loads(before)["fingerprint"]
    assert weights_fingerprint(ModelDir(model_copy).embedding_model()) == md.fingerprint


@pytest.mark.parametrize("changes,reason", [
    ({"fingerprint": _DROP}, "'fingerprint' missing"),
    ({"fingerprint": "abc"}, "'fingerprint' missing or not a sha256"),
    ({"input_size": "abc"}, "'input_size' must be a positive integer"),
    ({"input_size": 32.5}, "'input_size' must be a positive integer"),
    ({"input_size": True}, "'input_size' must be a positive integer"),
    ({"embedding_dim": 0}, "'embedding_dim' must be a positive integer"),
    ({"embedding_dim": -3}, "'embedding_dim' must be a positive integer"),
    ({"distance": "manhattan"}, "'distance' 'manhattan' is not one of"),
    ({"alignment": "none"}, "'alignment' must be an object"),
    ({"alignment": {"detector": "none", "size": 0}}, "'size' must be a positive integer"),
])
def test_card_problems_are_one_model_error_naming_the_card(model_copy: Path, changes: dict, reason: str) -> None:
    card = _edit_card(model_copy, **changes)
    with pytest.raises(ModelError) as err:
        ModelDir(model_copy)
    message = str(err.value)
    assert message.startswith(f"{card}: ") and reason in message and "\n" not in message


@pytest.mark.parametrize("text", ["{not json", "", "[1, 2]", "\xff\xfe"])
def test_unreadable_card(model_copy: Path, text: str) -> None:
    (model_copy / CARD_FILE).write_bytes(text.encode("latin-1"))
    with pytest.raises(ModelError) as err:
        ModelDir(model_copy)
    assert str(err.value).startswith(f"{model_copy / CARD_FILE}: ")


def test_missing_directory_and_missing_files(tmp_path: Path, model_copy: Path) -> None:
    with pytest.raises(ModelError, match="model directory not found"):
        ModelDir(tmp_path / "nowhere")
    (tmp_path / "afile").write_text("x")
    with pytest.raises(ModelError, match="afile: a file, not a model directory"):
        ModelDir(tmp_path / "afile")
    (model_copy / CARD_FILE).unlink()
    with pytest.raises(ModelError, match=f"not a model directory \\(needs {CARD_FILE}"):
        ModelDir(model_copy)


@pytest.mark.parametrize("threshold", [float("nan"), float("inf"), "abc", None, True, [0.5]])
def test_bad_calibration_threshold(model_copy: Path, threshold: Any) -> None:
    path = model_copy / CALIBRATION_FILE
    # json.dumps writes NaN / Infinity, which Python's json reads back: the check must catch them
    path.write_text(json.dumps({"threshold": threshold, "far": 0.001}))
    with pytest.raises(ModelError) as err:
        ModelDir(model_copy).threshold()
    assert str(err.value).startswith(f"{path}: threshold must be a finite number")


def test_calibration_not_an_object_or_not_json(model_copy: Path) -> None:
    path = model_copy / CALIBRATION_FILE
    for text in ("[0.5]", "{oops"):
        path.write_text(text)
        with pytest.raises(ModelError) as err:
            ModelDir(model_copy).threshold()
        assert str(err.value).startswith(f"{path}: unreadable calibration")


def test_good_calibration_and_check_threshold(model_copy: Path) -> None:
    (model_copy / CALIBRATION_FILE).write_text(json.dumps({"threshold": 0.75}))
    assert ModelDir(model_copy).threshold() == 0.75
    assert check_threshold(1, "x") == 1.0 and isinstance(check_threshold(1, "x"), float)
    for bad in (math.nan, -math.inf, "0.5"):
        with pytest.raises(ModelError, match="^--threshold: threshold must be a finite number"):
            check_threshold(bad, "--threshold")
    assert check_threshold(0, "x") == 0.0
    with pytest.raises(ModelError, match=r"^--threshold: threshold is a distance and must be >= 0, got -0.1$"):
        check_threshold(-0.1, "--threshold")


def test_replaced_weights_fail_the_fingerprint_check(model_copy: Path, tmp_path: Path) -> None:
    other = tmp_path / "other"
    ModelDir.write(other, tiny_tower(seed=5), CARD)
    shutil.copy(other / EMBEDDING_FILE, model_copy / EMBEDDING_FILE)
    md = ModelDir(model_copy)  # opening reads JSON only
    with pytest.raises(ModelError) as err:
        md.embedding_model()
    assert str(err.value).startswith(f"{model_copy / EMBEDDING_FILE}: the weights do not match the fingerprint")
    # verify_weights=False is the explicit escape hatch
    assert weights_fingerprint(ModelDir(model_copy, verify_weights=False).embedding_model()) != md.fingerprint


def test_nan_weights_are_refused(model_copy: Path) -> None:
    tower = tiny_tower()
    kernel = tower.weights[0]
    value = np.asarray(kernel.numpy()).copy()
    value.flat[0] = np.nan
    kernel.assign(value)
    card = json.loads((model_copy / CARD_FILE).read_text())
    ModelDir.write(model_copy, tower, {k: v for k, v in card.items() if k != "fingerprint"}, force=True)
    with pytest.raises(ModelError) as err:
        ModelDir(model_copy).embedding_model()
    assert str(err.value) == f"{model_copy / EMBEDDING_FILE}: the weights hold NaN or infinite values"


@pytest.mark.parametrize("content", [b"garbage, not a zip", b"PK\x03\x04 truncated zip", b""])
def test_garbage_weights_file(model_copy: Path, content: bytes) -> None:
    (model_copy / EMBEDDING_FILE).write_bytes(content)
    with pytest.raises(ModelError) as err:
        ModelDir(model_copy).embedding_model()
    message = str(err.value)
    assert message.startswith(f"{model_copy / EMBEDDING_FILE}: cannot load model")
    assert "file not found" not in message.lower() and "\n" not in message
