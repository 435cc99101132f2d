"""Base class of the margin-based losses: the margin lives in a non-trainable variable."""

from __future__ import annotations

from typing import Any

import keras
from keras import ops


def margin_variable(margin: float | keras.Variable, name: str = "margin") -> keras.Variable:
    """``margin`` as a scalar float32 non-trainable ``keras.Variable`` (a variable is kept as is)."""
    if isinstance(margin, keras.Variable):
        return margin
    value = float(ops.convert_to_numpy(margin))
    return keras.Variable(value, dtype="float32", trainable=False, name=name)


class MarginLoss(keras.losses.Loss):
    """A ``keras.losses.Loss`` whose margin is the non-trainable ``keras.Variable`` :attr:`margin`.

    A callback (e.g. ``siamese.callbacks.MarginScheduler``) may ``loss.margin.assign(value)``
    between steps: a compiled ``model.fit`` reads the variable at every step, so the new value
    is used without retracing. ``get_config`` records the margin's current value as a float.
    """

    def __init__(
        self,
        margin: float | keras.Variable = 1.0,
        reduction: str | None = "sum_over_batch_size",
        name: str | None = None,
        dtype: str | None = None,
    ) -> None:
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        self.margin = margin_variable(margin)

    @property
    def margin_value(self) -> float:
        """Current margin as a Python float."""
        return float(ops.convert_to_numpy(self.margin))

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config["margin"] = self.margin_value
        return config
