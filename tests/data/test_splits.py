"""Identity-disjoint splits on ORL and LFW."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from siamese.data import (
    exclude_identities,
    kfold_identities,
    read_identity_folders,
    read_lfw_pairs,
    split_identities,
)
from siamese.errors import ConfigError


@pytest.fixture(scope="module")
def orl(orl_root: Path):
    return read_identity_folders(orl_root)


def _check_consistent(part, full) -> None:
    """Labels of a part point at the right names, and every path belongs to the named folder."""
    assert part.labels.min() == 0 and part.labels.max() == part.num_identities - 1
    for path, label in zip(part.paths, part.labels, strict=True):
        assert Path(path).parent.name == part.names[label]
    names = set(part.names)
    assert set(part.paths) == {p for p, lab in zip(full.paths, full.labels, strict=True) if full.names[lab] in names}


def test_split_identities_disjoint_and_seeded(orl) -> None:
    train, val = split_identities(orl, val_fraction=0.2, seed=0)
    assert val.num_identities == 8 and train.num_identities == 32
    assert not set(train.names) & set(val.names)
    assert set(train.names) | set(val.names) == set(orl.names)
    assert not set(train.paths) & set(val.paths) and len(train) + len(val) == 400
    _check_consistent(train, orl)
    _check_consistent(val, orl)
    again = split_identities(orl, val_fraction=0.2, seed=0)
    assert again[1].names == val.names and again[0].paths == train.paths
    other = split_identities(orl, val_fraction=0.2, seed=1)
    assert set(other[1].names) != set(val.names)


def test_kfold_identities_partition(orl) -> None:
    tests = [kfold_identities(orl, k=5, fold=f, seed=3) for f in range(5)]
    test_names = [set(te.names) for _, te in tests]
    assert [len(n) for n in test_names] == [8] * 5
    assert set().union(*test_names) == set(orl.names)
    assert sum(len(n) for n in test_names) == 40  # disjoint
    for train, test in tests:
        assert not set(train.names) & set(test.names) and len(train) + len(test) == 400
        _check_consistent(train, orl)
    assert kfold_identities(orl, 5, 0, seed=3)[1].names == tests[0][1].names
    assert set(kfold_identities(orl, 5, 0, seed=4)[1].names) != test_names[0]


def test_split_errors(orl) -> None:
    for bad in (0.0, 1.0, -0.1):
        with pytest.raises(ConfigError, match="val_fraction"):
            split_identities(orl, val_fraction=bad)
    with pytest.raises(ConfigError, match="k:"):
        kfold_identities(orl, k=1, fold=0)
    with pytest.raises(ConfigError, match="fold:"):
        kfold_identities(orl, k=5, fold=5)


def test_exclude_lfw_evaluation_people(lfw_root: Path) -> None:
    lfw = read_identity_folders(lfw_root / "lfw-deepfunneled")
    assert lfw.num_identities == 5749 and len(lfw) == 13233
    pairs = read_lfw_pairs(lfw_root / "pairsDevTest.txt", lfw_root / "lfw-deepfunneled")
    train = exclude_identities(lfw, pairs.people() | {"Not_A_Person"})
    assert not set(train.names) & pairs.people()
    assert train.num_identities == lfw.num_identities - len(pairs.people())
    evaluated = set(pairs.paths_a) | set(pairs.paths_b)
    assert not evaluated & set(train.paths)
    assert np.array_equal(np.unique(train.labels), np.arange(train.num_identities))
