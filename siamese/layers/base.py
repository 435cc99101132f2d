"""Abstract base of the pair-distance layers: a Keras layer around a :class:`siamese.distances.Distance`."""

from __future__ import annotations

from typing import Any, ClassVar

import keras
from keras import ops

from siamese.distances import Distance
from siamese.distances import safe_sqrt as safe_sqrt  # noqa: PLC0414  (old place, kept for one release)


class DistanceLayer(keras.layers.Layer):
    """Distance between two batches of embeddings: ``layer([a, b])`` -> ``(batch, 1)``.

    ``a`` and ``b`` have shape ``(batch, dim)``. Small distance = similar. The distance is always computed and
    returned in **float32**: the inputs are cast to float32 first, so the layer is safe under the
    ``mixed_float16`` policy (its own dtype policy defaults to ``"float32"``, like the output layer of a
    mixed-precision model).

    Subclasses set :attr:`measure` (a :class:`siamese.distances.Distance`, which computes the values);
    :attr:`kind` (its canonical name, recorded in model cards) and :attr:`metric` (its TensorFlow Addons name)
    follow from it.
    """

    measure: ClassVar[Distance]
    kind: ClassVar[str] = ""
    metric: ClassVar[str] = ""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        measure = cls.__dict__.get("measure")
        if measure is not None:
            cls.kind, cls.metric = measure.name, measure.tfa_name

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("dtype", "float32")
        super().__init__(**kwargs)

    def distance(self, a: Any, b: Any) -> Any:
        """Row-wise distance of float32 ``a``, ``b`` of shape ``(batch, dim)`` -> ``(batch, 1)``."""
        return ops.expand_dims(self.measure.rowwise(a, b), -1)

    def build(self, input_shape: Any) -> None:
        self._check_shapes(input_shape)
        super().build(input_shape)

    def call(self, inputs: Any) -> Any:
        a, b = self._unpack(inputs)
        return self.distance(ops.cast(a, "float32"), ops.cast(b, "float32"))

    def compute_output_shape(self, input_shape: Any) -> tuple[int | None, int]:
        shape_a, _ = self._check_shapes(input_shape)
        return (shape_a[0], 1)

    def compute_output_spec(self, inputs: Any) -> keras.KerasTensor:
        a, b = self._unpack(inputs)
        shape_a, _ = self._check_shapes([a.shape, b.shape])
        return keras.KerasTensor((shape_a[0], 1), dtype="float32")

    def _unpack(self, inputs: Any) -> tuple[Any, Any]:
        if not isinstance(inputs, list | tuple) or len(inputs) != 2:
            raise ValueError(f"{self.__class__.__name__} expects a list [a, b] of two tensors, got {inputs!r}")
        return inputs[0], inputs[1]

    def _check_shapes(self, input_shape: Any) -> tuple[tuple, tuple]:
        if not isinstance(input_shape, list | tuple) or len(input_shape) != 2:
            raise ValueError(f"{self.__class__.__name__} expects two inputs, got shapes {input_shape!r}")
        shape_a, shape_b = (tuple(s) for s in input_shape)
        if len(shape_a) != 2 or len(shape_b) != 2:
            raise ValueError(
                f"{self.__class__.__name__} expects inputs of shape (batch, dim), got {shape_a} and {shape_b}"
            )
        if None not in (shape_a[-1], shape_b[-1]) and shape_a[-1] != shape_b[-1]:
            raise ValueError(
                f"{self.__class__.__name__}: embedding sizes differ ({shape_a[-1]} vs {shape_b[-1]})"
            )
        return shape_a, shape_b
