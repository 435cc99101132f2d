"""remove(name) leaves no byte of the person in any gallery file (catalogue, journal, index)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from siamese.index import FaceGallery, Source

DIM = 64
NAME = "Zephaniah Quillbottom-Xyrix"


def _unit(rng: np.random.Generator, n: int) -> np.ndarray:
    x = rng.standard_normal((n, DIM)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def _needles(name: str, embeddings: np.ndarray, extra: list[bytes]) -> list[bytes]:
    """The name, provenance, and each template's bytes: whole row and every aligned 16-byte piece."""
    out = [name.encode(), *extra]
    for row in embeddings.astype("<f4"):
        raw = row.tobytes()
        out.append(raw)
        out += [raw[i : i + 16] for i in range(0, len(raw), 16)]
    return out


def _found(directory: Path, needles: list[bytes]) -> dict[str, list[int]]:
    hits: dict[str, list[int]] = {}
    for path in sorted(directory.iterdir()):  # EVERY file, whatever its name
        data = path.read_bytes()
        found = [i for i, needle in enumerate(needles) if needle in data]
        if found:
            hits[path.name] = found
    return hits


@pytest.mark.parametrize("kind", ["flat", "ivf", "hnsw"])
def test_removed_person_leaves_no_bytes(kind: str, tmp_path: Path, rng: np.random.Generator) -> None:
    opts = {"nlist": 4, "nprobe": 4, "train_size": 100} if kind == "ivf" else {}
    directory = tmp_path / "g"
    target = _unit(rng, 4)
    source = Source.from_bytes(b"the photo of " + NAME.encode(), path=f"/photos/{NAME}/001.jpg")
    others = {f"other {i:03d}": _unit(rng, 2) for i in range(80)}
    with FaceGallery.create(directory, "fp", DIM, index=kind, **opts) as gallery:
        items = list(others.items())
        gallery.add_many(items[:40])
        gallery.add(NAME, target, sources=[source] * 4)  # shares pages with people before and after
        gallery.add_many(items[40:])
        needles = _needles(NAME, target, [source.path.encode(), source.sha256.encode()])
        kept = _needles("other 041", others["other 041"], [])
        assert set(_found(directory, needles)) >= {"gallery.db", "index.faiss"}  # the scan can see them
        assert gallery.remove(NAME) == 4
        assert _found(directory, needles) == {}
        kept_hits = _found(directory, kept)
        assert set(kept_hits) == {"gallery.db", "index.faiss"}  # the others are still all there
        assert kept_hits["gallery.db"] == list(range(len(kept)))
        assert kept_hits["index.faiss"] == list(range(1, len(kept)))  # no names in the index
        assert gallery.verify() == []
    with FaceGallery.open(directory, "fp") as gallery:
        assert NAME not in gallery.names() and len(gallery) == 80
    assert _found(directory, needles) == {}
