"""Old home of the mining helpers, kept for one release: they live in :mod:`siamese.losses.miners` now."""

from siamese.losses.miners.base import label_masks, masked_maximum, masked_minimum
from siamese.losses.miners.batch_hard import hardest_negatives, hardest_positives
from siamese.losses.miners.semihard import semihard_negatives, upper_bound

__all__ = ["hardest_negatives", "hardest_positives", "label_masks", "masked_maximum", "masked_minimum",
           "semihard_negatives", "upper_bound"]
