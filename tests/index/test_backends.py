"""Search backends against a brute-force numpy oracle; index file format and its checks."""

from __future__ import annotations

from pathlib import Path

import faiss
import numpy as np
import pytest

from siamese.errors import ConfigError
from siamese.index import BACKENDS, FlatBackend, HNSWBackend, IVFBackend, get_backend_class
from siamese.index.backend import IndexFileError

DIM = 16


def _unit(rng: np.random.Generator, n: int, dim: int = DIM) -> np.ndarray:
    x = rng.standard_normal((n, dim)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def _brute(db: np.ndarray, ids: np.ndarray, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    sims = queries @ db.T
    order = np.argsort(-sims, axis=1, kind="stable")[:, :k]
    return np.take_along_axis(sims, order, 1), ids[order]


def _make(kind: str):
    if kind == "ivf":  # nprobe = nlist: scans every cell, so results are exact
        return IVFBackend(DIM, nlist=4, nprobe=4, train_size=200)
    if kind == "hnsw":
        return HNSWBackend(DIM, m=16, ef_search=256)
    return FlatBackend(DIM)


def test_registry() -> None:
    assert set(BACKENDS) == {"flat", "ivf", "hnsw"}
    assert get_backend_class("ivf") is IVFBackend
    with pytest.raises(ConfigError, match="unknown kind 'annoy'"):
        get_backend_class("annoy")


@pytest.mark.parametrize("kind", ["flat", "ivf", "hnsw"])
def test_search_matches_brute_force_before_and_after_removal(kind: str, rng: np.random.Generator) -> None:
    backend = _make(kind)
    db = _unit(rng, 300)
    ids = np.arange(1000, 1300, dtype=np.int64) * 3  # sparse, not starting at 0
    backend.add(ids[:150], db[:150])
    backend.add(ids[150:], db[150:])  # crosses the IVF training threshold
    if kind == "ivf":
        assert backend.trained
    queries = _unit(rng, 20)
    sims, got = backend.search(queries, 5)
    want_sims, want_ids = _brute(db, ids, queries, 5)
    np.testing.assert_array_equal(got, want_ids)
    np.testing.assert_allclose(sims, want_sims, atol=1e-5)
    np.testing.assert_array_equal(backend.ids(), ids)

    gone = ids[::3]
    assert backend.remove(np.concatenate([gone, [7]])) == len(gone)  # unknown id 7 ignored
    keep = ~np.isin(ids, gone)
    assert backend.size == keep.sum()
    np.testing.assert_array_equal(backend.ids(), ids[keep])
    sims, got = backend.search(queries, 5)
    want_sims, want_ids = _brute(db[keep], ids[keep], queries, 5)
    np.testing.assert_array_equal(got, want_ids)
    np.testing.assert_allclose(sims, want_sims, atol=1e-5)


@pytest.mark.parametrize("kind", ["flat", "ivf", "hnsw"])
def test_save_load_round_trip_and_tag(kind: str, tmp_path: Path, rng: np.random.Generator) -> None:
    backend = _make(kind)
    db = _unit(rng, 250)
    ids = np.arange(250, dtype=np.int64) + 5
    backend.add(ids, db)
    path = tmp_path / "index.faiss"
    backend.save(path, {"generation": 42})
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    assert [p.name for p in tmp_path.iterdir()] == ["index.faiss"]  # no temp file left
    again = _make(kind)
    assert again.load(path) == {"generation": 42}
    queries = _unit(rng, 8)
    for a, b in zip(backend.search(queries, 4), again.search(queries, 4), strict=True):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(again.ids(), ids)


def test_empty_backend_search_pads() -> None:
    sims, ids = FlatBackend(DIM).search(np.eye(1, DIM, dtype=np.float32), 3)
    assert ids.tolist() == [[-1, -1, -1]]


@pytest.mark.parametrize("damage", ["truncate", "flip", "garbage", "empty", "missing"])
def test_damaged_index_file_is_refused(damage: str, tmp_path: Path, rng: np.random.Generator) -> None:
    backend = FlatBackend(DIM)
    backend.add(np.arange(50), _unit(rng, 50))
    path = tmp_path / "index.faiss"
    backend.save(path, {"generation": 1})
    data = bytearray(path.read_bytes())
    if damage == "truncate":
        path.write_bytes(data[: len(data) // 2])
    elif damage == "flip":
        data[len(data) // 3] ^= 0x40
        path.write_bytes(data)
    elif damage == "garbage":
        path.write_bytes(b"\x00" * 4096)
    elif damage == "empty":
        path.write_bytes(b"")
    else:
        path.unlink()
    with pytest.raises(IndexFileError):
        FlatBackend(DIM).load(path)


def test_load_refuses_other_kind_or_dim(tmp_path: Path, rng: np.random.Generator) -> None:
    path = tmp_path / "index.faiss"
    flat = FlatBackend(DIM)
    flat.add(np.arange(10), _unit(rng, 10))
    flat.save(path)
    with pytest.raises(IndexFileError):
        HNSWBackend(DIM).load(path)
    with pytest.raises(IndexFileError):
        FlatBackend(DIM * 2).load(path)


def test_ivf_is_exact_until_trained(rng: np.random.Generator) -> None:
    backend = IVFBackend(DIM, nprobe=1, train_size=100)
    db = _unit(rng, 99)
    backend.add(np.arange(99), db)
    assert not backend.trained
    queries = _unit(rng, 10)
    np.testing.assert_array_equal(backend.search(queries, 3)[1], _brute(db, np.arange(99), queries, 3)[1])
    backend.add([99], _unit(rng, 1))
    assert backend.trained and backend.size == 100
    backend.reset()
    assert backend.trained and backend.size == 0  # training survives a reset


def test_idmap2_over_ivf_breaks_on_removal(rng: np.random.Generator) -> None:
    """Why IVFBackend keeps native ids: FAISS's IndexIDMap2 over an IVF returns wrong ids after remove_ids."""
    db = _unit(rng, 400)
    ivf = faiss.IndexIVFFlat(faiss.IndexFlatIP(DIM), DIM, 4, faiss.METRIC_INNER_PRODUCT)
    ivf.train(db)
    wrapped = faiss.IndexIDMap2(ivf)
    wrapped.add_with_ids(db, np.arange(400, dtype=np.int64) + 1000)
    wrapped.remove_ids(np.arange(1000, 1100, dtype=np.int64))
    ivf.nprobe = 4
    _, got = wrapped.search(db[300:310], 1)
    assert got.ravel().tolist() != list(range(1300, 1310))
    ours = IVFBackend(DIM, nlist=4, nprobe=4, train_size=10)
    ours.add(np.arange(400) + 1000, db)
    ours.remove(np.arange(1000, 1100))
    assert ours.search(db[300:310], 1)[1].ravel().tolist() == list(range(1300, 1310))


def test_bad_options_raise() -> None:
    with pytest.raises(ValueError):
        IVFBackend(DIM, nprobe=0)
    with pytest.raises(ValueError):
        HNSWBackend(DIM, m=1)
    with pytest.raises(ValueError):
        FlatBackend(0)


def test_backends_are_the_plugin_table() -> None:
    from siamese import plugins
    from siamese.index import register_backend

    assert BACKENDS is plugins.INDEXES
    assert get_backend_class("HNSW") is HNSWBackend

    @register_backend
    class Exact2(FlatBackend):
        kind = "exact_test"

    try:
        assert plugins.INDEXES.get("exact_test") is Exact2 and get_backend_class("exact-test") is Exact2
    finally:
        plugins.INDEXES._entries.pop("exact_test")
        plugins.INDEXES._aliases.pop("exact_test")
