"""siamese.exporting: the TFLite float32 export computes the Keras model's embeddings; bad outputs are refused."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

from siamese.errors import SiameseError
from siamese.exporting import ExportedEmbedder, compare_accuracy, export_model
from siamese.model_dir import ModelDir


@pytest.fixture(scope="module")
def tflite(smoke_model, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("export") / "sub" / "model.tflite"
    assert export_model(ModelDir(smoke_model[0]), "tflite", out) == out
    return out


@pytest.fixture(scope="module")
def faces(smoke_model, orl_root: Path) -> np.ndarray:
    from siamese.faces import FaceAligner

    aligner = FaceAligner(detector="none", size=ModelDir(smoke_model[0]).input_size)
    return np.stack([aligner.align_file(orl_root / f"s{s}" / f"{i}.pgm") for s in (1, 9, 23, 40) for i in (1, 6)])


def test_tflite_float32_embeddings_match_keras(smoke_model, tflite: Path, faces: np.ndarray) -> None:
    import stat

    assert stat.S_IMODE(tflite.stat().st_mode) == 0o644
    assert [p.name for p in tflite.parent.iterdir()] == ["model.tflite"]  # no temporary file left
    keras_model = ModelDir(smoke_model[0]).embedding_model()
    expected = np.asarray(keras_model(faces.astype(np.float32), training=False))
    expected = expected / np.linalg.norm(expected, axis=1, keepdims=True)
    got = ExportedEmbedder(tflite)(faces)
    assert got.shape == expected.shape == (len(faces), ModelDir(smoke_model[0]).embedding_dim)
    np.testing.assert_allclose(got, expected, atol=1e-4)
    # batch size is free (the interpreter is resized): one face at a time gives the same numbers
    np.testing.assert_allclose(ExportedEmbedder(tflite)(faces[:1]), expected[:1], atol=1e-4)


def test_savedmodel_refuses_an_existing_out(smoke_model, tmp_path: Path) -> None:
    out = tmp_path / "exists"
    out.mkdir()
    (out / "mine.txt").write_text("keep")
    with pytest.raises(SiameseError, match="already exists"):
        export_model(ModelDir(smoke_model[0]), "savedmodel", out)
    assert [p.name for p in out.iterdir()] == ["mine.txt"]


def test_tflite_out_being_a_directory_is_refused(smoke_model, tmp_path: Path) -> None:
    with pytest.raises(SiameseError) as err:
        export_model(ModelDir(smoke_model[0]), "tflite", tmp_path)
    assert str(err.value).startswith(f"{tmp_path}: is a directory")


@pytest.mark.parametrize("fmt,quantize,reason", [("onnx", None, "--format"), ("tflite", "int4", "--quantize"),
                                                 ("savedmodel", "float16", "only applies to --format tflite"),
                                                 ("tflite", "int8", "needs a representative set")])
def test_bad_options_are_refused_before_writing(smoke_model, tmp_path: Path, fmt, quantize, reason) -> None:
    out = tmp_path / "out.tflite"
    with pytest.raises(SiameseError, match=reason):
        export_model(ModelDir(smoke_model[0]), fmt, out, quantize=quantize)
    assert list(tmp_path.iterdir()) == []


def test_compare_accuracy_keys_and_agreement(smoke_model, tflite: Path, orl_root: Path, tmp_path: Path) -> None:
    from siamese.verification import FaceEmbedder, load_pairs

    pairs_file = tmp_path / "pairs.csv"
    with pairs_file.open("w", newline="") as f:
        w = csv.writer(f)
        for s in range(1, 11):
            w.writerow([orl_root / f"s{s}" / "6.pgm", orl_root / f"s{s}" / "7.pgm", 1])
            w.writerow([orl_root / f"s{s}" / "6.pgm", orl_root / f"s{s % 10 + 1}" / "6.pgm", 0])
    embedder = FaceEmbedder(smoke_model[0], engine="keras")
    acc = compare_accuracy(embedder.model_dir, embedder.aligner, tflite, load_pairs(pairs_file), progress=False)
    assert set(acc) == {"keras", "exported"}
    assert all(0.5 <= v <= 1.0 for v in acc.values())
    assert acc["exported"] == pytest.approx(acc["keras"], abs=0.05)


def test_tflite_of_a_gdc_tower_matches_keras(tmp_path: Path) -> None:
    """The global depthwise convolution (``pooling="gdc"``) converts to TFLite and gives the Keras embeddings."""
    import keras

    from siamese.exporting import tflite_bytes
    from siamese.models import get_tower

    keras.utils.set_random_seed(0)
    tower = get_tower("small_cnn", input_shape=(32, 32, 3), embedding_dim=16, width=8, blocks=3, pooling="gdc")
    faces = np.random.default_rng(0).uniform(0, 255, (3, 32, 32, 3)).astype(np.float32)
    path = tmp_path / "gdc.tflite"
    path.write_bytes(tflite_bytes(tower, 32))
    np.testing.assert_allclose(ExportedEmbedder(path)(faces), np.asarray(tower(faces, training=False)), atol=1e-4)


def _copy_model(smoke_model, tmp_path: Path) -> tuple[Path, dict[str, bytes]]:
    """A copy of the smoke model directory to change, and its files' bytes as they were."""
    import shutil

    copy = tmp_path / "model"
    shutil.copytree(smoke_model[0], copy)
    return copy, {p.name: p.read_bytes() for p in copy.iterdir() if p.is_file()}


