"""Training batches in numpy for ``keras.Model.fit`` on any backend (no TensorFlow): P x K batches and random pairs.

The sampling is that of the tf.data pipelines (:func:`siamese.data.pipelines.pk_index_dataset`,
:func:`siamese.data.pipelines.pair_index_dataset`), drawn with numpy; the draws differ from theirs.

Both classes are ``keras.utils.PyDataset``: ``workers`` threads (or processes with ``use_multiprocessing``) prepare
up to ``max_queue_size`` batches ahead. Images come out float32 in [0, 255], ``(batch, S, S, 3)``.

Randomness: batch ``i`` of epoch ``e`` draws everything (sampling, then augmentation) from
``np.random.default_rng([seed, e, i])``, so batches do not depend on which worker makes them or in which order, and
each epoch draws new ones: ``on_epoch_end`` advances :attr:`epoch` (``fit`` calls it after each epoch, and once
before the first); set :attr:`epoch` to resume a sequence.

Data-parallel training: with ``shard=(k, n)`` every process draws the same global batch and keeps its rows
``k*B/n : (k+1)*B/n`` (images and targets alike); with a :class:`NumpyAugment` the augmentation parameters are drawn
for the global batch too, so the shards of all processes concatenate to the single-process batch.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

import keras
import numpy as np

from siamese.data._sampling import (
    check_faces,
    check_steps,
    pair_groups,
    pk_groups,
    sample_pairs,
    sample_pk,
    sample_singletons,
    singleton_classes,
)
from siamese.data.numpy_augment import NumpyAugment, make_numpy_augmentation
from siamese.errors import ConfigError

NumpyAugmentLike = NumpyAugment | Callable[[np.ndarray, np.random.Generator], np.ndarray] | bool | None


def _resolve_augment(augment: NumpyAugmentLike) -> NumpyAugment | Callable[..., np.ndarray] | None:
    if augment is None or augment is False:
        return None
    if augment is True:
        return make_numpy_augmentation()
    if isinstance(augment, NumpyAugment):
        return augment if augment.active else None
    if callable(augment):
        return augment
    raise TypeError(f"augment must be a NumpyAugment, a callable (batch, rng), a bool or None, "
                    f"got {type(augment).__name__}")


class _Batches(keras.utils.PyDataset):
    """Seeding, epochs, shards and augmentation common to :class:`PKBatches` and :class:`PairBatches`."""

    def __init__(self, batch_size: int, images_per_batch: int, seed: int, steps: int | None, augment: NumpyAugmentLike,
                 shard: tuple[int, int], workers: int, use_multiprocessing: bool, max_queue_size: int) -> None:
        super().__init__(workers=workers, use_multiprocessing=use_multiprocessing, max_queue_size=max_queue_size)
        if steps is None:  # about one pass over the faces
            steps = max(1, math.ceil(len(self.faces) / batch_size))
        check_steps(steps)
        if seed < 0:
            raise ConfigError(f"seed: must be >= 0, got {seed}")
        k, n = (int(v) for v in shard)
        if n < 1 or not 0 <= k < n:
            raise ConfigError(f"shard: must be (k, n) with 0 <= k < n, got {tuple(shard)}")
        if batch_size % n:
            raise ConfigError(f"shard: a batch of {batch_size} rows does not split into {n} equal shards")
        self.seed = int(seed)
        self.steps = int(steps)
        self.shard = (k, n)
        self.global_batch_size = batch_size
        self.images_per_batch = images_per_batch
        self.rows = slice(k * batch_size // n, (k + 1) * batch_size // n)
        self.augment = _resolve_augment(augment)
        self.epoch = 0

    def __len__(self) -> int:
        return self.steps

    def on_epoch_end(self) -> None:
        self.epoch += 1

    def _rng(self, i: int) -> np.random.Generator:
        if i < 0:
            raise IndexError(f"batch index must be >= 0, got {i}")
        return np.random.default_rng([self.seed, self.epoch, int(i)])

    def _augmented(self, images: np.ndarray, rng: np.random.Generator, rows: slice | np.ndarray) -> np.ndarray:
        """float32 ``images``, the ``rows`` of the global batch's images, augmented."""
        if self.augment is None:
            return images.astype(np.float32)
        if isinstance(self.augment, NumpyAugment):  # parameters for the whole global batch: shard-invariant
            return self.augment.apply(images, self.augment.draw(self.images_per_batch, rng)[rows])
        return np.clip(np.asarray(self.augment(images.astype(np.float32), rng), np.float32), 0.0, 255.0)


