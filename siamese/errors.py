"""Typed errors. Every user-facing failure is a :class:`SiameseError`.

The CLI turns a ``SiameseError`` into one line on stderr and exit code 2 (see
``siamese/cli/app.py``). Errors about a file carry its path and the reason, so the message
always reads ``<path>: <reason>``.
"""

from __future__ import annotations

import os


class SiameseError(Exception):
    """Base class of all errors raised on purpose by siamese."""

    exit_code = 2


class InputFileError(SiameseError):
    """A file given by the user cannot be used. ``str(e)`` is ``"<path>: <reason>"``."""

    def __init__(self, path: str | os.PathLike[str], reason: str) -> None:
        self.path = os.fspath(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")


class FileTooLargeError(InputFileError):
    """A file is larger than the limit for its kind; refused before reading it."""


class ImageDecodeError(InputFileError):
    """Not an image, corrupt, truncated, empty, or of an unsupported kind."""


class ImageReadError(ImageDecodeError):
    """The photo file could not be read (missing, unreadable, not a regular file, an I/O error). It depends on the
    file system, not on the file's content, so content caches never keep it."""


class ImageTooLargeError(InputFileError):
    """The image header declares more pixels than the configured limit (decompression bomb)."""


class NoFaceError(InputFileError):
    """The detector found no face in the image."""


class MultipleFacesError(InputFileError):
    """Several faces were found and strict mode forbids choosing one."""


class ConfigError(SiameseError):
    """A configuration key is missing, unknown or has a bad value. Message names the key."""


class ModelError(SiameseError):
    """A model directory is missing, incomplete or unreadable."""


class ModelMismatchError(SiameseError):
    """Embeddings come from a different model than the one a gallery is bound to."""


class GalleryError(SiameseError):
    """A gallery operation cannot be done (unknown identity, corrupt gallery, ...)."""


class DetectorUnavailableError(SiameseError):
    """A face detector cannot be created (model file missing, bad checksum, package missing)."""


def os_reason(exc: OSError) -> str:
    """An OSError's reason in words (``Permission denied``). "File exists" from a ``mkdir`` that met a file (a folder
    asked for below a file) reads ``already exists and is not a folder``."""
    name = exc.filename
    if isinstance(exc, FileExistsError) and name and os.path.lexists(name) and not os.path.isdir(name):
        return "already exists and is not a folder"
    return exc.strerror or str(exc)
