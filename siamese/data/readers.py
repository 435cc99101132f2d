"""Readers: identity folders and verification pair lists (LFW ``pairs*.txt``, CSV).

Nothing here decodes an image or imports TensorFlow; readers only list paths and labels.
Label convention: ``same == 1`` for a genuine pair (same person), ``0`` for an impostor pair.
"""

from __future__ import annotations

import csv
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from siamese.errors import InputFileError, os_reason

#: File name suffixes (lower case) taken as images by :func:`read_identity_folders`.
IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".pgm", ".ppm", ".pbm", ".bmp", ".tif", ".tiff", ".webp"})


@dataclass(frozen=True)
class IdentityDataset:
    """Images with identity labels.

    ``paths[i]`` is an image of identity ``names[labels[i]]``. Labels are contiguous int64 in
    ``[0, num_identities)``; ``names`` is in natural sort order; paths are grouped by identity, sorted.
    """

    paths: list[str]
    labels: np.ndarray
    names: list[str]

    def __post_init__(self) -> None:
        labels = np.asarray(self.labels, dtype=np.int64).reshape(-1)
        if len(labels) != len(self.paths):
            raise ValueError(f"{len(self.paths)} paths but {len(labels)} labels")
        if len(labels) and (labels.min() < 0 or labels.max() >= len(self.names)):
            raise ValueError("labels must index names")
        object.__setattr__(self, "labels", labels)

    def __len__(self) -> int:
        return len(self.paths)

    @property
    def num_identities(self) -> int:
        return len(self.names)

    def counts(self) -> np.ndarray:
        """Number of images per label, int64 ``(num_identities,)``."""
        return np.bincount(self.labels, minlength=self.num_identities).astype(np.int64)

    def subset(self, identity_names: Iterable[str]) -> IdentityDataset:
        """The images of the given identities, relabelled ``0..m-1`` in this dataset's name order.

        Raises KeyError for a name this dataset does not have.
        """
        wanted = set(identity_names)
        unknown = wanted.difference(self.names)
        if unknown:
            raise KeyError(f"unknown identities: {sorted(unknown)[:5]}")
        keep_labels = np.array([i for i, n in enumerate(self.names) if n in wanted], dtype=np.int64)
        remap = np.full(self.num_identities, -1, dtype=np.int64)
        remap[keep_labels] = np.arange(len(keep_labels))
        mask = remap[self.labels] >= 0
        return IdentityDataset(
            paths=[p for p, m in zip(self.paths, mask, strict=True) if m],
            labels=remap[self.labels[mask]],
            names=[self.names[i] for i in keep_labels],
        )


def _natural_key(text: str) -> list[tuple[int, int | str]]:
    """Sort key putting ``s2`` before ``s10`` and ``2.pgm`` before ``10.pgm``."""
    return [(0, int(part)) if part.isdigit() else (1, part) for part in re.split(r"(\d+)", text) if part]


def list_identity_folders(root: str | os.PathLike[str]) -> list[tuple[Path, list[Path] | OSError]]:
    """The walk of ``root/<identity>/<image>`` that training and enrollment share, in natural sort order (numbers
    compared as numbers: ``s2`` < ``s10``; names, then files): ``[(identity folder, its photo entries)]``.

    Hidden folders and files are skipped; a photo entry is any name with an image suffix (:data:`IMAGE_SUFFIXES`),
    not checked to be a readable file (the caller decides: training drops what is not a file, enrollment reports
    it). A folder that cannot be listed comes with its ``OSError`` instead of entries. Raises InputFileError if
    ``root`` is not a folder or cannot be listed.
    """
    def order(p: Path) -> tuple[Any, str]:
        return _natural_key(p.name), p.name

    root = Path(root)
    if not root.is_dir():
        raise InputFileError(root, "not a directory")
    try:
        folders = sorted((p for p in root.iterdir() if not p.name.startswith(".") and p.is_dir()), key=order)
    except OSError as exc:
        raise InputFileError(root, f"cannot list ({os_reason(exc)})") from exc
    listing: list[tuple[Path, list[Path] | OSError]] = []
    for person in folders:
        try:
            entries = sorted(person.iterdir(), key=order)
        except OSError as exc:
            listing.append((person, exc))
            continue
        listing.append((person, [f for f in entries if f.suffix.lower() in IMAGE_SUFFIXES
                                 and not f.name.startswith(".")]))
    return listing


