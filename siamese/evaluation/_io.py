"""Crash-safe file writes for reports and calibrations (see :mod:`siamese._files`)."""

from siamese._files import atomic_write_bytes

__all__ = ["atomic_write_bytes"]
