"""Training data: identity folders -> filtered, identity-disjoint split -> aligned faces + fixed validation pairs."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from siamese import paths
from siamese.errors import ConfigError

log = logging.getLogger("siamese.training")


@dataclass
class PreparedData:
    """Aligned faces of the training and validation identities, and the fixed validation pairs."""

    train_faces: np.ndarray
    train_labels: np.ndarray
    val_faces: np.ndarray
    val_labels: np.ndarray
    val_a: np.ndarray          # indices into val_faces
    val_b: np.ndarray
    val_same: np.ndarray       # 1 = same person
    summary: dict[str, Any] = field(default_factory=dict)
    people: list[str] = field(default_factory=list)   # every identity used (training and validation), sorted
    train_paths: list[str] = field(default_factory=list)  # the photo of each row of train_faces


def sample_pairs(labels: np.ndarray, n: int, genuine_fraction: float = 0.5,
                 seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Draw ``n`` distinct-index pairs (about ``genuine_fraction`` genuine) from ``labels``; seeded."""
    rng = np.random.default_rng(seed)
    labels = np.asarray(labels)
    by_id = {c: np.flatnonzero(labels == c) for c in np.unique(labels)}
    multi = [c for c, idx in by_id.items() if len(idx) >= 2]
    classes = list(by_id)
    if not multi or len(classes) < 2:
        raise ConfigError("data: the validation split needs at least 2 identities, one with 2+ images")
    n_gen = int(round(n * genuine_fraction))
    a, b, same = [], [], []
    for _ in range(n_gen):
        i, j = rng.choice(by_id[multi[rng.integers(len(multi))]], size=2, replace=False)
        a.append(i), b.append(j), same.append(1)
    for _ in range(n - n_gen):
        c1, c2 = rng.choice(len(classes), size=2, replace=False)
        a.append(rng.choice(by_id[classes[c1]])), b.append(rng.choice(by_id[classes[c2]])), same.append(0)
    return np.array(a), np.array(b), np.array(same, dtype=np.int32)


def make_aligner(faces_cfg: dict[str, Any]) -> Any:
    """The FaceAligner of a config's ``faces`` section."""
    from siamese.faces import make_aligner as build

    return build(faces_cfg["detector"], faces_cfg["size"], yunet_model=faces_cfg.get("yunet_model"),
                 min_face_size=faces_cfg.get("min_face_size"), check_face=bool(faces_cfg.get("check_face")))


def split_people(cfg: dict[str, Any], exclude_people: Iterable[str] = ()) -> tuple[Any, Any, set[str]]:
    """The identity folders of ``cfg['data']`` minus excluded people, split identity-disjointly as training uses
    them: ``(train_set, val_set, excluded)`` (:class:`~siamese.data.IdentityDataset` each; ``excluded`` = the names
    left out, from ``exclude_people`` and the ``data.exclude_pairs`` files). Deterministic for ``cfg['seed']``.
    With ``train.pk.singletons`` the people with one photo are added to the training side, never to validation
    (``data.max_identities`` caps their number too); the split of the others is the same as without them."""
    from siamese import data as sdata

    dcfg = cfg["data"]
    root = paths.data_root(dcfg["root"])
    folders = root / dcfg["train"]
    if not folders.is_dir():
        raise ConfigError(f"data.train: {folders} is not a directory")
    singletons = cfg["train"]["pk"]["singletons"] > 0
    dataset = sdata.read_identity_folders(folders, min_images=1 if singletons else dcfg["min_images"])
    excluded: set[str] = set(exclude_people)
    for pairs_file in dcfg["exclude_pairs"]:
        pairs = sdata.read_lfw_pairs(root / pairs_file, folders)
        excluded |= set(pairs.people())
    if excluded:
        dataset = sdata.exclude_identities(dataset, excluded)
    ones: list[str] = []
    if singletons:  # one-photo people join the training side only; the people split below is as without them
        counts = dict(zip(dataset.names, dataset.counts().tolist(), strict=True))
        ones = [n for n, c in counts.items() if c == 1]
        full, dataset = dataset, dataset.subset(n for n, c in counts.items() if c >= max(int(dcfg["min_images"]), 2))
    if dcfg["max_identities"]:  # the cap applies to the people with several photos and to the one-photo people
        rng = np.random.default_rng(cfg["seed"])
        cap = int(dcfg["max_identities"])
        keep = sorted(rng.choice(dataset.names, size=min(cap, len(dataset.names)), replace=False).tolist())
        dataset = dataset.subset(keep)
        if len(ones) > cap:
            ones = sorted(rng.choice(ones, size=cap, replace=False).tolist())
    train_set, val_set = sdata.split_identities(dataset, val_fraction=dcfg["val_fraction"], seed=cfg["seed"])
    if ones:
        train_set = full.subset([*train_set.names, *ones])
    return train_set, val_set, excluded


def prepare_data(cfg: dict[str, Any], progress: bool = True, exclude_people: Iterable[str] = ()) -> PreparedData:
    """Read, filter, split (:func:`split_people`) and align the training data described by ``cfg['data']`` and
    ``cfg['faces']``.

    People named in ``exclude_people`` (identity folder names) never enter training or validation, like those of
    the ``data.exclude_pairs`` files (e.g. the people of the LFW fold being scored, see :mod:`siamese.benchmark`).
    """
    from siamese import data as sdata
    from siamese.verification import unpack_faces

    dcfg = cfg["data"]
    train_set, val_set, excluded = split_people(cfg, exclude_people)

    aligner = make_aligner(cfg["faces"])

    def load(ds: Any) -> tuple[np.ndarray, np.ndarray, int, list[str]]:
        if cfg["faces"]["cache"]:
            loaded: Any = sdata.load_faces(ds.paths, aligner, progress=progress)
        else:
            loaded = aligner.align_files(ds.paths, progress=progress)
        faces, index, errors = unpack_faces(loaded)
        for path, reason in errors[:5]:
            log.warning("skipped %s: %s", path, reason)
        return faces, np.asarray(ds.labels)[index], len(errors), [str(ds.paths[i]) for i in index]

    train_faces, train_labels, train_err, train_paths = load(train_set)
    val_faces, val_labels, val_err, _ = load(val_set)
    a, b, same = sample_pairs(val_labels, dcfg["val_pairs"], 0.5, seed=cfg["seed"] + 1)
    summary = {
        "source": str(dcfg["train"]),
        "excluded_pairs_files": list(dcfg["exclude_pairs"]),
        "excluded_people": len(excluded),
        "train_identities": int(len(np.unique(train_labels))),
        "train_images": int(len(train_faces)),
        "val_identities": int(len(np.unique(val_labels))),
        "val_images": int(len(val_faces)),
        "val_pairs": int(len(same)),
        "skipped_images": int(train_err + val_err),
    }
    people = sorted(set(train_set.names) | set(val_set.names))
    return PreparedData(train_faces, train_labels, val_faces, val_labels, a, b, same, summary, people, train_paths)
