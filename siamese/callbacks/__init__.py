"""Training callbacks: :class:`AveragedWeightsAtEpochEnd` (validate and keep the moving average of the weights),
:class:`MarginScheduler` and the margin :mod:`~siamese.callbacks.schedules`,
:class:`PairValidation` (verification metrics on fixed pairs each epoch), :class:`LearningRateLogger` and
:class:`GradientNormLogger`."""

from siamese.callbacks import schedules
from siamese.callbacks.averaged_weights import AveragedWeightsAtEpochEnd
from siamese.callbacks.logging import GradientNormLogger, LearningRateLogger
from siamese.callbacks.margin_scheduler import MarginScheduler, find_margin_variable, find_margins
from siamese.callbacks.pair_validation import PairValidation

__all__ = ["AveragedWeightsAtEpochEnd", "GradientNormLogger", "LearningRateLogger", "MarginScheduler", "PairValidation",
           "find_margin_variable", "find_margins", "schedules"]
