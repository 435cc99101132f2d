"""tf.data pipelines over in-memory uint8 faces: random pairs, P x K batches, evaluation pairs.

Sampling runs in TensorFlow ops (vectorised per batch, parallel ``map``), never in Python.
Randomness: each batch draws from a stateless RNG keyed by ``(seed, k)``, where ``k`` comes from
``tf.data.Dataset.random(seed, rerandomize_each_iteration=True)``. So the same seed gives the
same batches, and each new iteration (epoch) of a finite dataset draws new pairs; if a TF global
seed is set (``keras.utils.set_random_seed``) it is part of the key too.

Images come out float32 in [0, 255], ``(batch, S, S, 3)``, as the towers expect. Augmentation,
when given, runs in a sequential ``map`` so that its (stateful) random draws stay in order and
the pipeline is deterministic for a seed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from siamese.data._sampling import check_faces, check_steps, pair_groups, pk_groups
from siamese.errors import ConfigError

AUTOTUNE = tf.data.AUTOTUNE
Augment = keras.layers.Layer | Callable[[tf.Tensor], tf.Tensor] | bool | None


def _keys(seed: int, steps: int | None) -> tf.data.Dataset:
    """One int64 key per batch; a new sequence on each iteration, the same for the same seed."""
    check_steps(steps)
    keys = tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True)
    if steps is not None:
        keys = keys.take(steps)
    return keys


def _pick(u: tf.Tensor, n: tf.Tensor) -> tf.Tensor:
    """``floor(u * n)`` as int64, clipped to ``n - 1``; ``u`` float64 in [0, 1), ``n`` int64 >= 1."""
    return tf.minimum(tf.cast(tf.floor(u * tf.cast(n, tf.float64)), tf.int64), n - 1)


def _resolve_augment(augment: Augment, seed: int) -> Callable[[tf.Tensor], tf.Tensor] | None:
    if augment is None or augment is False:
        return None
    if augment is True:
        from siamese.data.augment import make_augmentation

        augment = make_augmentation(seed=seed)
    if isinstance(augment, keras.layers.Layer):
        layer = augment
        return lambda x: layer(x, training=True)
    if callable(augment):
        return augment
    raise TypeError(f"augment must be a Keras layer, a callable, a bool or None, got {type(augment).__name__}")


def pair_index_dataset(
    labels: Any, batch_size: int, genuine_fraction: float = 0.5, seed: int = 0, steps: int | None = None
) -> tf.data.Dataset:
    """Batches of ``(index_a, index_b, y)``: int64 positions into ``labels`` and float32 y (1 = same).

    Each batch holds exactly ``round(genuine_fraction * batch_size)`` genuine pairs, in random
    order. Genuine pair: an identity drawn uniformly among those with >= 2 images, then two
    distinct images of it. Impostor pair: two distinct identities drawn uniformly, one image of
    each. Identities (not images) are uniform, so a person with many photos does not dominate.
    Infinite when ``steps`` is None.
    """
    g, eligible, n_gen = pair_groups(labels, batch_size, genuine_fraction)
    order = tf.constant(g.order)
    counts = tf.constant(g.counts)
    starts = tf.constant(g.starts)
    elig = tf.constant(eligible if len(eligible) else np.zeros(1, np.int64))
    n_elig = tf.constant(max(len(eligible), 1), tf.int64)
    n_cls = tf.constant(len(g.classes), tf.int64)
    seed_t = tf.constant(seed, tf.int64)
    is_gen = tf.range(batch_size) < n_gen

    def sample(key: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
        u = tf.random.stateless_uniform([batch_size, 5], seed=tf.stack([seed_t, key]), dtype=tf.float64)
        # genuine: class c, positions p1 != p2 within it
        gc = tf.gather(elig, _pick(u[:, 0], n_elig))
        gn = tf.gather(counts, gc)
        p1 = _pick(u[:, 1], gn)
        p2 = (p1 + 1 + _pick(u[:, 2], gn - 1)) % gn
        ga = tf.gather(order, tf.gather(starts, gc) + p1)
        gb = tf.gather(order, tf.gather(starts, gc) + p2)
        # impostor: classes c1 != c2, one image each
        c1 = _pick(u[:, 0], n_cls)
        c2 = (c1 + 1 + _pick(u[:, 2], tf.maximum(n_cls - 1, 1))) % n_cls
        ia = tf.gather(order, tf.gather(starts, c1) + _pick(u[:, 1], tf.gather(counts, c1)))
        ib = tf.gather(order, tf.gather(starts, c2) + _pick(u[:, 3], tf.gather(counts, c2)))
        a = tf.where(is_gen, ga, ia)
        b = tf.where(is_gen, gb, ib)
        y = tf.cast(is_gen, tf.float32)
        perm = tf.argsort(u[:, 4], stable=True)
        return tf.gather(a, perm), tf.gather(b, perm), tf.gather(y, perm)

    return _keys(seed, steps).map(sample, num_parallel_calls=AUTOTUNE, deterministic=True)


def pair_dataset(
    faces: Any,
    labels: Any,
    batch_size: int,
    genuine_fraction: float = 0.5,
    seed: int = 0,
    augment: Augment = None,
    steps: int | None = None,
) -> tf.data.Dataset:
    """Random training pairs: batches of ``((a, b), y)``.

    ``faces`` uint8 ``(N, S, S, 3)`` with int ``labels`` ``(N,)``; ``a``, ``b`` float32 [0, 255]
    ``(batch, S, S, 3)``; ``y`` float32 ``(batch,)``, 1 = same identity. Sampling as in
    :func:`pair_index_dataset`. ``augment``: a Keras layer (called with ``training=True``), a
    callable on float32 batches, ``True`` for ``make_augmentation(seed=seed)``, or None. Infinite
    when ``steps`` is None (give ``steps_per_epoch`` to ``fit``).
    """
    faces, labels = check_faces(faces, labels)
    index = pair_index_dataset(labels, batch_size, genuine_fraction, seed, steps)
    faces_t = tf.convert_to_tensor(faces)
    aug = _resolve_augment(augment, seed)

    def gather(ia: tf.Tensor, ib: tf.Tensor, y: tf.Tensor) -> tuple[tuple[tf.Tensor, tf.Tensor], tf.Tensor]:
        a = tf.cast(tf.gather(faces_t, ia), tf.float32)
        b = tf.cast(tf.gather(faces_t, ib), tf.float32)
        return (a, b), y

    ds = index.map(gather, num_parallel_calls=AUTOTUNE, deterministic=True)
    if aug is not None:

        def augment_pair(ab: tuple[tf.Tensor, tf.Tensor], y: tf.Tensor) -> Any:
            a, b = ab
            both = tf.clip_by_value(aug(tf.concat([a, b], axis=0)), 0.0, 255.0)
            return (both[:batch_size], both[batch_size:]), y

        ds = ds.map(augment_pair)  # sequential: keeps the augmentation's random draws in order
    return ds.prefetch(AUTOTUNE)


def pk_index_dataset(
    labels: Any, P: int, K: int, seed: int = 0, replace: bool = True, steps: int | None = None
) -> tf.data.Dataset:
    """Batches of ``(index, label)``: P distinct identities x K positions each, int64 / int32.

    Rows ``i*K .. i*K+K-1`` belong to the i-th identity of the batch. Identities are drawn
    uniformly without replacement; within one, images are drawn without replacement. An
    identity with fewer than K images (but at least 2, or 1 when K == 1) gives all of them plus
    repeats drawn with replacement when ``replace`` is True, and is never drawn when False.
    Identities with a single image are never drawn when K >= 2 (they have no positive).
    """
    g, eligible = pk_groups(labels, P, K, replace)
    width = int(max(g.counts[eligible].max(), K))
    order = tf.constant(g.order)
    counts = tf.constant(g.counts)
    starts = tf.constant(g.starts)
    classes = tf.constant(g.classes)
    elig = tf.constant(eligible)
    seed_t = tf.constant(seed, tf.int64)
    col = tf.range(width, dtype=tf.int64)[tf.newaxis, :]
    colk = tf.range(K, dtype=tf.int64)[tf.newaxis, :]

    def sample(key: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        s1, s2, s3 = tf.unstack(tf.random.experimental.stateless_split(tf.stack([seed_t, key]), 3))
        pick = tf.argsort(tf.random.stateless_uniform([len(eligible)], seed=s1))[:P]
        cls = tf.gather(elig, pick)  # (P,)
        n = tf.gather(counts, cls)[:, tf.newaxis]  # (P, 1)
        u = tf.random.stateless_uniform([P, width], seed=s2)
        u = tf.where(col < n, u, 2.0)  # padding sorts last
        ranks = tf.cast(tf.argsort(u, axis=1)[:, :K], tf.int64)  # distinct positions
        extra = _pick(tf.random.stateless_uniform([P, K], seed=s3, dtype=tf.float64), n)
        pos = tf.where(colk < n, ranks, extra)
        idx = tf.gather(order, tf.gather(starts, cls)[:, tf.newaxis] + pos)
        lab = tf.repeat(tf.gather(classes, cls), K)
        return tf.reshape(idx, [-1]), tf.cast(lab, tf.int32)

    return _keys(seed, steps).map(sample, num_parallel_calls=AUTOTUNE, deterministic=True)


def pk_dataset(
    faces: Any,
    labels: Any,
    P: int,
    K: int,
    seed: int = 0,
    augment: Augment = None,
    replace: bool = True,
    steps: int | None = None,
) -> tf.data.Dataset:
    """P x K batches for metric-learning losses: ``(images, labels)``.

    ``images`` float32 [0, 255] ``(P*K, S, S, 3)``, ``labels`` int32 ``(P*K,)`` (the given label
    values), grouped by identity as in :func:`pk_index_dataset` (which documents how identities
    with fewer than K images are handled). ``augment`` as in :func:`pair_dataset`. Infinite when
    ``steps`` is None.
    """
    faces, labels = check_faces(faces, labels)
    index = pk_index_dataset(labels, P, K, seed, replace, steps)
    faces_t = tf.convert_to_tensor(faces)
    aug = _resolve_augment(augment, seed)
    def gather(idx: tf.Tensor, lab: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        return tf.cast(tf.gather(faces_t, idx), tf.float32), lab

    ds = index.map(gather, num_parallel_calls=AUTOTUNE, deterministic=True)
    if aug is not None:
        ds = ds.map(lambda x, lab: (tf.clip_by_value(aug(x), 0.0, 255.0), lab))
    return ds.prefetch(AUTOTUNE)


def pairs_eval_dataset(faces_a: Any, faces_b: Any, same: Any, batch_size: int) -> tf.data.Dataset:
    """Fixed pairs in order, no augmentation: batches of ``((a, b), y)``, a/b float32 [0, 255], y float32."""
    faces_a, faces_b = np.asarray(faces_a), np.asarray(faces_b)
    same = np.asarray(same).reshape(-1).astype(np.float32)
    if faces_a.shape != faces_b.shape or faces_a.ndim != 4 or len(faces_a) != len(same):
        raise ValueError(f"faces_a {faces_a.shape}, faces_b {faces_b.shape} and same ({len(same)}) do not match")
    if batch_size < 1:
        raise ConfigError(f"batch_size: must be >= 1, got {batch_size}")
    ds = tf.data.Dataset.from_tensor_slices((faces_a, faces_b, same)).batch(batch_size)
    ds = ds.map(
        lambda a, b, y: ((tf.cast(a, tf.float32), tf.cast(b, tf.float32)), y),
        num_parallel_calls=AUTOTUNE,
        deterministic=True,
    )
    return ds.prefetch(AUTOTUNE)
