"""Milvus backend specifics: addresses, byte-level removal, two processes, migration, the optional dependency."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from siamese.errors import ConfigError, GalleryError
from siamese.index import (
    FaceGallery,
    Source,
    create_gallery,
    gallery_backend,
    gallery_exists,
    migrate,
    open_gallery,
    open_or_create_gallery,
)
from siamese.index.milvus_gallery import DEFAULT_COLLECTION, MilvusGallery, parse_milvus_address
from tests.conftest import release_together

pytest.importorskip("pymilvus")
pytest.importorskip("milvus_lite")

DIM = 64
NAME = "Zephaniah Quillbottom-Xyrix"
_WORKER = Path(__file__).with_name("_milvus_worker.py")
_spec = importlib.util.spec_from_file_location("_milvus_worker", _WORKER)
worker = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(worker)


def _unit(rng: np.random.Generator, n: int, dim: int = DIM) -> np.ndarray:
    x = rng.standard_normal((n, dim)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def test_addresses_pick_the_backend(tmp_path: Path) -> None:
    assert gallery_backend(tmp_path / "g") == "local"
    assert gallery_backend(str(tmp_path / "g.db")) == "milvus"
    assert gallery_backend(f"milvus-lite:{tmp_path / 'plain'}") == "milvus"
    for uri in ("http://host:19530", "HTTPS://host:443", "milvus://host:19530", "tcp://host:19530"):
        assert gallery_backend(uri) == "milvus"
    old = tmp_path / "old.db"  # a local gallery directory named *.db stays local, as before
    FaceGallery.create(old, "fp", 8).close()
    assert gallery_backend(old) == "local"
    with open_gallery(old) as g:
        assert type(g) is FaceGallery


def test_server_addresses_parse() -> None:
    a = parse_milvus_address("milvus://db.example:19530?collection=faces&db=prod")
    assert (a.uri, a.lite_path, a.collection, a.db_name) == ("http://db.example:19530", None, "faces", "prod")
    b = parse_milvus_address("https://db.example:443")
    assert (b.uri, b.collection) == ("https://db.example:443", DEFAULT_COLLECTION)
    with pytest.raises(ConfigError, match="unknown"):
        parse_milvus_address("http://db.example:19530?colection=x")
    lite = parse_milvus_address("milvus-lite:~/faces")
    assert lite.uri is None and lite.lite_path == Path("~/faces").expanduser().absolute()


def _needles(name: str, embeddings: np.ndarray, extra: list[bytes]) -> list[bytes]:
    """The name, provenance, and each template's bytes: whole row and every aligned 16-byte piece."""
    out = [name.encode(), *extra]
    for row in embeddings.astype("<f4"):
        raw = row.tobytes()
        out += [raw, *(raw[i : i + 16] for i in range(0, len(raw), 16))]
    return out


def _found(directory: Path, needles: list[bytes]) -> dict[str, list[int]]:
    hits: dict[str, list[int]] = {}
    for path in sorted(p for p in directory.rglob("*") if p.is_file()):  # EVERY file, whatever its name
        data = path.read_bytes()
        found = [i for i, needle in enumerate(needles) if needle in data]
        if found:
            hits[str(path.relative_to(directory))] = found
    return hits


@pytest.mark.parametrize("kind", ["flat", "hnsw"])
def test_removed_person_leaves_no_bytes_in_the_lite_files(kind: str, tmp_path: Path,
                                                          rng: np.random.Generator) -> None:
    directory = tmp_path / "g.db"
    target = _unit(rng, 4)
    source = Source.from_bytes(b"the photo of " + NAME.encode(), path=f"/photos/{NAME}/001.jpg")
    others = {f"other {i:03d}": _unit(rng, 2) for i in range(80)}
    opts = {"m": 8, "ef_construction": 40} if kind == "hnsw" else {}
    with create_gallery(directory, "fp", DIM, index=kind, **opts) as gallery:
        items = list(others.items())
        gallery.add_many(items[:40])
        gallery.add(NAME, target, sources=[source] * 4)
        gallery.add_many(items[40:])
        needles = _needles(NAME, target, [source.path.encode(), source.sha256.encode()])
        kept = _needles("other 041", others["other 041"], [])
        assert _found(directory, needles)  # the scan can see them (uncompressed enough)
        assert gallery.remove(NAME) == 4
        assert _found(directory, needles) == {}
        assert len(_found(directory, kept).get(next(iter(_found(directory, kept))), [])) > 0
        assert len(gallery) == 80 and NAME not in gallery
        np.testing.assert_array_equal(gallery.templates("other 041"), others["other 041"])
    with open_gallery(directory, "fp") as gallery:
        assert gallery.names() == sorted(others)
        assert gallery.search(others["other 079"][:1], k=1)[0][0].name == "other 079"
    assert _found(directory, needles) == {}


