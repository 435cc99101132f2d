"""``LossState``: passes its input through, holds the loss's variables as the model's non-trainable ones, and
serialises: the training model's JSON (what Keras' TensorBoard callback writes) round-trips to a model of the same
variable specs whose weights load from the original's."""

from __future__ import annotations

import warnings

import keras
import numpy as np
import pytest

from siamese.layers import LossState
from siamese.losses import BatchContrastiveLoss


def _model() -> tuple[keras.Model, BatchContrastiveLoss]:
    loss = BatchContrastiveLoss(margin=1.0, memory_size=12, memory_dim=4)
    inputs = keras.Input((3,))
    tower = keras.Model(inputs, keras.layers.UnitNormalization()(keras.layers.Dense(4)(inputs)))
    return keras.Model(tower.input, LossState(loss.state_variables, name="loss_state")(tower.output)), loss


def test_training_model_serialises_and_round_trips(rng) -> None:
    model, loss = _model()
    for v in loss.state_variables:  # a memory that is not all zeros, to see it travel through the weights
        v.assign(rng.normal(size=v.shape).astype(v.dtype) if "float" in str(v.dtype) else np.ones(v.shape, v.dtype))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        text = model.to_json()
    copy = keras.models.model_from_json(text)
    state = copy.get_layer("loss_state")
    assert isinstance(state, LossState)
    assert [(tuple(v.shape), str(v.dtype)) for v in state.loss_variables] == \
        [(tuple(v.shape), str(v.dtype)) for v in loss.state_variables]
    assert not any(v.trainable for v in state.loss_variables)
    assert all(not np.any(keras.ops.convert_to_numpy(v)) for v in state.loss_variables)  # new, tied to no loss
    assert len(copy.non_trainable_variables) == len(model.non_trainable_variables)
    copy.set_weights(model.get_weights())
    for got, want in zip(state.loss_variables, loss.state_variables, strict=True):
        np.testing.assert_array_equal(keras.ops.convert_to_numpy(got), keras.ops.convert_to_numpy(want))
    x = rng.normal(size=(5, 3)).astype("float32")
    np.testing.assert_allclose(copy.predict(x, verbose=0), model.predict(x, verbose=0), rtol=1e-6)


def test_trainable_variables_are_refused() -> None:
    with pytest.raises(TypeError, match="non-trainable"):
        LossState([keras.Variable(np.zeros(3, "float32"), trainable=True)])
