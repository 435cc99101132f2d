"""The CLI end to end with a Milvus address (a milvus-lite file): enroll, identify, verify --claim, gallery
list / info / remove answer as with the local gallery (the same smoke model, the same photos)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from .conftest import run_cli

pytest.importorskip("pymilvus")
pytest.importorskip("milvus_lite")


def _people(orl_root: Path, tmp: Path) -> Path:
    root = tmp / "people"
    for s in range(1, 9):
        (root / f"s{s}").mkdir(parents=True)
        for i in range(1, 5):
            (root / f"s{s}" / f"{i}.pgm").symlink_to(orl_root / f"s{s}" / f"{i}.pgm")
    return root


def test_cli_with_a_milvus_lite_gallery_answers_like_the_local_one(smoke_model, orl_root: Path,
                                                                   tmp_path: Path) -> None:
    model = smoke_model[0]
    people = _people(orl_root, tmp_path)
    answers = {}
    for kind, gallery in (("local", tmp_path / "local"), ("milvus", tmp_path / "faces.db")):
        code, out, err = run_cli("enroll", "--from-dir", people, "--model", model, "--gallery", gallery, "--json")
        assert code == 0, err
        assert json.loads(out)["templates"] == 32
        rows = []
        for s in range(1, 9):
            code, out, err = run_cli("identify", orl_root / f"s{s}" / "9.pgm", "--model", model, "--gallery", gallery,
                                     "--threshold", "10", "--top-k", "3", "--json")
            assert code == 0, err
            result = json.loads(out)
            rows.append((result["name"], [round(c["distance"], 4) for c in result["candidates"]]))
        answers[kind] = rows
        code, out, _ = run_cli("verify", orl_root / "s2" / "8.pgm", "--claim", "s2", "--model", model,
                               "--gallery", gallery, "--threshold", "10", "--json")
        assert code == 0 and json.loads(out)["claim"] == "s2"
        code, out, err = run_cli("verify", orl_root / "s2" / "8.pgm", "--claim", "nobody", "--model", model,
                                 "--gallery", gallery)
        assert code == 2 and "nobody" in err
        assert json.loads(run_cli("gallery", "list", "--gallery", gallery, "--json")[1])["count"] == 8
        info = json.loads(run_cli("gallery", "info", "--gallery", gallery, "--json")[1])
        assert info["identities"] == 8 and info["templates"] == 32
        code, out, _ = run_cli("gallery", "remove", "s3", "--gallery", gallery, "--json")
        assert code == 0 and json.loads(out)["templates"] == 4
        assert "s3" not in json.loads(run_cli("gallery", "list", "--gallery", gallery, "--json")[1])["identities"]
    assert answers["milvus"] == answers["local"]  # same names and distances (flat index: exact on both)
