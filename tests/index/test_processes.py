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

from siamese.index import FaceGallery
from tests.conftest import release_together

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
        # a read-only open works even when the kill left a journal to roll back (it rolls it back itself)
        with FaceGallery.open(directory, "fp-test", read_only=True) as peek:
            recovered += peek.recovered
            assert peek.verify() == []
            assert peek.info()["identities"] == len(peek.names())
        _check_consistent(directory)
    with FaceGallery.open(directory, "fp-test") as gallery:
        assert len(gallery) > 0  # the children did get work done between kills


@pytest.mark.slow
def test_two_processes_enrolling_at_once_lose_nothing(tmp_path: Path) -> None:
    directory = tmp_path / "g"
    FaceGallery.create(directory, "fp-test", worker.DIM).close()
    n = 15
    children = [_spawn("enroll", str(directory), prefix, str(n)) for prefix in ("a", "b")]
    release_together(children)
    assert _check_consistent(directory) == 2 * n
    with FaceGallery.open(directory, "fp-test") as gallery:
        assert len(gallery) == 2 * n
        assert gallery.names() == sorted(f"{p}{i:04d}" for p in "ab" for i in range(n))


def _vector_pieces(names: list[str]) -> list[bytes]:
    """Every template of ``names`` as bytes: whole rows and each aligned 16-byte piece."""
    out = []
    for name in names:
        for row in worker.expected(name).astype("<f4"):
            raw = row.tobytes()
            out += [raw, *(raw[i : i + 16] for i in range(0, len(raw), 16))]
    return out


def _files_holding(directory: Path, needles: list[bytes]) -> list[str]:
    return [p.name for p in sorted(directory.iterdir()) if p.is_file() and any(n in p.read_bytes() for n in needles)]


@pytest.mark.slow
def test_processes_racing_to_create_a_gallery_lose_no_enrolment(tmp_path: Path) -> None:
    prefixes, n = "abcd", 5
    for repeat in range(3):
        directory = tmp_path / f"g{repeat}"  # does not exist: every child races to create it
        children = [_spawn("race", str(directory), prefix, str(n)) for prefix in prefixes]
        release_together(children)
        with FaceGallery.open(directory, "fp-test", read_only=True) as gallery:
            assert gallery.names() == sorted(f"{p}{i:04d}" for p in prefixes for i in range(n))
            assert gallery.verify() == []
        assert not list(tmp_path.glob("*.creating"))


@pytest.mark.slow
def test_sigkill_during_remove_never_leaves_removed_vectors(tmp_path: Path) -> None:
    """Kill ``remove`` at seeded random moments: whoever the catalogue no longer lists has no byte left in any
    gallery file, as seen right after the crash by a READ-ONLY open, and list/info work read-only."""
    rng = np.random.default_rng(11)
    cut_short = 0
    for trial in range(30):  # at least 12 trials; more until 6 kills landed mid-removal (timing depends on the box)
        if trial >= 12 and cut_short >= 6:
            break
        directory = tmp_path / f"g{trial}"
        names = [f"r{trial:02d}x{i:03d}" for i in range(30)]
        with FaceGallery.create(directory, "fp-test", worker.DIM) as gallery:
            gallery.add_many([(name, worker.expected(name)) for name in names])
        assert _files_holding(directory, _vector_pieces(names[:1])) != []  # the scan can see vectors
        child = _spawn("remove", str(directory))
        assert child.stdout.readline().strip() == "ready", child.stderr.read()
        time.sleep(float(rng.uniform(0.0, 0.4)))
        child.send_signal(signal.SIGKILL)
        child.communicate()
        with FaceGallery.open(directory, "fp-test", read_only=True) as peek:  # no read-write open before
            left = peek.names()
            info = peek.info()
            assert info["identities"] == len(left) and info["indexed"] == info["templates"]
            assert peek.verify() == []
        gone = [name for name in names if name not in left]
        cut_short += 0 < len(gone) < len(names)
        assert _files_holding(directory, _vector_pieces(gone)) == [], f"trial {trial}: {len(gone)} removed"
        if left:
            assert _files_holding(directory, _vector_pieces(left[:1])) != []
        _check_consistent(directory)
    assert cut_short >= 3  # kills did land in the middle of the removals (the case this test is about)


@pytest.mark.slow
def test_sigkill_during_creation_leaves_no_stale_staging(tmp_path: Path) -> None:
    rng = np.random.default_rng(5)
    strays_seen = 0
    for trial in range(30):  # at least 6 trials; more until 3 kills landed inside a creation (timing-dependent)
        if trial >= 6 and strays_seen >= 3:
            break
        parent = tmp_path / f"t{trial}"
        parent.mkdir()
        child = _spawn("create", str(parent))
        assert child.stdout.readline().strip() == "ready", child.stderr.read()
        time.sleep(float(rng.uniform(0.3, 1.0)))
        child.send_signal(signal.SIGKILL)
        child.communicate()
        for directory in sorted(parent.glob("g*")):  # each gallery is complete: read-only use works
            with FaceGallery.open(directory, "fp-test", read_only=True) as gallery:
                assert len(gallery) == 0 and gallery.info()["indexed"] == 0
        strays = sorted(parent.glob(".g*.creating"))
        strays_seen += len(strays)
        for stray in strays:  # the next creation of that name cleans up, then succeeds
            target = parent / stray.name[1:].split(".")[0]
            FaceGallery.open_or_create(target, "fp-test", worker.DIM).close()
        assert not list(parent.glob("*.creating"))
    assert strays_seen >= 1  # a kill did land inside a creation and its staging folder was cleaned up
