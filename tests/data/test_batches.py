"""Numpy training batches (PKBatches, PairBatches) and NumpyAugment: structure, determinism, shards, no TensorFlow.

Faces are tiny images whose pixels encode the face's index (channel 0: index % 256, channel 1: index // 256), so
every image coming out of a batch can be traced back to its source.
"""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
from importlib.util import find_spec
from pathlib import Path

import cv2
import numpy as np
import pytest

from siamese.data import NumpyAugment, PairBatches, PKBatches, make_numpy_augmentation
from siamese.errors import ConfigError

REPO = Path(__file__).resolve().parents[2]


def encoded_faces(n: int, size: int = 4) -> np.ndarray:
    ids = np.arange(n)
    faces = np.zeros((n, size, size, 3), np.uint8)
    faces[..., 0] = (ids % 256)[:, None, None]
    faces[..., 1] = (ids // 256)[:, None, None]
    return faces


def decode(images: np.ndarray) -> np.ndarray:
    assert images.dtype == np.float32
    return (images[:, 0, 0, 0] + 256 * images[:, 0, 0, 1]).astype(np.int64)


def uneven_labels(rng: np.random.Generator) -> np.ndarray:
    """40 identities with 1..9 images each (label values 100, 103, ... so they are not positions), shuffled."""
    counts = np.r_[1, 1, 2, 2, 3, rng.integers(1, 10, 35)]
    return rng.permutation(np.repeat(100 + 3 * np.arange(40), counts))


def same(x: object, y: object) -> bool:
    if isinstance(x, dict):
        return isinstance(y, dict) and x.keys() == y.keys() and all(same(x[k], y[k]) for k in x)
    if isinstance(x, tuple | list):
        return len(x) == len(y) and all(same(a, b) for a, b in zip(x, y, strict=True))
    return x.dtype == y.dtype and np.array_equal(x, y)


@pytest.mark.parametrize("K", [1, 4])
def test_pk_structure(rng: np.random.Generator, K: int) -> None:
    labels = uneven_labels(rng)
    counts = {c: int((labels == c).sum()) for c in np.unique(labels)}
    P = 6
    ds = PKBatches(encoded_faces(len(labels)), labels, P=P, K=K, seed=3, steps=60, workers=0)
    assert len(ds) == 60
    drawn = set()
    for i in range(len(ds)):
        x, y = ds[i]
        assert x.shape == (P * K, 4, 4, 3) and x.dtype == np.float32 and y.dtype == np.int32 and y.shape == (P * K,)
        idx = decode(x)
        assert np.array_equal(y, labels[idx])  # every row's label is the label of its image
        groups = y.reshape(P, K)
        assert (groups == groups[:, :1]).all() and len(set(groups[:, 0])) == P  # P distinct identities, K rows each
        for row, c in zip(idx.reshape(P, K), groups[:, 0], strict=True):
            if K >= 2:
                assert counts[c] >= 2  # a single-image identity has no positive: never drawn
            if counts[c] >= K:
                assert len(set(row)) == K  # without replacement
            else:  # every image of the identity, padded with repeats
                assert set(row) == set(np.flatnonzero(labels == c))
        drawn |= set(groups[:, 0].tolist())
    assert drawn == {c for c, n in counts.items() if n >= min(K, 2)}  # every eligible identity comes up


def test_pk_singletons_append_distinct_one_photo_identities(rng: np.random.Generator) -> None:
    """M one-photo identities follow the P x K rows: distinct, never one of the P, each drawn about equally often;
    the P x K rows are exactly those of the same seed without singletons (M = 0 changes no earlier batch)."""
    counts = np.r_[np.full(12, 1), rng.integers(2, 7, 20)]
    labels = rng.permutation(np.repeat(10 * np.arange(len(counts)), counts))
    ones = {c for c in np.unique(labels) if (labels == c).sum() == 1}
    faces = encoded_faces(len(labels))
    plain = PKBatches(faces, labels, P=4, K=3, seed=7, steps=600, workers=0)
    ds = PKBatches(faces, labels, P=4, K=3, seed=7, steps=600, singletons=5, workers=0)
    seen = []
    for i in range(len(ds)):
        x, y = ds[i]
        assert x.shape == (4 * 3 + 5, 4, 4, 3) and np.array_equal(y, labels[decode(x)])
        assert np.array_equal(ds.indices(i)[:12], plain.indices(i))
        tail = y[12:].tolist()
        assert set(tail) <= ones and len(set(tail)) == 5 and not set(tail) & set(y[:12].tolist())
        seen += tail
    freq = np.unique(seen, return_counts=True)[1] / len(seen)
    assert len(freq) == len(ones) and np.allclose(freq, 1 / len(ones), atol=0.02)
    halves = [PKBatches(faces, labels, P=4, K=3, seed=7, steps=3, singletons=4, shard=(k, 2), workers=0)
              for k in range(2)]
    whole = PKBatches(faces, labels, P=4, K=3, seed=7, steps=3, singletons=4, workers=0)
    assert np.array_equal(np.concatenate([h.indices(1) for h in halves]), whole.indices(1))
    with pytest.raises(ConfigError, match="singletons: 13 one-photo identities per batch but only 12"):
        PKBatches(faces, labels, P=4, K=3, singletons=13)


def test_pk_without_replacement_skips_small_identities(rng: np.random.Generator) -> None:
    labels = uneven_labels(rng)
    counts = {c: int((labels == c).sum()) for c in np.unique(labels)}
    ds = PKBatches(encoded_faces(len(labels)), labels, P=3, K=4, replace=False, steps=30, workers=0)
    for i in range(len(ds)):
        x, y = ds[i]
        assert all(counts[c] >= 4 for c in y) and all(len(set(r)) == 4 for r in decode(x).reshape(3, 4))


def test_pk_identities_uniform() -> None:
    """One identity has 50 images, the others 2: identities, not images, are drawn uniformly."""
    labels = np.r_[np.zeros(50, int), np.repeat(np.arange(1, 10), 2)]
    ds = PKBatches(encoded_faces(len(labels)), labels, P=2, K=2, steps=2000, workers=0)
    drawn = labels[np.concatenate([ds.indices(i) for i in range(len(ds))])]
    freq = np.bincount(drawn, minlength=10) / drawn.size
    assert np.allclose(freq, 0.1, atol=0.02)


def test_deterministic_in_any_order_and_new_each_epoch(rng: np.random.Generator) -> None:
    labels = uneven_labels(rng)
    faces = rng.integers(0, 256, (len(labels), 8, 8, 3), dtype=np.uint8)
    aug = NumpyAugment(flip=True, shift=0.1, color=0.2)

    def make(seed: int = 5) -> PKBatches:
        return PKBatches(faces, labels, P=4, K=2, seed=seed, steps=5, augment=aug, workers=0)

    one, two = make(), make()
    first = {3: one[3], 1: one[1]}  # fetched 3 before 1
    assert same(first[1], two[1]) and same(first[3], two[3])
    assert same(first[1], one[1])  # fetching again gives the same batch
    assert not same(first[1], first[3])
    assert not same(first[1], make(seed=6)[1])
    one.on_epoch_end()
    assert one.epoch == 1 and not same(one[1], two[1])  # a new epoch draws new batches
    two.on_epoch_end()
    assert same(one[1], two[1])


def test_targets_gathered_with_the_same_indices(rng: np.random.Generator) -> None:
    labels = uneven_labels(rng)
    table = {c: rng.normal(size=5).astype(np.float32) for c in np.unique(labels)}  # label -> teacher vector
    teacher = np.stack([table[c] for c in labels])
    position = np.arange(len(labels)) * 10
    ds = PKBatches(encoded_faces(len(labels)), labels, P=4, K=3, steps=10, workers=0,
                   targets={"embedding": None, "teacher": teacher, "position": position})
    for i in range(len(ds)):
        x, y = ds[i]
        assert set(y) == {"embedding", "teacher", "position"}
        assert np.array_equal(y["embedding"], labels[decode(x)]) and y["embedding"].dtype == np.int32
        assert np.array_equal(y["teacher"], np.stack([table[c] for c in y["embedding"]]))
        assert np.array_equal(y["position"], decode(x) * 10)
    with pytest.raises(ValueError, match="targets"):
        PKBatches(encoded_faces(len(labels)), labels, P=4, K=3, targets={"teacher": teacher[:-1]})


def test_shards_concatenate_to_the_global_batch(rng: np.random.Generator) -> None:
    labels = uneven_labels(rng)
    faces = rng.integers(0, 256, (len(labels), 8, 8, 3), dtype=np.uint8)
    aug = NumpyAugment(flip=True, affine=0.1, color=0.2)
    targets = {"id": None, "t": rng.normal(size=(len(labels), 3))}
    kw = {"P": 4, "K": 3, "seed": 2, "steps": 3, "augment": aug, "targets": targets, "workers": 0}
    whole = PKBatches(faces, labels, **kw)
    parts = [PKBatches(faces, labels, shard=(k, 2), **kw) for k in range(2)]
    for i in range(3):
        (x, y), (x0, y0), (x1, y1) = whole[i], parts[0][i], parts[1][i]
        assert len(x0) == len(x1) == 6
        assert np.array_equal(np.concatenate([x0, x1]), x)
        assert all(np.array_equal(np.concatenate([y0[k], y1[k]]), y[k]) for k in y)
    pkw = {"batch_size": 6, "seed": 2, "steps": 3, "augment": aug, "workers": 0}
    whole_p = PairBatches(faces, labels, **pkw)
    parts_p = [PairBatches(faces, labels, shard=(k, 3), **pkw) for k in range(3)]
    for i in range(3):
        (a, b), y = whole_p[i]
        got = [p[i] for p in parts_p]
        assert np.array_equal(np.concatenate([g[0][0] for g in got]), a)
        assert np.array_equal(np.concatenate([g[0][1] for g in got]), b)
        assert np.array_equal(np.concatenate([g[1] for g in got]), y)
    with pytest.raises(ConfigError, match="shard: a batch of 12 rows"):
        PKBatches(faces, labels, P=4, K=3, shard=(0, 5))
    with pytest.raises(ConfigError, match="shard"):
        PairBatches(faces, labels, batch_size=8, shard=(2, 2))


@pytest.mark.parametrize("fraction", [0.0, 0.3, 0.5, 1.0])
def test_pairs_exact_genuine_count_and_flags(rng: np.random.Generator, fraction: float) -> None:
    labels = uneven_labels(rng)
    ds = PairBatches(encoded_faces(len(labels)), labels, batch_size=10, genuine_fraction=fraction, steps=40,
                     workers=0)
    seen = set()
    for i in range(len(ds)):
        (a, b), y = ds[i]
        assert a.shape == b.shape == (10, 4, 4, 3) and y.dtype == np.float32 and y.shape == (10,)
        ia, ib = decode(a), decode(b)
        assert y.sum() == round(fraction * 10)  # exact count in every batch
        assert np.array_equal(y == 1, labels[ia] == labels[ib])  # y == 1 iff same identity
        assert (ia[y == 1] != ib[y == 1]).all()  # two different photos
        seen |= set(labels[ia].tolist())
    counts = {c: int((labels == c).sum()) for c in np.unique(labels)}
    assert seen == ({c for c, n in counts.items() if n >= 2} if fraction == 1.0 else set(counts))


def test_bad_arguments(rng: np.random.Generator) -> None:
    faces, labels = encoded_faces(6), np.array([0, 0, 1, 1, 2, 3])
    with pytest.raises(ConfigError, match="P and K"):
        PKBatches(faces, labels, P=0, K=2)
    with pytest.raises(ConfigError, match="P: 3 identities per batch but only 2 have >= 2 images"):
        PKBatches(faces, labels, P=3, K=2)
    with pytest.raises(ConfigError, match="steps"):
        PKBatches(faces, labels, P=2, K=2, steps=0)
    with pytest.raises(ConfigError, match="no identity has 2"):
        PairBatches(faces, np.arange(6), batch_size=4)
    with pytest.raises(ConfigError, match="genuine_fraction"):
        PairBatches(faces, labels, batch_size=4, genuine_fraction=1.5)
    with pytest.raises(ConfigError, match="batch_size"):
        PairBatches(faces, labels, batch_size=0)
    with pytest.raises(ValueError, match="faces"):
        PKBatches(faces[:5], labels, P=2, K=2)


class Constant:
    """A stand-in generator whose uniforms are all ``value``."""

    def __init__(self, value: float) -> None:
        self.value = value

    def random(self, size: tuple[int, ...]) -> np.ndarray:
        return np.full(size, self.value)


def test_flip_is_an_exact_mirror(rng: np.random.Generator) -> None:
    x = rng.uniform(0, 255, (5, 6, 7, 3)).astype(np.float32)
    aug = NumpyAugment(flip=True)
    assert np.array_equal(aug(x, Constant(0.0)), x[:, :, ::-1])  # u < 0.5: flipped
    assert np.array_equal(aug(x, Constant(0.9)), x)
    params = aug.draw(5, np.random.default_rng(0))
    out = aug.apply(x, params)
    flipped = params[:, 0] < 0.5
    assert np.array_equal(out[flipped], x[flipped, :, ::-1]) and np.array_equal(out[~flipped], x[~flipped])


def test_shift_translates_with_reflected_borders(rng: np.random.Generator) -> None:
    x = rng.uniform(0, 255, (3, 16, 16, 3)).astype(np.float32)
    out = NumpyAugment(flip=False, shift=0.25)(x, Constant(0.0))  # the largest shift: -4 pixels on both axes
    assert out.shape == x.shape and out.dtype == np.float32
    assert np.allclose(out[:, :12, :12], x[:, 4:, 4:], atol=1e-3)
    # BORDER_REFLECT_101: columns 16, 17, 18, 19 of the source read 14, 13, 12, 11
    assert np.allclose(out[:, :12, 12:], x[:, 4:, [14, 13, 12, 11]], atol=1e-3)
    random_out = NumpyAugment(flip=False, shift=0.2)(x, np.random.default_rng(1))
    assert random_out.shape == x.shape and random_out.min() >= 0.0 and random_out.max() <= 255.0


def test_zero_draws_are_the_identity_and_output_in_range(rng: np.random.Generator) -> None:
    x = rng.uniform(0, 255, (4, 12, 12, 3)).astype(np.float32)
    everything = NumpyAugment(flip=True, affine=0.3, color=0.5, shift=0.2)
    assert np.allclose(everything(x, Constant(0.5)), x, atol=1e-3)  # no flip, no move, no colour change
    for seed in range(5):
        out = everything(x, np.random.default_rng(seed))
        assert out.shape == x.shape and out.dtype == np.float32
        assert out.min() >= 0.0 and out.max() <= 255.0
        assert not np.allclose(out, x)
    with pytest.raises(ValueError):
        NumpyAugment(affine=-0.1)
    assert make_numpy_augmentation(flip=False, affine=0.0, color=0.0, shift=0.0) is None
    assert make_numpy_augmentation().get_config() == {"flip": True, "affine": 0.05, "color": 0.1, "shift": 0.0,
                                                      "grayscale": 0.0}
    assert make_numpy_augmentation(flip=False, affine=0.0, color=0.0, grayscale=0.1) is not None


def test_picklable_for_worker_processes(rng: np.random.Generator) -> None:
    labels = uneven_labels(rng)
    ds = PKBatches(encoded_faces(len(labels)), labels, P=2, K=2, augment=True, steps=2)
    ds.on_epoch_end()
    copy = pickle.loads(pickle.dumps(ds))
    assert copy.epoch == 1 and same(copy[1], ds[1])


@pytest.mark.skipif(find_spec("jax") is None, reason="jax not installed")
def test_imports_no_tensorflow_under_jax() -> None:
    code = ("import sys, numpy as np, siamese.data.batches; from siamese.data import PKBatches, PairBatches; "
            "b = PKBatches(np.zeros((4, 4, 4, 3), np.uint8), [0, 0, 1, 1], P=2, K=2, augment=True); b[0]; "
            "assert 'tensorflow' not in sys.modules, 'tensorflow imported'")
    env = {**os.environ, "KERAS_BACKEND": "jax", "PYTHONPATH": str(REPO)}
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]


