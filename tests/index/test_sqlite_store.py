"""SQLiteStore on its own, against a plain-Python model of the catalogue (dict name -> list of (id, vector, source))."""

from __future__ import annotations

import stat
from pathlib import Path

import numpy as np
import pytest

from siamese.errors import GalleryError
from siamese.index.sqlite_store import SQLiteStore
from siamese.index.types import Source

DIM = 5
META = {"fingerprint": "f" * 64, "dim": str(DIM), "index": "flat"}


def _new(path: Path) -> SQLiteStore:
    store = SQLiteStore(path, create=True)
    store.initialize(META)
    return store


def _vectors(rng: np.random.Generator, n: int) -> np.ndarray:
    return rng.standard_normal((n, DIM)).astype(np.float32)


def _check(store: SQLiteStore, model: dict[str, list[tuple[int, np.ndarray, Source | None]]]) -> None:
    """Everything the store answers equals the plain-Python model."""
    assert store.names() == sorted(model)
    for name, rows in model.items():
        np.testing.assert_array_equal(store.templates(name), np.stack([v for _, v, _ in rows]))
    all_rows = sorted((tid, name, v) for name, rows in model.items() for tid, v, _ in rows)
    assert store.template_ids().tolist() == [tid for tid, _, _ in all_rows]
    got_ids, got_vecs = (np.concatenate(parts) for parts in zip(*store.embeddings(), strict=True)) if all_rows else \
        (np.zeros(0, np.int64), np.zeros((0, DIM), np.float32))
    assert got_ids.tolist() == [tid for tid, _, _ in all_rows]
    if all_rows:
        np.testing.assert_array_equal(got_vecs, np.stack([v for _, _, v in all_rows]))
    ids, identity_ids, names = store.lookup()
    assert [names[i] for i in identity_ids.tolist()] == [name for _, name, _ in all_rows]
    assert ids.tolist() == [tid for tid, _, _ in all_rows]
    assert store.counts() == (len(model), len(all_rows))


def test_add_read_remove_round_trips_against_a_dict(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    store = _new(tmp_path / "catalogue.sqlite")
    model: dict[str, list[tuple[int, np.ndarray, Source | None]]] = {}
    _check(store, model)
    for step in range(6):
        entries = []
        for name in (f"p{step}", f"p{step // 2}", "Zoë 张"):
            vecs = _vectors(rng, int(rng.integers(1, 4)))
            sources = [Source.from_bytes(vec.tobytes(), f"/photos/{name}/{k}.jpg") if k % 2 == 0 else None
                       for k, vec in enumerate(vecs)]
            entries.append((name, vecs, sources))
        ids = store.add(entries)
        for (name, vecs, sources), new_ids in zip(entries, ids, strict=True):
            assert len(new_ids) == len(vecs)
            model.setdefault(name, []).extend(zip(new_ids.tolist(), vecs, sources, strict=True))
        if step % 2 == 1:
            victim = sorted(model)[int(rng.integers(len(model)))]
            removed = store.remove(victim)
            assert removed.tolist() == sorted(tid for tid, _, _ in model.pop(victim))
        _check(store, model)
    # ids are never reused, even after removals
    all_ids = [tid for rows in model.values() for tid, _, _ in rows]
    assert len(set(all_ids)) == len(all_ids)
    # a subset of ids comes back in id order, unknown ids are ignored
    wanted = np.array(sorted(all_ids)[::2] + [10**9], dtype=np.int64)
    got = np.concatenate([ids for ids, _ in store.embeddings(wanted)])
    assert got.tolist() == sorted(all_ids)[::2]
    store.close()


def test_persistence_across_reopen_and_read_only(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    path = tmp_path / "catalogue.sqlite"
    store = _new(path)
    vecs = _vectors(rng, 3)
    ids = store.add([("alice", vecs, [None, Source.from_bytes(b"x", "/a.jpg"), None])])[0]
    generation = store.generation()
    store.close()

    again = SQLiteStore(path)
    assert again.names() == ["alice"] and again.dim == DIM
    np.testing.assert_array_equal(again.templates("alice"), vecs)
    meta = again.meta()
    assert {k: meta[k] for k in META} == META and again.generation() == generation
    new = again.add([("bob", _vectors(rng, 1), [None])])[0]
    assert new[0] > ids.max()
    assert again.generation() == generation + 1  # every write commits a new generation
    again.close()

    ro = SQLiteStore(path, read_only=True)
    assert ro.names() == ["alice", "bob"]
    with pytest.raises(GalleryError, match="read-only"):
        ro.add([("carol", _vectors(rng, 1), [None])])
    with pytest.raises(GalleryError, match="read-only"):
        ro.remove("alice")
    ro.close()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["catalogue.sqlite"]  # no journal left behind


def test_file_mode_is_0600(tmp_path: Path) -> None:
    path = tmp_path / "catalogue.sqlite"
    store = _new(path)
    store.add([("alice", _vectors(np.random.default_rng(2), 2), [None, None])])
    store.close()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_errors(tmp_path: Path) -> None:
    path = tmp_path / "catalogue.sqlite"
    with pytest.raises(GalleryError, match="catalogue not found"):
        SQLiteStore(path)
    store = _new(path)
    with pytest.raises(GalleryError, match="unknown identity 'nobody'"):
        store.remove("nobody")
    with pytest.raises(GalleryError, match="unknown identity"):
        store.templates("nobody")
    with pytest.raises(FileExistsError):
        SQLiteStore(path, create=True)  # never overwrites a catalogue
    store.close()
    with pytest.raises(ValueError):
        SQLiteStore(tmp_path / "x.sqlite", read_only=True, create=True)
    junk = tmp_path / "junk.sqlite"
    junk.write_bytes(b"this is not a database" * 100)
    with pytest.raises(GalleryError) as err:
        SQLiteStore(junk).meta()
    assert str(junk) in str(err.value)
