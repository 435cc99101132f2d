"""OpenCV, imported once for siamese.faces with its native log level set to errors only.

OpenCV prints ``[ WARN:0@...]`` lines straight to file descriptor 2 (decoders, DNN loader), which would break the
CLI's one-line stderr contract. Every module of siamese.faces imports ``cv2`` from here.
"""

from __future__ import annotations

import cv2

cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_ERROR)

__all__ = ["cv2"]
