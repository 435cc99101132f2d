"""The LFW View 2 protocol: k-fold accuracy with the threshold chosen on the other folds.

For each fold ``k`` the accuracy-maximising threshold (:func:`best_threshold`) is chosen on the
pairs of all folds except ``k`` and fold ``k`` is scored with it; the figure reported is the mean
of the per-fold accuracies ± the standard error of the mean.

Standard error, as the LFW authors define it (Huang et al., UMass TR 07-49, 2007, and the LFW
README): ``S_E = sigma_hat / sqrt(k)`` with ``sigma_hat`` the *sample* standard deviation of the
per-fold accuracies (divisor ``k - 1``, i.e. numpy ``ddof=1``). Note: several public training
scripts (e.g. the FaceNet-style ``lfw.evaluate``) print ``mean ± np.std(acc)``: the population
standard deviation (``ddof=0``), *not* a standard error and about ``sqrt(k)`` times larger; it
is returned as ``std_population`` for comparison with such figures.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike
from sklearn.model_selection import StratifiedKFold

from siamese.evaluation.metrics import accuracy_at, best_threshold, check_pairs


def contiguous_folds(n_pairs: int, n_folds: int = 10) -> np.ndarray:
    """Fold id of each pair when the pairs come in ``n_folds`` equal consecutive blocks.

    This is the layout of LFW ``pairs.txt`` read in file order: 10 blocks of 600 pairs
    (300 same, then 300 different). Returns int64 ``(n_pairs,)``.
    """
    if n_folds < 2 or n_pairs % n_folds:
        raise ValueError(f"cannot split {n_pairs} pairs into {n_folds} equal folds")
    return np.repeat(np.arange(n_folds, dtype=np.int64), n_pairs // n_folds)


def random_folds(same: ArrayLike, n_folds: int = 10, seed: int = 0) -> np.ndarray:
    """Seeded stratified random fold ids ``(n,)`` (each fold keeps the genuine/impostor ratio).

    Use only where the data has no official folds; random folds do not keep identities apart.
    """
    s = np.asarray(same).astype(int)
    splitter = StratifiedKFold(n_splits=n_folds, shuffle=True, random_state=seed)
    folds = np.empty(s.size, dtype=np.int64)
    for k, (_, test) in enumerate(splitter.split(np.zeros(s.size), s)):
        folds[test] = k
    return folds


def kfold_accuracy(
    distances: ArrayLike, same: ArrayLike, folds: ArrayLike | int = 10, seed: int = 0
) -> dict[str, Any]:
    """k-fold accuracy (LFW View 2 protocol). JSON-safe dict.

    ``folds``: one fold id per pair (any hashable ints; e.g. :func:`contiguous_folds` for
    ``pairs.txt``), or an int ``k`` for :func:`random_folds` with ``seed``.
    Returns ``n_folds``, ``fold_ids``, ``fold_accuracies``, ``fold_thresholds`` (chosen on the
    other folds), ``fold_sizes``, ``mean_accuracy``, ``std`` (ddof=1), ``standard_error``
    (``std / sqrt(n_folds)``), ``std_population`` (ddof=0), ``mean_threshold``.
    Raises ValueError if fewer than 2 folds or if the other folds of some fold lack a class.
    """
    d, s = check_pairs(distances, same)
    if isinstance(folds, int | np.integer):
        fold_of = random_folds(s, int(folds), seed)
    else:
        fold_of = np.asarray(folds)
        if fold_of.shape != d.shape:
            raise ValueError(f"folds must give one fold id per pair: shape {fold_of.shape} != {d.shape}")
    ids = np.unique(fold_of)
    if ids.size < 2:
        raise ValueError(f"need at least 2 folds, got {ids.size}")
    accuracies, thresholds, sizes = [], [], []
    for k in ids:
        test = fold_of == k
        train = ~test
        try:
            threshold, _ = best_threshold(d[train], s[train])
        except ValueError as error:
            raise ValueError(f"fold {k}: cannot choose a threshold on the other folds: {error}") from error
        thresholds.append(threshold)
        accuracies.append(accuracy_at(d[test], s[test], threshold))
        sizes.append(int(test.sum()))
    acc = np.asarray(accuracies)
    std = float(np.std(acc, ddof=1))
    return {
        "n_folds": int(ids.size),
        "fold_ids": [int(k) if isinstance(k, int | np.integer) else str(k) for k in ids],
        "fold_accuracies": [float(a) for a in acc],
        "fold_thresholds": [float(t) for t in thresholds],
        "fold_sizes": sizes,
        "mean_accuracy": float(acc.mean()),
        "std": std,
        "standard_error": std / float(np.sqrt(ids.size)),
        "std_population": float(np.std(acc, ddof=0)),
        "mean_threshold": float(np.mean(thresholds)),
    }


def protocol_folds(same: ArrayLike, folds: ArrayLike | None, n_folds: int = 10) -> np.ndarray | int | None:
    """The fold policy of ``siamese evaluate``: a pairs file's own (official) folds when it has them, else
    ``n_folds`` seeded stratified folds (fewer when a class has fewer pairs; None below 2), so that the headline
    accuracy always uses a threshold chosen on other pairs."""
    if folds is not None:
        return np.asarray(folds)
    s = np.asarray(same)
    k = min(n_folds, int(min((s == 1).sum(), (s == 0).sum())))
    return k if k >= 2 else None