def read_identity_folders(root: str | os.PathLike[str], min_images: int = 1) -> IdentityDataset:
    """List ``root/<identity>/<image>`` files (see :func:`list_identity_folders`: natural sort order, so the
    labels are deterministic; hidden entries skipped; entries that are not files dropped).

    Identities with fewer than ``min_images`` images are left out. Raises InputFileError if ``root`` is not a
    folder or holds no images, the OSError of an identity folder that cannot be listed.
    """
    names: list[str] = []
    paths: list[str] = []
    labels: list[int] = []
    for person, entries in list_identity_folders(root):
        if isinstance(entries, OSError):
            raise entries
        images = [str(f) for f in entries if f.is_file()]
        if len(images) < max(min_images, 1):
            continue
        labels.extend([len(names)] * len(images))
        names.append(person.name)
        paths.extend(images)
    if not paths:
        raise InputFileError(root, f"no identity folder with at least {max(min_images, 1)} image(s)")
    return IdentityDataset(paths=paths, labels=np.asarray(labels, dtype=np.int64), names=names)


@dataclass(frozen=True)
class PairsSet:
    """Verification pairs. ``same`` is int64 (1 = same person); ``folds`` int64, -1 when none.

    ``names_a``/``names_b`` are the identity names of each side (for LFW the names in the file;
    for CSV the name of each image's parent folder).
    """

    paths_a: list[str]
    paths_b: list[str]
    same: np.ndarray
    folds: np.ndarray
    names_a: list[str] = field(default_factory=list)
    names_b: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        n = len(self.paths_a)
        object.__setattr__(self, "same", np.asarray(self.same, dtype=np.int64).reshape(-1))
        object.__setattr__(self, "folds", np.asarray(self.folds, dtype=np.int64).reshape(-1))
        if not (len(self.paths_b) == len(self.same) == len(self.folds) == n):
            raise ValueError("paths_a, paths_b, same and folds must have the same length")
        if not self.names_a:
            object.__setattr__(self, "names_a", [Path(p).parent.name for p in self.paths_a])
        if not self.names_b:
            object.__setattr__(self, "names_b", [Path(p).parent.name for p in self.paths_b])

    def __len__(self) -> int:
        return len(self.paths_a)

    def people(self) -> set[str]:
        """Identity names appearing in any pair (to keep evaluation people out of training)."""
        return set(self.names_a) | set(self.names_b)

    @property
    def num_folds(self) -> int:
        """Number of distinct folds (0 when the pairs have no folds)."""
        return len(set(self.folds[self.folds >= 0].tolist()))

    def select(self, mask_or_index: np.ndarray) -> PairsSet:
        """Pairs picked by a boolean mask or an integer index array."""
        idx = np.arange(len(self))[np.asarray(mask_or_index)]
        return PairsSet(
            paths_a=[self.paths_a[i] for i in idx],
            paths_b=[self.paths_b[i] for i in idx],
            same=self.same[idx],
            folds=self.folds[idx],
            names_a=[self.names_a[i] for i in idx],
            names_b=[self.names_b[i] for i in idx],
        )

    def fold(self, k: int) -> PairsSet:
        """The pairs of fold ``k``."""
        return self.select(self.folds == k)


def _lfw_path(root: Path, name: str, number: int) -> str:
    return str(root / name / f"{name}_{number:04d}.jpg")


