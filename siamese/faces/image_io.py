"""Hardened image decoding: any photo file -> uint8 RGB ``(H, W, 3)``, or one typed error.

Order of checks, so that nothing big is allocated for a hostile file:

1. read the bytes of a regular file only, size-limited before reading (``siamese._files.read_regular_file``);
   empty file -> :class:`ImageDecodeError`;
2. sniff the format from the magic bytes and parse width/height from the header (JPEG SOFn, PNG
   IHDR, GIF, BMP, WebP, PNM/PAM, TIFF); over ``max_pixels`` -> :class:`ImageTooLargeError`
   *before* decoding. Formats whose header is not parsed here are refused (whitelist = safe check);
3. structural checks that decoders let through with only a warning: truncated JPEG (no EOI after
   the first scan), truncated PNG (chunk running past the end, no IEND), truncated GIF/BMP;
4. ``cv2.imdecode(..., IMREAD_UNCHANGED)``, then normalise: 16-bit -> 8-bit (rounded, x/257),
   grey -> RGB, alpha composited over white, BGR -> RGB, EXIF orientation applied (JPEG APP1 and
   PNG eXIf; IMREAD_UNCHANGED ignores it).

Every failure message reads ``"<path>: <reason>"``.
"""

from __future__ import annotations

import hashlib
import os
import struct
from dataclasses import dataclass

import numpy as np

from siamese._files import read_regular_file
from siamese.errors import FileTooLargeError, ImageDecodeError, ImageReadError, ImageTooLargeError, InputFileError
from siamese.faces._cv import cv2

__all__ = [
    "DEFAULT_MAX_PIXELS",
    "ImageHeader",
    "decode_image",
    "parse_header",
    "read_image",
]

DEFAULT_MAX_PIXELS = 40_000_000

_PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@dataclass(frozen=True)
class ImageHeader:
    """What the header says: format name, width and height in pixels, EXIF orientation (1..8)."""

    format: str
    width: int
    height: int
    orientation: int = 1


class _HeaderError(Exception):
    """Internal: the header is malformed or the file is truncated; message is the reason."""


# ----------------------------------------------------------------------------------------- EXIF


def _exif_orientation(tiff: bytes) -> int:
    """Orientation tag (0x0112) of IFD0 in a TIFF-structured EXIF block; 1 when absent or bad."""
    if len(tiff) < 8:
        return 1
    order = tiff[:2]
    if order == b"II":
        end = "<"
    elif order == b"MM":
        end = ">"
    else:
        return 1
    try:
        (ifd,) = struct.unpack_from(end + "I", tiff, 4)
        (count,) = struct.unpack_from(end + "H", tiff, ifd)
        for i in range(min(count, 512)):
            tag, typ, _n = struct.unpack_from(end + "HHI", tiff, ifd + 2 + 12 * i)
            if tag == 0x0112:
                if typ == 3:  # SHORT
                    (value,) = struct.unpack_from(end + "H", tiff, ifd + 2 + 12 * i + 8)
                elif typ == 4:  # LONG
                    (value,) = struct.unpack_from(end + "I", tiff, ifd + 2 + 12 * i + 8)
                else:
                    return 1
                return value if 1 <= value <= 8 else 1
    except struct.error:
        return 1
    return 1


def _apply_orientation(image: np.ndarray, orientation: int) -> np.ndarray:
    """Turn a stored image into its display orientation (EXIF values 1..8)."""
    if orientation == 2:
        return cv2.flip(image, 1)
    if orientation == 3:
        return cv2.rotate(image, cv2.ROTATE_180)
    if orientation == 4:
        return cv2.flip(image, 0)
    if orientation == 5:
        return cv2.transpose(image)
    if orientation == 6:
        return cv2.rotate(image, cv2.ROTATE_90_CLOCKWISE)
    if orientation == 7:
        return cv2.flip(cv2.transpose(image), -1)
    if orientation == 8:
        return cv2.rotate(image, cv2.ROTATE_90_COUNTERCLOCKWISE)
    return image


# -------------------------------------------------------------------------------------- headers

_SOF_MARKERS = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}