def test_a_purge_cut_off_after_the_drop_is_finished_on_open(tmp_path: Path, rng: np.random.Generator) -> None:
    from siamese.index.milvus_gallery import PURGE_SUFFIX, _LiteHandle

    address = str(tmp_path / "g.db")
    with create_gallery(address, "fp", DIM) as g:
        g.add_many([("a", _unit(rng, 2)), ("b", _unit(rng, 1))])
        g.remove("b")
    handle = _LiteHandle.get(parse_milvus_address(address).lite_path)
    with handle.session(10) as client:  # simulate a crash between drop and rename
        client.rename_collection(DEFAULT_COLLECTION, DEFAULT_COLLECTION + PURGE_SUFFIX)
    with open_gallery(address, "fp") as g:
        assert g.names() == ["a"]


@pytest.mark.slow
def test_two_processes_enrolling_into_one_lite_gallery_lose_nothing(tmp_path: Path) -> None:
    """milvus-lite opens a database in one process at a time: writers take turns under the file lock."""
    address = str(tmp_path / "shared.db")
    create_gallery(address, "fp-test", worker.DIM).close()
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", OMP_NUM_THREADS="1")
    n = 8
    children = [subprocess.Popen([sys.executable, str(_WORKER), address, prefix, str(n)], stdin=subprocess.PIPE,
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
                for prefix in ("a", "b")]
    release_together(children, timeout=240)
    with open_gallery(address, "fp-test") as gallery:
        names = gallery.names()
        assert names == sorted(f"{p}{i:04d}" for p in "ab" for i in range(n))
        for name in names:
            np.testing.assert_array_equal(gallery.templates(name), worker.expected(name))
        hits = gallery.search(np.stack([worker.expected(x)[0] for x in names]), k=1)
        assert [h[0].name for h in hits] == names


def test_a_second_process_waits_for_the_lite_lock(tmp_path: Path) -> None:
    address = str(tmp_path / "busy.db")
    with create_gallery(address, "fp", 8) as gallery, gallery.batch():  # holds the database
        code = ("import sys; from siamese.index.milvus_gallery import MilvusGallery as M\n"
                "from siamese.errors import GalleryError\n"
                f"try: M.open({address!r}, lock_timeout=0.5)\n"
                "except GalleryError as e: print(e); sys.exit(3)\n")
        done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                              env=dict(os.environ, PYTHONPATH=os.getcwd()))
        assert done.returncode == 3, done.stderr
        assert "locked by another process" in done.stdout


def test_migrate_local_to_milvus_and_back(tmp_path: Path, rng: np.random.Generator) -> None:
    people = {f"p{i}": _unit(rng, 1 + i % 3) for i in range(30)}
    src = tmp_path / "local"
    source = Source.from_bytes(b"img", path="/x/1.jpg")
    with FaceGallery.create(src, "fp-m", DIM, index="hnsw") as g:
        g.add_many(list(people.items()))
        g.add("sourced", people["p1"], sources=[source, None])
    summary = migrate(src, tmp_path / "m.db", batch_size=7)
    assert (summary["identities"], summary["templates"], summary["index"]) == (31, 62, "hnsw")
    migrate(tmp_path / "m.db", tmp_path / "back", index="flat")
    for where in (tmp_path / "m.db", tmp_path / "back"):
        with open_gallery(where, "fp-m") as g:
            assert g.names() == sorted([*people, "sourced"]) and g.dim == DIM
            for name, emb in people.items():
                np.testing.assert_array_equal(g.templates(name), emb)
    with open_gallery(tmp_path / "m.db") as g:
        assert g.kind == "hnsw" and g.sources("sourced") == [source, None]
    with open_gallery(tmp_path / "back") as g:
        assert g.kind == "flat"
    with pytest.raises(GalleryError, match="already exists"):
        migrate(src, tmp_path / "m.db")


