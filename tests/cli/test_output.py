"""Errors under --json: the one stderr line stays, and stdout gets one JSON object a script can parse."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import typer

from siamese.cli.output import fail, handle_errors
from siamese.errors import SiameseError

REPO = Path(__file__).resolve().parents[2]


def _command(as_json: bool = False, error: Exception | None = None) -> None:
    if error is not None:
        raise error


def test_an_error_under_json_is_also_a_json_object_on_stdout(capsys: pytest.CaptureFixture) -> None:
    wrapped = handle_errors(_command)
    with pytest.raises(typer.Exit) as exit_info:
        wrapped(as_json=True, error=SiameseError("photo.jpg: no face found"))
    out, err = capsys.readouterr()
    assert exit_info.value.exit_code == 2
    assert json.loads(out) == {"error": "photo.jpg: no face found", "exit_code": 2}
    assert err == "siamese: error: photo.jpg: no face found\n"


def test_without_json_an_error_writes_nothing_on_stdout(capsys: pytest.CaptureFixture) -> None:
    wrapped = handle_errors(_command)
    with pytest.raises(typer.Exit):
        wrapped(as_json=True, error=OSError(2, "No such file or directory", "a.jpg"))
    capsys.readouterr()
    with pytest.raises(typer.Exit):  # the flag of the earlier --json command does not leak into this one
        wrapped(as_json=False, error=SiameseError("b.jpg: unreadable"))
    out, err = capsys.readouterr()
    assert out == "" and err == "siamese: error: b.jpg: unreadable\n"
    with pytest.raises(typer.Exit):  # nor into a bare fail() outside any command
        fail("c.jpg: unreadable")
    assert capsys.readouterr().out == ""


def test_a_long_error_under_json_keeps_its_whole_message(capsys: pytest.CaptureFixture) -> None:
    """stderr shortens a long message to 400 characters; the JSON object carries the whole message."""
    message = "x" * 1000
    with pytest.raises(typer.Exit):
        handle_errors(_command)(as_json=True, error=SiameseError(message))
    out, err = capsys.readouterr()
    assert json.loads(out)["error"] == message
    assert len(err.strip().removeprefix("siamese: error: ")) == 400 and err.strip().endswith("...")


@pytest.mark.parametrize("as_json", [True, False])
def test_a_usage_error_of_the_installed_command_answers_in_json_when_asked(as_json: bool, tmp_path: Path) -> None:
    """Errors click finds before the command runs (an unknown option) follow the same rule."""
    env = dict(os.environ, PYTHONPATH=str(REPO), XDG_DATA_HOME=str(tmp_path))
    args = ["gallery", "list", "--no-such-option"] + (["--json"] if as_json else [])
    proc = subprocess.run([sys.executable, "-m", "siamese.cli.app", *args], capture_output=True, text=True,
                          timeout=120, env=env, cwd=tmp_path)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("siamese: error: ") and "--no-such-option" in lines[0]
    if as_json:
        payload = json.loads(proc.stdout)
        assert payload["exit_code"] == 2 and "--no-such-option" in payload["error"]
    else:
        assert proc.stdout == ""
    assert list(tmp_path.iterdir()) == []


def test_an_error_under_json_with_stdout_closed_still_exits_2(tmp_path: Path) -> None:
    """The JSON copy of an error cannot be written to a closed pipe: the exit code stays 2 (click would make a
    broken pipe exit 1, which reads as a decision), and the stderr line is still there."""
    env = dict(os.environ, PYTHONPATH=str(REPO), XDG_DATA_HOME=str(tmp_path))
    for args in (["gallery", "list", "--gallery", str(tmp_path / "none"), "--json"],  # an error of the command
                 ["gallery", "list", "--no-such-option", "--json"]):  # a usage error
        read_end, write_end = os.pipe()
        os.close(read_end)
        try:
            proc = subprocess.run([sys.executable, "-m", "siamese.cli.app", *args], stdout=write_end,
                                  stderr=subprocess.PIPE, text=True, timeout=120, env=env, cwd=tmp_path)
        finally:
            os.close(write_end)
        assert proc.returncode == 2, (args, proc.stderr)
        assert proc.stderr.startswith("siamese: error: ") and "Traceback" not in proc.stderr, proc.stderr
