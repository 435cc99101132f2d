"""One contract for every gallery backend (local FAISS + SQLite, Milvus via milvus-lite); numpy is the oracle."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from siamese.errors import GalleryError, ModelMismatchError
from siamese.index import FaceGallery, Gallery, Source, create_gallery, gallery_backend, open_gallery

DIM = 24
FP = "model-sha256:contract"


def _unit(rng: np.random.Generator, n: int, dim: int = DIM) -> np.ndarray:
    x = rng.standard_normal((n, dim)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


@pytest.fixture(params=["local", "milvus"])
def address(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "milvus":
        pytest.importorskip("pymilvus")
        pytest.importorskip("milvus_lite")
        where = str(tmp_path / "gallery.db")
    else:
        where = str(tmp_path / "gallery")
    assert gallery_backend(where) == request.param
    return where


@pytest.fixture
def people(rng: np.random.Generator) -> dict[str, np.ndarray]:
    """15 identities with 1-4 templates each; names with quotes, a backslash and non-ASCII letters."""
    names = [f"person {i:02d}" for i in range(12)] + ['O"Brien \\ jr', "Zoë Ångström", "it's me"]
    return {name: _unit(rng, 1 + i % 4) for i, name in enumerate(names)}


@pytest.fixture
def gallery(address: str, people: dict[str, np.ndarray]):
    g = create_gallery(address, FP, DIM)
    with g.batch():
        g.add_many(list(people.items())[:10], fingerprint=FP)
        for name, emb in list(people.items())[10:]:
            g.add(name, emb, fingerprint=FP)
    yield g
    g.close()


def _brute_force(people: dict[str, np.ndarray], queries: np.ndarray, k: int, by: str) -> list[list[tuple[str, float]]]:
    names = [n for n, e in people.items() for _ in range(len(e))]
    matrix = np.concatenate(list(people.values()))
    sims = queries.astype(np.float64) @ matrix.T.astype(np.float64)
    out = []
    for row in sims:
        order = np.argsort(-row, kind="stable")
        hits: list[tuple[str, float]] = []
        for j in order:
            if by == "identity" and any(n == names[j] for n, _ in hits):
                continue
            hits.append((names[j], float(row[j])))
            if len(hits) == k:
                break
        out.append(hits)
    return out


def test_is_a_gallery_with_the_enrolled_content(gallery: Gallery, people: dict[str, np.ndarray]) -> None:
    assert isinstance(gallery, Gallery)
    assert gallery.dim == DIM and gallery.fingerprint == FP and gallery.kind == "flat"
    assert gallery.names() == sorted(people)
    assert len(gallery) == len(people)
    assert all(name in gallery for name in people)
    assert "nobody" not in gallery and 42 not in gallery
    for name, emb in people.items():
        np.testing.assert_array_equal(gallery.templates(name), emb)  # bit-exact, in enrolment order
    info = gallery.info()
    assert (info["identities"], info["templates"]) == (len(people), sum(len(e) for e in people.values()))
    assert info["fingerprint"] == FP and info["dim"] == DIM


def test_add_returns_new_distinct_growing_ids(gallery: Gallery, rng: np.random.Generator) -> None:
    first = gallery.add("person 00", _unit(rng, 2))  # appends to an existing identity
    second = gallery.add_many([("new a", _unit(rng, 1)), ("new b", _unit(rng, 3))])
    ids = first + [i for part in second for i in part]
    assert [len(first), *map(len, second)] == [2, 1, 3]
    assert len(set(ids)) == len(ids) and ids == sorted(ids)
    assert len(gallery.templates("person 00")) == 3
    assert gallery.add_many([]) == []


@pytest.mark.parametrize("by", ["template", "identity"])
@pytest.mark.parametrize("k", [1, 3, 40])
def test_search_matches_brute_force(gallery: Gallery, people: dict[str, np.ndarray], rng: np.random.Generator,
                                    by: str, k: int) -> None:
    queries = np.concatenate([_unit(rng, 6), people["person 05"][:1], people['O"Brien \\ jr'][-1:]])
    expected = _brute_force(people, queries, k, by)
    got = gallery.search(queries, k=k, by=by)
    assert len(got) == len(queries)
    for hits, want in zip(got, expected, strict=True):
        assert [m.rank for m in hits] == list(range(len(want)))
        assert [m.name for m in hits] == [n for n, _ in want]
        np.testing.assert_allclose([m.similarity for m in hits], [s for _, s in want], atol=1e-5)
    assert got[6][0].name == "person 05" and got[6][0].similarity == pytest.approx(1.0, abs=1e-5)
    if by == "template":  # template ids are distinct within a row
        assert all(len({m.template_id for m in hits}) == len(hits) for hits in got)


def test_search_threshold_empty_and_bad_arguments(gallery: Gallery, people: dict[str, np.ndarray]) -> None:
    query = people["person 03"][:1]
    sims = sorted(s for _, s in _brute_force(people, query, 5, "identity")[0])
    floor = (sims[1] + sims[2]) / 2  # between the 4th and the 3rd best
    hits = gallery.search(query, k=5, min_similarity=floor)[0]
    assert len(hits) == 3 and all(m.similarity >= floor for m in hits)
    assert gallery.search(np.zeros((0, DIM), np.float32)) == []
    with pytest.raises(GalleryError, match="k must be"):
        gallery.search(query, k=0)
    with pytest.raises(GalleryError, match="by must be"):
        gallery.search(query, by="name")  # type: ignore[arg-type]


def test_template_ids_of_search_are_the_enrolment_ids(address: str, rng: np.random.Generator) -> None:
    with create_gallery(address, FP, DIM) as g:
        emb = _unit(rng, 3)
        ids = g.add("solo", emb)
        hits = g.search(emb, k=1, by="template")
        assert [h[0].template_id for h in hits] == ids


def test_remove_forgets_the_identity(gallery: Gallery, people: dict[str, np.ndarray]) -> None:
    name = "person 07"
    assert gallery.remove(name) == len(people[name])
    assert name not in gallery and name not in gallery.names() and len(gallery) == len(people) - 1
    with pytest.raises(GalleryError, match="unknown identity"):
        gallery.templates(name)
    with pytest.raises(GalleryError, match="unknown identity"):
        gallery.remove(name)
    hits = gallery.search(people[name], k=len(people), by="template")
    assert all(m.name != name for row in hits for m in row)
    rest = {n: e for n, e in people.items() if n != name}
    assert [m.name for m in gallery.search(people[name][:1], k=3)[0]] == \
        [n for n, _ in _brute_force(rest, people[name][:1], 3, "identity")[0]]


def test_model_binding_is_enforced(gallery: Gallery, address: str, rng: np.random.Generator) -> None:
    with pytest.raises(ModelMismatchError, match="bound to model"):
        gallery.add("x", _unit(rng, 1), fingerprint="another-model")
    with pytest.raises(ModelMismatchError, match="bound to model"):
        gallery.search(_unit(rng, 1), fingerprint="another-model")
    with pytest.raises(ModelMismatchError, match="dim"):
        gallery.add("x", _unit(rng, 1, DIM + 1))
    gallery.close()
    with pytest.raises(ModelMismatchError, match="bound to model"):
        open_gallery(address, "another-model")
    with open_gallery(address, FP) as again:
        assert "x" not in again


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_and_unnormalised_vectors_are_refused(gallery: Gallery, rng: np.random.Generator,
                                                         bad: float) -> None:
    emb = _unit(rng, 2)
    emb[1, 3] = bad
    with pytest.raises(GalleryError, match="NaN or inf"):
        gallery.add("bad", emb)
    with pytest.raises(GalleryError, match="NaN or inf"):
        gallery.search(emb)
    with pytest.raises(GalleryError, match="L2-normalised"):
        gallery.add("bad", 2 * _unit(rng, 1))
    with pytest.raises(GalleryError, match="name"):
        gallery.add(" padded ", _unit(rng, 1))
    with pytest.raises(GalleryError, match="sources"):
        gallery.add("bad", _unit(rng, 2), sources=[None])
    assert "bad" not in gallery  # nothing half-written


def test_reopen_persists_everything(address: str, people: dict[str, np.ndarray]) -> None:
    source = Source.from_bytes(b"photo bytes", path="/photos/a.jpg")
    with create_gallery(address, FP, DIM) as g:
        g.add_many(list(people.items()))
        g.add("with source", people["person 01"], sources=[source] * len(people["person 01"]))
    with open_gallery(address, FP, read_only=True) as g:
        assert g.names() == sorted([*people, "with source"])
        for name, emb in people.items():
            np.testing.assert_array_equal(g.templates(name), emb)
        assert g.sources("with source") == [source] * len(people["person 01"])
        assert g.sources("person 01") == [None] * len(people["person 01"])
        assert g.search(people["person 02"][:1], k=1)[0][0].name in {"person 02", "with source"}
        with pytest.raises(GalleryError, match="read-only"):
            g.add("x", people["person 01"])
        with pytest.raises(GalleryError, match="read-only"):
            g.remove("person 01")
    with pytest.raises(GalleryError, match="already exists"):
        create_gallery(address, FP, DIM)


def test_open_missing_gallery_fails(tmp_path: Path, address: str) -> None:
    with pytest.raises(GalleryError, match="no gallery here"):
        open_gallery(address)


def test_closed_gallery_refuses_use(gallery: Gallery, people: dict[str, np.ndarray]) -> None:
    gallery.close()
    gallery.close()  # idempotent
    with pytest.raises(GalleryError, match="closed"):
        gallery.search(people["person 01"])


def test_local_addresses_stay_face_galleries(tmp_path: Path) -> None:
    with create_gallery(tmp_path / "plain", FP, DIM) as g:
        assert type(g) is FaceGallery


def test_a_name_is_one_identity_in_either_unicode_form(address: str, rng: np.random.Generator) -> None:
    """"José" typed precomposed (NFC, U+00E9) and decomposed (NFD, e + U+0301, as macOS file names are) is one
    person: enrolled in one form, it is found, appended to and removed in the other, and listed in NFC."""
    nfc, nfd = "Jos\u00e9", "Jose\u0301"
    assert nfc != nfd
    g = create_gallery(address, FP, DIM)
    try:
        g.add(nfd, _unit(rng, 1), fingerprint=FP)
        assert nfc in g and nfd in g
        g.add(nfc, _unit(rng, 2), fingerprint=FP)
        assert g.names() == [nfc] and len(g) == 1
        assert len(g.templates(nfd)) == 3
        assert [m.name for m in g.search(g.templates(nfc)[:1], k=1)[0]] == [nfc]
        assert g.remove(nfd) == 3
        assert g.names() == [] and nfc not in g
    finally:
        g.close()


def test_a_name_enrolled_before_normalisation_stays_reachable(address: str, rng: np.random.Generator,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """A decomposed name that an earlier version stored as given is found, appended to and removed when typed as
    then (the deletion guarantee holds for it); new names are stored in NFC beside it."""
    from siamese.index import gallery as local
    from siamese.index import milvus_gallery

    nfd = "Rene\u0301e"
    with monkeypatch.context() as old_version:  # names stored exactly as given, as before normalisation
        for module in (local, milvus_gallery):
            old_version.setattr(module, "_check_name", lambda name: name)
        g = create_gallery(address, FP, DIM)
        g.add(nfd, _unit(rng, 2), fingerprint=FP)
        g.close()
    g = open_gallery(address)
    try:
        assert g.names() == [nfd] and nfd in g
        g.add(nfd, _unit(rng, 1), fingerprint=FP)
        assert g.names() == [nfd] and len(g.templates(nfd)) == 3
        g.add("Zoe\u0301", _unit(rng, 1), fingerprint=FP)
        assert g.names() == [nfd, "Zo\u00e9"]
        assert g.remove(nfd) == 3
        assert g.names() == ["Zo\u00e9"] and nfd not in g
    finally:
        g.close()


def test_new_sources_only_adds_each_photo_once_per_name(address: str, rng: np.random.Generator) -> None:
    a, b, c = (Source.from_bytes(bytes([i]) * 8, path=f"/p/{i}.jpg") for i in range(3))
    first, second = _unit(rng, 2), _unit(rng, 4)
    with create_gallery(address, FP, DIM) as g:
        g.add("ann", first, sources=[a, b])
        # as if another process had enrolled a and b after this one looked: c is new, the repeat of c in the call
        # and None-sourced templates are kept once / always; bob is a new name and gets a, b of his own
        added = g.add_many([("ann", second, [a, c, c, None]), ("bob", first, [a, b]), ("cid", first, [a, a])],
                           new_sources_only=True)
        assert [len(ids) for ids in added] == [2, 2, 1]
        assert g.sources("ann") == [a, b, c, None]
        np.testing.assert_array_equal(g.templates("ann"), np.concatenate([first, second[[1, 3]]]))
        np.testing.assert_array_equal(g.templates("cid"), first[:1])
        assert g.add_many([("ann", first, [a, b]), ("bob", first, [b, a])], new_sources_only=True) == [[], []]
        assert g.add("dan", first, sources=[a, b], new_sources_only=True)  # a new name is not a known one
        assert len(g.templates("ann")) == 4 and len(g.templates("bob")) == 2
        assert len(g.add("ann", first, sources=[a, b])) == 2  # without the flag: appended, as before
        # an entry left empty beside one that lands: each id list still belongs to its own entry
        eve = _unit(rng, 1)
        left, landed = g.add_many([("ann", first[:1], [a]), ("eve", eve, [c])], new_sources_only=True)
        assert left == [] and len(landed) == 1
        hit = g.search(eve, k=1, by="template")[0][0]
        assert (hit.name, hit.template_id) == ("eve", landed[0])
        # one person typed in both Unicode forms in one call: the second entry's photo is the first's
        assert [len(ids) for ids in g.add_many([("Zo\u00e9", eve, [c]), ("Zoe\u0301", eve, [c])],
                                               new_sources_only=True)] == [1, 0]
    with open_gallery(address, FP, read_only=True) as g:
        assert g.names() == ["Zo\u00e9", "ann", "bob", "cid", "dan", "eve"] and len(g.templates("ann")) == 6
