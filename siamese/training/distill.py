"""Distillation from a pretrained teacher (config section ``teacher``): the teacher's embedding of every training
photo, and the losses and targets it adds to a training run.

The teacher reads only ``PreparedData.train_paths`` -- the photos of the training identities of this run -- so
people excluded from training (``data.exclude_pairs``, the fold being scored by ``siamese benchmark lfw``) never
reach it, nor the student through it. Its embeddings are computed once per photo and cached by content hash
(:func:`siamese.teachers.teacher_embeddings`); a photo in which the teacher finds no face gets an all-zero row,
which the distillation losses leave out (:mod:`siamese.losses.distillation`).

Centring (``teacher.center``, default on): a teacher's embeddings need not be spread over the sphere. dlib's
descriptors sit in a narrow cone -- on LFW two random photos' unit descriptors have cosine ~0.84 (distance ~0.57,
genuine pairs ~0.31) -- so "match the teacher's direction / pair distances" would fight a contrastive margin of
1.0 that pushes impostors apart. Subtracting the mean embedding of the training photos (only those) centres the
cone: impostor cosine ~0.0 (distance ~1.41), genuine distance ~0.76, and the teacher's geometry agrees with the
margins. (``python benchmarks/teacher_geometry.py``: every 5th LFW photo and the pairsDevTest pairs.)
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from siamese.errors import ConfigError
from siamese.training.data import PreparedData

log = logging.getLogger("siamese.training")


@dataclass
class TeacherTargets:
    """``embeddings[i]`` is the teacher's embedding of ``train_faces[i]`` (all zero where it found no face)."""

    embeddings: np.ndarray
    summary: dict[str, Any] = field(default_factory=dict)


def teacher_targets(cfg: dict[str, Any], data: PreparedData, progress: bool = True) -> TeacherTargets | None:
    """The teacher's embeddings of the training photos, or None when the config names no teacher."""
    from siamese.teachers import get_teacher, teacher_embeddings

    tcfg = cfg["teacher"]
    if tcfg["name"] is None:
        return None
    try:
        teacher = get_teacher(tcfg["name"], **tcfg["args"])
    except TypeError as e:
        raise ConfigError(f"teacher.args: {tcfg['name']}: {e}") from None
    if tcfg["weight"] > 0 and teacher.dim != cfg["model"]["embedding_dim"]:
        raise ConfigError(f"teacher.weight: the cosine term needs model.embedding_dim == the teacher's "
                          f"{teacher.dim} (got {cfg['model']['embedding_dim']}); or set teacher.weight: 0")
    if len(data.train_paths) != len(data.train_faces):
        raise ValueError("PreparedData.train_paths must name the photo of every training face")
    result = teacher_embeddings(data.train_paths, teacher, cache_dir=tcfg["cache_dir"], progress=progress)
    emb = np.zeros((len(data.train_paths), teacher.dim), np.float32)
    found = np.asarray(result.embeddings, np.float32)
    if tcfg["center"] and len(found):
        found = found - found.mean(axis=0)
    emb[result.index] = found
    for path, reason in result.errors[:5]:
        log.warning("teacher %s: no embedding for %s: %s", teacher.name, path, reason)
    summary = {"name": teacher.name, **teacher.get_config(), "weight": float(tcfg["weight"]),
               "relational_weight": float(tcfg["relational_weight"]), "center": bool(tcfg["center"]),
               "photos": len(data.train_paths),
               "embedded": int(len(result.index)), "without_embedding": len(result.errors)}
    return TeacherTargets(emb, summary)


def distillation_losses(cfg: dict[str, Any]) -> dict[str, tuple[Any, float]]:
    """``{output name: (loss, weight)}`` of the teacher's terms with a positive weight."""
    from siamese.losses.distillation import EmbeddingDistillationLoss, RelationalDistillationLoss

    tcfg = cfg["teacher"]
    out: dict[str, tuple[Any, float]] = {}
    if tcfg["weight"] > 0:
        out["teacher"] = (EmbeddingDistillationLoss(), float(tcfg["weight"]))
    if tcfg["relational_weight"] > 0:
        out["teacher_relation"] = (RelationalDistillationLoss(distance=cfg["model"]["distance"]),
                                   float(tcfg["relational_weight"]))
    return out
