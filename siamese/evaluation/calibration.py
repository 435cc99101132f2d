"""Operating threshold for a target false accept rate, saved as a small JSON file.

Accept = ``distance <= threshold``. The threshold is the largest candidate (midpoint between
consecutive distinct distances, see :func:`siamese.evaluation.metrics.operating_points`) whose
FAR on the calibration impostor pairs is <= the target, i.e. the one with the highest TAR.

A target FAR below ``1 / n_impostor`` cannot be resolved (e.g. FAR 1e-3 with 500 impostor
pairs): the only FAR <= target is 0, so the threshold chosen lies just below the smallest
impostor distance, a :class:`UserWarning` is emitted and ``resolved`` is ``False``. Use at least
``1 / far`` (better ``10 / far``) impostor pairs.
"""

from __future__ import annotations

import json
import os
import warnings
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from numpy.typing import ArrayLike

from siamese._files import atomic_write_bytes
from siamese.errors import InputFileError
from siamese.evaluation.metrics import _at_far, operating_points

FORMAT = "siamese.calibration"
VERSION = 1


@dataclass(frozen=True)
class Calibration:
    """A verification threshold and how it was obtained.

    ``threshold``: accept as same person when ``distance <= threshold`` (distance units of the
    model that produced the calibration distances). ``target_far``: FAR asked for; ``far``,
    ``tar``: achieved on the calibration pairs. ``resolved``: False when ``target_far <
    1 / n_impostor``. ``meta``: free JSON-safe notes (model id, distance kind, data set ...).
    """

    threshold: float
    target_far: float
    far: float
    tar: float
    n_genuine: int
    n_impostor: int
    resolved: bool
    meta: dict[str, Any] = field(default_factory=dict)

    def accepts(self, distance: float) -> bool:
        """True when ``distance`` is accepted as the same person."""
        return bool(distance <= self.threshold)

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dict, with ``format`` and ``version`` keys."""
        return {"format": FORMAT, "version": VERSION, **asdict(self)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Calibration:
        """Inverse of :meth:`to_dict`. Raises ValueError naming a missing or bad key."""
        if not isinstance(data, dict):
            raise ValueError("calibration must be a JSON object")
        if data.get("format") != FORMAT:
            raise ValueError(f"not a calibration file (format {data.get('format')!r} != {FORMAT!r})")
        if data.get("version") != VERSION:
            raise ValueError(f"unsupported calibration version {data.get('version')!r}")
        kinds = {"threshold": float, "target_far": float, "far": float, "tar": float,
                 "n_genuine": int, "n_impostor": int, "resolved": bool, "meta": dict}
        values: dict[str, Any] = {}
        for f in fields(cls):
            if f.name not in data:
                if f.name == "meta":
                    continue
                raise ValueError(f"calibration: missing key {f.name!r}")
            value, kind = data[f.name], kinds[f.name]
            ok = isinstance(value, kind) if kind is not float else isinstance(value, int | float)
            if not ok or (kind is not bool and isinstance(value, bool)):
                raise ValueError(f"calibration: key {f.name!r} must be {kind.__name__}, got {value!r}")
            values[f.name] = float(value) if kind is float else value
        return cls(**values)

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write JSON atomically (temp file + ``os.replace``), file mode 0600."""
        text = json.dumps(self.to_dict(), indent=2, sort_keys=True, allow_nan=False) + "\n"
        return atomic_write_bytes(path, text.encode("utf-8"), mode=0o600)

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Calibration:
        """Read a file written by :meth:`save`. Raises InputFileError naming the file and reason."""
        try:
            text = Path(path).read_text(encoding="utf-8")
        except FileNotFoundError:
            raise InputFileError(path, "no such calibration file") from None
        except (OSError, UnicodeDecodeError) as error:
            raise InputFileError(path, f"cannot read calibration: {error}") from error
        try:
            return cls.from_dict(json.loads(text))
        except json.JSONDecodeError as error:
            raise InputFileError(path, f"not valid JSON: {error}") from error
        except ValueError as error:
            raise InputFileError(path, str(error)) from error


def calibrate_threshold(
    distances: ArrayLike, same: ArrayLike, far: float = 1e-3, meta: dict[str, Any] | None = None
) -> Calibration:
    """Largest threshold whose FAR on the impostor pairs is <= ``far`` (see module doc).

    Raises ValueError for bad input (NaN, one class only) or ``far`` outside [0, 1].
    """
    points = operating_points(distances, same)
    i = _at_far(points, far)
    resolved = far * points.n_impostor >= 1.0 - 1e-9
    if not resolved:
        warnings.warn(
            f"target FAR {far:g} cannot be resolved with {points.n_impostor} impostor pairs "
            f"(smallest non-zero FAR is {1.0 / points.n_impostor:.3g}); threshold set below the "
            "smallest impostor distance (FAR 0)",
            UserWarning,
            stacklevel=2,
        )
    return Calibration(
        threshold=float(points.thresholds[i]),
        target_far=float(far),
        far=float(points.far[i]),
        tar=float(points.tar[i]),
        n_genuine=points.n_genuine,
        n_impostor=points.n_impostor,
        resolved=bool(resolved),
        meta=dict(meta or {}),
    )
