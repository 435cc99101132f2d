"""YuNet model resolution: checksum, missing file, download via a stubbed fetch or a file URL."""

from __future__ import annotations

from pathlib import Path
from typing import BinaryIO

import pytest

from siamese.errors import DetectorUnavailableError
from siamese.faces import YuNetDetector, get_detector, resolve_yunet_model, yunet_detector


@pytest.fixture
def empty_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("SIAMESE_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("SIAMESE_YUNET", raising=False)

    def no_network(url: str, out: BinaryIO) -> None:
        raise AssertionError(f"tests must not download ({url})")

    monkeypatch.setattr(yunet_detector, "_fetch", no_network)
    return tmp_path / "cache" / "models" / yunet_detector.YUNET_FILENAME


def test_explicit_and_env_paths_are_verified(yunet_model: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert resolve_yunet_model(yunet_model) == yunet_model
    monkeypatch.setenv("SIAMESE_YUNET", str(yunet_model))
    assert isinstance(get_detector("yunet"), YuNetDetector)


def test_checksum_mismatch(tmp_path: Path) -> None:
    fake = tmp_path / "face_detection_yunet_2023mar.onnx"
    fake.write_bytes(b"not an onnx model")
    with pytest.raises(DetectorUnavailableError, match="sha256"):
        YuNetDetector(model_path=fake)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(DetectorUnavailableError, match="not found"):
        YuNetDetector(model_path=tmp_path / "nope.onnx")


def test_no_download_allowed(empty_cache: Path) -> None:
    with pytest.raises(DetectorUnavailableError, match="SIAMESE_YUNET"):
        YuNetDetector(download=False)


def test_download_once_with_stubbed_fetch(
    empty_cache: Path, yunet_model: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[str] = []

    def fetch(url: str, out: BinaryIO) -> None:
        calls.append(url)
        out.write(yunet_model.read_bytes())

    monkeypatch.setattr(yunet_detector, "_fetch", fetch)
    first = YuNetDetector()
    second = YuNetDetector()
    assert calls == [yunet_detector.YUNET_URL]  # downloaded once, then found in the cache
    assert first.model_path == second.model_path == empty_cache
    assert empty_cache.read_bytes() == yunet_model.read_bytes()
    assert [p.name for p in empty_cache.parent.iterdir() if p.suffix == ".part"] == []


def test_bad_download_leaves_nothing(empty_cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(yunet_detector, "_fetch", lambda url, out: out.write(b"<html>rate limited</html>"))
    with pytest.raises(DetectorUnavailableError, match="sha256"):
        YuNetDetector()
    assert not empty_cache.exists()
    assert [p for p in empty_cache.parent.iterdir() if p.suffix in (".part", ".onnx")] == []


def test_download_from_a_file_url(tmp_path: Path, yunet_model: Path) -> None:
    """The real fetch function with a local file URL (no network)."""
    dest = tmp_path / "models" / yunet_detector.YUNET_FILENAME
    assert yunet_detector.download_yunet(dest, url=yunet_model.as_uri()) == dest
    assert dest.read_bytes() == yunet_model.read_bytes()
    with pytest.raises(DetectorUnavailableError, match="cannot download"):
        yunet_detector.download_yunet(tmp_path / "other" / "m.onnx", url=(tmp_path / "missing").as_uri())
