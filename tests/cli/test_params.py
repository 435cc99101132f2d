"""Path parameters: an empty one (an unset shell variable) is a usage error, not the current folder."""

from __future__ import annotations

from pathlib import Path

import pytest
import typer

from siamese.cli.params import parse_path
from tests.conftest import run_cli

REPO = Path(__file__).resolve().parents[2]


def test_parse_path_refuses_only_empty_text() -> None:
    assert parse_path("runs/m") == Path("runs/m")
    assert parse_path(".") == Path(".")  # the current folder, when written, is still allowed
    assert parse_path(Path("x")) == Path("x")
    for empty in ("", "  "):
        with pytest.raises(typer.BadParameter, match="empty path"):
            parse_path(empty)


@pytest.mark.parametrize("args", [
    ["train", REPO / "configs" / "orl-smoke.yaml", "--out", ""],
    ["train", REPO / "configs" / "orl-smoke.yaml", "--data", ""],
    ["train", ""],
    ["benchmark", "lfw", REPO / "configs" / "lfw.yaml", "--out", ""],
    ["evaluate", "m", "--pairs", "p.csv", "--report", ""],
    ["export", "m", "--out", ""],
    ["verify", "", "b.jpg"],
    ["verify", "a.jpg", "b.jpg", "--model", ""],
    ["enroll", "alice", ""],
    ["enroll", "--from-dir", ""],
    ["identify", ""],
], ids=lambda a: " ".join(map(str, a)).replace(str(REPO), "."))
def test_an_empty_path_is_a_usage_error_and_writes_nothing(args: list, tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    code, out, err = run_cli(*args)
    assert code == 2 and "empty path" in err, (code, out, err)
    assert list(tmp_path.iterdir()) == []
