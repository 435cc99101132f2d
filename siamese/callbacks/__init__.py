"""Training callbacks: :class:`MarginScheduler` and the margin :mod:`~siamese.callbacks.schedules`."""

from siamese.callbacks import schedules
from siamese.callbacks.margin_scheduler import MarginScheduler, find_margin_variable

__all__ = ["MarginScheduler", "find_margin_variable", "schedules"]
