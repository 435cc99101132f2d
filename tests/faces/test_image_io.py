"""read_image / decode_image: real photos, one crafted bad file per kind, bombs refused from headers."""

from __future__ import annotations

import os
import struct
import time
import zlib
from pathlib import Path

import cv2
import numpy as np
import pytest

from siamese import _files as files
from siamese._files import file_sha256, read_regular_file
from siamese.errors import FileTooLargeError, ImageDecodeError, ImageTooLargeError, InputFileError
from siamese.faces import decode_image, image_io, parse_header, read_image
from siamese.index import Source

LFW_FACE = "lfw-deepfunneled/Aaron_Eckhart/Aaron_Eckhart_0001.jpg"


def _png_chunk(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))


def _png(width: int, height: int, color_type: int, rows: bytes, extra: bytes = b"") -> bytes:
    ihdr = struct.pack(">IIBBBBB", width, height, 8, color_type, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", ihdr)
        + extra
        + _png_chunk(b"IDAT", zlib.compress(rows))
        + _png_chunk(b"IEND", b"")
    )


def _exif_app1(orientation: int) -> bytes:
    """A minimal big-endian EXIF APP1 segment holding only the Orientation tag."""
    tiff = b"MM\x00\x2a" + struct.pack(">I", 8) + struct.pack(">H", 1)
    tiff += struct.pack(">HHIHH", 0x0112, 3, 1, orientation, 0) + struct.pack(">I", 0)
    payload = b"Exif\x00\x00" + tiff
    return b"\xff\xe1" + struct.pack(">H", len(payload) + 2) + payload


def _encode(image: np.ndarray, ext: str, *params: int) -> bytes:
    ok, buf = cv2.imencode(ext, image, list(params))
    assert ok
    return buf.tobytes()


def _write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