def test_a_copy_into_milvus_that_fails_halfway_leaves_nothing_behind(tmp_path: Path, rng: np.random.Generator,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """A new milvus-lite database is removed whole; in a database that was there, only the new collection is
    dropped (the other gallery in it stays); the retry is not refused as "already exists"."""
    people = {f"p{i}": _unit(rng, 1 + i % 2) for i in range(12)}
    src = tmp_path / "local"
    with FaceGallery.create(src, "fp-m", DIM) as g:
        g.add_many(list(people.items()))
    shared = f"milvus-lite:{tmp_path / 'shared'}"
    with create_gallery(f"{shared}?collection=other", "fp-o", DIM) as other:
        other.add("kept", _unit(rng, 1))
    calls = []
    real_add_many = MilvusGallery.add_many

    def add_many(self, entries, **kw):
        calls.append(1)
        if len(calls) % 2 == 0:
            raise GalleryError("connection lost")
        return real_add_many(self, entries, **kw)

    monkeypatch.setattr(MilvusGallery, "add_many", add_many)
    with pytest.raises(GalleryError, match="connection lost"):
        migrate(src, tmp_path / "m.db", batch_size=5)
    assert not (tmp_path / "m.db").exists()
    with pytest.raises(GalleryError, match="connection lost"):
        migrate(src, f"{shared}?collection=copy", batch_size=5)
    assert not gallery_exists(f"{shared}?collection=copy")
    with open_gallery(f"{shared}?collection=other", "fp-o") as other:
        assert other.names() == ["kept"]
    monkeypatch.undo()
    for dst in (tmp_path / "m.db", f"{shared}?collection=copy"):
        assert migrate(src, dst, batch_size=5)["identities"] == 12
        with open_gallery(dst, "fp-m") as g:
            assert g.names() == sorted(people)
    with MilvusGallery.open(f"{shared}?collection=other") as other:
        other_id = other.gallery_id
    assert not MilvusGallery.drop(f"{shared}?collection=copy", other_id)  # another gallery's id drops nothing
    assert gallery_exists(f"{shared}?collection=copy")


def test_open_or_create_and_exists(tmp_path: Path, rng: np.random.Generator) -> None:
    address = f"milvus-lite:{tmp_path / 'lite'}"
    assert not gallery_exists(address)
    with open_or_create_gallery(address, "fp", DIM) as g:
        g.add("a", _unit(rng, 1))
    assert gallery_exists(address)
    with open_or_create_gallery(address, "fp", DIM) as g:
        assert g.names() == ["a"] and isinstance(g, MilvusGallery)


def test_bad_index_options_are_config_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="unknown kind"):
        create_gallery(tmp_path / "x.db", "fp", DIM, index="annoy")
    with pytest.raises(ConfigError, match="nprobe"):
        create_gallery(tmp_path / "x.db", "fp", DIM, index="ivf", nprobe=0)
    with pytest.raises(ConfigError, match="unknown"):
        create_gallery(tmp_path / "x.db", "fp", DIM, index="flat", nlist=4)


def test_without_pymilvus_the_error_says_what_to_install(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pymilvus", None)
    with pytest.raises(GalleryError, match=r"install siamese\[milvus\]"):
        create_gallery(tmp_path / "x.db", "fp", DIM)
    with FaceGallery.create(tmp_path / "local", "fp", DIM) as g:  # the local gallery needs none of it
        g.add("a", _unit(np.random.default_rng(0), 1))


def test_cli_migrate_list_info_remove_on_milvus_lite(tmp_path: Path, rng: np.random.Generator) -> None:
    import json

    from typer.testing import CliRunner

    from siamese.cli.gallery_cmd import gallery_app

    with FaceGallery.create(tmp_path / "local", "fp-cli", DIM) as g:
        g.add_many([("ann", _unit(rng, 2)), ("bo", _unit(rng, 1))])
    runner = CliRunner()
    lite = f"milvus-lite:{tmp_path / 'lite'}"
    done = runner.invoke(gallery_app, ["migrate", str(tmp_path / "local"), lite, "--json"])
    assert done.exit_code == 0, done.output
    assert json.loads(done.output)["templates"] == 3
    listed = runner.invoke(gallery_app, ["list", "--gallery", lite, "--json"])
    assert json.loads(listed.output)["identities"] == ["ann", "bo"]
    removed = runner.invoke(gallery_app, ["remove", "bo", "--gallery", lite, "--json"])
    assert json.loads(removed.output) == {"removed": "bo", "templates": 1}
    info = runner.invoke(gallery_app, ["info", "--gallery", lite, "--json"], env={"SIAMESE_GALLERY": ""})
    assert json.loads(info.output)["identities"] == 1
    by_env = runner.invoke(gallery_app, ["list", "--json"], env={"SIAMESE_GALLERY": lite})
    assert json.loads(by_env.output)["identities"] == ["ann"]
    again = runner.invoke(gallery_app, ["migrate", str(tmp_path / "local"), lite])
    assert again.exit_code == 2 and "already exists" in again.output


def test_lite_files_are_owner_only(tmp_path: Path, rng: np.random.Generator) -> None:
    """Biometric records are private: milvus-lite writes with the umask (0644 files), the gallery tightens every
    file to 0600 and folder to 0700 when it lets the database go, after enrolment and after a removal."""
    old = os.umask(0o022)
    try:
        address = str(tmp_path / "g.db")
        with create_gallery(address, "fp", DIM) as g:
            g.add("a", _unit(rng, 2), fingerprint="fp")
            g.add("b", _unit(rng, 1), fingerprint="fp")
            g.remove("b")
    finally:
        os.umask(old)
    os.chmod(address, 0o755)  # a folder that was made by hand (or by an earlier version) is tightened too
    with open_gallery(address) as g:
        assert g.names() == ["a"]
    assert oct(Path(address).stat().st_mode & 0o777) == "0o700"
    entries = [Path(root) / n for root, dirs, files in os.walk(address) for n in dirs + files]
    assert any(p.suffix == ".parquet" for p in entries)  # the templates are on disk
    modes = {str(p.relative_to(address)): oct(p.stat().st_mode & 0o777) for p in entries}
    assert {m for p, m in modes.items() if (tmp_path / "g.db" / p).is_dir()} == {"0o700"}, modes
    assert {m for p, m in modes.items() if (tmp_path / "g.db" / p).is_file()} == {"0o600"}, modes
