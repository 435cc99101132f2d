"""Embedding towers and the twin-tower (siamese) model.

* ``get_tower(name, input_shape, embedding_dim, **kwargs)`` builds a registered tower: ``"small_cnn"`` (CPU,
  tests, smoke runs) or ``"iresnet"`` (face-grade ArcFace-style IR-ResNet, 18 layers by default at 112x112).
  Towers take float32 images in [0, 255], shape ``(H, W, 3)``, rescale them inside, and return L2-normalised
  float32 embeddings ``(batch, embedding_dim)``.
* ``build_siamese(tower, distance="euclidean")`` applies the SAME tower (shared weights) to two inputs and joins
  them with a distance layer from :mod:`siamese.layers`: output ``(batch, 1)`` distances.
* ``get_tower_from(model)`` extracts the tower of a twin model, for indexing and export.
"""

from siamese import plugins
from siamese.models.iresnet import build_iresnet
from siamese.models.small_cnn import build_small_cnn
from siamese.models.twin import TOWER_NAME, build_siamese, get_tower_from

TOWERS = plugins.TOWERS  # the registry of tower builders (was a name -> builder dict)


def get_tower(name: str, input_shape: tuple[int, int, int] = (112, 112, 3), embedding_dim: int = 128,
              **kwargs):
    """Build the tower registered under ``name`` in :data:`siamese.plugins.TOWERS`; an unknown name or argument
    raises :class:`~siamese.errors.ConfigError` (key ``model.tower``)."""
    return TOWERS.build(name, input_shape=tuple(input_shape), embedding_dim=embedding_dim, **kwargs)


__all__ = ["TOWERS", "TOWER_NAME", "build_iresnet", "build_siamese", "build_small_cnn", "get_tower",
           "get_tower_from"]