def test_fit_consumes_pk_batches(rng: np.random.Generator) -> None:
    import keras

    labels = np.repeat(np.arange(6), 4)
    faces = rng.integers(0, 256, (len(labels), 16, 16, 3), dtype=np.uint8)

    class Recording(PKBatches):
        def __getitem__(self, i: int):  # noqa: ANN204
            fetched.append((self.epoch, i))
            return super().__getitem__(i)

    fetched: list[tuple[int, int]] = []
    ds = Recording(faces, labels, P=3, K=2, steps=2, augment=NumpyAugment(flip=True, shift=0.1), workers=2)
    model = keras.Sequential([keras.Input((16, 16, 3)), keras.layers.Rescaling(1 / 255.0),
                              keras.layers.GlobalAveragePooling2D(), keras.layers.Dense(6)])
    model.compile(optimizer="sgd", loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    history = model.fit(ds, epochs=2, verbose=0)
    assert len(history.history["loss"]) == 2 and np.isfinite(history.history["loss"]).all()
    # each epoch draws new batches: fit moves the epoch on (it also calls on_epoch_end once before the first)
    assert ds.epoch >= 2 and len({epoch for epoch, _ in fetched}) >= 2 and {i for _, i in fetched} == {0, 1}


def test_grayscale_is_opencv_luma_with_its_probability(rng: np.random.Generator) -> None:
    x = rng.uniform(0, 255, (64, 8, 8, 3)).astype(np.float32)
    aug = NumpyAugment(flip=False, grayscale=0.25)
    params = aug.draw(len(x), np.random.default_rng(3))
    assert params.shape == (64, 10)
    out = aug.apply(x, params)
    grey = params[:, -1] < 0.25
    assert 0 < grey.sum() < len(x)
    oracle = np.stack([cv2.cvtColor(img, cv2.COLOR_RGB2GRAY) for img in x[grey]])
    assert np.allclose(out[grey], oracle[..., None], atol=1e-3)  # every channel is the luma
    assert np.array_equal(out[~grey], x[~grey])
    # without grayscale the draws are the nine columns of before, so other settings keep their random streams
    assert NumpyAugment(flip=True).draw(4, np.random.default_rng(0)).shape == (4, 9)
    with pytest.raises(ValueError, match="probability"):
        NumpyAugment(grayscale=1.5)