@pytest.fixture
def no_decode(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make any pixel decoding fail the test: the refusal must come from the header alone."""

    def boom(*args: object, **kwargs: object) -> None:
        raise AssertionError("cv2.imdecode called on a file that must be refused from its header")

    monkeypatch.setattr(image_io.cv2, "imdecode", boom)


# ------------------------------------------------------------------------------- real photos


def test_orl_grey_pgm_becomes_rgb(orl_root: Path) -> None:
    path = orl_root / "s1" / "1.pgm"
    image = read_image(path)
    grey = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
    assert image.shape == (112, 92, 3) and image.dtype == np.uint8
    for c in range(3):
        np.testing.assert_array_equal(image[:, :, c], grey)


def test_lfw_jpeg_is_rgb(lfw_root: Path) -> None:
    path = lfw_root / LFW_FACE
    image = read_image(path)
    bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
    assert image.shape == (250, 250, 3) and image.dtype == np.uint8
    np.testing.assert_array_equal(image, bgr[:, :, ::-1])


# -------------------------------------------------------------------------- bad files, one each


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nope.jpg"
    with pytest.raises(ImageDecodeError, match="no such file") as info:
        read_image(path)
    assert str(info.value).startswith(f"{path}: ")


def test_zero_byte_file(tmp_path: Path) -> None:
    path = _write(tmp_path, "empty.jpg", b"")
    with pytest.raises(ImageDecodeError, match="empty file") as info:
        read_image(path)
    assert str(info.value) == f"{path}: empty file (0 bytes)"


def test_random_bytes(tmp_path: Path, rng: np.random.Generator) -> None:
    path = _write(tmp_path, "noise.png", rng.integers(0, 256, 5000, dtype=np.uint8).tobytes())
    with pytest.raises(ImageDecodeError, match="not a supported image") as info:
        read_image(path)
    assert info.value.path == str(path)


def test_text_file_named_jpg(tmp_path: Path) -> None:
    path = _write(tmp_path, "notes.jpg", b"Dear diary, today I took no photos.\n" * 20)
    with pytest.raises(ImageDecodeError, match="not a supported image"):
        read_image(path)


def test_truncated_jpeg(tmp_path: Path, lfw_root: Path) -> None:
    data = (lfw_root / LFW_FACE).read_bytes()
    for keep in (0.95, 0.6, 0.2):
        path = _write(tmp_path, f"cut{keep}.jpg", data[: int(len(data) * keep)])
        with pytest.raises(ImageDecodeError, match="truncated JPEG"):
            read_image(path)
    # trailing bytes after a complete image are harmless
    assert read_image(_write(tmp_path, "padded.jpg", data + b"\x00" * 100)).shape == (250, 250, 3)


def test_truncated_png(tmp_path: Path, rng: np.random.Generator) -> None:
    data = _encode(rng.integers(0, 256, (64, 64, 3), dtype=np.uint8), ".png")
    for keep in (len(data) - 5, len(data) // 2, 40):
        path = _write(tmp_path, f"cut{keep}.png", data[:keep])
        with pytest.raises(ImageDecodeError, match="truncated PNG"):
            read_image(path)


def test_corrupt_png_crc_is_refused(tmp_path: Path, rng: np.random.Generator) -> None:
    data = bytearray(_encode(rng.integers(0, 256, (32, 32, 3), dtype=np.uint8), ".png"))
    data[45] ^= 0xFF  # inside the IDAT payload: CRC no longer matches
    with pytest.raises(ImageDecodeError, match="corrupt PNG"):
        read_image(_write(tmp_path, "crc.png", bytes(data)))


def test_png_16bit_is_scaled_to_8bit(tmp_path: Path) -> None:
    values = np.array([[0, 257, 32896, 65535]], dtype=np.uint16)  # 257 * (0, 1, 128, 255)
    image16 = np.repeat(values[:, :, None], 3, axis=2)
    image = read_image(_write(tmp_path, "deep.png", _encode(image16, ".png")))
    assert image.dtype == np.uint8 and image.shape == (1, 4, 3)
    np.testing.assert_array_equal(image[0, :, 0], [0, 1, 128, 255])


def test_grey_png_becomes_rgb(tmp_path: Path) -> None:
    grey = np.arange(48, dtype=np.uint8).reshape(6, 8)
    image = read_image(_write(tmp_path, "grey.png", _encode(grey, ".png")))
    assert image.shape == (6, 8, 3)
    np.testing.assert_array_equal(image, np.repeat(grey[:, :, None], 3, axis=2))


def test_rgba_png_is_composited_over_white(tmp_path: Path) -> None:
    bgra = np.zeros((2, 2, 4), np.uint8)
    bgra[0, 0] = (255, 0, 0, 255)  # opaque blue
    bgra[0, 1] = (255, 0, 0, 0)  # fully transparent -> white
    bgra[1, 0] = (0, 0, 0, 128)  # half-transparent black -> mid grey
    image = read_image(_write(tmp_path, "alpha.png", _encode(bgra, ".png")))
    assert image.shape == (2, 2, 3)
    np.testing.assert_array_equal(image[0, 0], (0, 0, 255))
    np.testing.assert_array_equal(image[0, 1], (255, 255, 255))
    assert np.all(np.abs(image[1, 0].astype(int) - 127) <= 1)


def test_palette_png(tmp_path: Path) -> None:
    palette = bytes([255, 0, 0, 0, 255, 0, 0, 0, 255])  # red, green, blue
    rows = b"".join(b"\x00" + bytes([0, 1, 2]) for _ in range(2))  # filter 0, indices
    data = _png(3, 2, 3, rows, extra=_png_chunk(b"PLTE", palette))
    image = read_image(_write(tmp_path, "palette.png", data))
    assert image.shape == (2, 3, 3)
    np.testing.assert_array_equal(image[1], [(255, 0, 0), (0, 255, 0), (0, 0, 255)])


def test_exif_rotated_jpeg(tmp_path: Path) -> None:
    # 40 high x 80 wide, red block at the top-left; orientation 6 = rotate 90 degrees clockwise
    bgr = np.full((40, 80, 3), 255, np.uint8)
    bgr[:16, :24] = (0, 0, 255)
    plain = _encode(bgr, ".jpg", cv2.IMWRITE_JPEG_QUALITY, 95)
    rotated = plain[:2] + _exif_app1(6) + plain[2:]
    image = read_image(_write(tmp_path, "rotated.jpg", rotated))
    assert image.shape == (80, 40, 3)
    assert tuple(image[4, 34]) == pytest.approx((255, 0, 0), abs=12)  # block now at the top-right
    assert tuple(image[4, 4]) == pytest.approx((255, 255, 255), abs=12)


@pytest.mark.parametrize("orientation", range(1, 9))
def test_exif_orientations_match_opencv(orientation: int, rng: np.random.Generator) -> None:
    bgr = rng.integers(0, 256, (24, 40, 3), dtype=np.uint8)
    plain = _encode(bgr, ".jpg", cv2.IMWRITE_JPEG_QUALITY, 90)
    data = plain[:2] + _exif_app1(orientation) + plain[2:]
    ours = decode_image(data)
    oracle = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)  # applies EXIF
    np.testing.assert_array_equal(ours, oracle[:, :, ::-1])


def test_png_bomb_refused_without_decoding(tmp_path: Path, no_decode: None) -> None:
    data = _png(100_000, 100_000, 2, b"\x00" * 16)
    path = _write(tmp_path, "bomb.png", data)
    with pytest.raises(ImageTooLargeError, match="100000x100000") as info:
        read_image(path)
    assert str(info.value).startswith(f"{path}: ")


# -------------------------------------------------------------------------------- every format


FORMATS = [".png", ".jpg", ".bmp", ".gif", ".webp", ".tiff", ".ppm", ".pgm"]


def _sample(ext: str, rng: np.random.Generator) -> bytes:
    """A 37 wide x 23 high image encoded by OpenCV as ``ext``."""
    bgr = rng.integers(0, 256, (23, 37, 3), dtype=np.uint8)
    return _encode(bgr[:, :, 0] if ext == ".pgm" else bgr, ext)


@pytest.mark.parametrize("ext", FORMATS)
def test_header_size_and_decode_per_format(ext: str, rng: np.random.Generator) -> None:
    data = _sample(ext, rng)
    header = parse_header(data)
    assert (header.width, header.height) == (37, 23)
    image = decode_image(data, f"x{ext}")
    assert image.shape == (23, 37, 3) and image.dtype == np.uint8


@pytest.mark.parametrize("ext", FORMATS)
def test_pixel_limit_checked_from_header_per_format(
    ext: str, rng: np.random.Generator, no_decode: None
) -> None:
    data = _sample(ext, rng)
    with pytest.raises(ImageTooLargeError, match="37x23"):
        decode_image(data, f"x{ext}", max_pixels=37 * 23 - 1)


def test_oversized_file_refused_before_reading(tmp_path: Path) -> None:
    path = _write(tmp_path, "huge.bmp", b"BM" + b"\x00" * (2 << 20))
    with pytest.raises(ImageTooLargeError, match="bytes"):
        read_image(path, max_pixels=1)


# ------------------------------------------------------------------------ files that are not files


def _fifo(tmp_path: Path, name: str = "photo.jpg") -> Path:
    path = tmp_path / name
    os.mkfifo(path)
    return path


@pytest.mark.timeout(20)
def test_fifo_is_refused_without_blocking(tmp_path: Path) -> None:
    fifo = _fifo(tmp_path)
    link = tmp_path / "link.jpg"
    link.symlink_to(fifo)
    for path in (fifo, link):
        with pytest.raises(ImageDecodeError) as info:
            read_image(path)
        assert str(info.value) == f"{path}: not a regular file (a FIFO)"
        with pytest.raises(InputFileError, match="not a regular file"):
            Source.from_file(path)  # provenance hashing goes through the same reader


@pytest.mark.timeout(20)
def test_devices_and_folders_are_refused_unread(tmp_path: Path) -> None:
    started = time.monotonic()
    with pytest.raises(ImageDecodeError, match=r"^/dev/zero: not a regular file \(a character device\)$"):
        read_image("/dev/zero")
    assert time.monotonic() - started < 1.0  # nothing read (it used to read 2.5 GB in 7 s)
    with pytest.raises(ImageDecodeError, match=r": not a regular file \(a directory\)$"):
        read_image(tmp_path)
    with pytest.raises(InputFileError, match="not a regular file"):
        file_sha256("/dev/zero")


def test_read_regular_file_limit_is_checked_before_reading(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = _write(tmp_path, "x.bin", b"a" * 1000)
    assert read_regular_file(path, 1000) == b"a" * 1000
    with pytest.raises(FileTooLargeError, match=r"larger than .* MB \(1000 bytes\)") as info:
        read_regular_file(path, 999)
    assert isinstance(info.value, InputFileError) and info.value.path == str(path)
    # a file that grows after fstat: never more than limit + 1 bytes are read
    reads: list[int] = []
    real_fdopen = os.fdopen

    def spy(*args: object, **kwargs: object):  # noqa: ANN202
        handle = real_fdopen(*args, **kwargs)
        read = handle.read

        class Spy:
            def __getattr__(self, name: str) -> object:
                return getattr(handle, name)

            def read(self, n: int = -1) -> bytes:
                reads.append(n)
                return read(n)

            def __enter__(self) -> Spy:
                return self

            def __exit__(self, *exc: object) -> None:
                handle.close()

        return Spy()

    monkeypatch.setattr(files.os, "fdopen", spy)
    assert read_regular_file(path, 5000) == b"a" * 1000
    assert reads == [5001]
    with pytest.raises(InputFileError, match="no such file"):
        read_regular_file(tmp_path / "missing", 10)
