"""``GradientReversal``: the GRL as a Keras 3 layer with λ as a non-trainable weight."""

from __future__ import annotations

from typing import Any

import keras

from grl.backends.tf.ops import gradient_reversal
from grl.core import lambda_ as spec


@keras.saving.register_keras_serializable(package="grl")
class GradientReversal(keras.layers.Layer):
    """Gradient reversal layer: identity forward, gradient times −λ backward.

    λ is a non-trainable, 0-d float32 weight (``layer.lambda_``), saved with the model and
    read as a tensor, so changing it never retraces a ``tf.function``.
    """

    def __init__(self, lambda_: Any = 1.0, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._initial_lambda = spec.validate_lambda_number(lambda_)
        self.lambda_ = self.add_weight(
            name="lambda_",
            shape=(),
            dtype="float32",
            initializer=keras.initializers.Constant(self._initial_lambda),
            trainable=False,
            autocast=False,
        )
        self.supports_masking = True

    def set_lambda(self, value: Any) -> None:
        """Set λ in place (validated)."""
        self.lambda_.assign(spec.validate_lambda_number(value))

    def call(self, inputs: Any) -> Any:
        return gradient_reversal(inputs, self.lambda_.value)

    def compute_output_shape(self, input_shape: Any) -> Any:
        return input_shape

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "lambda_": self._initial_lambda}
