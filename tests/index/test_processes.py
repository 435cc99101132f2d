"""Several processes on one gallery: SIGKILL at random moments, and two concurrent enrollers."""

from __future__ import annotations

import importlib.util
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from siamese.errors import GalleryError
from siamese.index import FaceGallery

_WORKER = Path(__file__).with_name("_worker.py")
_spec = importlib.util.spec_from_file_location("_index_worker", _WORKER)
worker = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(worker)

_ENV = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", OMP_NUM_THREADS="1")


def _spawn(*args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, str(_WORKER), *args], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True, env=_ENV,
    )


def _check_consistent(directory: Path) -> int:
    """Open read-write, check index == catalogue, every identity complete, search works."""
    with FaceGallery.open(directory, "fp-test") as gallery:
        assert gallery.verify() == []
        names = gallery.names()
        for name in names:
            np.testing.assert_array_equal(gallery.templates(name), worker.expected(name))
        if names:
            probe = [names[0], names[-1]]
            hits = gallery.search(np.stack([worker.expected(n)[0] for n in probe]), k=2)
            assert [h[0].name for h in hits] == probe
            assert all(h[0].similarity == pytest.approx(1.0, abs=1e-5) for h in hits)
        info = gallery.info()
        assert info["indexed"] == info["templates"] == sum(len(worker.expected(n)) for n in names)
    with FaceGallery.open(directory, "fp-test", read_only=True) as again:
        assert not again.recovered  # the read-write open left a current index file behind
    return len(names)


@pytest.mark.slow
def test_sigkill_at_random_moments_never_breaks_the_gallery(tmp_path: Path) -> None:
    directory = tmp_path / "g"
    FaceGallery.create(directory, "fp-test", worker.DIM).close()
    rng = np.random.default_rng(7)
    recovered = 0
    deadline = time.monotonic() + 90
    for trial in range(25):
        assert time.monotonic() < deadline, "crash trials take too long"
        child = _spawn("crash", str(directory), str(trial * 100_000), str(trial))
        assert child.stdout.readline().strip() == "ready"
        time.sleep(float(rng.uniform(0.0, 0.6)))
        assert child.poll() is None, child.stderr.read()
        child.send_signal(signal.SIGKILL)
        child.communicate()
        try:  # a read-only open may meet a journal left to roll back; it must say so, not misread
            with FaceGallery.open(directory, "fp-test", read_only=True) as peek:
                recovered += peek.recovered
                assert peek.verify() == []
        except GalleryError as exc:
            assert "open the gallery read-write once" in str(exc)
        _check_consistent(directory)
    with FaceGallery.open(directory, "fp-test") as gallery:
        assert len(gallery) > 0  # the children did get work done between kills


@pytest.mark.slow
def test_two_processes_enrolling_at_once_lose_nothing(tmp_path: Path) -> None:
    directory = tmp_path / "g"
    FaceGallery.create(directory, "fp-test", worker.DIM).close()
    n = 15
    children = [_spawn("enroll", str(directory), prefix, str(n)) for prefix in ("a", "b")]
    for child in children:
        assert child.stdout.readline().strip() == "ready", child.stderr.read()
    for child in children:  # release both at once
        child.stdin.write("go\n")
        child.stdin.flush()
    for child in children:
        out, err = child.communicate(timeout=120)
        assert child.returncode == 0, err
        assert out.strip() == "done"
    assert _check_consistent(directory) == 2 * n
    with FaceGallery.open(directory, "fp-test") as gallery:
        assert len(gallery) == 2 * n
        assert gallery.names() == sorted(f"{p}{i:04d}" for p in "ab" for i in range(n))
