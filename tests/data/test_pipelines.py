"""tf.data pipelines: labels, ratios, P x K structure, split isolation, determinism, augmentation.

Faces are tiny images whose pixels encode the face's index (channel 0: index % 256, channel 1:
index // 256), so every image coming out of a pipeline can be traced back to its source.
"""

from __future__ import annotations

from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf

from siamese.data import (
    make_augmentation,
    pair_dataset,
    pair_index_dataset,
    pairs_eval_dataset,
    pk_dataset,
    pk_index_dataset,
    read_identity_folders,
    split_identities,
)
from siamese.errors import ConfigError


def encoded_faces(ids: np.ndarray, size: int = 4) -> np.ndarray:
    faces = np.zeros((len(ids), size, size, 3), np.uint8)
    faces[..., 0] = (ids % 256)[:, None, None]
    faces[..., 1] = (ids // 256)[:, None, None]
    return faces


def decode(images: tf.Tensor) -> np.ndarray:
    x = images.numpy()
    assert x.dtype == np.float32
    return (x[:, 0, 0, 0] + 256 * x[:, 0, 0, 1]).astype(np.int64)


def batches(ds: tf.data.Dataset, n: int | None = None) -> list:
    return [tf.nest.map_structure(lambda t: t.numpy(), b) for b in (ds.take(n) if n else ds)]


def same_batches(x: list, y: list) -> bool:
    return len(x) == len(y) and all(
        all(np.array_equal(p, q) for p, q in zip(tf.nest.flatten(a), tf.nest.flatten(b), strict=True))
        for a, b in zip(x, y, strict=True)
    )


@pytest.fixture(scope="module")
def orl_split(orl_root: Path):
    """ORL with global indices; train/val identity-disjoint; faces encode the global index."""
    orl = read_identity_folders(orl_root)
    train, val = split_identities(orl, val_fraction=0.25, seed=7)
    position = {p: i for i, p in enumerate(orl.paths)}
    train_ids = np.array([position[p] for p in train.paths])
    val_ids = np.array([position[p] for p in val.paths])
    return orl, train, val, train_ids, val_ids


@pytest.mark.parametrize("fraction", [0.5, 0.25])
def test_pairs_labelled_correctly_within_split(orl_split, fraction: float) -> None:
    orl, train, _, train_ids, val_ids = orl_split
    ds = pair_dataset(encoded_faces(train_ids), train.labels, batch_size=32, genuine_fraction=fraction, steps=30)
    seen_people = set()
    for (a, b), y in ds:
        ga, gb, y = decode(a), decode(b), y.numpy()
        assert a.shape == (32, 4, 4, 3) and b.dtype == tf.float32 and y.dtype == np.float32
        assert set(ga) | set(gb) <= set(train_ids.tolist()) and not (set(ga) | set(gb)) & set(val_ids.tolist())
        assert np.array_equal(y == 1, orl.labels[ga] == orl.labels[gb])  # y == 1 iff same identity
        assert (ga[y == 1] != gb[y == 1]).all()  # two different photos of the person
        assert y.sum() == round(fraction * 32)  # exact ratio in every batch
        assert 0 < y[:16].sum() < 16 or fraction != 0.5  # genuine pairs are spread over the batch
        seen_people |= {orl.names[orl.labels[i]] for i in ga}
    assert seen_people == set(train.names)  # every training identity drawn, no other one


def test_pair_index_dataset_uniform_over_identities() -> None:
    # identity 0 has 200 photos, identities 1..9 have 2 each: identities, not photos, are uniform
    labels = np.concatenate([np.zeros(200, np.int64), np.repeat(np.arange(1, 10), 2)])
    counts = np.zeros(10)
    for ia, ib, y in pair_index_dataset(labels, 64, genuine_fraction=1.0, seed=3, steps=40):
        ia, ib = ia.numpy(), ib.numpy()
        assert (labels[ia] == labels[ib]).all() and (ia != ib).all() and y.numpy().all()
        counts += np.bincount(labels[ia], minlength=10)
    assert counts.min() > 0.6 * counts.mean() and counts.max() < 1.4 * counts.mean()


def test_pairs_deterministic_and_new_each_epoch(orl_split) -> None:
    _, train, _, train_ids, _ = orl_split
    faces = encoded_faces(train_ids)

    def make(seed: int) -> tf.data.Dataset:
        return pair_dataset(faces, train.labels, 8, seed=seed, steps=4)

    ds = make(0)
    epoch1, epoch2 = batches(ds), batches(ds)
    assert len(epoch1) == 4
    assert not same_batches(epoch1, epoch2)  # a new iteration draws new pairs
    again = make(0)
    assert same_batches(batches(again), epoch1) and same_batches(batches(again), epoch2)
    assert not same_batches(batches(make(1)), epoch1)


def test_pair_infinite_without_steps(orl_split) -> None:
    _, train, _, train_ids, _ = orl_split
    ds = pair_dataset(encoded_faces(train_ids), train.labels, 4)
    assert ds.cardinality().numpy() == tf.data.INFINITE_CARDINALITY
    assert len(batches(ds, 3)) == 3


def test_pk_structure_and_split(orl_split) -> None:
    orl, train, _, train_ids, val_ids = orl_split
    ds = pk_dataset(encoded_faces(train_ids), train.labels, P=6, K=4, seed=2, steps=10)
    for images, labels in ds:
        g, labels = decode(images), labels.numpy()
        assert images.shape == (24, 4, 4, 3) and labels.dtype == np.int32
        blocks = labels.reshape(6, 4)
        assert (blocks == blocks[:, :1]).all() and len(set(blocks[:, 0])) == 6  # P distinct x K each
        assert np.array_equal(train.labels[np.searchsorted(train_ids, g)], labels)  # labels match images
        assert np.array_equal(orl.labels[g], orl.labels[g].reshape(6, 4)[:, :1].repeat(4, 1).ravel())
        assert all(len(set(row)) == 4 for row in g.reshape(6, 4))  # 10 photos each: no repeats
        assert set(g) <= set(train_ids.tolist()) and not set(g) & set(val_ids.tolist())
    fresh = [batches(pk_dataset(encoded_faces(train_ids), train.labels, 6, 4, seed=s, steps=3)) for s in (2, 2, 3)]
    assert same_batches(fresh[0], fresh[1]) and not same_batches(fresh[0], fresh[2])


def test_pk_small_identities() -> None:
    # label 0: 1 photo, label 1: 2 photos, label 2: 3 photos, labels 3..5: 6 photos
    labels = np.concatenate([[0], [1, 1], [2, 2, 2], np.repeat([3, 4, 5], 6)])
    drawn = set()
    for idx, lab in pk_index_dataset(labels, P=3, K=4, seed=0, steps=60):
        idx, lab = idx.numpy(), lab.numpy()
        assert np.array_equal(labels[idx], lab) and 0 not in lab  # a single photo has no positive
        for row, row_labels in zip(idx.reshape(3, 4), lab.reshape(3, 4), strict=True):
            n = int((labels == row_labels[0]).sum())
            assert len(set(row)) == min(n, 4)  # all photos of a small identity, then repeats
        drawn |= set(lab.tolist())
    assert drawn == {1, 2, 3, 4, 5}
    strict = {int(v) for _, lab in pk_index_dataset(labels, 3, 4, replace=False, steps=30) for v in lab.numpy()}
    assert strict == {3, 4, 5}
    with pytest.raises(ConfigError, match="P: 4 identities"):
        pk_index_dataset(labels, 4, 4, replace=False)


def test_bad_arguments() -> None:
    labels = np.array([0, 1, 2])
    with pytest.raises(ConfigError, match="no identity has 2"):
        pair_index_dataset(labels, 4)
    assert len(batches(pair_index_dataset(labels, 4, genuine_fraction=0.0, steps=2))) == 2
    with pytest.raises(ConfigError, match="genuine_fraction"):
        pair_index_dataset(labels, 4, genuine_fraction=1.5)
    with pytest.raises(ConfigError, match="batch_size"):
        pair_index_dataset(labels, 0)
    with pytest.raises(ValueError, match="labels"):
        pair_dataset(np.zeros((3, 4, 4, 3), np.uint8), np.zeros(2, np.int64), 2)


def test_augmentation_seeded_and_in_range(rng: np.random.Generator) -> None:
    x = rng.integers(0, 256, (6, 24, 24, 3)).astype(np.float32)
    out1 = make_augmentation(seed=5)(x, training=True).numpy()
    out2 = make_augmentation(seed=5)(x, training=True).numpy()
    out3 = make_augmentation(seed=6)(x, training=True).numpy()
    assert np.array_equal(out1, out2) and not np.allclose(out1, out3)
    assert out1.min() >= 0 and out1.max() <= 255 and out1.dtype == np.float32
    assert np.array_equal(make_augmentation(seed=5)(x, training=False).numpy(), x)
    plain = make_augmentation(flip=False, affine=0, color=0)
    assert np.array_equal(plain(x, training=True).numpy(), x)
    names = [layer.name for layer in make_augmentation().layers]
    assert names == ["flip", "translate", "rotate", "zoom", "brightness", "contrast"]


def test_pair_dataset_with_augmentation_deterministic(rng: np.random.Generator) -> None:
    faces = rng.integers(0, 256, (20, 16, 16, 3), dtype=np.uint8)
    labels = np.repeat(np.arange(5), 4)
    plain = batches(pair_dataset(faces, labels, 6, seed=4, steps=3))
    aug1 = batches(pair_dataset(faces, labels, 6, seed=4, steps=3, augment=True))
    aug2 = batches(pair_dataset(faces, labels, 6, seed=4, steps=3, augment=make_augmentation(seed=4)))
    assert same_batches(aug1, aug2)
    for ((a, b), y), ((pa, _), py) in zip(aug1, plain, strict=True):
        assert np.array_equal(y, py)  # augmentation leaves the sampling alone
        assert not np.allclose(a, pa) and a.min() >= 0 and b.max() <= 255
    pk = batches(pk_dataset(faces, labels, 2, 3, seed=1, steps=2, augment=lambda t: 255.0 - t))
    pk_plain = batches(pk_dataset(faces, labels, 2, 3, seed=1, steps=2))
    assert np.array_equal(pk[0][0], 255.0 - pk_plain[0][0])


def test_pairs_eval_dataset_in_order(rng: np.random.Generator) -> None:
    fa = rng.integers(0, 256, (5, 8, 8, 3), dtype=np.uint8)
    fb = rng.integers(0, 256, (5, 8, 8, 3), dtype=np.uint8)
    same = np.array([1, 0, 1, 1, 0])
    out = batches(pairs_eval_dataset(fa, fb, same, batch_size=2))
    assert [len(y) for _, y in out] == [2, 2, 1]
    a = np.concatenate([ab[0] for ab, _ in out])
    b = np.concatenate([ab[1] for ab, _ in out])
    assert a.dtype == np.float32 and np.array_equal(a, fa) and np.array_equal(b, fb)
    assert np.array_equal(np.concatenate([y for _, y in out]), same.astype(np.float32))


def test_fit_on_pair_dataset(rng: np.random.Generator) -> None:
    """The ((a, b), y) structure feeds a two-input Keras model directly."""
    faces = rng.integers(0, 256, (12, 8, 8, 3), dtype=np.uint8)
    tower = keras.Sequential([keras.Input((8, 8, 3)), keras.layers.Rescaling(1 / 255), keras.layers.Flatten(),
                              keras.layers.Dense(4)])
    a, b = keras.Input((8, 8, 3)), keras.Input((8, 8, 3))
    d = keras.layers.Lambda(lambda t: keras.ops.sum(keras.ops.square(t[0] - t[1]), axis=-1))([tower(a), tower(b)])
    model = keras.Model([a, b], d)
    model.compile(optimizer="sgd", loss="mse")
    ds = pair_dataset(faces, np.repeat(np.arange(4), 3), 4, steps=3, augment=True)
    history = model.fit(ds, epochs=2, verbose=0, shuffle=False)
    assert len(history.history["loss"]) == 2 and np.isfinite(history.history["loss"]).all()
