"""Identity layer that makes the state of losses part of a training model (a cross-batch memory's embeddings).

A loss that keeps state between steps (:class:`siamese.losses.memory.CrossBatchMemory`) assigns its variables inside
the compiled train step. TensorFlow assigns any variable in place; JAX's compiled step carries only the variables of
the model it trains (``model.non_trainable_variables``), so a loss's own variables must be held by a layer of that
model. This layer holds them and passes its input through unchanged::

    emb = LossState(loss.state_variables)(tower.output)
    model = keras.Model(tower.input, emb)          # train this; save ``tower``
    model.compile(optimizer=..., loss=loss)

It belongs to the training model only: the tower that is saved never contains it (its variables are the loss's,
not the tower's). Its config records each variable's name, shape and dtype, so that the training model serialises
(Keras' TensorBoard callback writes its JSON); a layer rebuilt from that config holds new zero variables of the same
specs, tied to no loss, which take saved values through ``set_weights`` / ``load_weights`` like any layer's.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import keras


@keras.saving.register_keras_serializable(package="siamese")
class LossState(keras.layers.Layer):
    """Passes ``inputs`` through; holds ``variables`` (non-trainable ``keras.Variable`` s owned by a loss) so that
    the model it belongs to tracks them as ``non_trainable_variables``."""

    def __init__(self, variables: Sequence[keras.Variable], **kwargs: Any) -> None:
        super().__init__(trainable=False, **kwargs)
        variables = list(variables)
        if any(not isinstance(v, keras.Variable) or v.trainable for v in variables):
            raise TypeError("LossState: variables must be non-trainable keras.Variable objects")
        self.loss_variables = variables
        self.built = True

    def call(self, inputs: Any) -> Any:
        return inputs

    def compute_output_shape(self, input_shape: Any) -> Any:
        return input_shape

    def get_config(self) -> dict[str, Any]:
        specs = [{"name": v.name, "shape": list(v.shape), "dtype": str(v.dtype)} for v in self.loss_variables]
        return {**super().get_config(), "variables": specs}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> LossState:
        config = dict(config)
        config.pop("trainable", None)  # always False
        specs = config.pop("variables")
        variables = [keras.Variable(keras.ops.zeros(s["shape"], dtype=s["dtype"]), trainable=False, name=s["name"])
                     for s in specs]
        return cls(variables, **config)


def loss_state_variables(*losses: Any) -> list[keras.Variable]:
    """The ``state_variables`` of every loss given (``[]`` for losses that keep no state), in order."""
    return [v for loss in losses for v in getattr(loss, "state_variables", None) or []]