def _unchanged(copy: Path, before: dict[str, bytes]) -> bool:
    return {p.name: p.read_bytes() for p in copy.iterdir() if p.is_file()} == before


def test_an_existing_file_of_a_model_directory_is_never_overwritten(smoke_model, tmp_path: Path) -> None:
    copy, before = _copy_model(smoke_model, tmp_path)
    for name in ("embedding.keras", "model.json"):
        with pytest.raises(SiameseError, match="already exists in the model directory"):
            export_model(ModelDir(copy), "tflite", copy / name)
    assert _unchanged(copy, before)
    ModelDir(copy).embedding_model()  # still loads


def test_pairs_that_cannot_be_scored_write_nothing(smoke_model, tmp_path: Path) -> None:
    """The pairs are aligned before the export is written: when no pair can be scored, one error naming the pairs
    file, and the model directory's runtime model and card stay as they were."""
    import siamese
    from siamese.errors import InputFileError

    copy, before = _copy_model(smoke_model, tmp_path)
    pairs = tmp_path / "pairs.csv"
    pairs.write_text(f"path_a,path_b,same\n{tmp_path / 'a.jpg'},{tmp_path / 'b.jpg'},1\n"
                     f"{tmp_path / 'c.jpg'},{tmp_path / 'a.jpg'},0\n")
    with pytest.raises(InputFileError) as err:
        siamese.export(copy, quantize="float16", pairs=pairs)
    assert str(err.value).startswith(f"{pairs}: no pair could be scored")
    assert "no such file" in str(err.value)
    assert _unchanged(copy, before)


def test_pairs_skipped_by_the_comparison_are_reported(smoke_model, orl_root: Path, orl_pairs_csv: Path,
                                                      tmp_path: Path) -> None:
    import siamese

    missing = tmp_path / "gone.pgm"
    pairs = tmp_path / "pairs.csv"
    good = orl_pairs_csv.read_text().splitlines()
    pairs.write_text("\n".join([*good, f"{orl_root / 's9' / '6.pgm'},{missing},1"]) + "\n")
    got = siamese.export(smoke_model[0], out=tmp_path / "m.tflite", pairs=pairs).to_dict()
    assert (got["pairs_scored"], got["pairs_skipped"]) == (len(good) - 1, 1)  # the header is not a pair
    assert got["image_errors"] == [{"path": str(missing), "reason": "no such file"}]
    assert set(got["accuracy"]) == {"keras", "exported"}


def test_int8_without_any_usable_calibration_photo_names_the_folder(smoke_model, tmp_path: Path) -> None:
    import siamese
    from siamese.errors import InputFileError

    reps = tmp_path / "reps"
    reps.mkdir()
    (reps / "a.jpg").write_text("not a photo")
    (reps / "b.jpg").write_bytes(b"")
    out = tmp_path / "m.tflite"
    with pytest.raises(InputFileError) as err:
        siamese.export(smoke_model[0], out=out, quantize="int8", representative=reps)
    assert str(err.value).startswith(f"{reps}: --quantize int8: no face found")
    assert not out.exists()


def test_a_runtime_model_whose_card_cannot_be_written_is_rolled_back(smoke_model, tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    import siamese.model_dir as model_dir_module

    copy, before = _copy_model(smoke_model, tmp_path)

    def full_disk(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(model_dir_module, "atomic_write_text", full_disk)
    with pytest.raises(OSError, match="No space left"):
        ModelDir(copy).save_tflite(b"new runtime model bytes", "float16")
    assert _unchanged(copy, before)
    if "embedding.tflite" not in before:  # a directory without one before gets none
        assert not (copy / "embedding.tflite").exists()
