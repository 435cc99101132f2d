"""Export the embedding model for serving: TensorFlow SavedModel or TFLite (float32, float16 or int8).

int8 quantisation calibrates activations on a representative set of aligned faces (``representative``:
uint8 ``(N, S, S, 3)``). The exported model keeps the Keras model's contract: float32 RGB [0, 255] in,
L2-normalised embedding out (int8 TFLite keeps float32 input/output; only the inside is quantised).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from siamese._files import atomic_path, atomic_write_bytes
from siamese.errors import SiameseError
from siamese.model_dir import CARD_FILE, ModelDir

#: faces used to calibrate int8 activations
REPRESENTATIVE_FACES = 1000

FORMATS = ("savedmodel", "tflite")
QUANTIZE = ("float16", "int8")


def export_model(model_dir: ModelDir, fmt: str, out: str | os.PathLike[str] | None, quantize: str | None = None,
                 representative: np.ndarray | None = None) -> Path:
    """Write the export to ``out`` (a folder for SavedModel, a file for TFLite) and return its path. A TFLite
    export with ``out=None`` becomes the model directory's own runtime model (``embedding.tflite``, recorded in the
    card)."""
    if fmt not in FORMATS:
        raise SiameseError(f"--format: {fmt!r} is not one of {', '.join(FORMATS)}")
    if quantize is not None and quantize not in QUANTIZE:
        raise SiameseError(f"--quantize: {quantize!r} is not one of {', '.join(QUANTIZE)}")
    if quantize and fmt != "tflite":
        raise SiameseError("--quantize: only applies to --format tflite")
    if quantize == "int8" and (representative is None or len(representative) == 0):
        raise SiameseError("--quantize int8: needs a representative set of faces (--representative DIR or --pairs)")
    model = model_dir.embedding_model()
    size = model_dir.input_size
    if out is None:
        if fmt != "tflite":
            raise SiameseError("--out: needed for --format savedmodel")
        return model_dir.save_tflite(tflite_bytes(model, size, quantize, representative), quantize)
    out = Path(out)
    if out.exists() and (out.parent / CARD_FILE).is_file():
        raise SiameseError(f"{out}: already exists in the model directory {out.parent} and would be overwritten; "
                           "choose another --out (without --out a TFLite export becomes the model's own runtime "
                           "model)")
    if fmt == "savedmodel":
        if out.exists():
            raise SiameseError(f"{out}: already exists; choose another --out")
        with atomic_path(out) as tmp:
            model.export(str(tmp), format="tf_saved_model", verbose=False)
        return out
    if out.is_dir():
        raise SiameseError(f"{out}: is a directory; --format tflite writes a file")

    return atomic_write_bytes(out, tflite_bytes(model, size, quantize, representative), mode=0o644)


def tflite_bytes(model: Any, size: int, quantize: str | None = None, representative: np.ndarray | None = None) -> bytes:
    """The TFLite flatbuffer of a Keras tower (float32, or ``quantize`` float16 / int8 with ``representative``
    faces); float32 RGB [0, 255] in, embedding out. Needs TensorFlow (its converter), whatever the Keras backend."""
    try:
        import tensorflow as tf
    except ImportError as exc:
        raise SiameseError(f"export needs TensorFlow (its TFLite converter): {exc} (pip install 'siamese[train]')"
                           ) from exc

    with tempfile.TemporaryDirectory() as tmp:
        saved = Path(tmp) / "saved"
        model.export(str(saved), format="tf_saved_model", verbose=False)
        converter = tf.lite.TFLiteConverter.from_saved_model(str(saved))
        if quantize == "float16":
            converter.optimizations = [tf.lite.Optimize.DEFAULT]
            converter.target_spec.supported_types = [tf.float16]
        elif quantize == "int8":
            reps = np.asarray(representative, dtype=np.float32)

            def rep_data() -> Any:
                for face in reps[:REPRESENTATIVE_FACES]:
                    yield [face[None].reshape(1, size, size, 3)]

            converter.optimizations = [tf.lite.Optimize.DEFAULT]
            converter.representative_dataset = rep_data
        return converter.convert()


def representative_faces(aligner: Any, folder: str | os.PathLike[str] | None, pairs: Any = None,
                         progress: bool = False) -> np.ndarray:
    """Aligned faces for int8 calibration: photos under ``folder``, else the first photos of a pairs set."""
    from siamese.verification import unpack_faces

    if folder is not None:
        files = sorted(str(p) for p in Path(folder).rglob("*") if p.is_file())
    elif pairs is not None:
        files = sorted(set(map(str, pairs.paths_a)))
    else:
        files = []
    return unpack_faces(aligner.align_files(files[:REPRESENTATIVE_FACES], progress=progress))[0]


def compare_accuracy(model_dir: ModelDir, aligner: Any, exported: str | os.PathLike[str], pairs: Any,
                     progress: bool = False, faces: Any = None) -> dict[str, float]:
    """Best accuracy on ``pairs`` of the Keras model and of the export, on the same aligned faces (``faces``: the
    pairs' :class:`siamese.data.PairFaces` when already aligned; pairs whose photos failed are left out)."""
    from siamese import distances
    from siamese.evaluation import best_threshold
    from siamese.runtime.keras_engine import KerasEngine
    from siamese.verification import pair_faces

    run = ExportedEmbedder(exported)
    pf = faces if faces is not None else pair_faces(aligner, pairs, progress=progress)
    same = np.asarray(pairs.same)[pf.ok].astype(np.int32)
    dist = distances.get(model_dir.distance)
    out = {}
    for name, emb in (("keras", KerasEngine(model_dir).embed(pf.faces)), ("exported", run(pf.faces))):
        out[name] = float(best_threshold(dist.rowwise(emb[pf.ia], emb[pf.ib]), same)[1])
    return out


class ExportedEmbedder:
    """Runs an exported model (SavedModel folder or ``.tflite`` file) on faces, for accuracy comparison."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        if self.path.is_dir():
            import tensorflow as tf

            loaded = tf.saved_model.load(str(self.path))
            self._fn = loaded.signatures["serving_default"]
            self._kind = "savedmodel"
        else:
            from ai_edge_litert.interpreter import Interpreter

            self._interp = Interpreter(model_path=str(self.path))
            self._kind = "tflite"

    def __call__(self, faces: np.ndarray) -> np.ndarray:
        faces = np.asarray(faces, dtype=np.float32)
        if self._kind == "savedmodel":
            import tensorflow as tf

            out = self._fn(tf.constant(faces))
            emb = np.asarray(next(iter(out.values())))
        else:
            interp = self._interp
            inp = interp.get_input_details()[0]
            interp.resize_tensor_input(inp["index"], faces.shape)
            interp.allocate_tensors()
            interp.set_tensor(inp["index"], faces)
            interp.invoke()
            emb = np.asarray(interp.get_tensor(interp.get_output_details()[0]["index"]), dtype=np.float32)
        return emb / np.maximum(np.linalg.norm(emb, axis=1, keepdims=True), 1e-12)
