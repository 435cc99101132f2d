"""siamese.verification on real ORL photos (pre-aligned: detector none) with the session's smoke model.

Oracle: the same faces (centre-cropped by FaceAligner) through the Keras model directly, L2-normalised and compared
with a brute-force numpy distance.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from siamese.errors import ModelError
from siamese.model_dir import CARD_FILE, ModelDir
from siamese.verification import FaceEmbedder, VerificationResult, Verifier


def _oracle_embeddings(model_dir: Path, paths: list[Path]) -> np.ndarray:
    from siamese.faces import FaceAligner

    md = ModelDir(model_dir)
    aligner = FaceAligner(detector="none", size=md.input_size)
    faces = np.stack([aligner.align_file(p) for p in paths]).astype(np.float32)
    emb = np.asarray(md.embedding_model()(faces, training=False), dtype=np.float64)
    return emb / np.linalg.norm(emb, axis=1, keepdims=True)


@pytest.fixture(scope="module")
def photos(orl_root: Path) -> list[Path]:
    return [orl_root / "s1" / "1.pgm", orl_root / "s1" / "2.pgm", orl_root / "s2" / "1.pgm", orl_root / "s3" / "4.pgm"]


def test_embeddings_match_the_keras_model(smoke_model, photos: list[Path]) -> None:
    embedder = FaceEmbedder(smoke_model[0])
    assert embedder.aligner.detector.name == "none"  # the card's alignment is used
    got = np.stack([embedder.embed_file(p) for p in photos])
    np.testing.assert_allclose(got, _oracle_embeddings(smoke_model[0], photos), atol=1e-5)
    np.testing.assert_allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-5)
    batch = embedder.embed_files([str(p) for p in photos], progress=False)
    assert batch.index.tolist() == [0, 1, 2, 3] and batch.errors == []
    np.testing.assert_allclose(batch.embeddings, got, atol=1e-5)


def test_verify_distance_is_brute_force_euclidean_and_decision_is_distance_le_threshold(smoke_model, photos) -> None:
    emb = _oracle_embeddings(smoke_model[0], photos)
    pairs = [(0, 1), (0, 2), (2, 3), (1, 1)]
    distances = {(i, j): float(np.sqrt(np.sum((emb[i] - emb[j]) ** 2))) for i, j in pairs}
    calibrated = ModelDir(smoke_model[0]).threshold()
    verifier = Verifier(smoke_model[0])
    assert verifier.threshold == calibrated
    for (i, j), expected in distances.items():
        result = verifier.verify(photos[i], photos[j])
        assert result.distance == pytest.approx(expected, abs=1e-5)
        assert result.same == (result.distance <= calibrated)
        assert result.distance_kind == "euclidean" and result.threshold == calibrated
    assert distances[(1, 1)] == pytest.approx(0.0, abs=1e-6)
    # the threshold is the decision boundary: exactly at the distance -> same, just below -> different
    d = verifier.verify(photos[0], photos[2]).distance
    assert Verifier(smoke_model[0], threshold=d + 1e-6).verify(photos[0], photos[2]).same is True
    assert Verifier(smoke_model[0], threshold=d - 1e-4).verify(photos[0], photos[2]).same is False


def test_cosine_model_uses_the_cosine_distance(smoke_model, photos, tmp_path: Path) -> None:
    """The distance comes from the card: the same weights declared cosine give 1 - cos."""
    import shutil

    path = tmp_path / "cos"
    shutil.copytree(smoke_model[0], path)
    card = json.loads((path / CARD_FILE).read_text())
    card["distance"] = "cosine"
    (path / CARD_FILE).write_text(json.dumps(card))
    emb = _oracle_embeddings(smoke_model[0], photos[:3])
    result = Verifier(path, threshold=0.5).verify(photos[0], photos[2])
    assert result.distance_kind == "cosine"
    assert result.distance == pytest.approx(1.0 - float(emb[0] @ emb[2]), abs=1e-5)


@pytest.mark.parametrize("threshold", [math.nan, math.inf, -math.inf])
def test_non_finite_threshold_is_refused(smoke_model, threshold: float) -> None:
    with pytest.raises(ModelError, match=r"^--threshold: threshold must be a finite number"):
        Verifier(smoke_model[0], threshold=threshold)


def test_non_finite_embeddings_are_an_error_never_a_decision(smoke_model, photos, tmp_path: Path) -> None:
    """A model whose weights went NaN (opened without the weight check) must raise, not decide."""
    import shutil

    path = tmp_path / "nan"
    shutil.copytree(smoke_model[0], path)
    md = ModelDir(path, verify_weights=False)
    model = md.embedding_model()
    kernel = next(w for w in model.weights if len(w.shape) == 4)
    kernel.assign(np.full(kernel.shape, np.nan, dtype=np.float32))
    verifier = Verifier(md, threshold=1.0, engine="keras")  # the NaN is in the Keras weights
    with pytest.raises(ModelError, match="non-finite embeddings"):
        verifier.verify(photos[0], photos[1])
    with pytest.raises(ModelError, match="non-finite distances are errors"):
        VerificationResult(True, math.nan, 1.0, "euclidean")


def test_result_to_dict_for_both_forms() -> None:
    two = VerificationResult(True, 0.25, 0.5, "euclidean", image_a="a.jpg", image_b="b.jpg").to_dict()
    assert two == {"same": True, "distance": 0.25, "threshold": 0.5, "distance_kind": "euclidean",
                   "image_a": "a.jpg", "image_b": "b.jpg"}
    claim = VerificationResult(False, np.float32(0.75), 0.5, "cosine", image_a="a.jpg", claim="alice").to_dict()
    assert claim == {"same": False, "distance": 0.75, "threshold": 0.5, "distance_kind": "cosine",
                     "image_a": "a.jpg", "claim": "alice"}
    assert type(claim["distance"]) is float and type(claim["same"]) is bool
    json.dumps(claim)  # plain JSON types


def test_bad_photo_is_a_typed_error_naming_the_file(smoke_model, photos, tmp_path: Path) -> None:
    from siamese.errors import InputFileError

    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"not a jpeg")
    with pytest.raises(InputFileError) as err:
        Verifier(smoke_model[0], threshold=1.0).verify(photos[0], bad)
    assert str(err.value).startswith(f"{bad}: ")
