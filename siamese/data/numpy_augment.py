"""On-the-fly augmentation in numpy and OpenCV (no TensorFlow), for :mod:`siamese.data.batches`.

The same parameters mean the same as in :func:`siamese.data.augment.make_augmentation` (the Keras-layer version
for tf.data); the draws differ.
"""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np

# columns of the per-image uniform draws (see NumpyAugment.draw); _GRAY only exists when grayscale > 0, so the
# draws of every other setting are those of the versions before it
_FLIP, _TX, _TY, _ROT, _ZOOM, _SX, _SY, _BRIGHT, _CONTRAST, _GRAY = range(10)
N_DRAWS = 9
# ITU-R BT.601 luma weights of (R, G, B), as cv2.COLOR_RGB2GRAY
_LUMA = np.array([0.299, 0.587, 0.114], np.float32)


class NumpyAugment:
    """Random per-image transforms of float32 batches in [0, 255], ``(n, H, W, 3)``; output clipped to [0, 255].

    * ``flip``: horizontal flip with probability 0.5 (an exact mirror: no resampling).
    * ``affine`` (> 0): translation up to ``affine`` of the height/width, rotation up to ``affine`` of a full turn
      (0.05 = 18 degrees) and zoom by a factor in ``[1 - affine, 1 + affine]``, about the image centre.
    * ``shift`` (> 0): translation alone up to ``shift`` of the height/width (for aligned faces).
    * ``color`` (> 0): brightness shift up to ``color * 255``, then contrast factor in ``[1 - color, 1 + color]``
      about each image's per-channel mean.
    * ``grayscale`` (a probability): the image becomes its luma (BT.601, as ``cv2.COLOR_RGB2GRAY``) in all three
      channels, so that grey photos embed like colour ones.

    Order: flip, then one bilinear warp (``affine`` and ``shift`` composed, borders reflected as
    ``cv2.BORDER_REFLECT_101``), then color, then grayscale. ``draw(n, rng)`` gives the random parameters of n
    images (only ``rng.random``); ``apply(batch, params)`` uses them, so the parameters of a global batch can be
    drawn once and rows applied on each data-parallel shard.
    ``aug(batch, rng) == aug.apply(batch, aug.draw(len(batch), rng))``.
    """

    def __init__(self, flip: bool = True, affine: float = 0.0, color: float = 0.0, shift: float = 0.0,
                 grayscale: float = 0.0) -> None:
        if affine < 0 or color < 0 or shift < 0:
            raise ValueError("affine, color and shift must be >= 0")
        if not 0.0 <= grayscale <= 1.0:
            raise ValueError(f"grayscale is a probability in [0, 1], got {grayscale}")
        self.flip = bool(flip)
        self.affine = float(affine)
        self.color = float(color)
        self.shift = float(shift)
        self.grayscale = float(grayscale)

    @property
    def active(self) -> bool:
        """Whether any transform is on."""
        return self.flip or self.affine > 0 or self.color > 0 or self.shift > 0 or self.grayscale > 0

    @property
    def n_draws(self) -> int:
        """Columns of :meth:`draw`: ``N_DRAWS``, one more with ``grayscale``."""
        return N_DRAWS + (self.grayscale > 0)

    def draw(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """Uniforms in [0, 1) for ``n`` images, ``(n, n_draws)`` float64 (one row per image, all transforms)."""
        return np.asarray(rng.random((n, self.n_draws)), np.float64).reshape(n, self.n_draws)

    def apply(self, batch: np.ndarray, params: np.ndarray) -> np.ndarray:
        """``batch`` transformed with ``params`` (from :meth:`draw`, one row per image); a new float32 array."""
        out = np.array(batch, dtype=np.float32, copy=True)
        if len(out) != len(params):
            raise ValueError(f"{len(out)} images but {len(params)} rows of parameters")
        if self.flip:
            flip = params[:, _FLIP] < 0.5
            out[flip] = out[flip, :, ::-1]
        if self.affine > 0 or self.shift > 0:
            h, w = out.shape[1:3]
            for j, u in enumerate(params):
                out[j] = cv2.warpAffine(out[j], self._matrix(u, h, w), (w, h), flags=cv2.INTER_LINEAR,
                                        borderMode=cv2.BORDER_REFLECT_101)
        if self.color > 0:
            sym = 2.0 * params - 1.0  # uniform in [-1, 1)
            delta = (sym[:, _BRIGHT] * self.color * 255.0).astype(np.float32)[:, None, None, None]
            np.clip(out + delta, 0.0, 255.0, out=out)
            factor = (1.0 + sym[:, _CONTRAST] * self.color).astype(np.float32)[:, None, None, None]
            mean = out.mean(axis=(1, 2), keepdims=True)
            out = (out - mean) * factor + mean
        np.clip(out, 0.0, 255.0, out=out)
        if self.grayscale > 0:
            grey = params[:, _GRAY] < self.grayscale
            out[grey] = (out[grey] @ _LUMA)[..., None]
        return out

    def _matrix(self, u: np.ndarray, h: int, w: int) -> np.ndarray:
        sym = 2.0 * u - 1.0
        a = self.affine
        angle = sym[_ROT] * a * 360.0
        scale = 1.0 + sym[_ZOOM] * a
        m = cv2.getRotationMatrix2D(((w - 1) / 2.0, (h - 1) / 2.0), angle, scale)
        m[0, 2] += (sym[_TX] * a + sym[_SX] * self.shift) * w
        m[1, 2] += (sym[_TY] * a + sym[_SY] * self.shift) * h
        return m

    def __call__(self, batch: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        return self.apply(batch, self.draw(len(batch), rng))

    def get_config(self) -> dict[str, Any]:
        return {"flip": self.flip, "affine": self.affine, "color": self.color, "shift": self.shift,
                "grayscale": self.grayscale}

    def __repr__(self) -> str:
        return "NumpyAugment(" + ", ".join(f"{k}={v!r}" for k, v in self.get_config().items()) + ")"


def make_numpy_augmentation(flip: bool = True, affine: float = 0.05, color: float = 0.1,
                            shift: float = 0.0, grayscale: float = 0.0) -> NumpyAugment | None:
    """A :class:`NumpyAugment`, or None when no transform is on. Defaults as
    :func:`siamese.data.augment.make_augmentation` (which has no ``grayscale``)."""
    aug = NumpyAugment(flip=flip, affine=affine, color=color, shift=shift, grayscale=grayscale)
    return aug if aug.active else None
