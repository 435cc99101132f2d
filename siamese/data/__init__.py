"""From folders to training batches.

* Readers (no TensorFlow): :func:`read_identity_folders` -> :class:`IdentityDataset`;
  :func:`read_lfw_pairs`, :func:`read_csv_pairs` -> :class:`PairsSet` (``same`` 1 = same person);
  :func:`write_csv_pairs`.
* Identity-disjoint, seeded splits: :func:`split_identities`, :func:`kfold_identities`,
  :func:`exclude_identities`.
* :func:`load_faces`: aligned uint8 faces through an on-disk cache keyed by file content and
  aligner settings (:class:`LoadedFaces` with per-file errors); :func:`pair_faces` (the one mapping from a
  PairsSet to aligned faces) and :func:`load_pair_faces` for a PairsSet.
* tf.data pipelines (import TensorFlow on first use): :func:`pair_dataset`, :func:`pk_dataset`,
  :func:`pairs_eval_dataset`, their index-only forms :func:`pair_index_dataset`,
  :func:`pk_index_dataset`, and :func:`make_augmentation`.
* The same training batches without TensorFlow (numpy, ``keras.utils.PyDataset``, any Keras backend; imported on
  first use): :class:`PKBatches`, :class:`PairBatches`, :class:`NumpyAugment`, :func:`make_numpy_augmentation`.
"""

from importlib import import_module
from typing import Any

from siamese.data.cache import (
    FaceCache,
    LoadedFaces,
    LoadedPairs,
    PairFaces,
    file_sha256,
    load_faces,
    load_pair_faces,
    pair_faces,
    unpack_faces,
)
from siamese.data.readers import (
    IMAGE_SUFFIXES,
    IdentityDataset,
    PairsSet,
    read_csv_pairs,
    read_identity_folders,
    read_lfw_pairs,
    write_csv_pairs,
)
from siamese.data.splits import exclude_identities, kfold_identities, split_identities

_LAZY = {
    "pair_dataset": "siamese.data.pipelines",
    "pair_index_dataset": "siamese.data.pipelines",
    "pk_dataset": "siamese.data.pipelines",
    "pk_index_dataset": "siamese.data.pipelines",
    "pairs_eval_dataset": "siamese.data.pipelines",
    "make_augmentation": "siamese.data.augment",
    "PKBatches": "siamese.data.batches",
    "PairBatches": "siamese.data.batches",
    "NumpyAugment": "siamese.data.numpy_augment",
    "make_numpy_augmentation": "siamese.data.numpy_augment",
}


def __getattr__(name: str) -> Any:  # TensorFlow (Keras) only when a pipeline is asked for
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'siamese.data' has no attribute {name!r}")


__all__ = [
    "IMAGE_SUFFIXES",
    "FaceCache",
    "IdentityDataset",
    "LoadedFaces",
    "LoadedPairs",
    "PairFaces",
    "PairsSet",
    "exclude_identities",
    "file_sha256",
    "kfold_identities",
    "load_faces",
    "load_pair_faces",
    "pair_faces",
    "read_csv_pairs",
    "write_csv_pairs",
    "read_identity_folders",
    "read_lfw_pairs",
    "split_identities",
    "unpack_faces",
    *_LAZY,
]
