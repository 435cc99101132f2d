"""Readers on the real LFW/ORL files, and on small hand-written CSV/pairs files for bad lines."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from siamese.data import IdentityDataset, read_csv_pairs, read_identity_folders, read_lfw_pairs, write_csv_pairs
from siamese.errors import InputFileError


@pytest.fixture(scope="module")
def lfw_images(lfw_root: Path) -> Path:
    return lfw_root / "lfw-deepfunneled"


def test_view2_pairs(lfw_root: Path, lfw_images: Path) -> None:
    pairs = read_lfw_pairs(lfw_root / "pairs.txt", lfw_images)
    assert len(pairs) == 6000
    assert pairs.num_folds == 10
    assert np.bincount(pairs.folds).tolist() == [600] * 10
    for k in range(10):
        fold = pairs.fold(k)
        assert fold.same.sum() == 300
        assert fold.same[:300].all() and not fold.same[300:].any()  # file order: 300 same, then 300 different
    same = pairs.same == 1
    assert all(a == b for a, b, s in zip(pairs.names_a, pairs.names_b, same, strict=True) if s)
    assert all(a != b for a, b, s in zip(pairs.names_a, pairs.names_b, same, strict=True) if not s)
    # first line after the header: "Abel_Pacheco 1 4"
    assert pairs.paths_a[0] == str(lfw_images / "Abel_Pacheco" / "Abel_Pacheco_0001.jpg")
    assert pairs.paths_b[0] == str(lfw_images / "Abel_Pacheco" / "Abel_Pacheco_0004.jpg")
    assert all(os.path.isfile(p) for p in pairs.paths_a + pairs.paths_b)
    # the standard folds are identity-disjoint
    people = [pairs.fold(k).people() for k in range(10)]
    assert all(not (people[i] & people[j]) for i in range(10) for j in range(i + 1, 10))
    assert pairs.people() == set().union(*people)


def test_view1_pairs(lfw_root: Path, lfw_images: Path) -> None:
    test = read_lfw_pairs(lfw_root / "pairsDevTest.txt", lfw_images)
    assert len(test) == 1000 and test.same.sum() == 500
    assert (test.folds == -1).all() and test.num_folds == 0
    assert all(os.path.isfile(p) for p in test.paths_a + test.paths_b)
    train = read_lfw_pairs(lfw_root / "pairsDevTrain.txt", lfw_images)
    assert len(train) == 2200 and train.same.sum() == 1100
    assert not (train.people() & test.people())  # View 1 train/test are identity-disjoint


@pytest.mark.parametrize(
    ("text", "line", "reason"),
    [
        ("1\nA 1 2\nB 1 C x\n", 3, "image number 'x'"),
        ("1\nA 1 2\nB 1 C 2 9\n", 3, "got 5 fields"),
        ("1\nA 1 2 3\nB 1 C 2\n", 2, "same person"),
        ("1\nA 1 0\nB 1 C 2\n", 2, "must be >= 1"),
        ("2\nA 1 2\nB 1 C 2\n", 3, "announces 4 pairs, file has 2"),
        ("1 1 1\nA 1 2\n", 1, "header"),
        ("x\n", 1, "pair count 'x'"),
    ],
)
def test_lfw_pairs_bad_lines(tmp_path: Path, text: str, line: int, reason: str) -> None:
    f = tmp_path / "pairs.txt"
    f.write_text(text)
    with pytest.raises(InputFileError) as info:
        read_lfw_pairs(f, tmp_path)
    assert info.value.path == str(f)
    assert f"line {line}:" in info.value.reason and reason in info.value.reason


def test_lfw_pairs_small_view2(tmp_path: Path) -> None:
    f = tmp_path / "pairs.txt"
    f.write_text("2\t1\nA\t1\t2\nA\t3\tB\t1\n\nC\t2\t5\nD\t1\tE\t10\n")
    pairs = read_lfw_pairs(f, tmp_path)
    assert pairs.same.tolist() == [1, 0, 1, 0] and pairs.folds.tolist() == [0, 0, 1, 1]
    assert pairs.paths_b[3] == str(tmp_path / "E" / "E_0010.jpg")
    assert pairs.people() == {"A", "B", "C", "D", "E"}


def test_csv_pairs(tmp_path: Path) -> None:
    f = tmp_path / "pairs.csv"
    f.write_text("Path_A, path_b ,SAME\nann/1.jpg,ann/2.jpg,1\n\n# a comment\nann/1.jpg,/abs/bob/3.png,0\n")
    pairs = read_csv_pairs(f)
    assert pairs.paths_a == [str(tmp_path / "ann/1.jpg")] * 2
    assert pairs.paths_b == [str(tmp_path / "ann/2.jpg"), "/abs/bob/3.png"]
    assert pairs.same.tolist() == [1, 0] and pairs.folds.tolist() == [-1, -1]
    assert pairs.people() == {"ann", "bob"}
    other = read_csv_pairs(f, base_dir="/data")
    assert other.paths_a[0] == "/data/ann/1.jpg"


def test_csv_pairs_with_folds_no_header(tmp_path: Path) -> None:
    f = tmp_path / "p.csv"
    f.write_text("a.jpg,b.jpg,1,0\nc.jpg,d.jpg,0,3\n")
    pairs = read_csv_pairs(f)
    assert pairs.same.tolist() == [1, 0] and pairs.folds.tolist() == [0, 3] and pairs.num_folds == 2


@pytest.mark.parametrize(
    ("text", "line", "reason"),
    [
        ("a,b,1\nc,d,2\n", 2, "same must be 1 or 0"),
        ("path_a,path_b,same\na,b\n", 2, "expected 3 or 4 columns"),
        ("a,b,1,0\nc,d,1\n", 2, "every row or on none"),
        ("a,b,1,x\n", 1, "fold 'x'"),
        ("a,b,1,-1\n", 1, "fold must be >= 0"),
        ("a,,1\n", 1, "empty path"),
        ("\n\na,b,yes,1,2\n", 3, "expected 3 or 4 columns"),
        ("a,b,yes\nc,d,1\n", 1, "same must be 1 or 0, got 'yes'"),  # not a header: the first pair is bad
        ("image_a,image_b,label\nc,d,1\n", 1, "a header row must read path_a,path_b,same"),
    ],
)
def test_csv_pairs_bad_lines(tmp_path: Path, text: str, line: int, reason: str) -> None:
    f = tmp_path / "pairs.csv"
    f.write_text(text)
    with pytest.raises(InputFileError) as info:
        read_csv_pairs(f)
    assert info.value.path == str(f)
    assert f"line {line}:" in info.value.reason and reason in info.value.reason


def test_csv_and_pairs_missing_or_empty(tmp_path: Path) -> None:
    with pytest.raises(InputFileError, match="cannot read"):
        read_csv_pairs(tmp_path / "nope.csv")
    with pytest.raises(InputFileError, match="cannot read"):
        read_lfw_pairs(tmp_path / "nope.txt", tmp_path)
    (tmp_path / "h.csv").write_text("path_a,path_b,same\n")
    with pytest.raises(InputFileError, match="no pairs"):
        read_csv_pairs(tmp_path / "h.csv")


def test_orl_identity_folders(orl_root: Path) -> None:
    ds = read_identity_folders(orl_root)
    assert isinstance(ds, IdentityDataset)
    assert ds.num_identities == 40 and len(ds) == 400
    assert ds.names[:3] == ["s1", "s2", "s3"] and ds.names[-1] == "s40"  # natural order
    assert ds.counts().tolist() == [10] * 40
    assert ds.paths[:2] == [str(orl_root / "s1" / "1.pgm"), str(orl_root / "s1" / "2.pgm")]
    assert all(Path(p).parent.name == ds.names[label] for p, label in zip(ds.paths, ds.labels, strict=True))
    assert ds.labels.dtype == np.int64
    again = read_identity_folders(orl_root)
    assert again.paths == ds.paths and (again.labels == ds.labels).all()


def test_identity_folders_min_images_and_subset(tmp_path: Path) -> None:
    for name, n in [("carl", 3), ("ann", 1), ("bob", 2)]:
        (tmp_path / name).mkdir()
        for i in range(n):
            (tmp_path / name / f"{i}.jpg").write_bytes(b"x")
    (tmp_path / "bob" / "notes.txt").write_text("not an image")
    (tmp_path / "bob" / ".hidden.jpg").write_bytes(b"x")
    ds = read_identity_folders(tmp_path, min_images=2)
    assert ds.names == ["bob", "carl"] and ds.labels.tolist() == [0, 0, 1, 1, 1]
    sub = ds.subset(["carl"])
    assert sub.names == ["carl"] and sub.labels.tolist() == [0, 0, 0]
    assert all("/carl/" in p for p in sub.paths)
    with pytest.raises(KeyError):
        ds.subset(["ann"])
    with pytest.raises(InputFileError, match="no identity folder"):
        read_identity_folders(tmp_path, min_images=4)
    with pytest.raises(InputFileError, match="not a directory"):
        read_identity_folders(tmp_path / "missing")


def test_training_and_enrollment_walk_the_folders_alike(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """One walk (list_identity_folders): the same people in the same natural order for both; the training reader
    drops an entry that is not a file and fails on a folder it cannot list, enrollment reports both."""
    from siamese.data.readers import list_identity_folders
    from siamese.recognition import identity_folders

    for person, files in {"p10": ["b.jpg", "a.JPG"], "p2": ["x10.png", "x2.png", ".hidden.jpg", "notes.txt"],
                          ".trash": ["t.jpg"]}.items():
        (tmp_path / person).mkdir()
        for f in files:
            (tmp_path / person / f).write_bytes(b"x")
    os.symlink(tmp_path / "gone.jpg", tmp_path / "p10" / "c.jpg")  # a broken link
    (tmp_path / "p3").mkdir()
    listing = list_identity_folders(tmp_path)
    assert [(p.name, [f.name for f in e]) for p, e in listing] == [
        ("p2", ["x2.png", "x10.png"]), ("p3", []), ("p10", ["a.JPG", "b.jpg", "c.jpg"])]
    data = read_identity_folders(tmp_path)
    assert data.names == ["p2", "p10"] and [Path(p).name for p in data.paths] == ["x2.png", "x10.png", "a.JPG",
                                                                                  "b.jpg"]
    people, problems = identity_folders(tmp_path)
    assert {k: [Path(p).name for p in v] for k, v in people.items()} == {"p2": ["x2.png", "x10.png"],
                                                                        "p10": ["a.JPG", "b.jpg", "c.jpg"]}
    assert [p["identity"] for p in problems] == ["p3"]
    real_iterdir = Path.iterdir

    def iterdir(self: Path):
        if self.name == "p2":
            raise PermissionError(13, "Permission denied", str(self))
        return real_iterdir(self)

    monkeypatch.setattr(Path, "iterdir", iterdir)
    with pytest.raises(PermissionError):
        read_identity_folders(tmp_path)
    people, problems = identity_folders(tmp_path)
    assert sorted(people) == ["p10"] and "p2: cannot list (Permission denied)" in problems[0]["reason"]


def test_written_pairs_read_back(tmp_path: Path) -> None:
    rows = [(tmp_path / "a, one.jpg", tmp_path / "b.jpg", 1), (tmp_path / "c.jpg", tmp_path / 'd "x".jpg', 0)]
    path = write_csv_pairs(tmp_path / "sub" / "pairs.csv", iter(rows))
    back = read_csv_pairs(path)
    assert list(map(str, back.paths_a)) == [str(a) for a, _, _ in rows]
    assert list(map(str, back.paths_b)) == [str(b) for _, b, _ in rows]
    assert back.same.tolist() == [1, 0] and (back.folds == -1).all()