def _jpeg_header(data: bytes) -> ImageHeader:
    """Walk JPEG marker segments up to the first SOS; check an EOI follows the scan data."""
    pos, n = 2, len(data)
    width = height = None
    orientation = 1
    while True:
        # markers may be preceded by any number of 0xFF fill bytes
        if pos >= n or data[pos] != 0xFF:
            raise _HeaderError("corrupt JPEG (bad marker structure)" if pos < n else "truncated JPEG")
        while pos < n and data[pos] == 0xFF:
            pos += 1
        if pos >= n:
            raise _HeaderError("truncated JPEG")
        marker = data[pos]
        pos += 1
        if marker == 0xD9:
            raise _HeaderError("corrupt JPEG (end of image before any scan)")
        if marker == 0x01 or 0xD0 <= marker <= 0xD7:
            continue
        if pos + 2 > n:
            raise _HeaderError("truncated JPEG")
        (length,) = struct.unpack_from(">H", data, pos)
        if length < 2 or pos + length > n:
            raise _HeaderError("truncated JPEG")
        segment = data[pos + 2 : pos + length]
        if marker in _SOF_MARKERS:
            if len(segment) < 5:
                raise _HeaderError("corrupt JPEG (short frame header)")
            height, width = struct.unpack_from(">HH", segment, 1)
            if height == 0:
                raise _HeaderError("unsupported JPEG (height given by a DNL marker)")
        elif marker == 0xE1 and segment.startswith(b"Exif\x00\x00") and orientation == 1:
            orientation = _exif_orientation(segment[6:])
        elif marker == 0xDA:  # start of scan: entropy-coded data follows
            if width is None or height is None:
                raise _HeaderError("corrupt JPEG (scan before frame header)")
            # inside entropy-coded data 0xFF is byte-stuffed, so FFD9 after SOS is the real EOI
            if data.find(b"\xff\xd9", pos + length) < 0:
                raise _HeaderError("truncated JPEG (no end-of-image marker)")
            return ImageHeader("JPEG", width, height, orientation)
        pos += length


def _png_header(data: bytes) -> ImageHeader:
    """IHDR size; walk every chunk (length + type + data + CRC) up to IEND; read eXIf orientation."""
    if len(data) < 33 or data[12:16] != b"IHDR":
        raise _HeaderError("corrupt PNG (no IHDR)" if len(data) >= 33 else "truncated PNG")
    width, height = struct.unpack_from(">II", data, 16)
    orientation = 1
    pos, n = 8, len(data)
    while True:
        if pos + 8 > n:
            raise _HeaderError("truncated PNG (no IEND chunk)")
        length, ctype = struct.unpack_from(">I4s", data, pos)
        end = pos + 12 + length
        if end > n:
            raise _HeaderError(f"truncated PNG (chunk {ctype.decode('latin-1')!r} runs past the end)")
        if ctype == b"eXIf":
            orientation = _exif_orientation(data[pos + 8 : pos + 8 + length])
        if ctype == b"IEND":
            break
        pos = end
    return ImageHeader("PNG", width, height, orientation)


def _gif_header(data: bytes) -> ImageHeader:
    if len(data) < 13:
        raise _HeaderError("truncated GIF")
    width, height = struct.unpack_from("<HH", data, 6)
    if data.rstrip(b"\x00")[-1:] != b";":
        raise _HeaderError("truncated GIF (no trailer)")
    return ImageHeader("GIF", width, height)


def _bmp_header(data: bytes) -> ImageHeader:
    if len(data) < 26:
        raise _HeaderError("truncated BMP")
    (file_size,) = struct.unpack_from("<I", data, 2)
    (dib,) = struct.unpack_from("<I", data, 14)
    if dib == 12:
        width, height = struct.unpack_from("<HH", data, 18)
    elif dib >= 40:
        width, height = struct.unpack_from("<ii", data, 18)
    else:
        raise _HeaderError("corrupt BMP (unknown header size)")
    if file_size and len(data) < file_size:
        raise _HeaderError(f"truncated BMP ({len(data)} of {file_size} bytes)")
    return ImageHeader("BMP", abs(width), abs(height))


