"""Deprecated: the export code is :mod:`siamese.exporting` (kept importable for one release).

``siamese.export`` is the Python API function (:func:`siamese.api.export`); importing this module rebinds that
package attribute to the module, so import :mod:`siamese.exporting` instead.
"""

import warnings

from siamese.exporting import *  # noqa: F403
from siamese.exporting import (  # noqa: F401
    FORMATS,
    QUANTIZE,
    REPRESENTATIVE_FACES,
    ExportedEmbedder,
    compare_accuracy,
    export_model,
    representative_faces,
    tflite_bytes,
)

warnings.warn("siamese.export (the module) moved to siamese.exporting; siamese.export is now the API function",
              DeprecationWarning, stacklevel=2)
