"""Sampling pieces shared by the tf.data pipelines (:mod:`siamese.data.pipelines`) and the numpy batches
(:mod:`siamese.data.batches`): argument checks with their user-facing errors, identities grouped by label, and the
numpy samplers. No TensorFlow here.

Semantics (both implementations): P x K batches draw P distinct identities uniformly, then K images without
replacement within each; an identity with fewer than K images (but >= 2, or 1 when K == 1) gives all of them plus
repeats drawn with replacement (when ``replace``). The numpy P x K batches may append M one-photo identities
(``singletons``: distinct, drawn uniformly), which only ever form impostor pairs. Pair batches hold exactly
``round(genuine_fraction * B)`` genuine pairs (two distinct images of one identity among those with >= 2) and
impostor pairs (two distinct identities, one image each); identities, not images, are uniform.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from siamese.errors import ConfigError


def check_faces(faces: Any, labels: Any) -> tuple[np.ndarray, np.ndarray]:
    """``faces`` as an (N, H, W, 3) array and ``labels`` as int64 (N,); ValueError when they do not fit."""
    faces = np.asarray(faces)
    labels = np.asarray(labels).reshape(-1)
    if faces.ndim != 4 or faces.shape[-1] != 3:
        raise ValueError(f"faces must be (N, H, W, 3), got {faces.shape}")
    if len(faces) != len(labels):
        raise ValueError(f"{len(faces)} faces but {len(labels)} labels")
    if not np.issubdtype(labels.dtype, np.integer):
        raise ValueError(f"labels must be integers, got {labels.dtype}")
    return faces, labels.astype(np.int64)


def check_steps(steps: int | None) -> None:
    if steps is not None and steps < 1:
        raise ConfigError(f"steps: must be >= 1, got {steps}")


class Groups:
    """Positions grouped by label: ``order[starts[c]:starts[c]+counts[c]]`` are the faces of class c."""

    def __init__(self, labels: np.ndarray) -> None:
        self.classes, inverse = np.unique(labels, return_inverse=True)
        self.order = np.argsort(inverse, kind="stable").astype(np.int64)
        self.counts = np.bincount(inverse).astype(np.int64)
        self.starts = (np.cumsum(self.counts) - self.counts).astype(np.int64)


def pk_groups(labels: Any, P: int, K: int, replace: bool = True) -> tuple[Groups, np.ndarray]:
    """The groups of ``labels`` and the class numbers a P x K batch may draw; ConfigError when P, K do not fit."""
    labels = np.asarray(labels).reshape(-1).astype(np.int64)
    if P < 1 or K < 1:
        raise ConfigError(f"P and K: must be >= 1, got P={P}, K={K}")
    g = Groups(labels)
    minimum = K if not replace else min(K, 2)
    eligible = np.flatnonzero(g.counts >= minimum).astype(np.int64)
    if len(eligible) < P:
        raise ConfigError(
            f"P: {P} identities per batch but only {len(eligible)} have >= {minimum} images"
            + ("" if replace else " (replace=False)")
        )
    return g, eligible


def pair_groups(labels: Any, batch_size: int, genuine_fraction: float) -> tuple[Groups, np.ndarray, int]:
    """The groups of ``labels``, the classes with >= 2 images and the genuine count per batch; ConfigError when the
    arguments or the labels cannot give such batches."""
    labels = np.asarray(labels).reshape(-1).astype(np.int64)
    if batch_size < 1:
        raise ConfigError(f"batch_size: must be >= 1, got {batch_size}")
    if not 0.0 <= genuine_fraction <= 1.0:
        raise ConfigError(f"genuine_fraction: must be in [0, 1], got {genuine_fraction}")
    n_gen = int(round(genuine_fraction * batch_size))
    g = Groups(labels)
    eligible = np.flatnonzero(g.counts >= 2).astype(np.int64)
    if n_gen > 0 and len(eligible) == 0:
        raise ConfigError("genuine_fraction: no identity has 2 or more images, so no genuine pair exists")
    if n_gen < batch_size and len(g.classes) < 2:
        raise ConfigError("genuine_fraction: impostor pairs need at least 2 identities")
    return g, eligible, n_gen


def sample_pk(g: Groups, eligible: np.ndarray, P: int, K: int, rng: np.random.Generator) -> np.ndarray:
    """One P x K batch: int64 positions ``(P*K,)``, rows ``i*K .. i*K+K-1`` from the i-th drawn identity."""
    cls = eligible[rng.choice(len(eligible), size=P, replace=False)]
    pos = np.empty((P, K), np.int64)
    for row, n in enumerate(g.counts[cls]):
        if n >= K:
            pos[row] = rng.choice(n, size=K, replace=False)
        else:  # all of them, then repeats
            pos[row, :n] = rng.permutation(n)
            pos[row, n:] = rng.integers(0, n, size=K - n)
    return g.order[g.starts[cls][:, None] + pos].reshape(-1)


def singleton_classes(g: Groups, eligible: np.ndarray, M: int) -> np.ndarray:
    """The classes with exactly one image that the P x K part never draws (not in ``eligible``), from which a
    batch appends ``M``; ConfigError when there are fewer."""
    if M < 0:
        raise ConfigError(f"singletons: must be >= 0, got {M}")
    classes = np.setdiff1d(np.flatnonzero(g.counts == 1), eligible).astype(np.int64)
    if len(classes) < M:
        raise ConfigError(f"singletons: {M} one-photo identities per batch but only {len(classes)} are there")
    return classes


def sample_singletons(g: Groups, classes: np.ndarray, M: int, rng: np.random.Generator) -> np.ndarray:
    """The int64 positions of the one image of each of ``M`` distinct classes drawn uniformly from ``classes``."""
    return g.order[g.starts[classes[rng.choice(len(classes), size=M, replace=False)]]]


def sample_pairs(g: Groups, eligible: np.ndarray, batch_size: int, n_gen: int,
                 rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One batch of pairs: int64 positions ``a``, ``b`` and float32 ``y`` (1 = same), in random order."""
    gc = eligible[rng.integers(0, max(len(eligible), 1), size=n_gen)] if n_gen else np.zeros(0, np.int64)
    gn = g.counts[gc]
    p1 = rng.integers(0, gn, size=n_gen)
    p2 = (p1 + 1 + rng.integers(0, np.maximum(gn - 1, 1), size=n_gen)) % np.maximum(gn, 1)
    n_imp = batch_size - n_gen
    n_cls = len(g.classes)
    c1 = rng.integers(0, n_cls, size=n_imp)
    c2 = (c1 + 1 + rng.integers(0, max(n_cls - 1, 1), size=n_imp)) % n_cls
    a = np.concatenate([g.starts[gc] + p1, g.starts[c1] + rng.integers(0, g.counts[c1], size=n_imp)])
    b = np.concatenate([g.starts[gc] + p2, g.starts[c2] + rng.integers(0, g.counts[c2], size=n_imp)])
    y = (np.arange(batch_size) < n_gen).astype(np.float32)
    perm = rng.permutation(batch_size)
    return g.order[a[perm]], g.order[b[perm]], y[perm]