class PKBatches(_Batches):
    """P x K batches ``(x, y)`` for metric-learning losses, as :func:`siamese.data.pipelines.pk_dataset`.

    ``faces`` uint8 ``(N, S, S, 3)``, ``labels`` int ``(N,)``. ``x`` float32 [0, 255] ``(P*K, S, S, 3)``, rows
    ``i*K .. i*K+K-1`` from the i-th of P distinct identities drawn uniformly, K images each without replacement;
    identities with fewer than K images (>= 2) are padded by draws with replacement when ``replace`` (never drawn
    when not). ``singletons`` (M, default 0) appends M rows: the one image of each of M distinct identities that
    have exactly one (impostors only; more identities per batch without more images of anyone), so a batch has
    ``P*K + M`` rows. ``y``: the labels, int32 ``(P*K + M,)``, or with ``targets`` a dict ``{name: labels if arr
    is None else arr[index]}`` (per-image arrays, e.g. teacher embeddings, gathered with the same positions).
    ``steps`` batches per epoch (default: about one pass over the faces, ``ceil(N / (P*K + M))``). ``augment``: a
    :class:`NumpyAugment`, a callable ``(batch, rng) -> batch`` (applied to this shard's rows only), True for
    ``make_numpy_augmentation()``, or None. Shards, seeding and workers: see :mod:`siamese.data.batches`.
    """

    def __init__(self, faces: Any, labels: Any, P: int, K: int, seed: int = 0, steps: int | None = None,
                 augment: NumpyAugmentLike = None, targets: Mapping[str, np.ndarray | None] | None = None,
                 shard: tuple[int, int] = (0, 1), replace: bool = True, singletons: int = 0, workers: int = 2,
                 use_multiprocessing: bool = False, max_queue_size: int = 8) -> None:
        self.faces, self.labels = check_faces(faces, labels)
        self._groups, self._eligible = pk_groups(self.labels, P, K, replace)
        self.P, self.K, self.singletons = int(P), int(K), int(singletons)
        self._singles = singleton_classes(self._groups, self._eligible, self.singletons)
        batch = self.P * self.K + self.singletons
        super().__init__(batch, batch, seed, steps, augment, shard, workers, use_multiprocessing, max_queue_size)
        self.targets: dict[str, np.ndarray | None] | None = None
        if targets is not None:
            self.targets = {}
            for name, arr in targets.items():
                if arr is not None:
                    arr = np.asarray(arr)
                    if len(arr) != len(self.faces):
                        raise ValueError(f"targets[{name!r}] has {len(arr)} rows but there are {len(self.faces)} faces")
                self.targets[name] = arr

    def indices(self, i: int) -> np.ndarray:
        """Positions into ``faces`` of this shard's rows of batch ``i`` of the current epoch (int64)."""
        return self._sample(self._rng(i))

    def _sample(self, rng: np.random.Generator) -> np.ndarray:
        idx = sample_pk(self._groups, self._eligible, self.P, self.K, rng)
        if self.singletons:  # drawn after the P x K rows: M = 0 keeps every earlier batch as it was
            idx = np.concatenate([idx, sample_singletons(self._groups, self._singles, self.singletons, rng)])
        return idx[self.rows]

    def __getitem__(self, i: int) -> tuple[np.ndarray, np.ndarray | dict[str, np.ndarray]]:
        rng = self._rng(i)
        idx = self._sample(rng)
        x = self._augmented(self.faces[idx], rng, self.rows)
        labels = self.labels[idx].astype(np.int32)
        if self.targets is None:
            return x, labels
        return x, {name: labels if arr is None else arr[idx] for name, arr in self.targets.items()}


class PairBatches(_Batches):
    """Random pairs ``((a, b), y)`` for pair losses, as :func:`siamese.data.pipelines.pair_dataset`.

    ``a``, ``b`` float32 [0, 255] ``(batch_size, S, S, 3)``, ``y`` float32 ``(batch_size,)``, 1 = same identity.
    Each global batch holds exactly ``round(genuine_fraction * batch_size)`` genuine pairs (two distinct images of
    an identity with >= 2) in random order, the rest impostor pairs (two distinct identities); identities are drawn
    uniformly. ``steps`` defaults to ``ceil(N / batch_size)``. ``augment`` as in :class:`PKBatches`, on ``a`` and
    ``b`` with independent draws. Shards, seeding and workers: see :mod:`siamese.data.batches`.
    """

    def __init__(self, faces: Any, labels: Any, batch_size: int, genuine_fraction: float = 0.5, seed: int = 0,
                 steps: int | None = None, augment: NumpyAugmentLike = None, shard: tuple[int, int] = (0, 1),
                 workers: int = 2, use_multiprocessing: bool = False, max_queue_size: int = 8) -> None:
        self.faces, self.labels = check_faces(faces, labels)
        self._groups, self._eligible, self._n_gen = pair_groups(self.labels, batch_size, genuine_fraction)
        self.batch_size = int(batch_size)
        super().__init__(self.batch_size, 2 * self.batch_size, seed, steps, augment, shard, workers,
                         use_multiprocessing, max_queue_size)

    def indices(self, i: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(a, b, y)`` of this shard's rows of batch ``i`` of the current epoch: int64 positions, float32 y."""
        return self._sample(self._rng(i))

    def _sample(self, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        a, b, y = sample_pairs(self._groups, self._eligible, self.batch_size, self._n_gen, rng)
        return a[self.rows], b[self.rows], y[self.rows]

    def __getitem__(self, i: int) -> tuple[tuple[np.ndarray, np.ndarray], np.ndarray]:
        rng = self._rng(i)
        a, b, y = self._sample(rng)
        n, lo, hi = len(a), self.rows.start, self.rows.stop
        # the augmentation draws 2B rows, a's then b's: this shard's are lo:hi and B+lo:B+hi
        rows = np.r_[lo:hi, self.batch_size + lo:self.batch_size + hi]
        both = self._augmented(np.concatenate([self.faces[a], self.faces[b]]), rng, rows)
        return (both[:n], both[n:]), y
