"""Identity-disjoint splits, seeded: no person is ever on both sides of a split."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from siamese.data.readers import IdentityDataset
from siamese.errors import ConfigError


def _shuffled_names(dataset: IdentityDataset, seed: int) -> list[str]:
    order = np.random.default_rng(seed).permutation(dataset.num_identities)
    return [dataset.names[i] for i in order]


def split_identities(
    dataset: IdentityDataset, val_fraction: float = 0.2, seed: int = 0
) -> tuple[IdentityDataset, IdentityDataset]:
    """Split identities into ``(train, val)``; ``round(val_fraction * identities)`` go to val.

    With ``0 < val_fraction`` at least one identity goes to val and at least one stays in
    train. Deterministic for a seed. Both parts are relabelled ``0..m-1`` (names are kept).
    """
    if not 0.0 < val_fraction < 1.0:
        raise ConfigError(f"val_fraction: must be in (0, 1), got {val_fraction}")
    n = dataset.num_identities
    if n < 2:
        raise ConfigError(f"val_fraction: cannot split {n} identity into train and val")
    n_val = min(max(int(round(val_fraction * n)), 1), n - 1)
    names = _shuffled_names(dataset, seed)
    return dataset.subset(names[n_val:]), dataset.subset(names[:n_val])


def kfold_identities(
    dataset: IdentityDataset, k: int, fold: int, seed: int = 0
) -> tuple[IdentityDataset, IdentityDataset]:
    """``(train, test)`` for fold ``fold`` of ``k`` identity-disjoint folds (sizes differ by <= 1).

    The k test parts of one seed partition the identities. Deterministic for a seed.
    """
    if not 2 <= k <= dataset.num_identities:
        raise ConfigError(f"k: must be in [2, {dataset.num_identities}], got {k}")
    if not 0 <= fold < k:
        raise ConfigError(f"fold: must be in [0, {k}), got {fold}")
    names = _shuffled_names(dataset, seed)
    parts = np.array_split(np.arange(len(names)), k)
    test = {names[i] for i in parts[fold]}
    return dataset.subset(n for n in names if n not in test), dataset.subset(test)


def exclude_identities(dataset: IdentityDataset, names: Iterable[str]) -> IdentityDataset:
    """``dataset`` without the given identities (names it does not have are ignored).

    Use it to keep evaluation people out of training: ``exclude_identities(ds, pairs.people())``.
    """
    drop = set(names)
    return dataset.subset(n for n in dataset.names if n not in drop)