def _positive_int(text: str, pairs_file: Path, line_no: int, what: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise InputFileError(pairs_file, f"line {line_no}: {what} {text!r} is not an integer") from None
    if value < 1:
        raise InputFileError(pairs_file, f"line {line_no}: {what} must be >= 1, got {value}")
    return value


def read_lfw_pairs(pairs_file: str | os.PathLike[str], images_root: str | os.PathLike[str]) -> PairsSet:
    """Read an LFW pairs file; image paths are ``<images_root>/<Name>/<Name>_<n:04d>.jpg``.

    * View 2 (``pairs.txt``): first line ``<folds> <n>``, then per fold ``n`` same-person lines
      ``name n1 n2`` followed by ``n`` different-people lines ``name1 n1 name2 n2``; folds are 0-based.
    * View 1 (``pairsDevTrain.txt``/``pairsDevTest.txt``): first line ``<n>``, then ``n`` same and
      ``n`` different lines; ``folds`` is -1.

    Image numbers start at 1. Any malformed line, a same/different line out of place, or a
    wrong line count raises InputFileError naming the file and the line number. Whether the
    images exist is not checked here (loading reports missing files per file).
    """
    pairs_file = Path(pairs_file)
    root = Path(images_root)
    try:
        text = pairs_file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise InputFileError(pairs_file, f"cannot read: {e}") from None
    lines = [(i + 1, line.split()) for i, line in enumerate(text.splitlines())]
    lines = [(no, fields) for no, fields in lines if fields]
    if not lines:
        raise InputFileError(pairs_file, "empty pairs file")
    head_no, head = lines[0]
    if len(head) == 2:
        num_folds = _positive_int(head[0], pairs_file, head_no, "fold count")
        per_class = _positive_int(head[1], pairs_file, head_no, "pairs per fold")
    elif len(head) == 1:
        num_folds, per_class = 0, _positive_int(head[0], pairs_file, head_no, "pair count")
    else:
        raise InputFileError(pairs_file, f"line {head_no}: header must be '<folds> <n>' or '<n>'")
    body = lines[1:]
    expected = max(num_folds, 1) * 2 * per_class
    if len(body) != expected:
        where = f"line {body[-1][0] if body else head_no}"
        raise InputFileError(pairs_file, f"{where}: header announces {expected} pairs, file has {len(body)}")

    paths_a: list[str] = []
    paths_b: list[str] = []
    names_a: list[str] = []
    names_b: list[str] = []
    same = np.empty(expected, dtype=np.int64)
    folds = np.full(expected, -1, dtype=np.int64)
    for i, (no, f) in enumerate(body):
        is_same = (i % (2 * per_class)) < per_class
        if is_same:
            if len(f) != 3:
                raise InputFileError(pairs_file, f"line {no}: expected 'name n1 n2' (same person), got {len(f)} fields")
            a_name, a_num, b_name, b_num = f[0], f[1], f[0], f[2]
        else:
            if len(f) != 4:
                raise InputFileError(
                    pairs_file, f"line {no}: expected 'name1 n1 name2 n2' (different people), got {len(f)} fields"
                )
            a_name, a_num, b_name, b_num = f
        na = _positive_int(a_num, pairs_file, no, "image number")
        nb = _positive_int(b_num, pairs_file, no, "image number")
        paths_a.append(_lfw_path(root, a_name, na))
        paths_b.append(_lfw_path(root, b_name, nb))
        names_a.append(a_name)
        names_b.append(b_name)
        same[i] = int(is_same)
        if num_folds:
            folds[i] = i // (2 * per_class)
    return PairsSet(paths_a, paths_b, same, folds, names_a, names_b)


_TRUE = {"1", "true"}
_FALSE = {"0", "false"}
_HEADER = ("path_a", "path_b", "same", "fold")


def write_csv_pairs(csv_file: str | os.PathLike[str], rows: Iterable[tuple[Any, Any, int]]) -> Path:
    """Write ``(path_a, path_b, same)`` rows as a pairs CSV that :func:`read_csv_pairs` reads (label 1 = same
    person), crash-safely (temporary file, then rename)."""
    import io

    from siamese._files import atomic_write_text

    text = io.StringIO()
    csv.writer(text, lineterminator="\n").writerows((str(a), str(b), int(same)) for a, b, same in rows)
    return atomic_write_text(csv_file, text.getvalue())


def read_csv_pairs(csv_file: str | os.PathLike[str], base_dir: str | os.PathLike[str] | None = None) -> PairsSet:
    """Read ``path_a,path_b,same[,fold]`` rows; an optional header row (exactly ``path_a,path_b,same[,fold]``)
    is skipped, any other first row must parse as a pair.

    ``same`` is ``1``/``0`` (or ``true``/``false``); ``fold`` is an int
    >= 0 and, if given, must be given on every row (otherwise folds are -1). Relative paths are
    resolved against ``base_dir`` or else the CSV file's folder. Blank rows and rows starting
    with ``#`` are skipped. Bad rows raise InputFileError naming the file and line number.
    """
    csv_file = Path(csv_file)
    base = Path(base_dir) if base_dir is not None else csv_file.resolve().parent
    try:
        with open(csv_file, encoding="utf-8-sig", newline="") as fh:
            rows = [(reader_line, row) for reader_line, row in _numbered_rows(fh)]
    except (OSError, UnicodeDecodeError, csv.Error) as e:
        raise InputFileError(csv_file, f"cannot read CSV: {e}") from None
    paths_a: list[str] = []
    paths_b: list[str] = []
    same: list[int] = []
    folds: list[int] = []
    has_fold: bool | None = None
    for k, (no, row) in enumerate(rows):
        cells = [c.strip() for c in row]
        if len(cells) not in (3, 4):
            raise InputFileError(
                csv_file, f"line {no}: expected 3 or 4 columns (path_a,path_b,same[,fold]), got {len(cells)}"
            )
        label = cells[2].lower()
        if k == 0 and [c.lower() for c in cells] == list(_HEADER[:len(cells)]):
            continue  # the header row: only this exact one, so that a bad first pair is never dropped silently
        if label in _TRUE:
            same.append(1)
        elif label in _FALSE:
            same.append(0)
        else:
            hint = f" (a header row must read {','.join(_HEADER[:3])}[,fold])" if k == 0 else ""
            raise InputFileError(csv_file, f"line {no}: same must be 1 or 0, got {cells[2]!r}{hint}")
        if not cells[0] or not cells[1]:
            raise InputFileError(csv_file, f"line {no}: empty path")
        row_has_fold = len(cells) == 4
        if has_fold is None:
            has_fold = row_has_fold
        elif has_fold != row_has_fold:
            raise InputFileError(csv_file, f"line {no}: fold column must be given on every row or on none")
        if row_has_fold:
            try:
                fold = int(cells[3])
            except ValueError:
                raise InputFileError(csv_file, f"line {no}: fold {cells[3]!r} is not an integer") from None
            if fold < 0:
                raise InputFileError(csv_file, f"line {no}: fold must be >= 0, got {fold}")
            folds.append(fold)
        else:
            folds.append(-1)
        paths_a.append(str(base / cells[0]))  # an absolute cell path stays absolute
        paths_b.append(str(base / cells[1]))
    if not same:
        raise InputFileError(csv_file, "no pairs in file")
    return PairsSet(paths_a, paths_b, np.asarray(same), np.asarray(folds))


def _numbered_rows(fh: Iterable[str]) -> Iterable[tuple[int, list[str]]]:
    """Yield ``(line_number, cells)`` for non-blank, non-comment CSV rows."""
    reader = csv.reader(fh)
    start = 1
    for row in reader:
        no, start = start, reader.line_num + 1
        if not row or all(not c.strip() for c in row) or row[0].lstrip().startswith("#"):
            continue
        yield no, row
