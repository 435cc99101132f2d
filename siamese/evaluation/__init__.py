"""Evaluation of pair distances: metrics, the LFW k-fold protocol, calibration, reports.

Pure numpy + scikit-learn (+ matplotlib for plots, imported lazily); never imports TensorFlow.
Inputs are ``distances`` (smaller = more similar) and ``same`` (1 = same person). A pair is
accepted as the same person when ``distance <= threshold``.
"""

from siamese.evaluation.calibration import Calibration, calibrate_threshold
from siamese.evaluation.metrics import (
    DEFAULT_FARS,
    OperatingPoints,
    accuracy_at,
    best_threshold,
    check_pairs,
    far_key,
    operating_points,
    tar_at_far,
    verification_metrics,
)
from siamese.evaluation.protocol import contiguous_folds, kfold_accuracy, protocol_folds, random_folds
from siamese.evaluation.report import write_report
from siamese.evaluation.result import EvaluationResult, evaluate_distances

__all__ = [
    "DEFAULT_FARS",
    "Calibration",
    "EvaluationResult",
    "OperatingPoints",
    "accuracy_at",
    "best_threshold",
    "calibrate_threshold",
    "check_pairs",
    "contiguous_folds",
    "evaluate_distances",
    "far_key",
    "kfold_accuracy",
    "operating_points",
    "protocol_folds",
    "random_folds",
    "tar_at_far",
    "verification_metrics",
    "write_report",
]
