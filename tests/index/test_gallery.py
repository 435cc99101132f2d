"""FaceGallery API: create/open, model binding, validation, search vs brute force, recovery, modes."""

from __future__ import annotations

import hashlib
import os
import sqlite3
from pathlib import Path

import numpy as np
import pytest

from siamese.errors import ConfigError, GalleryError, InputFileError, ModelMismatchError
from siamese.index import FaceGallery, Match, Source

DIM = 24
FP = "model-sha256:abc"


def _unit(rng: np.random.Generator, n: int, dim: int = DIM) -> np.ndarray:
    x = rng.standard_normal((n, dim)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


@pytest.fixture
def people(rng: np.random.Generator) -> dict[str, np.ndarray]:
    """12 identities with 1-4 templates each."""
    return {f"person {i:02d}": _unit(rng, 1 + i % 4) for i in range(12)}


@pytest.fixture
def gallery(tmp_path: Path, people: dict[str, np.ndarray]):
    g = FaceGallery.create(tmp_path / "g", FP, DIM)
    with g.batch():
        for name, emb in people.items():
            g.add(name, emb, fingerprint=FP)
    yield g
    g.close()


def _snapshot(directory: Path) -> dict[str, tuple[str, int]]:
    return {
        p.name: (hashlib.sha256(p.read_bytes()).hexdigest(), p.stat().st_mtime_ns)
        for p in sorted(directory.iterdir())
    }


def test_create_layout_and_private_modes(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        g = FaceGallery.create(tmp_path / "deep" / "g", FP, DIM)
        g.add("a", np.eye(1, DIM, dtype=np.float32))
        g.close()
    finally:
        os.umask(old)
    directory = tmp_path / "deep" / "g"
    assert oct(directory.stat().st_mode & 0o777) == "0o700"
    assert sorted(p.name for p in directory.iterdir()) == [".lock", "gallery.db", "index.faiss"]
    for p in directory.iterdir():
        assert oct(p.stat().st_mode & 0o777) == "0o600", p
    assert [p.name for p in (tmp_path / "deep").iterdir()] == ["g"]  # no staging dir left


def test_create_refuses_existing_gallery_and_bad_settings(tmp_path: Path) -> None:
    FaceGallery.create(tmp_path / "g", FP, DIM).close()
    with pytest.raises(GalleryError, match="already exists"):
        FaceGallery.create(tmp_path / "g", FP, DIM)
    (tmp_path / "empty").mkdir()
    FaceGallery.create(tmp_path / "empty", FP, DIM).close()  # an empty directory is fine
    with pytest.raises(ConfigError, match="index"):
        FaceGallery.create(tmp_path / "x", FP, DIM, index="annoy")
    with pytest.raises(ConfigError, match="nprobe"):
        FaceGallery.create(tmp_path / "x", FP, DIM, index="ivf", nprobe=0)
    with pytest.raises(ConfigError, match="dim"):
        FaceGallery.create(tmp_path / "x", FP, 0)
    with pytest.raises(ConfigError, match="fingerprint"):
        FaceGallery.create(tmp_path / "x", "", DIM)
    assert not (tmp_path / "x").exists()


def test_open_missing_or_corrupt_raises_gallery_error(tmp_path: Path) -> None:
    with pytest.raises(GalleryError, match="no gallery"):
        FaceGallery.open(tmp_path / "nope")
    (tmp_path / "d").mkdir()
    with pytest.raises(GalleryError, match="gallery.db missing"):
        FaceGallery.open(tmp_path / "d")
    (tmp_path / "d" / "gallery.db").write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(GalleryError, match="gallery.db"):
        FaceGallery.open(tmp_path / "d")
    (tmp_path / "e").mkdir()
    sqlite3.connect(tmp_path / "e" / "gallery.db").execute("CREATE TABLE t(x)").connection.close()
    with pytest.raises(GalleryError, match="catalogue"):
        FaceGallery.open(tmp_path / "e")


def test_bound_to_one_model(gallery: FaceGallery, people: dict[str, np.ndarray]) -> None:
    q = people["person 01"][:1]
    with pytest.raises(ModelMismatchError, match="model-sha256:abc"):
        gallery.add("x", q, fingerprint="other-model")
    with pytest.raises(ModelMismatchError, match="other-model"):
        gallery.search(q, fingerprint="other-model")
    with pytest.raises(ModelMismatchError, match="dim 8"):
        gallery.add("x", _unit(np.random.default_rng(0), 2, 8))
    with pytest.raises(ModelMismatchError, match="dim 8"):
        gallery.search(_unit(np.random.default_rng(0), 2, 8))
    with pytest.raises(ModelMismatchError, match="bound to model"):
        FaceGallery.open(gallery.directory, "other-model")
    with FaceGallery.open(gallery.directory, FP, read_only=True) as same:
        assert same.search(q, k=1)[0][0].name == "person 01"
    assert "x" not in gallery


def test_bad_input_is_refused_before_writing(gallery: FaceGallery, rng: np.random.Generator) -> None:
    before = gallery.info()["generation"]
    good = _unit(rng, 2)
    for name in ["", "  ", " lead", "tab\tname", "x" * 300, 7]:
        with pytest.raises(GalleryError, match="name"):
            gallery.add(name, good)
    with pytest.raises(GalleryError, match="not L2-normalised"):
        gallery.add("y", good * 2)
    with pytest.raises(GalleryError, match="NaN"):
        gallery.add("y", np.full((1, DIM), np.nan, np.float32))
    with pytest.raises(GalleryError, match="no embeddings"):
        gallery.add("y", np.empty((0, DIM), np.float32))
    with pytest.raises(GalleryError, match="sources"):
        gallery.add("y", good, sources=[None])
    with pytest.raises(InputFileError, match="missing.jpg"):
        gallery.add("y", good, sources=[None, "/nonexistent/missing.jpg"])
    with pytest.raises(GalleryError, match="not L2"):  # one bad entry: nothing of the batch lands
        gallery.add_many([("y1", good), ("y2", good * 3)])
    with pytest.raises(GalleryError, match="k must"):
        gallery.search(good, k=0)
    assert gallery.info()["generation"] == before
    assert "y" not in gallery and "y1" not in gallery


def test_search_against_brute_force(gallery: FaceGallery, people: dict[str, np.ndarray], rng) -> None:
    names = list(people)
    db = np.concatenate(list(people.values()))
    owner = np.concatenate([[n] * len(e) for n, e in people.items()])
    queries = np.concatenate([_unit(rng, 6), people["person 03"][1:2]])
    sims = queries @ db.T
    raw = gallery.search(queries, k=4, by="template")
    ranked = gallery.search(queries, k=4)
    for row in range(len(queries)):
        order = np.argsort(-sims[row], kind="stable")
        assert [m.name for m in raw[row]] == list(owner[order[:4]])
        np.testing.assert_allclose([m.similarity for m in raw[row]], sims[row, order[:4]], atol=1e-5)
        best = {n: sims[row][owner == n].max() for n in names}
        want = sorted(names, key=lambda n: -best[n])[:4]
        assert [m.name for m in ranked[row]] == want
        np.testing.assert_allclose([m.similarity for m in ranked[row]], [best[n] for n in want], atol=1e-5)
        assert [m.rank for m in ranked[row]] == [0, 1, 2, 3]
    top = ranked[-1][0]
    assert top == Match("person 03", top.template_id, top.similarity, 0)
    assert top.similarity == pytest.approx(1.0, abs=1e-5)
    np.testing.assert_array_equal(gallery.templates("person 03")[1], people["person 03"][1])
    thresholded = gallery.search(queries[-1:], k=10, min_similarity=0.99)
    assert [m.name for m in thresholded[0]] == ["person 03"]
    assert len(gallery.search(queries[:1], k=100)[0]) == len(people)  # k beyond the gallery size
    assert gallery.search(np.empty((0, DIM), np.float32)) == []


def test_templates_names_info_len(gallery: FaceGallery, people: dict[str, np.ndarray]) -> None:
    assert gallery.names() == sorted(people)
    assert len(gallery) == len(people)
    for name, emb in people.items():
        np.testing.assert_array_equal(gallery.templates(name), emb)
    more = np.roll(people["person 00"], 1, axis=1)
    ids = gallery.add("person 00", more)  # appends to an existing identity
    assert len(gallery.templates("person 00")) == 2
    np.testing.assert_array_equal(gallery.templates("person 00")[1:], more)
    info = gallery.info()
    assert info["identities"] == len(people)
    assert info["templates"] == info["indexed"] == sum(len(e) for e in people.values()) + 1
    assert (info["dim"], info["index"], info["fingerprint"]) == (DIM, "flat", FP)
    assert set(info["files"]) == {".lock", "gallery.db", "index.faiss"} and info["bytes"] > 0
    assert ids == [max(ids)] and ids[0] > 0
    with pytest.raises(GalleryError, match="unknown identity 'nobody'"):
        gallery.templates("nobody")
    with pytest.raises(GalleryError, match="unknown identity 'nobody'"):
        gallery.remove("nobody")


def test_remove_forgets_and_ids_are_never_reused(gallery: FaceGallery, people) -> None:
    first = gallery.search(people["person 05"][:1], k=1, by="template")[0][0]
    assert gallery.remove("person 05") == len(people["person 05"])
    assert "person 05" not in gallery.names()
    hit = gallery.search(people["person 05"][:1], k=len(people))[0]
    assert "person 05" not in [m.name for m in hit]
    new = gallery.add("person 05", people["person 05"])
    assert min(new) > first.template_id
    assert gallery.verify() == []


def test_sources_are_recorded(tmp_path: Path, rng: np.random.Generator) -> None:
    photo = tmp_path / "photo.jpg"
    photo.write_bytes(b"\xff\xd8 not really a jpeg")
    with FaceGallery.create(tmp_path / "g", FP, DIM) as g:
        g.add("a", _unit(rng, 3), sources=[photo, Source.from_bytes(b"abc"), None])
    rows = sqlite3.connect(tmp_path / "g" / "gallery.db").execute(
        "SELECT source_sha256, source_path FROM templates ORDER BY id").fetchall()
    assert rows == [
        (hashlib.sha256(photo.read_bytes()).hexdigest(), str(photo)),
        (hashlib.sha256(b"abc").hexdigest(), None),
        (None, None),
    ]


def test_read_only_open_never_writes(gallery: FaceGallery, people) -> None:
    directory = gallery.directory
    gallery.close()
    (directory / "index.faiss").unlink()  # even a missing index is rebuilt in memory only
    before = _snapshot(directory)
    with FaceGallery.open(directory, FP, read_only=True) as ro:
        assert ro.recovered
        assert ro.search(people["person 07"][:1], k=1)[0][0].name == "person 07"
        assert ro.names() == sorted(people) and ro.info()["templates"] > 0 and ro.verify() == []
        with pytest.raises(GalleryError, match="read-only"):
            ro.add("z", people["person 07"])
        with pytest.raises(GalleryError, match="read-only"):
            ro.remove("person 07")
    assert _snapshot(directory) == before


@pytest.mark.parametrize("damage", ["missing", "corrupt", "stale", "foreign"])
def test_index_cache_is_rebuilt_from_catalogue(damage: str, tmp_path: Path, people, rng) -> None:
    directory = tmp_path / "g"
    with FaceGallery.create(directory, FP, DIM) as g:
        g.add("early", _unit(rng, 2))
    old_index = (directory / "index.faiss").read_bytes()
    with FaceGallery.open(directory, FP) as g:
        for name, emb in people.items():
            g.add(name, emb)
        g.remove("early")
    path = directory / "index.faiss"
    if damage == "missing":
        path.unlink()
    elif damage == "corrupt":
        data = bytearray(path.read_bytes())
        data[100] ^= 0xFF
        path.write_bytes(data)
    elif damage == "stale":  # an older, valid index file: the state before the crash
        path.write_bytes(old_index)
    else:  # a valid index from another gallery
        with FaceGallery.create(tmp_path / "other", FP, DIM) as other:
            other.add("intruder", _unit(rng, 1))
        path.write_bytes((tmp_path / "other" / "index.faiss").read_bytes())
    with FaceGallery.open(directory, FP) as g:
        assert g.recovered
        assert g.verify() == []
        assert g.search(people["person 02"][:1], k=1)[0][0].name == "person 02"
        assert {m.name for m in g.search(people["person 02"][:1], k=50)[0]} == set(people)
    with FaceGallery.open(directory, FP) as g:
        assert not g.recovered  # the repair was written back


def test_two_handles_see_each_others_writes(gallery: FaceGallery, people, rng) -> None:
    other = FaceGallery.open(gallery.directory, FP)
    try:
        fresh = _unit(rng, 2)
        other.add("newcomer", fresh)
        assert gallery.search(fresh[:1], k=1)[0][0].name == "newcomer"
        gallery.remove("person 01")
        assert "person 01" not in [m.name for m in other.search(people["person 01"][:1], k=20)[0]]
        assert other.verify() == [] and gallery.verify() == []
    finally:
        other.close()


def test_batch_defers_index_writes_but_not_removal(gallery: FaceGallery, people, rng) -> None:
    path = gallery.directory / "index.faiss"
    stamp = path.stat().st_mtime_ns, path.stat().st_ino
    with gallery.batch():
        for i in range(3):
            gallery.add(f"bulk {i}", _unit(rng, 2))
        assert (path.stat().st_mtime_ns, path.stat().st_ino) == stamp
        gallery.remove("person 04")
        assert path.stat().st_ino != stamp[1]
        stamp = path.stat().st_mtime_ns, path.stat().st_ino
        gallery.add("bulk 3", _unit(rng, 1))
    assert path.stat().st_ino != stamp[1]
    with FaceGallery.open(gallery.directory, FP, read_only=True) as ro:
        assert not ro.recovered and "bulk 3" in ro


@pytest.mark.parametrize("kind", ["ivf", "hnsw"])
def test_approximate_kinds_work_end_to_end(kind: str, tmp_path: Path, rng: np.random.Generator) -> None:
    opts = {"nlist": 4, "nprobe": 4, "train_size": 40} if kind == "ivf" else {"ef_search": 128}
    people = {f"p{i}": _unit(rng, 2) for i in range(40)}
    with FaceGallery.create(tmp_path / "g", FP, DIM, index=kind, **opts) as g:
        g.add_many(list(people.items()))
        g.remove("p3")
        assert g.info()["index_options"] == {k: v for k, v in g.backend.get_config().items() if k != "dim"}
    with FaceGallery.open(tmp_path / "g", FP) as g:
        assert not g.recovered and g.verify() == []
        for name in ["p0", "p17", "p39"]:
            assert g.search(people[name][1:], k=1)[0][0].name == name
        assert "p3" not in {m.name for m in g.search(people["p3"], k=40)[0]}


def test_closed_gallery_refuses_work(gallery: FaceGallery) -> None:
    gallery.close()
    gallery.close()  # idempotent
    with pytest.raises(GalleryError, match="closed"):
        gallery.names()


# ------------------------------------------------------------------------------ hardening


def test_open_or_create_creates_then_opens_and_checks_the_model(tmp_path: Path, rng) -> None:
    directory = tmp_path / "new" / "g"
    with FaceGallery.open_or_create(directory, FP, DIM, index="HNSW") as g:
        g.add("a", _unit(rng, 1))
        assert g.kind == "hnsw"  # the canonical name is recorded
    with FaceGallery.open_or_create(directory, FP, DIM, index="flat") as g:  # exists: opened, kept as is
        assert g.names() == ["a"] and g.kind == "hnsw"
    with pytest.raises(ModelMismatchError, match="bound to model"):
        FaceGallery.open_or_create(directory, "another model", DIM)
    with pytest.raises(ModelMismatchError, match="dim 24, not 12"):
        FaceGallery.open_or_create(directory, FP, 12)
    (tmp_path / "junk").mkdir()
    (tmp_path / "junk" / "notes.txt").write_text("not a gallery")
    with pytest.raises(GalleryError, match="already exists and is not an empty directory"):
        FaceGallery.open_or_create(tmp_path / "junk", FP, DIM)


def test_only_stale_staging_folders_are_removed(tmp_path: Path) -> None:
    from siamese.index.gallery import _new_staging, remove_stale_staging

    target = tmp_path / "g"
    live, fd = _new_staging(target)  # a creator still at work holds the lock
    dead, dead_fd = _new_staging(target)
    os.close(dead_fd)  # its creator died
    assert remove_stale_staging(target) == [dead]
    assert live.is_dir() and not dead.exists()
    with FaceGallery.open_or_create(target, FP, DIM):
        assert live.is_dir()  # still locked: left alone
    os.close(fd)
    with FaceGallery.open(target, FP):  # a read-write open cleans up beside the gallery
        pass
    assert not list(tmp_path.glob(".g.*"))


def test_non_finite_values_are_refused_and_detected(tmp_path: Path, gallery: FaceGallery, people) -> None:
    bad = people["person 03"].copy()
    bad[0, 5] = np.inf
    with pytest.raises(GalleryError, match="identity 'x': embeddings hold NaN or inf"):
        gallery.add("x", bad)
    query = people["person 03"][:1].copy()
    query[0, 0] = np.nan
    with pytest.raises(GalleryError, match="query: embeddings hold NaN or inf"):
        gallery.search(query)
    directory = gallery.directory
    gallery.close()
    db = sqlite3.connect(directory / "gallery.db")  # tamper with one stored template
    (tid,) = db.execute("SELECT t.id FROM templates t JOIN identities i ON i.id = t.identity_id "
                        "WHERE i.name = 'person 03' ORDER BY t.id LIMIT 1").fetchone()
    db.execute("UPDATE templates SET embedding = ? WHERE id = ?",
               (np.full(DIM, np.nan, "<f4").tobytes(), tid))
    db.commit()
    db.close()
    for read_only in (True, False):
        with pytest.raises(GalleryError, match=r"gallery\.db: identity 'person 03' has a non-finite stored"):
            FaceGallery.open(directory, FP, read_only=read_only)


def test_catalogue_changed_outside_siamese_rebuilds_the_index(gallery: FaceGallery, people) -> None:
    directory = gallery.directory
    gallery.close()
    new = -people["person 05"][:1]  # a valid (unit) vector the index file has never seen
    db = sqlite3.connect(directory / "gallery.db")
    db.execute("UPDATE templates SET embedding = ? WHERE id = (SELECT MIN(t.id) FROM templates t JOIN identities i "
               "ON i.id = t.identity_id WHERE i.name = 'person 05')", (new.astype("<f4").tobytes(),))
    db.commit()
    db.close()
    with FaceGallery.open(directory, FP, read_only=True) as g:
        assert g.recovered and g.verify() == []
        hit = g.search(new, k=1)[0][0]
        assert hit.name == "person 05" and hit.similarity == pytest.approx(1.0, abs=1e-5)


def test_read_only_open_rolls_back_an_interrupted_write(gallery: FaceGallery, rng) -> None:
    directory = gallery.directory
    names = gallery.names()
    gallery.close()
    pid = os.fork()
    if pid == 0:  # a writer killed mid-transaction: leaves a hot journal
        try:
            db = sqlite3.connect(directory / "gallery.db", isolation_level=None)
            db.execute("PRAGMA cache_size = 1")
            db.execute("BEGIN IMMEDIATE")
            db.execute("DELETE FROM templates")
            db.executemany("INSERT INTO identities(name, created) VALUES (?, 'x')", [(f"n{i}",) for i in range(3000)])
        finally:
            os._exit(0)
    os.waitpid(pid, 0)
    assert (directory / "gallery.db-journal").exists()
    with FaceGallery.open(directory, FP, read_only=True) as g:
        assert g.names() == names and g.info()["templates"] == g.info()["indexed"] > 0
    assert not (directory / "gallery.db-journal").exists()


def test_read_only_open_erases_removed_vectors_left_in_the_index_file(gallery: FaceGallery, people) -> None:
    directory = gallery.directory
    index = directory / "index.faiss"
    old = index.read_bytes()  # holds person 07, as a crash between catalogue commit and index write would leave
    gallery.remove("person 07")
    gallery.close()
    index.write_bytes(old)
    pieces = [row.astype("<f4").tobytes()[i : i + 16] for row in people["person 07"] for i in range(0, 4 * DIM, 16)]
    assert any(p in index.read_bytes() for p in pieces)
    with FaceGallery.open(directory, FP, read_only=True) as g:
        assert "person 07" not in g.names() and g.verify() == []
    for path in directory.iterdir():
        assert not any(p in path.read_bytes() for p in pieces), path


def test_an_add_with_nothing_new_writes_nothing(tmp_path: Path, rng: np.random.Generator) -> None:
    photo = Source.from_bytes(b"one photo", path="/p/a.jpg")
    with FaceGallery.create(tmp_path / "g", FP, DIM) as g:
        g.add("ann", _unit(rng, 1), sources=[photo])
        index = tmp_path / "g" / "index.faiss"
        before, info = (index.stat().st_ino, index.stat().st_mtime_ns), g.info()
        assert g.add("ann", _unit(rng, 1), sources=[photo], new_sources_only=True) == []
        assert (index.stat().st_ino, index.stat().st_mtime_ns) == before  # a rewrite is a new file (os.replace)
        assert g.info() == info