def _webp_header(data: bytes) -> ImageHeader:
    if len(data) < 30:
        raise _HeaderError("truncated WebP")
    chunk = data[12:16]
    if chunk == b"VP8 ":
        if data[23:26] != b"\x9d\x01\x2a":
            raise _HeaderError("corrupt WebP (bad VP8 frame tag)")
        w, h = struct.unpack_from("<HH", data, 26)
        width, height = w & 0x3FFF, h & 0x3FFF
    elif chunk == b"VP8L":
        if data[20] != 0x2F:
            raise _HeaderError("corrupt WebP (bad VP8L signature)")
        (bits,) = struct.unpack_from("<I", data, 21)
        width, height = (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    elif chunk == b"VP8X":
        width = int.from_bytes(data[24:27], "little") + 1
        height = int.from_bytes(data[27:30], "little") + 1
    else:
        raise _HeaderError("unsupported WebP variant")
    (riff_size,) = struct.unpack_from("<I", data, 4)
    if len(data) < riff_size + 8:
        raise _HeaderError("truncated WebP")
    return ImageHeader("WebP", width, height)


def _pnm_tokens(data: bytes, count: int) -> list[int]:
    """The first ``count`` integers after the 2-byte magic, skipping whitespace and # comments."""
    tokens: list[int] = []
    pos, n = 2, min(len(data), 4096)
    while len(tokens) < count:
        while pos < n and (data[pos : pos + 1].isspace() or data[pos] == ord("#")):
            if data[pos] == ord("#"):
                while pos < n and data[pos] not in b"\r\n":
                    pos += 1
            else:
                pos += 1
        start = pos
        while pos < n and data[pos : pos + 1].isdigit():
            pos += 1
        if start == pos:
            raise _HeaderError("corrupt PNM header")
        tokens.append(int(data[start:pos]))
    return tokens


def _pnm_header(data: bytes) -> ImageHeader:
    kind = data[1:2]
    if kind == b"7":
        fields: dict[str, int] = {}
        for line in data[:4096].split(b"\n")[1:]:
            parts = line.split()
            if parts and parts[0] == b"ENDHDR":
                break
            if len(parts) == 2 and parts[0] in (b"WIDTH", b"HEIGHT") and parts[1].isdigit():
                fields[parts[0].decode()] = int(parts[1])
        if "WIDTH" not in fields or "HEIGHT" not in fields:
            raise _HeaderError("corrupt PAM header")
        return ImageHeader("PAM", fields["WIDTH"], fields["HEIGHT"])
    width, height = _pnm_tokens(data, 2)
    return ImageHeader("PNM", width, height)


def _tiff_header(data: bytes) -> ImageHeader:
    end = "<" if data[:2] == b"II" else ">"
    try:
        (ifd,) = struct.unpack_from(end + "I", data, 4)
        (count,) = struct.unpack_from(end + "H", data, ifd)
        size: dict[int, int] = {}
        orientation = 1
        for i in range(min(count, 4096)):
            tag, typ, _n = struct.unpack_from(end + "HHI", data, ifd + 2 + 12 * i)
            if tag in (256, 257, 0x0112):
                fmt = {3: "H", 4: "I"}.get(typ)
                if fmt is None:
                    raise _HeaderError("corrupt TIFF (bad size tag type)")
                (value,) = struct.unpack_from(end + fmt, data, ifd + 2 + 12 * i + 8)
                if tag == 0x0112:
                    orientation = value if 1 <= value <= 8 else 1
                else:
                    size[tag] = value
    except struct.error as exc:
        raise _HeaderError("truncated TIFF") from exc
    if 256 not in size or 257 not in size:
        raise _HeaderError("corrupt TIFF (no image size)")
    return ImageHeader("TIFF", size[256], size[257], orientation)


def parse_header(data: bytes) -> ImageHeader:
    """Format, width and height from the first bytes of an image file, without decoding pixels.

    Raises ``ValueError`` with the reason for an unknown format, a malformed header or a
    structurally truncated JPEG/PNG/GIF/BMP/WebP.
    """
    try:
        if data[:3] == b"\xff\xd8\xff":
            return _jpeg_header(data)
        if data[:8] == _PNG_MAGIC:
            return _png_header(data)
        if data[:6] in (b"GIF87a", b"GIF89a"):
            return _gif_header(data)
        if data[:2] == b"BM":
            return _bmp_header(data)
        if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
            return _webp_header(data)
        if data[:1] == b"P" and data[1:2] in b"1234567" and len(data) > 2 and data[2:3].isspace():
            return _pnm_header(data)
        if data[:4] in (b"II*\x00", b"MM\x00*"):
            return _tiff_header(data)
    except _HeaderError as exc:
        raise ValueError(str(exc)) from None
    except (struct.error, IndexError):
        raise ValueError("corrupt or truncated image header") from None
    raise ValueError("not a supported image (JPEG, PNG, GIF, BMP, WebP, PNM or TIFF expected)")


# ------------------------------------------------------------------------------------- decoding


def _to_uint8(image: np.ndarray) -> np.ndarray:
    if image.dtype == np.uint8:
        return image
    if image.dtype == np.uint16:
        return cv2.convertScaleAbs(image, alpha=255.0 / 65535.0)
    if image.dtype in (np.float32, np.float64):
        return np.clip(np.nan_to_num(image) * 255.0 + 0.5, 0, 255).astype(np.uint8)
    raise ValueError(f"unsupported pixel type {image.dtype}")


def _to_rgb(image: np.ndarray) -> np.ndarray:
    if image.ndim == 2:
        return cv2.cvtColor(image, cv2.COLOR_GRAY2RGB)
    channels = image.shape[2]
    if channels == 1:
        return cv2.cvtColor(image[:, :, 0], cv2.COLOR_GRAY2RGB)
    if channels == 2:  # grey + alpha
        grey = image[:, :, 0].astype(np.float32)
        alpha = image[:, :, 1].astype(np.float32) / 255.0
        out = np.clip(grey * alpha + 255.0 * (1.0 - alpha) + 0.5, 0, 255).astype(np.uint8)
        return cv2.cvtColor(out, cv2.COLOR_GRAY2RGB)
    if channels == 3:
        return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
    if channels == 4:  # composite over white
        bgr = image[:, :, :3].astype(np.float32)
        alpha = image[:, :, 3:4].astype(np.float32) / 255.0
        out = np.clip(bgr * alpha + 255.0 * (1.0 - alpha) + 0.5, 0, 255).astype(np.uint8)
        return cv2.cvtColor(out, cv2.COLOR_BGR2RGB)
    raise ValueError(f"unsupported channel count {channels}")


def decode_image(
    data: bytes, source: str | os.PathLike[str] = "<bytes>", max_pixels: int = DEFAULT_MAX_PIXELS
) -> np.ndarray:
    """Decode image file bytes into uint8 RGB ``(H, W, 3)``; ``source`` names them in errors.

    Raises :class:`ImageDecodeError` (empty, not an image, corrupt, truncated, unsupported) or
    :class:`ImageTooLargeError` (header declares more than ``max_pixels`` pixels; nothing decoded).
    """
    if len(data) == 0:
        raise ImageDecodeError(source, "empty file (0 bytes)")
    try:
        header = parse_header(data)
    except ValueError as exc:
        raise ImageDecodeError(source, str(exc)) from None
    if header.width <= 0 or header.height <= 0:
        raise ImageDecodeError(source, f"{header.format} header declares an empty image "
                               f"({header.width}x{header.height})")
    pixels = header.width * header.height
    if pixels > max_pixels:
        raise ImageTooLargeError(
            source,
            f"{header.format} image is {header.width}x{header.height} = {pixels} pixels, "
            f"over the limit of {max_pixels}",
        )
    try:
        image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    except cv2.error as exc:
        raise ImageDecodeError(source, f"corrupt {header.format} ({str(exc).strip()})") from None
    if image is None or image.size == 0:
        raise ImageDecodeError(source, f"corrupt {header.format} (the decoder rejected it)")
    if image.shape[0] * image.shape[1] > max_pixels:  # header lied (e.g. GIF frame > screen)
        raise ImageTooLargeError(source, f"decoded image is {image.shape[1]}x{image.shape[0]}, "
                                 f"over the limit of {max_pixels} pixels")
    try:
        rgb = _to_rgb(_to_uint8(image))
    except ValueError as exc:
        raise ImageDecodeError(source, f"{header.format}: {exc}") from None
    return np.ascontiguousarray(_apply_orientation(rgb, header.orientation))


def _max_file_bytes(max_pixels: int) -> int:
    """Largest plausible file for ``max_pixels`` pixels (16-bit RGBA uncompressed + 1 MiB metadata)."""
    return 8 * max_pixels + (1 << 20)


def photo_sha256(path: str | os.PathLike[str], max_pixels: int = DEFAULT_MAX_PIXELS) -> str:
    """sha256 hex digest of a photo file's bytes, read under :func:`read_image`'s limits (a regular file no larger
    than any image of ``max_pixels`` could be); :class:`siamese.errors.InputFileError` otherwise."""
    return hashlib.sha256(read_regular_file(path, _max_file_bytes(max_pixels))).hexdigest()


def read_image(path: str | os.PathLike[str], max_pixels: int = DEFAULT_MAX_PIXELS) -> np.ndarray:
    """Read a photo file into uint8 RGB ``(H, W, 3)``, EXIF orientation applied.

    Only regular files are read (a FIFO, a device or a directory is refused without blocking), and a file larger
    than any image of ``max_pixels`` could be is refused before reading (see :func:`siamese._files.read_regular_file`).
    Raises :class:`ImageReadError` (missing/unreadable, not a regular file: a :class:`ImageDecodeError` that
    content caches never keep), :class:`ImageDecodeError` (empty, corrupt, truncated, not an image) or
    :class:`ImageTooLargeError` (file too big, or over ``max_pixels`` from the header, before decoding).
    """
    try:
        data = read_regular_file(path, _max_file_bytes(max_pixels))
    except FileTooLargeError as exc:
        raise ImageTooLargeError(path, f"{exc.reason}: too big for an image of at most {max_pixels} pixels") from None
    except InputFileError as exc:
        raise ImageReadError(path, exc.reason) from None
    return decode_image(data, path, max_pixels)
