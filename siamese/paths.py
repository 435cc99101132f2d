"""Where things live: data, models, galleries, caches. Environment variables win over defaults.

* ``SIAMESE_DATA``    face data root (holds ``lfw/`` and ``orl/``); no default.
* ``SIAMESE_MODEL``   default model directory for verify/identify/enroll; unset: the user data dir's ``model``
  when one was put there, else the model shipped inside the package (:func:`packaged_model_dir`).
* ``SIAMESE_GALLERY`` default gallery directory.
* ``SIAMESE_YUNET``   path to ``face_detection_yunet_2023mar.onnx``.
* ``SIAMESE_CACHE``   cache root (aligned-face cache, downloaded detector); default: user cache dir.
"""

from __future__ import annotations

import os
from pathlib import Path

from platformdirs import user_cache_dir, user_data_dir

from siamese.errors import ConfigError

APP = "siamese"


def data_root(explicit: str | os.PathLike[str] | None = None) -> Path:
    """Face data root from ``explicit`` or ``$SIAMESE_DATA``; raises ConfigError if neither."""
    value = explicit or os.environ.get("SIAMESE_DATA")
    if not value:
        raise ConfigError("data: no data directory given (use --data or set SIAMESE_DATA)")
    path = Path(value).expanduser()
    if not path.is_dir():
        raise ConfigError(f"data: {path} is not a directory")
    return path


def packaged_model_dir() -> Path:
    """The default model shipped inside the package (``siamese/assets/default_model``; see its ``model.json``)."""
    return Path(__file__).resolve().parent / "assets" / "default_model"


def user_model_dir() -> Path:
    """``<user data dir>/model``: a model put there (e.g. the default model calibrated on the user's own photos by
    ``siamese calibrate``) is the default when ``$SIAMESE_MODEL`` is unset."""
    return Path(user_data_dir(APP)) / "model"


def default_model_dir() -> Path:
    """``$SIAMESE_MODEL``, else :func:`user_model_dir` when it holds a model, else :func:`packaged_model_dir`."""
    if os.environ.get("SIAMESE_MODEL"):
        return Path(os.environ["SIAMESE_MODEL"]).expanduser()
    user = user_model_dir()
    if (user / "model.json").is_file() or not packaged_model_dir().is_dir():
        return user
    return packaged_model_dir()


def default_gallery_dir() -> Path:
    return Path(os.environ.get("SIAMESE_GALLERY") or Path(user_data_dir(APP)) / "gallery").expanduser()


def cache_dir() -> Path:
    return Path(os.environ.get("SIAMESE_CACHE") or user_cache_dir(APP)).expanduser()
